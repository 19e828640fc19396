//! `ws-ping`: authenticate `--concurrency` devices, open one realtime socket
//! each (`/ws?token=…&format=json`), then on every socket send
//! `{"cid":"<n>","ping":{}}` and await `{"cid":"<n>","pong":{}}`, back to
//! back, for `--duration`. Measures the realtime round trip through the
//! server's socket, envelope decoding, dispatch and encoding.
//!
//! With `--transport` other than `ws-json`, each socket is a
//! `kairos-client` connection on its own thread doing `ping` → `pong`
//! with that transport's envelope.

use std::sync::Arc;
use std::time::Instant;

use kairos_client::Transport;
use serde_json::json;

use super::{Outcome, SessionOps, open_session, resolve_target, ws_rtt};
use crate::blocking;
use crate::nakama::{self, Reply};
use crate::report::{Kind, Outcome as Sample};
use crate::runner::{Fleet, Run};

/// Checks a received message against ping `n`: the exact pong bytes first,
/// a JSON parse only for anything else.
pub fn check_pong(text: &[u8], n: u64) -> Reply {
    if text == nakama::pong_envelope(n).as_bytes() {
        return Reply::Done;
    }
    nakama::classify(text, &n.to_string(), "pong")
}

/// Runs the scenario over a `kairos-client` transport: one thread per
/// connection, `ping` → `pong` back to back.
async fn run_blocking(run: &Arc<Run>, transport: Transport) -> Result<Outcome, String> {
    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run
            .stats
            .register(blocking::connect_op(transport), Kind::Setup),
    };
    let ping = run.stats.register("ping", Kind::Measured);
    let handle = tokio::runtime::Handle::current();
    let client = blocking::client(run)?;
    let fleet = Fleet::spawn_threads(run, run.opts.concurrency, move |mut w| {
        let run = w.run.clone();
        let rt = blocking::open_session(&run, &handle, &client, w.id, ops, transport);
        w.ready();
        let Some(mut rt) = rt else { return };
        let mut unrelated = 0usize;
        let mut inbox = Vec::new();
        while !run.is_stopped() {
            let start = Instant::now();
            let r = rt.ping();
            if let Err(e) = &r {
                let (status, outcome) = blocking::failure(e);
                if outcome != Sample::Timeout {
                    run.record(ping, start, status, outcome);
                    run.stats.count("sockets_lost", 1);
                    break;
                }
            }
            blocking::record(&run, ping, start, &r);
            // Pushes buffered while waiting (none expected).
            unrelated += rt.drain(&mut inbox);
            inbox.clear();
        }
        if unrelated > 0 {
            run.stats.count("unrelated_messages", unrelated as u64);
        }
        rt.close();
    });
    fleet.wait_ready().await;
    let sockets = run.stats.ok_count(ops.connect);
    super::stop_if_none_open(run, sockets);
    fleet.measure().await;
    Ok(Outcome {
        target: format!("{} over {}", run.opts.target, transport.name()),
        extra: vec![
            ("sockets_open".into(), json!(sockets)),
            ("transport".into(), json!(transport.name())),
            ("message".into(), json!("ping -> pong (kairos-client)")),
        ],
    })
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let transport = run.opts.transport;
    if transport != Transport::WsJson {
        return run_blocking(run, transport).await;
    }
    let addr = resolve_target(run).await?;
    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run.stats.register("ws_connect", Kind::Setup),
    };
    let ping = run.stats.register("ping", Kind::Measured);
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| async move {
        let run = w.run.clone();
        let ws = open_session(&run, addr, w.id, ops).await;
        w.ready();
        if let Some(mut ws) = ws {
            ws_rtt::round_trips(&run, &mut ws, ping, nakama::ping_envelope, check_pong).await;
        }
    });
    fleet.wait_ready().await;
    let sockets = run.stats.ok_count(ops.connect);
    super::stop_if_none_open(run, sockets);
    fleet.measure().await;
    Ok(Outcome {
        target: run.opts.target.clone(),
        extra: vec![
            ("sockets_open".into(), json!(sockets)),
            (
                "message".into(),
                json!(r#"{"cid":"<n>","ping":{}} -> {"cid":"<n>","pong":{}}"#),
            ),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pong_check() {
        assert_eq!(check_pong(br#"{"cid":"12","pong":{}}"#, 12), Reply::Done);
        assert_eq!(check_pong(br#"{"pong":{}, "cid":"12"}"#, 12), Reply::Done);
        assert_eq!(check_pong(br#"{"cid":"11","pong":{}}"#, 12), Reply::Other);
    }
}
