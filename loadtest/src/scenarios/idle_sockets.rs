//! `idle-sockets`: authenticate and open `--sockets` realtime sockets
//! (spread over `--ramp-up`, at most `--setup-concurrency` at a time), then
//! hold them for `--duration`, answering the server's pings. With
//! `--server-pid`, samples the server's resident memory before connecting,
//! once all sockets are open and at the end, and reports bytes per session.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::{Outcome, SessionOps, open_session, resolve_target};
use crate::proc;
use crate::report::{Kind, Outcome as Sample};
use crate::runner::{Fleet, Run};
use crate::ws::Message;

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let addr = resolve_target(run).await?;
    let pid = run.opts.server_pid;
    let rss = move || pid.map(proc::vm_rss_bytes).transpose();
    let rss_before =
        rss().map_err(|e| format!("cannot read /proc/{}/status: {e}", pid.unwrap_or(0)))?;

    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run.stats.register("ws_connect", Kind::Setup),
    };
    let hold = run.stats.register("hold", Kind::Measured);
    let fleet = Fleet::spawn(run, run.opts.sockets, move |mut w| async move {
        let run = w.run.clone();
        let ws = open_session(&run, addr, w.id, ops).await;
        w.ready();
        let Some(mut ws) = ws else { return };
        let connected = Instant::now();
        let mut messages = 0u64;
        let lost = loop {
            match run.until_stopped(ws.recv()).await {
                None => break None,
                Some(Ok(Message::Text(_) | Message::Binary(_))) => messages += 1,
                Some(Err(e)) => break Some(e),
            }
        };
        // One `hold` sample per socket: the time it was held in the window.
        let start = run.window_start().map_or(connected, |s| s.max(connected));
        match lost {
            None => run.record(hold, start, None, Sample::Ok),
            Some(e) => {
                run.record(hold, start, None, Sample::Error(e.kind()));
                run.stats.count("sockets_lost", 1);
            }
        }
        run.stats.count("server_pings_answered", ws.pings_answered);
        if messages > 0 {
            run.stats.count("unrelated_messages", messages);
        }
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), ws.close()).await;
    });

    let going = fleet.wait_ready().await;
    let sockets = run.stats.ok_count(ops.connect);
    super::stop_if_none_open(run, sockets);
    let going = going && sockets > 0;
    let rss_open = if going { rss().ok().flatten() } else { None };
    if going {
        eprintln!(
            "idle-sockets: {sockets} of {} sockets open",
            run.opts.sockets
        );
    }
    fleet.measure().await;
    let rss_end = rss().ok().flatten();

    let mut extra = vec![("sockets_open".to_string(), json!(sockets))];
    if let Some(before) = rss_before {
        let mib = |b: u64| (b as f64 / 1048576.0 * 10.0).round() / 10.0;
        extra.push(("server_rss_before_mib".into(), json!(mib(before))));
        let per = |after: u64| {
            after
                .saturating_sub(before)
                .checked_div(sockets)
                .unwrap_or(0)
        };
        if let Some(open) = rss_open {
            extra.push(("server_rss_all_open_mib".into(), json!(mib(open))));
            extra.push(("server_bytes_per_session".into(), json!(per(open))));
        }
        if let Some(end) = rss_end {
            extra.push(("server_rss_end_mib".into(), json!(mib(end))));
            extra.push(("server_bytes_per_session_end".into(), json!(per(end))));
        }
    }
    Ok(Outcome {
        target: run.opts.target.clone(),
        extra,
    })
}
