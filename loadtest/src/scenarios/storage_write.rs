//! `storage-write`: every worker authenticates its own device account,
//! then loops `PUT /v2/storage` on one keep-alive connection, each request
//! a batch of `--batch` objects (default 1) of the worker's own, in
//! collection `loadtest`, with JSON values of `--payload` bytes (default
//! 64). Keys cycle over `--keys` per account (default 16), so after the
//! first round every write replaces an object (the steady state of saves
//! and inventories), and the table does not grow with the run's length.
//! Writes carry no version (last write wins), so none is refused.
//!
//! Anything but a 200 whose body has `acks` is an error. The report's
//! rate is requests per second; objects per second is that times
//! `--batch`. Run it against each backend (and against Nakama) in the same
//! session for a ratio.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{Outcome, resolve_target};
use crate::http::HttpClient;
use crate::nakama;
use crate::report::Kind;
use crate::rng::Rng;
use crate::runner::{Fleet, Run};

/// Default value size in bytes.
pub const DEFAULT_PAYLOAD: usize = 64;
/// The smallest value: `{"v":""}`.
pub const MIN_PAYLOAD: usize = 8;

/// The body of one batch: `batch` objects with keys `k<first>`..,
/// wrapping at `keys`, each value a JSON object of `size` bytes.
pub fn batch_body(first: u64, batch: usize, keys: usize, size: usize) -> String {
    let fill = "x".repeat(size.saturating_sub(MIN_PAYLOAD));
    let value = json!({ "v": fill }).to_string();
    let objects: Vec<_> = (0..batch as u64)
        .map(|i| {
            json!({
                "collection": "loadtest",
                "key": format!("k{}", (first + i) % keys as u64),
                "value": value,
                "permission_read": 1,
                "permission_write": 1,
            })
        })
        .collect();
    json!({ "objects": objects }).to_string()
}

/// Whether a 200's body lists the writes' acknowledgements.
fn acked(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v["acks"].as_array().is_some_and(|a| !a.is_empty()))
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let addr: SocketAddr = resolve_target(run).await?;
    let auth_op = run.stats.register("authenticate_device", Kind::Setup);
    let op = run.stats.register("storage_write", Kind::Measured);
    let (batch, keys) = (run.opts.batch, run.opts.keys);
    let size = run.opts.payload.unwrap_or(DEFAULT_PAYLOAD);
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| async move {
        let run = w.run.clone();
        let mut client = HttpClient::new(addr, run.opts.target.clone());
        let mut rng = Rng::from_entropy(w.id as u64);
        let token =
            nakama::authenticate_device(&run, &mut client, auth_op, &rng.device_id(), true).await;
        w.ready();
        let Some(token) = token else { return };
        let auth = format!("Bearer {token}");
        let mut next = 0u64;
        while !run.is_stopped() {
            let body = batch_body(next, batch, keys, size);
            next += batch as u64;
            let req = ("PUT", "/v2/storage", body.as_str());
            if !super::timed_http(&run, &mut client, op, req, &auth, acked).await {
                // Refused or timed out: back off instead of spinning.
                run.until_stopped(tokio::time::sleep(Duration::from_millis(100)))
                    .await;
            }
        }
    });
    fleet.wait_ready().await;
    if run.stats.ok_count(auth_op) == 0 {
        return Err(format!(
            "no account could be created on {} (see the authenticate_device errors)",
            run.opts.target
        ));
    }
    fleet.measure().await;
    Ok(Outcome {
        target: run.opts.target.clone(),
        extra: vec![
            ("objects_per_request".into(), json!(batch)),
            ("keys_per_account".into(), json!(keys)),
            ("value_bytes".into(), json!(size)),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_wrap_their_keys_and_size_their_values() {
        let v: serde_json::Value = serde_json::from_str(&batch_body(14, 4, 16, 64)).unwrap();
        let objects = v["objects"].as_array().unwrap();
        let keys: Vec<&str> = objects.iter().map(|o| o["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["k14", "k15", "k0", "k1"]);
        let value = objects[0]["value"].as_str().unwrap();
        assert_eq!(value.len(), 64);
        assert!(
            serde_json::from_str::<serde_json::Value>(value)
                .unwrap()
                .is_object()
        );
        assert_eq!(objects[0]["collection"], "loadtest");
    }

    #[test]
    fn only_acknowledged_writes_count() {
        assert!(acked(
            br#"{"acks":[{"collection":"loadtest","key":"k0","version":"v"}]}"#
        ));
        assert!(!acked(br#"{"acks":[]}"#));
        assert!(!acked(br#"{"code":3,"message":"bad"}"#));
        assert!(!acked(b"not json"));
    }
}
