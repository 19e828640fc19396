//! `match-relay`: relayed-match traffic, open loop. `--concurrency` players
//! in matches of `--players-per-match` M: the first player of each match
//! `match_create`s, the others `match_join`, and each waits until it has
//! seen all M − 1 others. Then every player sends `match_data_send`
//! (op code 1, `--payload` bytes, `--reliable`) at `--rate` per second on a
//! fixed schedule, whatever it receives, and records every `match_data` it
//! receives: delivery latency = receive time − the send time stamped in
//! the payload (one clock: the generator's).
//!
//! After the window, senders stop and the run drains until every message
//! sent in the window has been delivered M − 1 times, or `--timeout`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kairos_client::Transport;
use kairos_client::rtapi::Outgoing;
use serde_json::{Value, json};

use super::realtime::{self, MatchOps, MatchSlot};
use super::{Outcome, SessionOps, colocate, open_session_on, resolve_target};
use crate::blocking;
use crate::nakama::{Envelope, MatchDataEnvelope};
use crate::report::Kind;
use crate::runner::{Fleet, Run};
use crate::traffic::{HEADER_LEN, Schedule, Seen, SenderGuard, Slot, Stamp, Traffic};
use crate::ws::WsClient;

/// Smallest `--payload`: the stamp.
pub const MIN_PAYLOAD: usize = HEADER_LEN;
/// Default `--payload`.
pub const DEFAULT_PAYLOAD: usize = 64;
/// The op code of the relayed data.
pub const OP_CODE: i64 = 1;

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let per_match = run.opts.players_per_match;
    let players = run.opts.concurrency;
    let matches = players / per_match;
    let transport = run.opts.transport;
    let payload = run.opts.payload.unwrap_or(DEFAULT_PAYLOAD);
    let rate = run.opts.rate_or_default();
    let reliable = run.opts.reliable;

    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run
            .stats
            .register(blocking::connect_op(transport), Kind::Setup),
    };
    let mops = MatchOps {
        create: run.stats.register("match_create", Kind::Setup),
        join: run.stats.register("match_join", Kind::Setup),
    };
    let traffic = Arc::new(Traffic::new(run, (per_match - 1) as u64, false, players));
    let slots: Arc<Vec<MatchSlot>> = Arc::new((0..matches).map(|_| Slot::new()).collect());
    let ready = Arc::new(AtomicUsize::new(0));

    let fleet = if transport == Transport::WsJson {
        let addr = resolve_target(run).await?;
        let pad_b64 = pad_base64(payload);
        let (traffic, slots, ready) = (traffic.clone(), slots.clone(), ready.clone());
        Fleet::spawn(run, players, move |mut w| {
            let guard = SenderGuard::new(&traffic);
            let (traffic, slots, ready, pad_b64) = (
                traffic.clone(),
                slots.clone(),
                ready.clone(),
                pad_b64.clone(),
            );
            async move {
                let run = w.run.clone();
                let (slot, creator) = (&slots[w.id / per_match], w.id % per_match == 0);
                let shard = colocate(w.id / per_match, run.opts.colocate_shards);
                let mut ws = open_session_on(&run, addr, w.id, ops, shard).await;
                let match_id = match &mut ws {
                    Some(ws) => {
                        realtime::ws_match_setup(&run, ws, mops, slot, creator, per_match).await
                    }
                    None => None,
                };
                if creator {
                    slot.set(None); // No-op once the id is published.
                }
                if ws.is_some() && match_id.is_some() {
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                w.ready();
                let (Some(mut ws), Some(match_id)) = (ws, match_id) else {
                    return;
                };
                let envelope = MatchDataEnvelope::new(&match_id, OP_CODE, reliable);
                ws_player(&run, &mut ws, &traffic, w.id, guard, &envelope, &pad_b64).await;
            }
        })
    } else {
        let handle = tokio::runtime::Handle::current();
        let client = blocking::client(run)?;
        let (traffic, slots, ready) = (traffic.clone(), slots.clone(), ready.clone());
        Fleet::spawn_threads(run, players, move |mut w| {
            let guard = SenderGuard::new(&traffic);
            let run = w.run.clone();
            let (slot, creator) = (&slots[w.id / per_match], w.id % per_match == 0);
            let mut rt = blocking::open_session(&run, &handle, &client, w.id, ops, transport);
            let match_id = rt.as_mut().and_then(|rt| {
                realtime::client_match_setup(&run, rt, mops, slot, creator, per_match)
            });
            if creator {
                slot.set(None);
            }
            if rt.is_some() && match_id.is_some() {
                ready.fetch_add(1, Ordering::Relaxed);
            }
            w.ready();
            let (Some(mut rt), Some(match_id)) = (rt, match_id) else {
                return;
            };
            let schedule = Schedule::new(Instant::now(), rate, Schedule::phase_of(w.id, players));
            let mut seen = Seen::new(w.id as u32);
            let mut unrelated = 0u64;
            let result = realtime::client_loop(
                &run,
                &mut rt,
                &traffic,
                w.id as u32,
                Some((schedule, guard)),
                |rt, stamp| {
                    rt.match_data_send(&match_id, OP_CODE, stamp.payload(payload), reliable, &[])
                },
                |msg, at| match msg.message {
                    Some(Outgoing::MatchData(d)) => match Stamp::decode(&d.data) {
                        Some(s) => traffic.delivered(&run, s, at, &mut seen),
                        None => traffic.foreign(),
                    },
                    _ => unrelated += 1,
                },
            );
            realtime::loop_ended(
                &run,
                traffic.deliver_op,
                result.err().map(|e| blocking::label(&e)),
            );
            if unrelated > 0 {
                run.stats.count("unrelated_messages", unrelated);
            }
            rt.close();
        })
    };

    fleet.wait_ready().await;
    let players_ready = ready.load(Ordering::Relaxed);
    if players_ready == 0 && !run.is_stopped() {
        eprintln!(
            "kairos-loadtest: no player got into a complete match (see the setup errors); stopping"
        );
        run.stop(false);
    }
    let t = traffic.clone();
    fleet
        .measure_and_drain(run.opts.timeout, move || t.complete())
        .await;
    let (delivered, expected) = traffic.report(run);
    Ok(Outcome {
        target: format!("{} over {}", run.opts.target, transport.name()),
        extra: vec![
            ("transport".into(), json!(transport.name())),
            ("matches".into(), json!(matches)),
            ("players_per_match".into(), json!(per_match)),
            ("players_ready".into(), json!(players_ready)),
            ("payload_bytes".into(), json!(payload)),
        ]
        .into_iter()
        .chain(delivery_extras(run, delivered, expected))
        .chain([(
                "message".into(),
                json!(format!(
                    "match_data_send op_code {OP_CODE}, {payload} bytes (stamp: send ns, sender, seq), reliable={reliable}"
                )),
            )])
        .collect(),
    })
}

/// The padding after the stamp of a `payload`-byte match data, in base64
/// once (the stamp is 24 bytes, a whole number of base64 groups, so the
/// two concatenate).
pub fn pad_base64(payload: usize) -> Arc<str> {
    STANDARD
        .encode(vec![0u8; payload.saturating_sub(HEADER_LEN)])
        .into()
}

/// The open-loop part of one `ws-json` player, once in its match (shared
/// with `baseline-relay`, so that both load the same client code): sends
/// `envelope` carrying a fresh stamp and `pad_b64` at `--rate` on its
/// schedule, counts every `match_data` received as a delivery (its
/// latency from the stamp), then closes the socket.
pub async fn ws_player(
    run: &Arc<Run>,
    ws: &mut WsClient,
    traffic: &Traffic,
    id: usize,
    guard: SenderGuard,
    envelope: &MatchDataEnvelope,
    pad_b64: &str,
) {
    let players = run.opts.concurrency;
    let rate = run.opts.rate_or_default();
    let schedule = Schedule::new(Instant::now(), rate, Schedule::phase_of(id, players));
    let mut seen = Seen::new(id as u32);
    let mut unrelated = 0u64;
    let result = realtime::ws_loop(
        run,
        ws,
        traffic,
        id as u32,
        Some((schedule, guard)),
        |stamp| {
            let mut b64 = STANDARD.encode(stamp.encode());
            b64.push_str(pad_b64);
            envelope.with_base64(&b64)
        },
        |text, at| match Envelope::parse(text).and_then(|e| e.match_data) {
            Some(d) => match Stamp::decode_base64(&d.data) {
                Some(s) => traffic.delivered(run, s, at, &mut seen),
                None => traffic.foreign(),
            },
            None => unrelated += 1,
        },
    )
    .await;
    realtime::loop_ended(run, traffic.deliver_op, result.err().map(|e| e.kind()));
    if unrelated > 0 {
        run.stats.count("unrelated_messages", unrelated);
    }
    realtime::ws_close(run, ws).await;
}

/// `delivered_per_sec` over the window and `delivery_ratio`
/// (delivered / expected), for the report.
pub fn delivery_extras(run: &Run, delivered: u64, expected: u64) -> Vec<(String, Value)> {
    let secs = run.measured().as_secs_f64();
    let per_sec = if secs > 0.0 {
        delivered as f64 / secs
    } else {
        0.0
    };
    let ratio = if expected > 0 {
        delivered as f64 / expected as f64
    } else {
        0.0
    };
    vec![
        (
            "delivered_per_sec".into(),
            json!((per_sec * 10.0).round() / 10.0),
        ),
        ("delivery_ratio".into(), json!((ratio * 1e6).round() / 1e6)),
    ]
}
