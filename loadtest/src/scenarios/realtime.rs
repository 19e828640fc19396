//! Building blocks of the realtime traffic scenarios (`match-relay`,
//! `chat-fanout`, `match-rtt`), for both kinds of worker:
//!
//! * `ws-json`: a tokio task on the generator's runtime with this crate's
//!   WebSocket client ([`ws_loop`], [`ws_match_setup`]); only Nakama's
//!   public JSON protocol;
//! * the `kairos-client` transports: an OS thread with a blocking
//!   [`Realtime`] ([`client_loop`], [`client_match_setup`]).
//!
//! The open-loop loops send on their [`Schedule`] whatever arrives, and
//! stamp what arrives with the time the read that brought it returned:
//! the wait for the next send time and the wait for data are one wait
//! (`select!` on the task, a socket read timeout on the thread), so neither
//! delays the other.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kairos_client::rtapi::Outgoing;
use kairos_client::{Realtime, ServerMessage};

use crate::blocking::{self, MAX_WAIT};
use crate::nakama::{self, Envelope};
use crate::report::{OpId, Outcome};
use crate::runner::Run;
use crate::traffic::{SEND_GRAIN, Schedule, SenderGuard, Slot, Stamp, Traffic};
use crate::ws::{Message, WsClient, WsError};

/// A sender's part of a loop: its schedule and its guard (marks it done
/// once the window closes or the loop ends).
pub type Sending = Option<(Schedule, SenderGuard)>;

/// The per-match rendezvous: the creator publishes the match id (`None`:
/// it failed, the others give up).
pub type MatchSlot = Slot<Option<String>>;

/// Runs the open-loop loop of one `ws-json` member until the run stops or
/// the socket fails: sends `make(stamp)` on `sending`'s schedule until the
/// window closes, and hands every text frame to `on_text` with its arrival
/// time. Server pings are answered; binary frames are counted
/// (`unrelated_messages`).
pub async fn ws_loop(
    run: &Run,
    ws: &mut WsClient,
    traffic: &Traffic,
    sender: u32,
    mut sending: Sending,
    mut make: impl FnMut(&Stamp) -> String,
    mut on_text: impl FnMut(&[u8], Instant),
) -> Result<(), WsError> {
    let mut arrived = Instant::now();
    let mut unrelated = 0u64;
    let result = loop {
        let step: Result<(), WsError> = async {
            while let Some(m) = ws.next_buffered()? {
                match m {
                    Message::Text(t) => on_text(&t, arrived),
                    Message::Binary(_) => unrelated += 1,
                }
            }
            ws.flush_pending().await?;
            if run.window_closed() {
                sending = None; // Drops the guard: this sender is done.
            }
            if let Some((schedule, _)) = &mut sending {
                while let Some(at) = schedule.take_due(Instant::now(), SEND_GRAIN) {
                    let (stamp, sent_at) = Traffic::stamp(run, sender, schedule.taken());
                    let text = make(&stamp);
                    let r = ws.send_text(&text).await;
                    traffic.sent(
                        run,
                        at,
                        sent_at,
                        r.as_ref().map(drop).map_err(WsError::kind),
                    );
                    r?;
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = step {
            break Err(e);
        }
        let wake = sending.as_ref().map(|(s, _)| {
            let at = s.next_at();
            at.checked_sub(SEND_GRAIN).unwrap_or(at)
        });
        tokio::select! {
            biased;
            _ = run.stopped() => break Ok(()),
            r = ws.read_more() => match r {
                Ok(()) => arrived = Instant::now(),
                Err(e) => break Err(e),
            },
            _ = run.window_closed_wait(), if sending.is_some() => {}
            _ = tokio::time::sleep_until(wake.unwrap_or(arrived).into()), if wake.is_some() => {}
        }
    };
    if unrelated > 0 {
        run.stats.count("unrelated_messages", unrelated);
    }
    result
}

/// The same loop on a `kairos-client` connection, on this thread: sends
/// with `send(rt, stamp)` on schedule until the window closes, hands every
/// message to `on_msg` with its arrival time. `Err` when the connection
/// failed.
pub fn client_loop(
    run: &Run,
    rt: &mut Realtime,
    traffic: &Traffic,
    sender: u32,
    mut sending: Sending,
    mut send: impl FnMut(&mut Realtime, &Stamp) -> kairos_client::Result<()>,
    mut on_msg: impl FnMut(ServerMessage, Instant),
) -> kairos_client::Result<()> {
    let mut batch = Vec::new();
    while !run.is_stopped() {
        if run.window_closed() {
            sending = None;
        }
        let mut wait = MAX_WAIT;
        if let Some((schedule, _)) = &mut sending {
            // Two grains: the wait below (until one grain before the next
            // send) is then never shorter than a grain, which the socket
            // could not wait for without spinning. What is due leaves
            // together, as a game loop sends once per tick: on the
            // datagram transports several messages share a datagram.
            rt.batch(|rt| {
                while let Some(at) = schedule.take_due(Instant::now(), 2 * SEND_GRAIN) {
                    let (stamp, sent_at) = Traffic::stamp(run, sender, schedule.taken());
                    let r = send(rt, &stamp);
                    traffic.sent(
                        run,
                        at,
                        sent_at,
                        r.as_ref().map(drop).map_err(blocking::label),
                    );
                    r?;
                }
                Ok(())
            })?;
            // Wake up one grain early: socket timeouts round up to whole
            // milliseconds (and more, see the README).
            let wake = schedule.next_at().checked_sub(SEND_GRAIN);
            wait = wake
                .map_or(Duration::ZERO, |w| {
                    w.saturating_duration_since(Instant::now())
                })
                .min(MAX_WAIT);
        }
        blocking::receive(rt, wait, &mut batch, &mut on_msg)?;
    }
    Ok(())
}

/// Operation handles of match setup.
#[derive(Debug, Clone, Copy)]
pub struct MatchOps {
    /// `match_create` (setup).
    pub create: OpId,
    /// `match_join` (setup).
    pub join: OpId,
}

/// Others in the match, as seen by one member.
#[derive(Debug, Default)]
pub struct Members {
    me: String,
    others: HashSet<String>,
}

impl Members {
    fn set_me(&mut self, me: &str) {
        self.me = me.to_string();
        self.others.remove(me);
    }

    fn join(&mut self, session: &str) {
        if session != self.me && !session.is_empty() {
            self.others.insert(session.to_string());
        }
    }

    fn leave(&mut self, session: &str) {
        self.others.remove(session);
    }

    /// How many others this member has seen (joined and not left).
    pub fn count(&self) -> usize {
        self.others.len()
    }
}

/// Counts a member whose match never became complete (`incomplete_matches`
/// counts members, not matches).
fn incomplete(run: &Run) {
    run.stats.count("incomplete_matches", 1);
}

/// Match setup of one `ws-json` member: the creator (`slot` holder)
/// `match_create`s and publishes the id, the others wait for it and
/// `match_join`; then every member waits until it has seen the other
/// `members - 1` (from the join reply and presence events), giving up
/// after `--timeout` without a new join. Returns the match id once the
/// match is complete.
pub async fn ws_match_setup(
    run: &Run,
    ws: &mut WsClient,
    ops: MatchOps,
    slot: &MatchSlot,
    creator: bool,
    members: usize,
) -> Option<String> {
    let (op, request) = if creator {
        (ops.create, nakama::match_create_envelope(1))
    } else {
        let id = run.until_stopped(slot.wait()).await.flatten()?;
        (ops.join, nakama::match_join_envelope(1, &id))
    };
    let mut seen = Members::default();
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
            if let Some(ev) = &e.match_presence_event {
                ev.joins.iter().for_each(|p| seen.join(&p.session_id));
                ev.leaves.iter().for_each(|p| seen.leave(&p.session_id));
            }
            if !e.answers(1) {
                continue;
            }
            return Ok::<_, WsError>(match (&e.match_, e.error_label()) {
                (Some(m), _) => {
                    m.presences.iter().for_each(|p| seen.join(&p.session_id));
                    seen.set_me(&m.self_.session_id);
                    Ok(m.match_id.to_string())
                }
                (None, Some(label)) => Err(label),
                (None, None) => Err("rt-unexpected".to_string()),
            });
        }
    };
    let reply = run
        .until_stopped(tokio::time::timeout(run.opts.timeout, reply))
        .await?;
    let match_id = run.record_reply(op, start, reply)?;
    if creator {
        slot.set(Some(match_id.clone()));
    }
    while seen.count() + 1 < members {
        let before = seen.count();
        let next = async {
            loop {
                let Message::Text(t) = ws.recv().await? else {
                    continue;
                };
                if let Some(ev) = Envelope::parse(&t).and_then(|e| e.match_presence_event) {
                    ev.joins.iter().for_each(|p| seen.join(&p.session_id));
                    ev.leaves.iter().for_each(|p| seen.leave(&p.session_id));
                    if seen.count() != before {
                        return Ok::<_, WsError>(());
                    }
                }
            }
        };
        match run
            .until_stopped(tokio::time::timeout(run.opts.timeout, next))
            .await?
        {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => {
                incomplete(run);
                return None;
            }
        }
    }
    Some(match_id)
}

/// [`ws_match_setup`] on a `kairos-client` connection, on this thread.
pub fn client_match_setup(
    run: &Run,
    rt: &mut Realtime,
    ops: MatchOps,
    slot: &MatchSlot,
    creator: bool,
    members: usize,
) -> Option<String> {
    let m = if creator {
        let start = Instant::now();
        let r = rt.match_create(None);
        blocking::record(run, ops.create, start, &r);
        let m = r.ok()?;
        slot.set(Some(m.match_id.clone()));
        m
    } else {
        let id = slot.wait_blocking(run).flatten()?;
        let start = Instant::now();
        let r = rt.match_join(&id);
        blocking::record(run, ops.join, start, &r);
        r.ok()?
    };
    client_wait_members(run, rt, m, members)
}

fn client_wait_members(
    run: &Run,
    rt: &mut Realtime,
    m: kairos_client::rtapi::MatchOut,
    members: usize,
) -> Option<String> {
    let mut seen = Members::default();
    m.presences.iter().for_each(|p| seen.join(&p.session_id));
    seen.set_me(&m.self_.session_id);
    let mut deadline = Instant::now() + run.opts.timeout;
    let mut batch = Vec::new();
    while seen.count() + 1 < members {
        if run.is_stopped() {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            incomplete(run);
            return None;
        }
        let before = seen.count();
        let r = blocking::receive(rt, left.min(MAX_WAIT), &mut batch, |msg, _| {
            if let Some(Outgoing::MatchPresenceEvent(ev)) = msg.message {
                ev.joins.iter().for_each(|p| seen.join(&p.session_id));
                ev.leaves.iter().for_each(|p| seen.leave(&p.session_id));
            }
        });
        if r.is_err() {
            incomplete(run);
            return None;
        }
        if seen.count() != before {
            deadline = Instant::now() + run.opts.timeout;
        }
    }
    Some(m.match_id)
}

/// Records the end of a worker's loop: a failed connection is an error of
/// `op` (label of the failure) and counts in `sockets_lost`.
pub fn loop_ended(run: &Run, op: OpId, error: Option<String>) {
    if let Some(label) = error {
        run.record_sample(
            op,
            Instant::now(),
            Duration::ZERO,
            None,
            Outcome::Error(label),
        );
        run.stats.count("sockets_lost", 1);
    }
}

/// Closes a `ws-json` socket politely, bounded.
pub async fn ws_close(run: &Run, ws: &mut WsClient) {
    run.stats.count("server_pings_answered", ws.pings_answered);
    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close()).await;
}
