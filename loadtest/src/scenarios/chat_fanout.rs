//! `chat-fanout`: one crowded chat room, open loop. `--concurrency`
//! members join the room (a fresh name per run) with `channel_join`
//! (type 1, `--persistence`); `--senders` of them send
//! `channel_message_send` at `--rate` per second each, on a fixed
//! schedule, with content `{"t":<send ns>,"s":<sender>,"n":<seq>}`. Every
//! member records every `channel_message` it receives: delivery latency =
//! receive time − `t`. The server delivers each message to every member,
//! the sender included (as Nakama does), so each message is expected
//! `--concurrency` times.
//!
//! Senders do not wait for their `channel_message_ack`s (counted as
//! `acks`; `error` replies as `sends_rejected`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use kairos_client::rtapi::{ChannelMessageSend, Incoming, Outgoing};
use kairos_client::{ChannelType, Transport};
use serde_json::json;

use super::realtime;
use super::{Outcome, SessionOps, open_session, resolve_target};
use crate::blocking;
use crate::nakama::{self, Envelope};
use crate::report::{Kind, OpId};
use crate::rng::Rng;
use crate::runner::{Fleet, Run};
use crate::traffic::{Schedule, Seen, SenderGuard, Stamp, Traffic};
use crate::ws::{Message, WsClient, WsError};

/// Acks and rejections of sends, shared by the fleet.
#[derive(Default)]
struct Replies {
    acks: AtomicU64,
    rejected: AtomicU64,
}

/// Joins `room` on a `ws-json` socket (cid 1); the channel id.
async fn ws_join(run: &Run, ws: &mut WsClient, op: OpId, room: &str) -> Option<String> {
    let request = nakama::channel_join_envelope(1, room, run.opts.persistence, false);
    let start = Instant::now();
    let reply = async {
        ws.send_text(&request).await?;
        loop {
            let Message::Text(t) = ws.recv().await? else {
                continue;
            };
            let Some(e) = Envelope::parse(&t) else {
                continue;
            };
            if e.answers(1) {
                return Ok::<_, WsError>(match (&e.channel, e.error_label()) {
                    (Some(c), _) => Ok(c.id.to_string()),
                    (None, Some(label)) => Err(label),
                    (None, None) => Err("rt-unexpected".to_string()),
                });
            }
        }
    };
    let reply = run
        .until_stopped(tokio::time::timeout(run.opts.timeout, reply))
        .await?;
    run.record_reply(op, start, reply)
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let members = run.opts.concurrency;
    let senders = run.opts.senders;
    let transport = run.opts.transport;
    let rate = run.opts.rate_or_default();
    let persistence = run.opts.persistence;
    let room: Arc<str> = format!("kairos-lt-room-{:016x}", Rng::from_entropy(0).next_u64()).into();

    let ops = SessionOps {
        auth: run.stats.register("authenticate_device", Kind::Setup),
        connect: run
            .stats
            .register(blocking::connect_op(transport), Kind::Setup),
    };
    let join = run.stats.register("channel_join", Kind::Setup);
    let traffic = Arc::new(Traffic::new(run, members as u64, true, senders));
    let replies = Arc::new(Replies::default());
    let joined = Arc::new(AtomicUsize::new(0));

    let fleet = if transport == Transport::WsJson {
        let addr = resolve_target(run).await?;
        let (traffic, replies, joined, room) = (
            traffic.clone(),
            replies.clone(),
            joined.clone(),
            room.clone(),
        );
        Fleet::spawn(run, members, move |mut w| {
            let guard = (w.id < senders).then(|| SenderGuard::new(&traffic));
            let (traffic, replies, joined, room) = (
                traffic.clone(),
                replies.clone(),
                joined.clone(),
                room.clone(),
            );
            async move {
                let run = w.run.clone();
                let mut ws = open_session(&run, addr, w.id, ops).await;
                let channel = match &mut ws {
                    Some(ws) => ws_join(&run, ws, join, &room).await,
                    None => None,
                };
                if ws.is_some() && channel.is_some() {
                    joined.fetch_add(1, Ordering::Relaxed);
                }
                w.ready();
                let (Some(mut ws), Some(channel)) = (ws, channel) else {
                    return;
                };
                let channel_json = nakama::json_string(&channel);
                let sending = guard.map(|g| {
                    let phase = Schedule::phase_of(w.id, senders);
                    (Schedule::new(Instant::now(), rate, phase), g)
                });
                let mut seen = Seen::new(w.id as u32);
                let mut unrelated = 0u64;
                let result = realtime::ws_loop(
                    &run,
                    &mut ws,
                    &traffic,
                    w.id as u32,
                    sending,
                    // cid 1 was the join: message n goes with cid n + 1.
                    |stamp| {
                        nakama::channel_message_send_envelope(
                            stamp.seq + 1,
                            &channel_json,
                            &stamp.chat_content(),
                        )
                    },
                    |text, at| {
                        let Some(e) = Envelope::parse(text) else {
                            unrelated += 1;
                            return;
                        };
                        if let Some(m) = &e.channel_message {
                            match Stamp::from_chat_content(&m.content) {
                                Some(s) => traffic.delivered(&run, s, at, &mut seen),
                                None => traffic.foreign(),
                            }
                        } else if e.channel_message_ack.is_some() {
                            replies.acks.fetch_add(1, Ordering::Relaxed);
                        } else if e.error.is_some() {
                            replies.rejected.fetch_add(1, Ordering::Relaxed);
                        } else {
                            unrelated += 1;
                        }
                    },
                )
                .await;
                realtime::loop_ended(&run, traffic.deliver_op, result.err().map(|e| e.kind()));
                if unrelated > 0 {
                    run.stats.count("unrelated_messages", unrelated);
                }
                realtime::ws_close(&run, &mut ws).await;
            }
        })
    } else {
        let handle = tokio::runtime::Handle::current();
        let client = blocking::client(run)?;
        let (traffic, replies, joined, room) = (
            traffic.clone(),
            replies.clone(),
            joined.clone(),
            room.clone(),
        );
        Fleet::spawn_threads(run, members, move |mut w| {
            let guard = (w.id < senders).then(|| SenderGuard::new(&traffic));
            let run = w.run.clone();
            let mut rt = blocking::open_session(&run, &handle, &client, w.id, ops, transport);
            let channel = rt.as_mut().and_then(|rt| {
                let start = Instant::now();
                let r = rt.channel_join(&room, ChannelType::Room, persistence, false);
                blocking::record(&run, join, start, &r);
                r.ok().map(|c| c.id)
            });
            if rt.is_some() && channel.is_some() {
                joined.fetch_add(1, Ordering::Relaxed);
            }
            w.ready();
            let (Some(mut rt), Some(channel)) = (rt, channel) else {
                return;
            };
            let sending = guard.map(|g| {
                let phase = Schedule::phase_of(w.id, senders);
                (Schedule::new(Instant::now(), rate, phase), g)
            });
            let mut seen = Seen::new(w.id as u32);
            let mut unrelated = 0u64;
            let result = realtime::client_loop(
                &run,
                &mut rt,
                &traffic,
                w.id as u32,
                sending,
                |rt, stamp| {
                    let message = Incoming::ChannelMessageSend(ChannelMessageSend {
                        channel_id: channel.clone(),
                        content: stamp.chat_content(),
                    });
                    rt.send(&message).map(drop)
                },
                |msg, at| match msg.message {
                    Some(Outgoing::ChannelMessage(m)) => match Stamp::from_chat_content(&m.content)
                    {
                        Some(s) => traffic.delivered(&run, s, at, &mut seen),
                        None => traffic.foreign(),
                    },
                    Some(Outgoing::ChannelMessageAck(_)) => {
                        replies.acks.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Outgoing::Error(_)) => {
                        replies.rejected.fetch_add(1, Ordering::Relaxed);
                    }
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
    let members_joined = joined.load(Ordering::Relaxed);
    if members_joined == 0 && !run.is_stopped() {
        eprintln!("kairos-loadtest: no member joined the room (see the setup errors); stopping");
        run.stop(false);
    }
    let t = traffic.clone();
    fleet
        .measure_and_drain(run.opts.timeout, move || t.complete())
        .await;
    let (delivered, expected) = traffic.report(run);
    run.stats
        .count("acks", replies.acks.load(Ordering::Relaxed));
    run.stats
        .count("sends_rejected", replies.rejected.load(Ordering::Relaxed));
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
    Ok(Outcome {
        target: format!("{} over {}", run.opts.target, transport.name()),
        extra: vec![
            ("transport".into(), json!(transport.name())),
            ("room".into(), json!(&*room)),
            ("members_joined".into(), json!(members_joined)),
            ("senders".into(), json!(senders)),
            (
                "delivered_per_sec".into(),
                json!((per_sec * 10.0).round() / 10.0),
            ),
            ("delivery_ratio".into(), json!((ratio * 1e6).round() / 1e6)),
            (
                "message".into(),
                json!(r#"channel_message_send {"t":<send ns>,"s":<sender>,"n":<seq>}"#),
            ),
        ],
    })
}
