//! `match-rtt`: the relay round trip A → server → B → server → A, back to
//! back, in `--concurrency` two-player relayed matches. A (the creator)
//! sends `match_data_send` op code 1 with a stamped `--payload`; B (the
//! joiner) sends every op code 1 it receives straight back as op code 2
//! (same data, to the match: that is, to A); A records the time from its
//! send to the matching op code 2 as one `rtt` sample and sends the next.
//!
//! The path crosses the network four times, like two `baseline-ws-echo` or
//! `baseline-udp-echo` round trips: quote it against twice theirs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kairos_client::rtapi::Outgoing;
use kairos_client::{Bytes, Realtime, Transport};
use serde_json::json;

use super::realtime::{self, MatchOps, MatchSlot};
use super::{Outcome, SessionOps, open_session, resolve_target};
use crate::blocking::{self, MAX_WAIT};
use crate::nakama::{Envelope, MatchDataEnvelope};
use crate::report::{Kind, OpId, Outcome as Sample};
use crate::runner::{Fleet, Run};
use crate::traffic::{HEADER_LEN, Slot, Stamp, Traffic};
use crate::ws::{Message, WsClient, WsError};

/// Smallest `--payload`: the stamp.
pub const MIN_PAYLOAD: usize = HEADER_LEN;
/// Default `--payload`.
pub const DEFAULT_PAYLOAD: usize = 64;
/// A's op code.
pub const OP_PING: i64 = 1;
/// B's echo.
pub const OP_ECHO: i64 = 2;

/// Per-side counters, reported at the end.
#[derive(Default)]
struct Counts {
    stale: u64,
    unrelated: u64,
    echoed: u64,
}

impl Counts {
    fn report(&self, run: &Run) {
        for (name, n) in [
            ("stale_replies", self.stale),
            ("unrelated_messages", self.unrelated),
            ("echoed", self.echoed),
        ] {
            if n > 0 {
                run.stats.count(name, n);
            }
        }
    }
}

fn lost(run: &Run, op: OpId, start: Instant, label: String) {
    run.record(op, start, None, Sample::Error(label));
    run.stats.count("sockets_lost", 1);
}

/// A's loop on a `ws-json` socket.
async fn ws_pinger(
    run: &Run,
    ws: &mut WsClient,
    op: OpId,
    id: u32,
    match_id: &str,
    payload: usize,
) {
    let envelope = MatchDataEnvelope::new(match_id, OP_PING, run.opts.reliable);
    let mut c = Counts::default();
    let mut seq = 0u64;
    while !run.is_stopped() {
        seq += 1;
        let (stamp, start) = Traffic::stamp(run, id, seq);
        let text = envelope.with_data(&stamp.payload(payload));
        let exchange = async {
            ws.send_text(&text).await?;
            loop {
                let Message::Text(t) = ws.recv().await? else {
                    c.unrelated += 1;
                    continue;
                };
                match Envelope::parse(&t).and_then(|e| e.match_data) {
                    Some(d) if d.op_code == OP_ECHO => {
                        if Stamp::decode_base64(&d.data) == Some(stamp) {
                            return Ok::<_, WsError>(());
                        }
                        c.stale += 1;
                    }
                    _ => c.unrelated += 1,
                }
            }
        };
        match run
            .until_stopped(tokio::time::timeout(run.opts.timeout, exchange))
            .await
        {
            None => break,
            Some(Err(_)) => run.record(op, start, None, Sample::Timeout),
            Some(Ok(Ok(()))) => run.record(op, start, None, Sample::Ok),
            Some(Ok(Err(e))) => {
                lost(run, op, start, e.kind());
                break;
            }
        }
    }
    c.report(run);
}

/// B's loop on a `ws-json` socket.
async fn ws_echoer(run: &Run, ws: &mut WsClient, op: OpId, match_id: &str) {
    let envelope = MatchDataEnvelope::new(match_id, OP_ECHO, run.opts.reliable);
    let mut c = Counts::default();
    loop {
        let text = match run.until_stopped(ws.recv()).await {
            None => break,
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => {
                c.unrelated += 1;
                continue;
            }
            Some(Err(e)) => {
                lost(run, op, Instant::now(), e.kind());
                break;
            }
        };
        let reply = match Envelope::parse(&text).and_then(|e| e.match_data) {
            Some(d) if d.op_code == OP_PING => envelope.with_base64(&d.data),
            _ => {
                c.unrelated += 1;
                continue;
            }
        };
        if let Err(e) = ws.send_text(&reply).await {
            lost(run, op, Instant::now(), e.kind());
            break;
        }
        c.echoed += 1;
    }
    c.report(run);
}

/// A's loop on a `kairos-client` connection.
fn client_pinger(run: &Run, rt: &mut Realtime, op: OpId, id: u32, match_id: &str, payload: usize) {
    let mut c = Counts::default();
    let mut batch = Vec::new();
    let mut seq = 0u64;
    'outer: while !run.is_stopped() {
        seq += 1;
        let (stamp, start) = Traffic::stamp(run, id, seq);
        let data = stamp.payload(payload);
        if let Err(e) = rt.match_data_send(match_id, OP_PING, data, run.opts.reliable, &[]) {
            lost(run, op, start, blocking::label(&e));
            break;
        }
        let deadline = start + run.opts.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                run.record(op, start, None, Sample::Timeout);
                break;
            }
            if run.is_stopped() {
                break 'outer;
            }
            let mut done = None;
            let r = blocking::receive(rt, left.min(MAX_WAIT), &mut batch, |msg, at| {
                match msg.message {
                    Some(Outgoing::MatchData(d)) if d.op_code == OP_ECHO => {
                        if Stamp::decode(&d.data) == Some(stamp) {
                            done = Some(at);
                        } else {
                            c.stale += 1;
                        }
                    }
                    _ => c.unrelated += 1,
                }
            });
            if let Err(e) = r {
                lost(run, op, start, blocking::label(&e));
                break 'outer;
            }
            if let Some(at) = done {
                run.record_sample(op, start, at - start, None, Sample::Ok);
                break;
            }
        }
    }
    c.report(run);
}

/// B's loop on a `kairos-client` connection.
fn client_echoer(run: &Run, rt: &mut Realtime, op: OpId, match_id: &str) {
    let mut c = Counts::default();
    let mut batch = Vec::new();
    let mut echo: Vec<Bytes> = Vec::new();
    while !run.is_stopped() {
        let r = blocking::receive(rt, MAX_WAIT, &mut batch, |msg, _| match msg.message {
            Some(Outgoing::MatchData(d)) if d.op_code == OP_PING => echo.push(d.data),
            _ => c.unrelated += 1,
        });
        if let Err(e) = r {
            lost(run, op, Instant::now(), blocking::label(&e));
            break;
        }
        for data in echo.drain(..) {
            if let Err(e) = rt.match_data_send(match_id, OP_ECHO, data, run.opts.reliable, &[]) {
                lost(run, op, Instant::now(), blocking::label(&e));
                c.report(run);
                return;
            }
            c.echoed += 1;
        }
    }
    c.report(run);
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let pairs = run.opts.concurrency;
    let transport = run.opts.transport;
    let payload = run.opts.payload.unwrap_or(DEFAULT_PAYLOAD);
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
    let rtt = run.stats.register("rtt", Kind::Measured);
    let slots: Arc<Vec<MatchSlot>> = Arc::new((0..pairs).map(|_| Slot::new()).collect());
    let ready = Arc::new(AtomicUsize::new(0));

    let fleet = if transport == Transport::WsJson {
        let addr = resolve_target(run).await?;
        let (slots, ready) = (slots.clone(), ready.clone());
        Fleet::spawn(run, 2 * pairs, move |mut w| {
            let (slots, ready) = (slots.clone(), ready.clone());
            async move {
                let run = w.run.clone();
                let (slot, a_side) = (&slots[w.id / 2], w.id % 2 == 0);
                let mut ws = open_session(&run, addr, w.id, ops).await;
                let match_id = match &mut ws {
                    Some(ws) => realtime::ws_match_setup(&run, ws, mops, slot, a_side, 2).await,
                    None => None,
                };
                if a_side {
                    slot.set(None);
                }
                if ws.is_some() && match_id.is_some() {
                    ready.fetch_add(1, Ordering::Relaxed);
                }
                w.ready();
                let (Some(mut ws), Some(match_id)) = (ws, match_id) else {
                    return;
                };
                if a_side {
                    ws_pinger(&run, &mut ws, rtt, w.id as u32, &match_id, payload).await;
                } else {
                    ws_echoer(&run, &mut ws, rtt, &match_id).await;
                }
                realtime::ws_close(&run, &mut ws).await;
            }
        })
    } else {
        let handle = tokio::runtime::Handle::current();
        let client = blocking::client(run)?;
        let (slots, ready) = (slots.clone(), ready.clone());
        Fleet::spawn_threads(run, 2 * pairs, move |mut w| {
            let run = w.run.clone();
            let (slot, a_side) = (&slots[w.id / 2], w.id % 2 == 0);
            let mut rt = blocking::open_session(&run, &handle, &client, w.id, ops, transport);
            let match_id = rt
                .as_mut()
                .and_then(|rt| realtime::client_match_setup(&run, rt, mops, slot, a_side, 2));
            if a_side {
                slot.set(None);
            }
            if rt.is_some() && match_id.is_some() {
                ready.fetch_add(1, Ordering::Relaxed);
            }
            w.ready();
            let (Some(mut rt), Some(match_id)) = (rt, match_id) else {
                return;
            };
            if a_side {
                client_pinger(&run, &mut rt, rtt, w.id as u32, &match_id, payload);
            } else {
                client_echoer(&run, &mut rt, rtt, &match_id);
            }
            rt.close();
        })
    };

    fleet.wait_ready().await;
    let players_ready = ready.load(Ordering::Relaxed);
    if players_ready < 2 && !run.is_stopped() {
        eprintln!("kairos-loadtest: no pair got into its match (see the setup errors); stopping");
        run.stop(false);
    }
    fleet.measure().await;
    Ok(Outcome {
        target: format!("{} over {}", run.opts.target, transport.name()),
        extra: vec![
            ("transport".into(), json!(transport.name())),
            ("pairs".into(), json!(pairs)),
            ("players_ready".into(), json!(players_ready)),
            ("payload_bytes".into(), json!(payload)),
            (
                "path".into(),
                json!(format!(
                    "A -> server -> B -> server -> A (op_code {OP_PING} echoed as {OP_ECHO}), reliable={}",
                    run.opts.reliable
                )),
            ),
        ],
    })
}
