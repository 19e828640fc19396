//! The matchmaker: Nakama's `matchmaker_add` / `_remove` and its passes,
//! over every shard's tickets.
//!
//! One thread, `kairos-matchmaker`, owns the pool
//! ([`kairos_core::matchmaker::Pool`]: tickets, the inverted index over
//! their properties, the per-session and per-party caps) and runs a pass
//! every `matchmaker.interval_sec` (or `kairos.matchmaker.interval_ms`).
//! Shards never block on it: an add or a removal is a message on one FIFO
//! channel, answered through a oneshot; a closed session is a message with
//! no answer. A pass's matches go back to the shards over one unbounded
//! channel per shard (`worker.rs`), each drained by a task on its shard
//! (`realtime::matchmaker::deliver`): the group goes to the shard of its
//! first presence, which runs the matched hook (if game code registered
//! one) or mints a token, and tells every matched session, on whichever
//! shard, through the mesh.
//!
//! # Party tickets
//!
//! A party's ticket (`realtime::parties::matchmaking`, on the party's
//! owner shard) is one [`TicketSpec`] whose `presences` are every member,
//! with the party's id in `party_id` and an empty `session_id`, added with
//! [`Matchmaker::add`] and removed with [`Matchmaker::remove_party`] or,
//! when the party's members change or it ends, [`Matchmaker::remove_party_all`].
//! Both send their request before they return, so the owner's later
//! removal always follows its add on the thread's FIFO channel. The pool
//! matches a party's presences together or not at all, never with another
//! ticket of the same party, and caps tickets per party at
//! `matchmaker.max_tickets`.

mod metrics;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use kairos_core::config::Config;
use kairos_core::matchmaker::{AddError, RemoveError, TicketSpec};

pub use metrics::MatchmakerMetrics;
pub use worker::{Group, GroupEntry};

/// What the pool holds, as `GET /v2/matchmaker/stats` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub ticket_count: usize,
    /// The oldest ticket's creation time, Unix milliseconds.
    pub oldest_ticket_create_ms: Option<u64>,
    /// The last `STATS_PASSES` passes, newest last.
    pub completions: Vec<Completion>,
}

/// One pass, as `MatchmakerStats.completions` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub create_time_ms: u64,
    pub complete_time_ms: u64,
}

/// Passes `stats` remembers.
pub const STATS_PASSES: usize = 10;

type Reply<T> = futures_channel::oneshot::Sender<T>;

pub(crate) enum Op {
    Add {
        id: String,
        spec: TicketSpec,
        /// Each presence's session, by id, to its shard.
        shards: HashMap<String, usize>,
        reply: Reply<Result<(), AddError>>,
    },
    RemoveSession {
        session_id: String,
        ticket: String,
        reply: Reply<Result<(), RemoveError>>,
    },
    RemoveParty {
        party_id: String,
        ticket: String,
        reply: Reply<Result<(), RemoveError>>,
    },
    RemovePartyAll {
        party_id: String,
    },
    SessionClosed {
        session_id: String,
    },
    Stats {
        reply: Reply<Stats>,
    },
    Stop,
}

/// The handle every shard holds.
#[derive(Clone)]
pub struct Matchmaker {
    tx: mpsc::Sender<Op>,
    /// The thread's metrics.
    pub metrics: Arc<MatchmakerMetrics>,
}

/// What each shard drains: the groups it must deliver.
pub type Inbox = futures_channel::mpsc::UnboundedReceiver<Group>;

impl Matchmaker {
    /// Starts the matchmaker thread for `shards` shards; returns the handle,
    /// each shard's inbox (by shard id) and the thread.
    pub fn start(
        config: &Config,
        shards: usize,
    ) -> std::io::Result<(Matchmaker, Vec<Inbox>, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel();
        let metrics = Arc::new(MatchmakerMetrics::default());
        let (outs, inboxes): (Vec<_>, Vec<_>) = (0..shards)
            .map(|_| futures_channel::mpsc::unbounded())
            .unzip();
        let interval =
            Duration::from_millis(config.matchmaker.interval_ms(&config.kairos.matchmaker));
        let worker = worker::Worker::new(
            &config.matchmaker,
            config.kairos.matchmaker.max_pool_tickets,
            interval,
            outs,
            metrics.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("kairos-matchmaker".into())
            .spawn(move || worker.run(rx))?;
        Ok((Matchmaker { tx, metrics }, inboxes, thread))
    }

    fn send(&self, op: Op) {
        // The thread outlives every shard; a send fails only at exit.
        let _ = self.tx.send(op);
    }

    /// Adds ticket `id`. `shards` maps each presence's session id to its
    /// shard. The request is on the thread's channel when this returns,
    /// before the answer is awaited, so anything the caller sends the
    /// thread afterwards (a removal) is applied after it.
    pub fn add(
        &self,
        id: String,
        spec: TicketSpec,
        shards: HashMap<String, usize>,
    ) -> impl Future<Output = Result<(), AddError>> + use<> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::Add {
            id,
            spec,
            shards,
            reply,
        });
        async move { answer.await.unwrap_or(Err(AddError::PoolFull)) }
    }

    /// `matchmaker_remove`: session `session_id`'s own ticket.
    pub async fn remove_session(
        &self,
        session_id: String,
        ticket: String,
    ) -> Result<(), RemoveError> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::RemoveSession {
            session_id,
            ticket,
            reply,
        });
        answer.await.unwrap_or(Err(RemoveError::NotFound))
    }

    /// `party_matchmaker_remove`: party `party_id`'s ticket (sent at
    /// once, as [`Matchmaker::add`]).
    pub fn remove_party(
        &self,
        party_id: String,
        ticket: String,
    ) -> impl Future<Output = Result<(), RemoveError>> + use<> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::RemoveParty {
            party_id,
            ticket,
            reply,
        });
        async move { answer.await.unwrap_or(Err(RemoveError::NotFound)) }
    }

    /// Every ticket of party `party_id` (it closed, or its members
    /// changed).
    pub fn remove_party_all(&self, party_id: String) {
        self.send(Op::RemovePartyAll { party_id });
    }

    /// Session `session_id` ended: every ticket it is in goes.
    pub fn session_closed(&self, session_id: String) {
        self.send(Op::SessionClosed { session_id });
    }

    /// The pool's figures.
    pub async fn stats(&self) -> Stats {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::Stats { reply });
        answer.await.unwrap_or_default()
    }

    /// Ends the thread (at shutdown, once shards are gone).
    pub fn stop(&self) {
        self.send(Op::Stop);
    }
}
