//! `baseline-ws-echo`: the `ws-ping` loop (same message, same sizes, same
//! client code) against an in-process raw WebSocket echo server on its own
//! thread. Divide `ws-ping` results by this run's to quote server cost
//! relative to the raw transport on the same machine.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::{Outcome, ws_rtt};
use crate::baseline::ws_echo::WsEchoServer;
use crate::nakama::{self, Reply};
use crate::report::{Kind, Outcome as Sample};
use crate::rng::Rng;
use crate::runner::{Fleet, Run};
use crate::ws::WsClient;

/// Smallest `--payload`: room for the round-trip number.
pub const MIN_PAYLOAD: usize = 21;

/// The `n`-th message: the Nakama ping envelope by default (byte-identical
/// to what `ws-ping` sends), or `n` padded with `x` to `payload` bytes.
pub fn message(n: u64, payload: Option<usize>) -> String {
    match payload {
        None => nakama::ping_envelope(n),
        Some(size) => {
            let mut m = format!("{n:020} ");
            m.extend(std::iter::repeat_n('x', size.saturating_sub(m.len())));
            m
        }
    }
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let server = WsEchoServer::start().map_err(|e| format!("cannot start the echo server: {e}"))?;
    let addr = server.addr();
    let connect = run.stats.register("ws_connect", Kind::Setup);
    let echo = run.stats.register("echo", Kind::Measured);
    let payload = run.opts.payload;
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| async move {
        let run = w.run.clone();
        let host = addr.to_string();
        let start = Instant::now();
        let seed = Rng::from_entropy(w.id as u64).next_u64();
        let ws =
            match tokio::time::timeout(run.opts.timeout, WsClient::connect(addr, &host, "/", seed))
                .await
            {
                Ok(Ok(ws)) => {
                    run.record(connect, start, Some(101), Sample::Ok);
                    Some(ws)
                }
                Ok(Err(e)) => {
                    run.record(connect, start, None, Sample::Error(e.kind()));
                    None
                }
                Err(_) => {
                    run.record(connect, start, None, Sample::Timeout);
                    None
                }
            };
        w.ready();
        if let Some(mut ws) = ws {
            let check = |text: &[u8], n: u64| {
                if text == message(n, payload).as_bytes() {
                    Reply::Done
                } else {
                    Reply::Other
                }
            };
            ws_rtt::round_trips(&run, &mut ws, echo, |n| message(n, payload), check).await;
        }
    });
    fleet.wait_ready().await;
    super::stop_if_none_open(run, run.stats.ok_count(connect));
    fleet.measure().await;
    drop(server);
    let what = match payload {
        None => json!(r#"{"cid":"<n>","ping":{}} (as ws-ping)"#),
        Some(p) => json!(format!("{p} bytes of text")),
    };
    Ok(Outcome {
        target: format!("in-process WebSocket echo at {addr} (1 thread)"),
        extra: vec![("message".into(), what)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(message(3, None), r#"{"cid":"3","ping":{}}"#);
        let m = message(3, Some(64));
        assert_eq!(m.len(), 64);
        assert!(m.starts_with("00000000000000000003 x"));
        assert_eq!(message(3, Some(MIN_PAYLOAD)).len(), MIN_PAYLOAD);
    }
}
