//! `rpc-echo`: as `ws-ping`, but each round trip is the realtime `rpc`
//! message to an RPC that answers with its payload (`--rpc`, default
//! `example.echo`, Kairos's stock example run with
//! `--kairos.runtime.examples true`): `{"cid":"<n>","rpc":{"id":..,
//! "payload":..}}` → `{"cid":"<n>","rpc":{...}}`. Beside `ws-ping` in the
//! same run it prices calling game code on the socket. `--payload` sets
//! the payload's size (default 16 bytes).

use std::sync::Arc;

use serde_json::json;

use super::{Outcome, SessionOps, open_session, resolve_target, ws_rtt};
use crate::nakama::{self, Reply};
use crate::report::Kind;
use crate::runner::{Fleet, Run};

/// Default payload size.
pub const DEFAULT_PAYLOAD: usize = 16;

/// The request for round trip `n`: the payload is a JSON string of
/// `size` bytes, so any echo RPC accepts it.
fn request(id: &str, size: usize, n: u64) -> String {
    let payload = format!("\"{:x<1$}\"", "", size.saturating_sub(2));
    let call = json!({ "cid": n.to_string(), "rpc": { "id": id, "payload": payload } });
    call.to_string()
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let addr = resolve_target(run).await?;
    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run.stats.register("ws_connect", Kind::Setup),
    };
    let call = run.stats.register("rpc", Kind::Measured);
    let id: Arc<str> = run.opts.rpc.as_str().into();
    let size = run.opts.payload.unwrap_or(DEFAULT_PAYLOAD);
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| {
        let id = id.clone();
        async move {
            let run = w.run.clone();
            let ws = open_session(&run, addr, w.id, ops).await;
            w.ready();
            if let Some(mut ws) = ws {
                ws_rtt::round_trips(&run, &mut ws, call, |n| request(&id, size, n), check).await;
            }
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
            ("rpc".into(), json!(run.opts.rpc)),
            ("payload_bytes".into(), json!(size)),
        ],
    })
}

fn check(text: &[u8], n: u64) -> Reply {
    nakama::classify(text, &n.to_string(), "rpc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_a_json_string_payload_of_the_size_asked() {
        let r: serde_json::Value = serde_json::from_str(&request("example.echo", 16, 7)).unwrap();
        assert_eq!(r["cid"], "7");
        assert_eq!(r["rpc"]["id"], "example.echo");
        let payload = r["rpc"]["payload"].as_str().unwrap();
        assert_eq!(payload.len(), 16);
        assert!(serde_json::from_str::<String>(payload).is_ok());
    }

    #[test]
    fn replies_are_matched_by_cid_and_kind() {
        assert_eq!(
            check(br#"{"cid":"3","rpc":{"id":"e","payload":"x"}}"#, 3),
            Reply::Done
        );
        assert_ne!(check(br#"{"cid":"4","rpc":{"id":"e"}}"#, 3), Reply::Done);
    }
}
