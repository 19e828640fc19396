//! Lua modules reloading without a restart (`kairos.runtime.lua_reload`):
//! a temporary modules directory whose files the test rewrites while the
//! server runs. New calls get the new code, a module that fails to load
//! leaves the running code in place, a match created before a reload
//! keeps its code while a new one gets the new, and what a reload adds
//! or drops answers as docs/lua.md says.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kairos_tests::{Backend, Http, TestServer, Ws, unique};

/// The RPC module, answering `version` with `tag`, and anything `extra`
/// registers.
fn rpc_module(tag: &str, extra: &str) -> String {
    format!(
        r#"local nk = require("nakama")
local TAG = "{tag}"
nk.register_rpc(function(context, payload) return TAG end, "reload.version")
nk.register_rpc(function(context, payload)
  return nk.match_create("room", {{}})
end, "reload.create")
nk.register_rpc(function(context, payload)
  return nk.match_signal(payload, "which")
end, "reload.signal")
{extra}
"#
    )
}

/// A match module whose label and signal answer carry `tag`.
fn match_module(tag: &str) -> String {
    format!(
        r#"local M = {{}}
local TAG = "{tag}"
function M.match_init(context, params) return {{}}, 5, "room-" .. TAG end
function M.match_join_attempt(context, dispatcher, tick, state, presence, metadata) return state, true end
function M.match_join(context, dispatcher, tick, state, presences) return state end
function M.match_leave(context, dispatcher, tick, state, presences) return state end
function M.match_loop(context, dispatcher, tick, state, messages) return state end
function M.match_terminate(context, dispatcher, tick, state, grace_seconds) return state end
function M.match_signal(context, dispatcher, tick, state, data) return state, "room-" .. TAG end
return M
"#
    )
}

/// Writes a file whole: to a temporary name first, then renamed, as
/// editors save, so the watcher never sees it half-written.
fn write(dir: &Path, name: &str, code: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, code).expect("write module");
    std::fs::rename(&tmp, dir.join(name)).expect("rename module");
}

fn call(http: &Http, id: &str, payload: &str) -> kairos_tests::Reply {
    let body = serde_json::Value::String(payload.to_string()).to_string();
    http.request(
        "POST",
        &format!("/v2/rpc/{id}?http_key=defaulthttpkey"),
        None,
        Some(&body),
    )
}

fn answer(http: &Http, id: &str, payload: &str) -> String {
    let r = call(http, id, payload);
    assert_eq!(r.status, 200, "{id}: {}", r.text);
    r.body["payload"].as_str().expect("payload").to_string()
}

/// Waits (boundedly) until `f` holds; the bound only keeps a broken
/// server from hanging the test.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < give_up, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A before hook on AuthenticateDevice and one on ChannelJoin that let
/// the request through.
const HOOK: &str = r#"
nk.register_req_before(function(context, payload) return payload end, "AuthenticateDevice")
nk.register_rt_before(function(context, envelope) return envelope end, "ChannelJoin")
"#;

/// Joins a chat room over a socket: the channel's id.
fn join(s: &TestServer, token: &str) -> String {
    let mut ws = Ws::open(&s.addr, token, "");
    let r = ws.request(
        "j",
        "channel_join",
        serde_json::json!({ "target": unique("room-"), "type": 1 }),
    );
    r["channel"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

/// The value of the sample `name` (one without labels but the node's).
fn sample(metrics: &Http, name: &str) -> Option<f64> {
    let r = metrics.request("GET", "/metrics", None, None);
    r.text.lines().find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        let bare = key.split('{').next()?;
        (bare == name).then(|| value.parse().ok())?
    })
}

/// A server reloading the modules of `dir`, and its metrics' address.
fn start(dir: &Path) -> (TestServer, Http) {
    let path = dir.to_string_lossy().into_owned();
    let s = TestServer::start_with_metrics(
        &Backend::Sqlite,
        &[
            "--runtime.path",
            &path,
            "--kairos.runtime.lua_reload",
            "true",
            "--kairos.runtime.lua_reload_interval_ms",
            "50",
        ],
    );
    let metrics = s.metrics();
    (s, metrics)
}

#[test]
fn modules_reload_and_running_matches_keep_their_code() {
    let dir = TempDir(std::env::temp_dir().join(unique("kairos-lua-reload-")));
    std::fs::create_dir_all(&dir.0).unwrap();
    write(&dir.0, "reload_rpcs.lua", &rpc_module("one", HOOK));
    write(&dir.0, "room.lua", &match_module("one"));
    let (s, metrics) = start(&dir.0);
    assert!(s.log().contains("reload when they change"), "{}", s.log());
    let http = s.http();
    let me = http.device(&unique("reload-"));
    join(&s, &me.token);
    assert_eq!(sample(&metrics, "kairos_lua_program_generation"), Some(1.0));
    assert_eq!(answer(&http, "reload.version", ""), "one");
    let old_match = answer(&http, "reload.create", "");
    assert_eq!(answer(&http, "reload.signal", &old_match), "room-one");

    // New code: new calls get it once the watcher has seen the files.
    write(&dir.0, "reload_rpcs.lua", &rpc_module("two-two", HOOK));
    write(&dir.0, "room.lua", &match_module("two-two"));
    wait_until("the RPC answers with the new code", || {
        answer(&http, "reload.version", "") == "two-two"
    });
    // The match module may be seen a look after the RPC module.
    let new_match = loop {
        let id = answer(&http, "reload.create", "");
        if answer(&http, "reload.signal", &id) == "room-two-two" {
            break id;
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    // The match created before the reload still runs its own code.
    assert_eq!(answer(&http, "reload.signal", &old_match), "room-one");
    assert_eq!(answer(&http, "reload.signal", &new_match), "room-two-two");
    let listed = http
        .get("/v2/match?authoritative=true&limit=100", &me.token)
        .text;
    assert!(listed.contains("room-one"), "{listed}");
    assert!(listed.contains("room-two-two"), "{listed}");

    // A module that does not compile: logged with its file and line, and
    // the running code stays.
    write(
        &dir.0,
        "reload_rpcs.lua",
        "local nk = require(\"nakama\")\nnk.register_rpc(function( end, \"reload.version\")\n",
    );
    wait_until("the failed reload is logged", || {
        s.log().contains("Lua modules not reloaded")
    });
    let log = s.log();
    assert!(log.contains("reload_rpcs.lua:2:"), "{log}");
    assert_eq!(answer(&http, "reload.version", ""), "two-two");
    // Nor does one that fails when it runs.
    write(
        &dir.0,
        "reload_rpcs.lua",
        "local t = nil\nlocal x = 1\nreturn t.field\n",
    );
    wait_until("the second failed reload is logged", || {
        s.log().matches("Lua modules not reloaded").count() >= 2
    });
    assert!(s.log().contains("reload_rpcs.lua:3:"), "{}", s.log());
    assert_eq!(answer(&http, "reload.version", ""), "two-two");

    assert_eq!(
        sample(&metrics, "kairos_lua_reload_failures_total"),
        Some(2.0)
    );
    assert_eq!(sample(&metrics, "kairos_lua_reloads_total"), Some(1.0));

    // A reload that drops an RPC and a hook and adds an RPC: the dropped
    // RPC answers NOT_FOUND, the dropped hook lets requests through, the
    // new RPC is served; all are logged.
    let without_create = rpc_module("three-three-three", "")
        .replace("\"reload.create\"", "\"Reload.Created_Later\"");
    write(&dir.0, "reload_rpcs.lua", &without_create);
    wait_until("the third version serves", || {
        answer(&http, "reload.version", "") == "three-three-three"
    });
    let r = call(&http, "reload.create", "");
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["message"], "RPC function not found", "{}", r.text);
    // The new RPC, case-insensitively as any: it creates a match of the
    // room module, whose code is still the second version.
    let later = answer(&http, "RELOAD.created_later", "");
    assert_eq!(answer(&http, "reload.signal", &later), "room-two-two");
    assert_eq!(call(&http, "reload.never_registered", "").status, 404);
    http.device(&unique("reload-"));
    join(&s, &me.token);
    // (A slow writer may have had its two files loaded by two reloads.)
    let reloads = sample(&metrics, "kairos_lua_reloads_total").expect("reloads");
    assert!(reloads >= 2.0, "{reloads}");
    assert_eq!(
        sample(&metrics, "kairos_lua_program_generation"),
        Some(1.0 + reloads)
    );
    let log = s.log();
    // (Quotes are escaped when the log is JSON.)
    let logged = |line: &str| log.contains(line) || log.contains(&line.replace('"', "\\\""));
    assert!(
        logged(r#"RPC "reload.created_later" is new: served from now on"#),
        "{log}"
    );
    assert!(logged(r#"RPC "reload.create" was removed"#), "{log}");
    assert!(
        logged(r#"before hook "authenticatedevice" was removed"#),
        "{log}"
    );
    assert!(
        logged(r#"realtime before hook "channeljoin" was removed"#),
        "{log}"
    );
    // Matches of every generation still answer with their own code.
    assert_eq!(answer(&http, "reload.signal", &old_match), "room-one");
    assert_eq!(answer(&http, "reload.signal", &new_match), "room-two-two");
}

#[test]
fn without_the_key_modules_do_not_reload() {
    let dir = TempDir(std::env::temp_dir().join(unique("kairos-lua-noreload-")));
    std::fs::create_dir_all(&dir.0).unwrap();
    write(&dir.0, "reload_rpcs.lua", &rpc_module("one", ""));
    write(&dir.0, "room.lua", &match_module("one"));
    let path = dir.0.to_string_lossy().into_owned();
    let s = TestServer::start_with(&Backend::Sqlite, &["--runtime.path", &path]);
    let http = s.http();
    assert_eq!(answer(&http, "reload.version", ""), "one");
    // No watcher starts (with the key on, its start is logged), so the
    // startup code keeps serving whatever the files become.
    assert!(!s.log().contains("reload when they change"), "{}", s.log());
    write(&dir.0, "reload_rpcs.lua", &rpc_module("two-two", ""));
    assert_eq!(answer(&http, "reload.version", ""), "one");
}
