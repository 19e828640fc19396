//! The back-to-back WebSocket round-trip loop shared by `ws-ping` and
//! `baseline-ws-echo`: send one text message, wait for its answer, record
//! the latency, repeat until the run stops. Server pings are answered while
//! waiting; unrelated messages are counted and skipped.

use std::time::Instant;

use crate::nakama::Reply;
use crate::report::{OpId, Outcome};
use crate::runner::Run;
use crate::ws::{Message, WsClient};

/// Runs round trips of `op` on `ws` until the run stops or the socket
/// fails. `make(n)` builds the `n`-th message (n = 1, 2, ...); `check(text,
/// n)` classifies a received text message against it. A timed-out round trip
/// is recorded and the loop continues with the next `n` (a late answer is
/// then skipped as unrelated); a socket error is recorded and ends the loop.
pub async fn round_trips(
    run: &Run,
    ws: &mut WsClient,
    op: OpId,
    make: impl Fn(u64) -> String,
    check: impl Fn(&[u8], u64) -> Reply,
) {
    let mut n = 0u64;
    let mut unrelated = 0u64;
    while !run.is_stopped() {
        n += 1;
        let msg = make(n);
        let start = Instant::now();
        let exchange = async {
            ws.send_text(&msg).await?;
            loop {
                match ws.recv().await? {
                    Message::Text(t) => match check(&t, n) {
                        Reply::Done => return Ok::<_, crate::ws::WsError>(Outcome::Ok),
                        Reply::Failed(kind) => return Ok(Outcome::Error(kind)),
                        Reply::Other => unrelated += 1,
                    },
                    Message::Binary(_) => unrelated += 1,
                }
            }
        };
        match run
            .until_stopped(tokio::time::timeout(run.opts.timeout, exchange))
            .await
        {
            None => break,
            Some(Err(_)) => run.record(op, start, None, Outcome::Timeout),
            Some(Ok(Ok(outcome))) => run.record(op, start, None, outcome),
            Some(Ok(Err(e))) => {
                run.record(op, start, None, Outcome::Error(e.kind()));
                run.stats.count("sockets_lost", 1);
                break;
            }
        }
    }
    if unrelated > 0 {
        run.stats.count("unrelated_messages", unrelated);
    }
    run.stats.count("server_pings_answered", ws.pings_answered);
    // Polite close, bounded: the run is over either way.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), ws.close()).await;
}
