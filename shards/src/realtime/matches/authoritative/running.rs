//! One running authoritative match on its owner shard: its handler, its
//! input queue, its tick clock, and what the handler's dispatcher asks.
//!
//! Tick `n` is due at `start + n * period`, computed from the start and
//! never from the previous tick, so the clock does not drift. A tick that
//! finds itself late by more than a period skips the ticks it missed
//! rather than running them back to back (they are counted and logged as
//! overruns). A panic in any callback, or a `tick` that returns false,
//! ends the match: its members are removed (their shards told), and its
//! loop stops at its next wake.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use kairos_schema::rtapi::{MatchData, Outgoing, UserPresence};
use uuid::Uuid;

use crate::fanout::{StreamId, membership};
use crate::modules::guard;
use crate::modules::matches::{
    Action, Dispatcher, MatchContext, MatchHandler, MatchInit, MatchMessage, MatchPresence,
};
use crate::rt;
use crate::shard::Shard;

pub struct Running {
    pub id: Uuid,
    pub ctx: MatchContext,
    pub stream: StreamId,
    /// `None` once the match has ended.
    handler: RefCell<Option<Box<dyn MatchHandler>>>,
    period: Duration,
    tick_rate: u32,
    label: RefCell<String>,
    inbox: RefCell<VecDeque<MatchMessage>>,
    /// Broadcasts deferred to the end of the current tick.
    deferred: RefCell<Vec<Action>>,
    tick: Cell<u64>,
    /// Ticks skipped because the match fell behind.
    pub overruns: Cell<u64>,
    /// Messages dropped because the input queue was full.
    pub dropped: Cell<u64>,
}

impl Running {
    pub fn new(
        id: Uuid,
        ctx: MatchContext,
        stream: StreamId,
        handler: Box<dyn MatchHandler>,
        init: MatchInit,
    ) -> Running {
        Running {
            id,
            ctx,
            stream,
            handler: RefCell::new(Some(handler)),
            period: Duration::from_secs(1) / init.tick_rate,
            tick_rate: init.tick_rate,
            label: RefCell::new(init.label),
            inbox: RefCell::new(VecDeque::new()),
            deferred: RefCell::new(Vec::new()),
            tick: Cell::new(0),
            overruns: Cell::new(0),
            dropped: Cell::new(0),
        }
    }

    /// Tells match listing what this match is now (at its start and
    /// after each label update); the listing keeps its start time and
    /// size.
    pub fn listed(&self, shard: &Shard) {
        shard.shared.listing.upsert(
            self.id,
            crate::listing::Entry {
                match_id: self.ctx.match_id.clone(),
                authoritative: true,
                label: self.label(),
                tick_rate: self.tick_rate,
                handler_name: self.ctx.module.clone(),
                create_time: kairos_core::time::now_micros().saturating_mul(1000),
                size: 0,
            },
        );
    }

    pub fn tick_rate(&self) -> u32 {
        self.tick_rate
    }

    pub fn label(&self) -> String {
        self.label.borrow().clone()
    }

    pub fn ended(&self) -> bool {
        self.handler.borrow().is_none()
    }

    /// Queues a member's message for the next tick; past `max` it is
    /// dropped (and counted), as Nakama drops input past its queue.
    pub fn queue(&self, shard: &Shard, message: MatchMessage, max: usize) {
        let mut inbox = self.inbox.borrow_mut();
        if inbox.len() >= max {
            self.dropped.set(self.dropped.get() + 1);
            shard.metrics.match_input_dropped.inc();
            return;
        }
        inbox.push_back(message);
    }

    /// Runs a callback with a fresh dispatcher, then carries out what it
    /// asked. `None` when the match has ended (before, or by this
    /// callback's panic).
    fn call<R>(
        &self,
        shard: &Shard,
        f: impl FnOnce(&mut dyn MatchHandler, &mut Dispatcher) -> R,
    ) -> Option<R> {
        let mut d = Dispatcher::default();
        let result = {
            let mut slot = self.handler.borrow_mut();
            let handler = slot.as_mut()?;
            guard::catch(|| f(handler.as_mut(), &mut d))
        };
        match result {
            Ok(r) => {
                self.apply(shard, d.actions);
                Some(r)
            }
            Err(panic) => {
                tracing::error!(match_id = %self.ctx.match_id, panic = %panic, "match handler panicked; ending the match");
                self.end(shard);
                None
            }
        }
    }

    pub fn join_attempt(
        &self,
        shard: &Shard,
        who: &MatchPresence,
        metadata: &BTreeMap<String, String>,
    ) -> Option<Result<(), String>> {
        let tick = self.tick.get();
        self.call(shard, |h, d| h.join_attempt(d, tick, who, metadata))
    }

    pub fn joined(&self, shard: &Shard, who: &[MatchPresence]) {
        let tick = self.tick.get();
        self.call(shard, |h, d| h.join(d, tick, who));
        self.flush_deferred(shard);
    }

    pub fn left(&self, shard: &Shard, who: &[MatchPresence]) {
        let tick = self.tick.get();
        self.call(shard, |h, d| h.leave(d, tick, who));
        self.flush_deferred(shard);
    }

    pub fn terminate(&self, shard: &Shard, grace_seconds: u32) {
        let tick = self.tick.get();
        self.call(shard, |h, d| h.terminate(d, tick, grace_seconds));
        self.flush_deferred(shard);
    }

    pub fn signal(&self, shard: &Shard, data: &str) -> Option<Result<String, String>> {
        let tick = self.tick.get();
        let answer = self.call(shard, |h, d| h.signal(d, tick, data));
        self.flush_deferred(shard);
        answer
    }

    /// One tick: the queued messages go to the handler. False when the
    /// match is over.
    fn run_tick(&self, shard: &Shard) -> bool {
        let tick = self.tick.get() + 1;
        self.tick.set(tick);
        let messages: Vec<MatchMessage> = self.inbox.borrow_mut().drain(..).collect();
        let started = Instant::now();
        let go_on = self.call(shard, |h, d| h.tick(d, tick, messages));
        let took = started.elapsed();
        shard.metrics.match_ticks.inc();
        shard.metrics.match_tick_time.record(took);
        if took > self.period {
            tracing::warn!(match_id = %self.ctx.match_id, tick, ?took, "match tick overran its period");
        }
        self.flush_deferred(shard);
        match go_on {
            Some(true) => true,
            Some(false) => {
                self.end(shard);
                false
            }
            None => false,
        }
    }

    fn flush_deferred(&self, shard: &Shard) {
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        if !deferred.is_empty() {
            for action in deferred {
                self.broadcast(shard, action);
            }
        }
    }

    fn apply(&self, shard: &Shard, actions: Vec<Action>) {
        let mut kicked = Vec::new();
        for action in actions {
            match action {
                Action::Broadcast { deferred: true, .. } => {
                    self.deferred.borrow_mut().push(action);
                }
                Action::Broadcast { .. } => self.broadcast(shard, action),
                Action::Kick(sessions) => kicked.extend(sessions),
                Action::Label(label) => {
                    if label.len() <= super::MAX_LABEL {
                        *self.label.borrow_mut() = label;
                        self.listed(shard);
                    } else {
                        tracing::warn!(match_id = %self.ctx.match_id, "label update over {} bytes ignored", super::MAX_LABEL);
                    }
                }
            }
        }
        for session in kicked {
            let presence = shard
                .streams
                .borrow()
                .get(&self.stream)
                .and_then(|m| m.get(session).cloned());
            if let Some(p) = presence {
                // The kicked session's shard forgets the match; the
                // owner's leave path tells the others and the handler.
                shard.send_to(
                    p.shard,
                    membership::Msg::Dropped {
                        stream: self.stream.clone(),
                        sessions: vec![p.session_id],
                    },
                );
                membership::on_msg(
                    shard,
                    membership::Msg::Leave {
                        stream: self.stream.clone(),
                        session_id: p.session_id,
                    },
                );
            }
        }
    }

    fn broadcast(&self, shard: &Shard, action: Action) {
        let Action::Broadcast {
            op_code,
            data,
            to,
            sender,
            reliable,
            ..
        } = action
        else {
            return;
        };
        let table = shard.streams.borrow();
        let Some(members) = table.get(&self.stream) else {
            return;
        };
        let presence = sender
            .map(|s| {
                members
                    .get(s.session_id)
                    .map(|p| p.to_wire())
                    .unwrap_or(UserPresence {
                        user_id: s.user_id.to_string(),
                        session_id: s.session_id.to_string(),
                        username: s.username,
                        persistence: false,
                        status: None,
                    })
            })
            .unwrap_or_default();
        let out = Outgoing::MatchData(MatchData {
            match_id: self.ctx.match_id.clone(),
            presence,
            op_code,
            data,
            reliable,
        });
        super::super::owner::send_data(shard, members, &out, reliable, None, to.as_deref());
    }

    /// Ends the match: the handler is dropped, the members removed (their
    /// shards forget the match), and the loop stops at its next wake.
    pub fn end(&self, shard: &Shard) {
        if self.handler.borrow_mut().take().is_none() {
            return;
        }
        self.inbox.borrow_mut().clear();
        shard.shared.listing.remove(self.id);
        let mut running = shard.features.matches.running.borrow_mut();
        running.remove(&self.id);
        shard.metrics.matches.set(running.len() as u64);
        drop(running);
        membership::close(shard, self.stream.clone());
    }
}

/// Starts the match's tick loop on this shard.
pub fn start(shard: Rc<Shard>, m: Rc<Running>) {
    rt::spawn(async move {
        let start = Instant::now();
        let mut n: u32 = 0;
        loop {
            n = n.saturating_add(1);
            let due = start + m.period * n;
            let now = Instant::now();
            if due > now {
                rt::sleep(due - now).await;
            } else if now - due >= m.period {
                // Behind by whole ticks: skip them rather than stack them.
                let behind = ((now - due).as_nanos() / m.period.as_nanos()) as u32;
                n = n.saturating_add(behind);
                m.overruns.set(m.overruns.get() + u64::from(behind));
                shard.metrics.match_ticks_skipped.add(u64::from(behind));
                tracing::warn!(match_id = %m.ctx.match_id, skipped = behind, "match fell behind its tick rate");
            }
            if m.ended() {
                return;
            }
            shard
                .metrics
                .match_tick_lateness
                .record(Instant::now().saturating_duration_since(start + m.period * n));
            if !m.run_tick(&shard) {
                return;
            }
        }
    });
}
