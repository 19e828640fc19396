//! Reloading the Lua modules when their files change
//! (`kairos.runtime.lua_reload`), without a restart.
//!
//! A background thread looks at the modules directory every
//! `kairos.runtime.lua_reload_interval_ms`: the list of `*.lua` files with
//! each one's size and modification time ([`Snapshot`]). A change is
//! loaded once the directory has looked the same for one more interval,
//! so a file caught half-written is not loaded. The new sources run in a
//! fresh startup state; if one fails (a syntax error, an error at load)
//! the error is logged with its file and line and the node keeps its
//! program: a reload never takes the server down. Else the new program
//! replaces the current one in the [`ProgramCell`]: calls that start
//! from then on run the new code, calls already running finish on the
//! old, and a match keeps the program it was created with until it ends.
//!
//! The registry is immutable, so what a reload registers is held to what
//! the startup modules registered. The code of every RPC, hook and match
//! module the registry knows changes freely. An RPC id that is new in
//! the reload is served through the registry's fallback lookup (asked
//! only for ids the registry lacks, so Rust RPCs keep theirs); a hook or
//! match module that is new is logged as a warning naming it: it is
//! served after a restart. One the reload dropped answers as if it were
//! not there (an RPC with NOT_FOUND, a before hook passing its input
//! through, other hooks doing nothing, a match module with "Match handler
//! not found"), also with a warning, until a restart removes it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::state::{Registrations, Vm};
use super::{Program, ProgramCell, loader, matches};

/// The files of a modules directory as the watcher compares them: each
/// `*.lua` file's path, size and modification time, sorted by path.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Snapshot(Vec<(PathBuf, u64, Option<SystemTime>)>);

impl Snapshot {
    /// The directory as it is now (empty when it cannot be read).
    pub fn take(dir: &Path) -> Snapshot {
        let mut files: Vec<_> = loader::lua_files(dir)
            .into_iter()
            .map(|(path, meta)| (path, meta.len(), meta.modified().ok()))
            .collect();
        files.sort();
        Snapshot(files)
    }
}

/// What the reload thread watches and whom it tells.
pub struct Watch {
    pub cell: Arc<ProgramCell>,
    pub dir: PathBuf,
    /// The directory as the current program was read from it.
    pub seen: Snapshot,
    pub every: Duration,
    /// What the registry sends to Lua: the startup program's
    /// registrations.
    pub routed: Arc<Registrations>,
    /// The match modules of the startup program.
    pub handlers: Vec<String>,
}

/// Starts the reload thread. It ends when the node's registry (and with
/// it the cell) is dropped.
pub fn watch(w: Watch) {
    let Watch {
        cell,
        dir,
        mut seen,
        every,
        routed,
        handlers,
    } = w;
    let weak: Weak<ProgramCell> = Arc::downgrade(&cell);
    drop(cell);
    tracing::info!(dir = %dir.display(), interval_ms = every.as_millis() as u64, "Lua modules reload when they change");
    let spawned = std::thread::Builder::new()
        .name("kairos-lua-reload".into())
        .spawn(move || {
            // A change seen on the last look, loaded if it still holds.
            let mut pending: Option<Snapshot> = None;
            loop {
                std::thread::sleep(every);
                let Some(cell) = weak.upgrade() else { return };
                let now = Snapshot::take(&dir);
                if now == seen {
                    pending = None;
                    continue;
                }
                if pending.as_ref() != Some(&now) {
                    pending = Some(now);
                    continue;
                }
                pending = None;
                reload(&cell, &dir, &routed, &handlers);
                // Tried once per change: a broken module is not reloaded
                // (nor logged) again until its files change again.
                seen = now;
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the Lua reload thread; modules will not reload");
    }
}

/// Loads the modules of `dir` and, if they load, makes them the cell's
/// program.
fn reload(cell: &ProgramCell, dir: &Path, routed: &Arc<Registrations>, handlers: &[String]) {
    let old = cell.current();
    let generation = old.generation + 1;
    let loaded = loader::read_dir(dir).and_then(|sources| {
        // The check state answers for nothing but what the modules
        // register, so that its registrations are the modules' own.
        let check = Arc::new(old.next(sources.clone(), Arc::default(), Vec::new()));
        let vm = futures_lite::future::block_on(Vm::new(check.clone(), None))?;
        let found = vm
            .registrations()
            .map_err(|e| format!("Lua modules: {e}"))?;
        let names = matches::names(&check, &vm).map_err(|e| format!("Lua modules: {e}"))?;
        Ok((sources, found, names))
    });
    let (sources, found, names) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            cell.failed();
            tracing::error!(generation = old.generation, error = %e, "Lua modules not reloaded; the running code stays");
            return;
        }
    };
    for line in differences(routed, &found, handlers, &names) {
        tracing::warn!("Lua reload: {line}");
    }
    let mut added: Vec<String> = found
        .rpcs
        .iter()
        .filter(|id| !routed.rpcs.contains(id))
        .cloned()
        .collect();
    added.sort();
    let program: Arc<Program> = Arc::new(old.next(sources, routed.clone(), added));
    let count = program.modules.len();
    cell.replace(program);
    tracing::info!(generation, modules = count, "Lua modules reloaded");
}

/// What a reload registers that the registry does not route to Lua (new
/// RPCs are served; the rest waits for a restart), and what it dropped,
/// one line each.
fn differences(
    routed: &Registrations,
    found: &Registrations,
    handlers: &[String],
    names: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut compare = |what: &str, was: &[String], now: &[String]| {
        for n in now.iter().filter(|n| !was.contains(n)) {
            out.push(if what == "RPC" {
                format!("{what} {n:?} is new: served from now on")
            } else {
                format!("{what} {n:?} is new: it is served after a restart")
            });
        }
        for n in was.iter().filter(|n| !now.contains(n)) {
            out.push(format!(
                "{what} {n:?} was removed: it answers as unregistered until a restart"
            ));
        }
    };
    compare("RPC", &routed.rpcs, &found.rpcs);
    compare("before hook", &routed.before_api, &found.before_api);
    compare("after hook", &routed.after_api, &found.after_api);
    compare("realtime before hook", &routed.before_rt, &found.before_rt);
    compare("realtime after hook", &routed.after_rt, &found.after_rt);
    let flag = |b: bool, name: &str| if b { vec![name.to_string()] } else { vec![] };
    for (name, was, now) in [
        (
            "matchmaker_matched",
            routed.matchmaker_matched,
            found.matchmaker_matched,
        ),
        (
            "leaderboard_reset",
            routed.leaderboard_reset,
            found.leaderboard_reset,
        ),
        (
            "tournament_end",
            routed.tournament_end,
            found.tournament_end,
        ),
        (
            "tournament_reset",
            routed.tournament_reset,
            found.tournament_reset,
        ),
        ("shutdown", routed.shutdown, found.shutdown),
    ] {
        compare("hook", &flag(was, name), &flag(now, name));
    }
    compare("match module", handlers, names);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_what_needs_a_restart() {
        let routed = Registrations {
            rpcs: vec!["a".into(), "b".into()],
            matchmaker_matched: true,
            ..Default::default()
        };
        let found = Registrations {
            rpcs: vec!["b".into(), "c".into()],
            ..Default::default()
        };
        let lines = differences(&routed, &found, &["arena".into()], &["arena".into()]);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains(r#"RPC "c" is new"#), "{lines:?}");
        assert!(lines[1].contains(r#"RPC "a" was removed"#), "{lines:?}");
        assert!(lines[2].contains(r#"hook "matchmaker_matched" was removed"#));
        assert!(differences(&routed, &routed, &[], &[]).is_empty());
    }
}
