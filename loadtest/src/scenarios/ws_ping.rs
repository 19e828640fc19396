//! `ws-ping`: authenticate `--concurrency` devices, open one realtime socket
//! each (`/ws?token=…&format=json`), then on every socket send
//! `{"cid":"<n>","ping":{}}` and await `{"cid":"<n>","pong":{}}`, back to
//! back, for `--duration`. Measures the realtime round trip through the
//! server's socket, envelope decoding, dispatch and encoding.

use std::sync::Arc;

use serde_json::json;

use super::{Outcome, SessionOps, open_session, resolve_target, ws_rtt};
use crate::nakama::{self, Reply};
use crate::report::Kind;
use crate::runner::{Fleet, Run};

/// Checks a received message against ping `n`: the exact pong bytes first,
/// a JSON parse only for anything else.
pub fn check_pong(text: &[u8], n: u64) -> Reply {
    if text == nakama::pong_envelope(n).as_bytes() {
        return Reply::Done;
    }
    nakama::classify(text, &n.to_string(), "pong")
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
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
