//! `baseline-relay`: the `match-relay` workload against the raw relay
//! ([`crate::baseline::relay`]), a child process started from this
//! executable. Same players, matches, rate, payload, schedule, stamps,
//! `send`/`deliver` accounting and `ws-json` client loop
//! ([`match_relay::ws_player`]); what differs is the server: one thread
//! that forwards each frame verbatim to the other members of its group,
//! with no session, no authentication, no match and no envelope to read.
//! Each player connects to `/relay?group=<its match>` and sends the
//! `match_data` envelope a server would deliver (with a presence of the
//! same shape and size as Kairos's), so that receivers parse exactly what
//! they parse in `match-relay`.
//!
//! The scenario knows the relay's pid and reports its CPU time in the
//! window per delivered message (`server_cpu_per_delivered_us`), as
//! `--server-pid` does for a server: quote `match-relay` figures as a
//! ratio to this run's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;

use super::Outcome;
use super::match_relay::{self, OP_CODE};
use crate::baseline::relay_process::RelayProcess;
use crate::nakama::MatchDataEnvelope;
use crate::report::{Kind, Outcome as Sample};
use crate::rng::Rng;
use crate::runner::{Fleet, Run};
use crate::traffic::{SenderGuard, Traffic};
use crate::ws::WsClient;

/// A uuid-shaped id (36 characters) made from `kind` and `n`: the size of
/// the ids a server puts into `match_data`.
fn uuid_like(kind: u32, n: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012x}")
}

/// The sender presence of player `id`, as long as a server's: user and
/// session uuids and a 10-letter username.
fn presence(id: usize) -> (String, String, String) {
    (uuid_like(1, id), uuid_like(2, id), format!("p{id:09}"))
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let per_match = run.opts.players_per_match;
    let players = run.opts.concurrency;
    let matches = players / per_match;
    let payload = run.opts.payload.unwrap_or(match_relay::DEFAULT_PAYLOAD);
    let reliable = run.opts.reliable;

    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let relay = RelayProcess::spawn(&exe, &[])
        .map_err(|e| format!("cannot start the raw relay ({}): {e}", exe.display()))?;
    let (addr, pid) = (relay.addr(), relay.pid());
    if !run.watch_server(pid) {
        return Err("baseline-relay measures the relay it starts: no --server-pid".into());
    }

    let connect = run.stats.register("ws_connect", Kind::Setup);
    let traffic = Arc::new(Traffic::new(run, (per_match - 1) as u64, false, players));
    let pad_b64 = match_relay::pad_base64(payload);
    let ready = Arc::new(AtomicUsize::new(0));
    let fleet = {
        let (traffic, ready) = (traffic.clone(), ready.clone());
        Fleet::spawn(run, players, move |mut w| {
            let guard = SenderGuard::new(&traffic);
            let (traffic, ready, pad_b64) = (traffic.clone(), ready.clone(), pad_b64.clone());
            async move {
                let run = w.run.clone();
                let group = w.id / per_match;
                let path = format!("/relay?group={group}");
                let host = addr.to_string();
                let seed = Rng::from_entropy(w.id as u64).next_u64();
                let start = Instant::now();
                let opened = run
                    .until_stopped(tokio::time::timeout(
                        run.opts.timeout,
                        WsClient::connect(addr, &host, &path, seed),
                    ))
                    .await;
                let ws = match opened {
                    Some(Ok(Ok(ws))) => {
                        run.record(connect, start, Some(101), Sample::Ok);
                        ready.fetch_add(1, Ordering::Relaxed);
                        Some(ws)
                    }
                    Some(Ok(Err(e))) => {
                        let status = match e {
                            crate::ws::WsError::Rejected(s) => Some(s),
                            _ => None,
                        };
                        run.record(connect, start, status, Sample::Error(e.kind()));
                        None
                    }
                    Some(Err(_)) => {
                        run.record(connect, start, None, Sample::Timeout);
                        None
                    }
                    None => None,
                };
                // Every member is in its group once the fleet is ready: the
                // relay adds a connection to its group before the 101.
                w.ready();
                let Some(mut ws) = ws else {
                    return;
                };
                let (user, session, name) = presence(w.id);
                let envelope = MatchDataEnvelope::delivered(
                    &format!("{}.", uuid_like(0, group)),
                    (&user, &session, &name),
                    OP_CODE,
                    reliable,
                );
                match_relay::ws_player(&run, &mut ws, &traffic, w.id, guard, &envelope, &pad_b64)
                    .await;
            }
        })
    };

    fleet.wait_ready().await;
    let players_ready = ready.load(Ordering::Relaxed);
    super::stop_if_none_open(run, players_ready as u64);
    let t = traffic.clone();
    fleet
        .measure_and_drain(run.opts.timeout, move || t.complete())
        .await;
    drop(relay);
    let (delivered, expected) = traffic.report(run);
    Ok(Outcome {
        target: format!("raw relay process {pid} at {addr} (1 thread, epoll)"),
        extra: [
            ("relay_pid".into(), json!(pid)),
            ("matches".into(), json!(matches)),
            ("players_per_match".into(), json!(per_match)),
            ("players_ready".into(), json!(players_ready)),
            ("payload_bytes".into(), json!(payload)),
        ]
        .into_iter()
        .chain(match_relay::delivery_extras(run, delivered, expected))
        .chain([(
            "message".into(),
            json!(format!(
                "match_data op_code {OP_CODE}, {payload} bytes (stamp: send ns, sender, seq), forwarded verbatim"
            )),
        )])
        .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_a_server_s_sizes() {
        assert_eq!(uuid_like(1, 5).len(), 36);
        assert_eq!(uuid_like(0, usize::MAX >> 16).len(), 36);
        let (u, s, n) = presence(12);
        assert_ne!(u, s);
        assert_eq!((u.len(), s.len(), n.len()), (36, 36, 10));
    }
}
