//! The `kairos-matchmaker` thread: applies shards' messages to the pool in
//! order, runs a pass every interval, and hands each formed group to the
//! shard of its first presence.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kairos_core::config::MatchmakerConfig;
use kairos_core::matchmaker::{Matched, PassConfig, Pool, Presence};
use kairos_core::time::now_millis;

use super::metrics::MatchmakerMetrics;
use super::{Completion, Op, STATS_PASSES, Stats};

/// A formed match, on its way to the shards.
#[derive(Debug)]
pub struct Group {
    /// Every matched presence, the searching ticket's first.
    pub entries: Vec<GroupEntry>,
}

/// One matched presence and its ticket.
#[derive(Debug, Clone)]
pub struct GroupEntry {
    pub ticket: String,
    pub presence: Presence,
    /// The shard its session is on.
    pub shard: usize,
    pub party_id: String,
    pub string_properties: std::collections::BTreeMap<String, String>,
    pub numeric_properties: std::collections::BTreeMap<String, f64>,
    /// When its ticket was added, Unix milliseconds.
    pub created_at_ms: u64,
}

pub(super) struct Worker {
    pool: Pool,
    pass: PassConfig,
    rev_threshold: Duration,
    interval: Duration,
    /// Session id to its shard, for every session with a ticket.
    shards: HashMap<String, usize>,
    outs: Vec<futures_channel::mpsc::UnboundedSender<Group>>,
    metrics: Arc<MatchmakerMetrics>,
    completions: VecDeque<Completion>,
}

impl Worker {
    pub(super) fn new(
        config: &MatchmakerConfig,
        capacity: usize,
        interval: Duration,
        outs: Vec<futures_channel::mpsc::UnboundedSender<Group>>,
        metrics: Arc<MatchmakerMetrics>,
    ) -> Worker {
        Worker {
            pool: Pool::new(config.max_tickets, capacity),
            pass: PassConfig {
                max_intervals: config.max_intervals,
                rev_precision: config.rev_precision,
            },
            rev_threshold: interval * config.rev_threshold,
            interval,
            shards: HashMap::new(),
            outs,
            metrics,
            completions: VecDeque::new(),
        }
    }

    pub(super) fn run(mut self, rx: mpsc::Receiver<Op>) {
        let mut next = Instant::now() + self.interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Op::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Ok(op) => self.apply(op),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.run_pass();
                    // The next pass is an interval after this one began;
                    // a pass that overran starts the next at once.
                    next += self.interval;
                    if next < Instant::now() {
                        next = Instant::now();
                    }
                }
            }
            self.metrics
                .tickets
                .store(self.pool.len() as u64, Ordering::Relaxed);
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Add {
                id,
                spec,
                shards,
                reply,
            } => {
                let result = self.pool.add(id, spec, now_millis().max(0) as u64);
                if result.is_ok() {
                    self.shards.extend(shards);
                }
                let _ = reply.send(result);
            }
            Op::RemoveSession {
                session_id,
                ticket,
                reply,
            } => {
                let result = self
                    .pool
                    .remove_session_ticket(&session_id, &ticket)
                    .map(|t| self.forget(&t.spec.presences));
                let _ = reply.send(result);
            }
            Op::RemoveParty {
                party_id,
                ticket,
                reply,
            } => {
                let result = self
                    .pool
                    .remove_party_ticket(&party_id, &ticket)
                    .map(|t| self.forget(&t.spec.presences));
                let _ = reply.send(result);
            }
            Op::RemovePartyAll { party_id } => {
                for t in self.pool.remove_party(&party_id) {
                    self.forget(&t.spec.presences);
                }
            }
            Op::SessionClosed { session_id } => {
                for t in self.pool.remove_session(&session_id) {
                    self.forget(&t.spec.presences);
                }
                self.shards.remove(&session_id);
            }
            Op::Stats { reply } => {
                let _ = reply.send(Stats {
                    ticket_count: self.pool.len(),
                    oldest_ticket_create_ms: self.pool.oldest_created_at_ms(),
                    completions: self.completions.iter().cloned().collect(),
                });
            }
            Op::Stop => {}
        }
    }

    /// Drops the shard of sessions that hold no ticket any more.
    fn forget(&mut self, presences: &[Presence]) {
        for p in presences {
            if self.pool.session_tickets(&p.session_id) == 0 {
                self.shards.remove(&p.session_id);
            }
        }
    }

    fn run_pass(&mut self) {
        if self.pool.is_empty() {
            return;
        }
        let started = Instant::now();
        let started_ms = now_millis().max(0) as u64;
        let threshold = self.rev_threshold;
        let (matched, stats) = self.pool.pass(&self.pass, || {
            !threshold.is_zero() && started.elapsed() >= threshold
        });
        let elapsed = started.elapsed();
        self.metrics
            .record_pass(elapsed, stats.matches, stats.tickets);
        for m in matched {
            self.deliver(m, started_ms);
        }
        if self.completions.len() == STATS_PASSES {
            self.completions.pop_front();
        }
        self.completions.push_back(Completion {
            create_time_ms: started_ms,
            complete_time_ms: now_millis().max(0) as u64,
        });
        tracing::debug!(
            searched = stats.searched,
            candidates = stats.candidates,
            matches = stats.matches,
            ms = elapsed.as_millis() as u64,
            "matchmaker pass"
        );
    }

    fn deliver(&mut self, matched: Matched, now_ms: u64) {
        let mut entries = Vec::new();
        for t in matched.tickets {
            self.metrics
                .record_wait(now_ms.saturating_sub(t.created_at_ms));
            for p in &t.spec.presences {
                let shard = self.shards.get(&p.session_id).copied().unwrap_or(0);
                entries.push(GroupEntry {
                    ticket: t.id.clone(),
                    presence: p.clone(),
                    shard,
                    party_id: t.spec.party_id.clone(),
                    string_properties: t.spec.string_properties.clone(),
                    numeric_properties: t.spec.numeric_properties.clone(),
                    created_at_ms: t.created_at_ms,
                });
            }
            self.forget(&t.spec.presences);
        }
        let Some(first) = entries.first() else {
            return;
        };
        let to = first.shard.min(self.outs.len().saturating_sub(1));
        if let Some(out) = self.outs.get(to) {
            let _ = out.unbounded_send(Group { entries });
        }
    }
}
