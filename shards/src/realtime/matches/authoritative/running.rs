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
//!
//! Callbacks run one at a time. One that waits on the server
//! ([`Step::Wait`]) makes the match busy: the jobs that come meanwhile
//! (join attempts, joins, leaves, signals, a tick) wait in order in its
//! backlog and run when it is done, so a handler never sees two callbacks
//! at once. Ticks do not stack behind it: one waits, the next are skipped
//! and counted as overruns. A handler that never waits (every Rust
//! handler with the default [`MatchHandler::step`]) never makes the match
//! busy, and runs each callback at once, as the job arrives.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use kairos_core::error::{ApiError, Code};
use kairos_schema::rtapi::{ErrorCode, MatchData, Outgoing, UserPresence};
use uuid::Uuid;

use super::super::{Join, owner};
use crate::fanout::{StreamId, membership};
use crate::modules::matches::{
    Action, Answer, Call, Dispatcher, MatchContext, MatchHandler, MatchInit, MatchMessage,
    MatchPresence, Step,
};
use crate::modules::{Nk, guard};
use crate::rt;
use crate::shard::Shard;

/// Where a signal's answer goes.
pub type Reply = futures_channel::oneshot::Sender<Result<String, ApiError>>;

/// A callback the match is to run, with what it needs to carry out what
/// follows.
enum Job {
    JoinAttempt { join: Box<Join>, who: MatchPresence },
    Join(Vec<MatchPresence>),
    Leave(Vec<MatchPresence>),
    Tick,
    Terminate(u32),
    Signal { data: String, reply: Reply },
}

/// Why a job was not run.
#[derive(Clone, Copy)]
enum Gone {
    /// The match has ended.
    Ended,
    /// Too many jobs wait behind a callback that waits on the server.
    Busy,
}

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
    /// A callback is waiting on the server: later jobs wait in `backlog`.
    busy: Cell<bool>,
    backlog: RefCell<VecDeque<Job>>,
    /// A tick waits in `backlog`.
    tick_queued: Cell<bool>,
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
            busy: Cell::new(false),
            backlog: RefCell::new(VecDeque::new()),
            tick_queued: Cell::new(false),
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

    /// Asks the handler whether `join` may join; an accepted session joins
    /// the stream, gets the match, everyone hears of the join, then the
    /// handler's `join` runs. A session already a member is not asked
    /// again.
    pub fn join(self: &Rc<Self>, shard: &Shard, join: Join, who: MatchPresence) {
        self.run(
            shard,
            Job::JoinAttempt {
                join: Box::new(join),
                who,
            },
        );
    }

    pub fn left(self: &Rc<Self>, shard: &Shard, who: Vec<MatchPresence>) {
        self.run(shard, Job::Leave(who));
    }

    pub fn terminate(self: &Rc<Self>, shard: &Shard, grace_seconds: u32) {
        self.run(shard, Job::Terminate(grace_seconds));
    }

    /// Signals the handler; its answer goes to `reply`.
    pub fn signal(self: &Rc<Self>, shard: &Shard, data: String, reply: Reply) {
        self.run(shard, Job::Signal { data, reply });
    }

    /// Runs `job` now, or, while a callback waits on the server, after
    /// the jobs before it. At most one tick waits its turn; join attempts
    /// and signals past `kairos.runtime.match_input_queue` waiting are
    /// refused.
    fn run(self: &Rc<Self>, shard: &Shard, job: Job) {
        if self.ended() {
            self.abandon(shard, job, Gone::Ended);
            return;
        }
        if !self.busy.get() {
            self.execute(shard, job);
            return;
        }
        match job {
            Job::Tick => self.tick_queued.set(true),
            Job::JoinAttempt { .. } | Job::Signal { .. }
                if self.backlog.borrow().len()
                    >= shard.config().kairos.runtime.match_input_queue =>
            {
                self.abandon(shard, job, Gone::Busy);
                return;
            }
            _ => {}
        }
        self.backlog.borrow_mut().push_back(job);
    }

    /// Runs the jobs that waited, in order, until one waits on the server
    /// (its end drains the rest).
    fn drain(self: &Rc<Self>, shard: &Shard) {
        while !self.busy.get() {
            let Some(job) = self.backlog.borrow_mut().pop_front() else {
                return;
            };
            self.run(shard, job);
        }
    }

    /// Calls the handler for `job` with a fresh dispatcher; what it asked
    /// is carried out when it is done, now or once its future is.
    fn execute(self: &Rc<Self>, shard: &Shard, job: Job) {
        if let Job::JoinAttempt { join, .. } = &job
            && self.is_member(shard, join)
        {
            self.finish(shard, job, Answer::JoinAttempt(Ok(())), Instant::now());
            return;
        }
        let started = Instant::now();
        let nk = Nk::new(shard.rc());
        let mut d = Dispatcher::default();
        let step = {
            let mut slot = self.handler.borrow_mut();
            let Some(handler) = slot.as_mut() else {
                drop(slot);
                self.abandon(shard, job, Gone::Ended);
                return;
            };
            // Nakama's numbering: `tick` calls before this one; a tick
            // is numbered by the ticks before it (the first is 0).
            let tick = self.tick.get();
            if let Job::Tick = job {
                self.tick_queued.set(false);
                self.tick.set(tick + 1);
            }
            let call = match &job {
                Job::JoinAttempt { who, join } => Call::JoinAttempt {
                    presence: who,
                    metadata: &join.metadata,
                },
                Job::Join(who) => Call::Join(who),
                Job::Leave(who) => Call::Leave(who),
                Job::Tick => Call::Tick(self.inbox.borrow_mut().drain(..).collect()),
                Job::Terminate(grace) => Call::Terminate(*grace),
                Job::Signal { data, .. } => Call::Signal(data),
            };
            guard::catch(|| handler.step(&nk, &mut d, tick, call))
        };
        match step {
            Ok(Step::Ready(answer)) => {
                self.apply(shard, d.actions);
                self.finish(shard, job, answer, started);
            }
            Ok(Step::Wait(future)) => {
                self.busy.set(true);
                let m = self.clone();
                let shard = shard.rc();
                let deadline = Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms);
                rt::spawn(async move {
                    let out = guard::run(future, deadline).await;
                    m.busy.set(false);
                    match out {
                        // Only jobs end a match, so it cannot end while
                        // a callback waits; were that to change, what the
                        // callback asked would be moot (no relisting).
                        Ok(_) if m.ended() => m.abandon(&shard, job, Gone::Ended),
                        Ok((answer, d)) => {
                            m.apply(&shard, d.actions);
                            m.finish(&shard, job, answer, started);
                        }
                        Err(failure) => {
                            tracing::error!(match_id = %m.ctx.match_id, ?failure, "match callback failed while waiting; ending the match");
                            m.end(&shard);
                            m.abandon(&shard, job, Gone::Ended);
                        }
                    }
                    m.drain(&shard);
                });
            }
            Err(panic) => {
                tracing::error!(match_id = %self.ctx.match_id, panic = %panic, "match handler panicked; ending the match");
                self.end(shard);
                self.abandon(shard, job, Gone::Ended);
            }
        }
    }

    /// What follows a callback's answer.
    fn finish(self: &Rc<Self>, shard: &Shard, job: Job, answer: Answer, started: Instant) {
        match (job, answer) {
            (Job::Tick, Answer::Tick(go_on)) => {
                let took = started.elapsed();
                shard.metrics.match_ticks.inc();
                shard.metrics.match_tick_time.record(took);
                if took > self.period {
                    tracing::warn!(match_id = %self.ctx.match_id, tick = self.tick.get(), ?took, "match tick overran its period");
                }
                self.flush_deferred(shard);
                if !go_on {
                    self.end(shard);
                }
            }
            (Job::JoinAttempt { join, who }, Answer::JoinAttempt(verdict)) => match verdict {
                Ok(()) => {
                    if owner::admit(shard, &join, self.ctx.match_id.clone(), Some(self.label())) {
                        self.run(shard, Job::Join(vec![who]));
                    }
                }
                // Nakama's words when the handler gives no reason.
                Err(reason) if reason.is_empty() => owner::refuse_join(
                    shard,
                    &join,
                    ErrorCode::MatchJoinRejected,
                    "Match join rejected".into(),
                ),
                Err(reason) => {
                    owner::refuse_join(shard, &join, ErrorCode::MatchJoinRejected, reason)
                }
            },
            (Job::Signal { reply, .. }, Answer::Signal(answer)) => {
                self.flush_deferred(shard);
                let _ = reply
                    .send(answer.map_err(|reason| ApiError::new(Code::FailedPrecondition, reason)));
            }
            (Job::Join(_) | Job::Leave(_) | Job::Terminate(_), Answer::Done) => {
                self.flush_deferred(shard);
            }
            (job, answer) => {
                tracing::error!(match_id = %self.ctx.match_id, ?answer, "match handler answered a callback with another's answer; ending the match");
                self.end(shard);
                self.abandon(shard, job, Gone::Ended);
            }
        }
    }

    /// A job the handler will not run: whoever waits on it hears why.
    fn abandon(&self, shard: &Shard, job: Job, why: Gone) {
        match job {
            Job::Tick => self.tick_queued.set(false),
            Job::JoinAttempt { join, .. } => {
                let (code, text) = match why {
                    Gone::Ended => (ErrorCode::MatchNotFound, "Match not found"),
                    // Nakama's words when its join attempt queue is full.
                    Gone::Busy => (
                        ErrorCode::MatchJoinRejected,
                        "Match is not currently accepting join requests",
                    ),
                };
                owner::refuse_join(shard, &join, code, text.into());
            }
            Job::Signal { reply, .. } => {
                let _ = reply.send(Err(match why {
                    Gone::Ended => ApiError::not_found("Match not found"),
                    // Nakama's `ErrMatchBusy`.
                    Gone::Busy => ApiError::new(Code::ResourceExhausted, "match busy"),
                }));
            }
            Job::Join(_) | Job::Leave(_) | Job::Terminate(_) => {}
        }
    }

    fn is_member(&self, shard: &Shard, join: &Join) -> bool {
        shard
            .streams
            .borrow()
            .get(&join.stream)
            .is_some_and(|s| s.get(join.presence.session_id).is_some())
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
        let waiting = std::mem::take(&mut *self.backlog.borrow_mut());
        for job in waiting {
            self.abandon(shard, job, Gone::Ended);
        }
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
            if m.tick_queued.get() {
                // The last tick still waits behind a callback that waits
                // on the server: this one is skipped, not stacked.
                m.overruns.set(m.overruns.get() + 1);
                shard.metrics.match_ticks_skipped.add(1);
                continue;
            }
            shard
                .metrics
                .match_tick_lateness
                .record(Instant::now().saturating_duration_since(start + m.period * n));
            m.run(&shard, Job::Tick);
        }
    });
}
