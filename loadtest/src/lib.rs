//! `kairos-loadtest`: a load generator for Kairos and any Nakama-compatible
//! server, speaking only Nakama's public protocol (HTTP API and realtime
//! socket), plus raw-transport baselines to quote results against (echo
//! servers in process, a relay in a child process). See
//! `loadtest/README.md`.
//!
//! Layout: [`cli`] (options), [`runner`] (phases, workers, stop, progress),
//! [`report`] (histograms, table, JSON), transports ([`http`], [`ws`], and
//! [`blocking`] for the `kairos-client` ones), protocol helpers
//! ([`nakama`]), open-loop traffic ([`traffic`]: payload stamps, schedules,
//! delivery accounting), [`scenarios`] (one module each) and [`baseline`]
//! (echo servers, the raw relay).

pub mod baseline;
pub mod blocking;
pub mod cli;
pub mod http;
pub mod nakama;
pub mod proc;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scenarios;
pub mod traffic;
pub mod ws;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::{Command, Options};
use crate::report::Report;
use crate::runner::Run;

/// Runs the command line (program name first); returns the exit code:
/// 0 after a complete run, 130 after Ctrl-C (results so far are still
/// printed), 1 when the scenario could not run, 2 for usage errors, 3 when
/// the run completed without a single successful measured operation.
pub fn main_with_args(argv: Vec<String>) -> i32 {
    // Not a scenario: the raw relay baseline's server process, which
    // `baseline-relay` starts from this executable (not in the usage text).
    if argv.get(1).map(String::as_str) == Some("raw-relay-server") {
        return baseline::relay::main(&argv[2..]);
    }
    let opts = match cli::parse(argv) {
        Ok(Command::Run(o)) => *o,
        Ok(Command::Help) => {
            print!("{}", cli::usage());
            return 0;
        }
        Ok(Command::Version) => {
            println!("kairos-loadtest {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Err(e) => {
            eprintln!("kairos-loadtest: {e}\n\n{}", cli::usage());
            return 2;
        }
    };
    let mut builder = if opts.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(opts.threads);
        b
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kairos-loadtest: cannot start the runtime: {e}");
            return 1;
        }
    };
    let _ = proc::raise_nofile_limit();
    let json_path = opts.json.clone();
    let report = match rt.block_on(execute(opts)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kairos-loadtest: {e}");
            return 1;
        }
    };
    // Abandoned tasks (e.g. stragglers after Ctrl-C) must not delay exit.
    rt.shutdown_background();
    print!("{}", report.to_table());
    if let Some(path) = json_path {
        let text = serde_json::to_string_pretty(&report.to_json()).expect("JSON values serialize");
        if let Err(e) = std::fs::write(&path, text + "\n") {
            eprintln!("kairos-loadtest: cannot write {}: {e}", path.display());
            return 1;
        }
    }
    let measured_ok: u64 = report
        .ops
        .iter()
        .filter(|o| o.kind == report::Kind::Measured)
        .map(|o| o.ok)
        .sum();
    if report.interrupted {
        130
    } else if measured_ok == 0 {
        eprintln!("kairos-loadtest: no successful measured operation");
        3
    } else {
        0
    }
}

/// Runs the scenario of `opts` with a progress line and Ctrl-C handling, and
/// assembles the report.
pub async fn execute(opts: Options) -> Result<Report, String> {
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let scenario = opts.scenario;
    let show_progress = opts.progress;
    if let Some(pid) = opts.server_pid {
        // Refuse a pid whose CPU time cannot be read before any load runs.
        proc::cpu_time(pid)
            .map_err(|e| format!("--server-pid {pid}: cannot read /proc/{pid}/stat: {e}"))?;
    }
    let run = Run::new(opts);

    let progress = show_progress.then(|| tokio::spawn(runner::progress(run.clone())));
    let ctrl_c = {
        let run = run.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\nkairos-loadtest: interrupted, stopping (Ctrl-C again to quit at once)"
                );
                run.stop(true);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };

    let result = scenario.run(&run).await;
    run.stop(false);
    if let Some(p) = progress {
        let _ = p.await;
    }
    ctrl_c.abort();
    let outcome = result?;

    let stats = &run.stats;
    let mut extra = outcome.extra;
    extra.extend(cpu_extras(&run));
    Ok(Report {
        argv: run.opts.argv.clone(),
        scenario: scenario.name().to_string(),
        target: outcome.target,
        settings: run.opts.settings(),
        started_unix_ms,
        measured: run.measured(),
        interrupted: run.interrupted(),
        ops: stats.snapshot(),
        counters: stats.counters(),
        extra,
    })
}

/// With `--server-pid`: the server's CPU time in the window, as a share of
/// one core, and per delivered message (scenarios that count deliveries)
/// or per measured operation. utime + stime of every server thread, from
/// `/proc`, so a run against Nakama reads the same way. The generator's
/// own CPU time in the window follows, read and divided the same way
/// (`generator_cpu_*`): when the two share a machine, it tells whether the
/// load or the server ran out of CPU first.
fn cpu_extras(run: &Run) -> Vec<(String, serde_json::Value)> {
    let counters = run.stats.counters();
    let (per, n) = match counters.get("delivered") {
        Some(&d) => ("cpu_per_delivered_us", d),
        None => (
            "cpu_per_op_us",
            run.stats
                .snapshot()
                .iter()
                .filter(|o| o.kind == report::Kind::Measured)
                .map(|o| o.ok)
                .sum(),
        ),
    };
    let window = run.measured().as_secs_f64();
    let mut out = Vec::new();
    for (who, cpu) in [
        ("server", run.server_cpu()),
        ("generator", run.generator_cpu()),
    ] {
        let Some(cpu) = cpu else { continue };
        let secs = cpu.as_secs_f64();
        out.push((format!("{who}_cpu_s"), serde_json::json!(round3(secs))));
        let cores = if window > 0.0 { secs / window } else { 0.0 };
        out.push((format!("{who}_cpu_cores"), serde_json::json!(round3(cores))));
        if n > 0 {
            let us = secs * 1e6 / n as f64;
            out.push((format!("{who}_{per}"), serde_json::json!(round3(us))));
        }
    }
    out
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
