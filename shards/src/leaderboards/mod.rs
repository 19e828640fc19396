//! Leaderboards: Nakama's leaderboard records over REST
//! (`http/handlers/leaderboards.rs`) and game code's `Nk::leaderboard_*`,
//! both through [`service`].
//!
//! One thread, `kairos-leaderboards` (`worker.rs`), owns what lives in
//! memory: every leaderboard's definition, the rank index of each board's
//! current period (`kairos_core::leaderboard::rank::RankIndex`, rebuilt
//! from the store at start) and the deadlines
//! (`kairos_core::leaderboard::deadlines::Deadlines`). Shards never block on
//! it: a question is a message on one FIFO channel, answered through a
//! oneshot, as with the matchmaker. Records themselves live in the store
//! (`LeaderboardStore`): a write goes to the persistence pool, and its
//! outcome (the record and its `num_score`, a generation) then updates
//! the index, which ignores an update older than the one it holds.
//!
//! The thread also keeps every board's deadlines
//! (`kairos_core::leaderboard::deadlines`): a leaderboard's resets, a
//! tournament's resets and the closes of its active windows. At each
//! reset it drops the ended period's index; it hands every deadline to
//! shard 0 (`deadlines.rs`), which marks it in the store (a
//! compare-and-set on `last_reset` or `last_end`) and, if that call
//! marked it, runs the hook (`leaderboard_reset`, `tournament_reset` or
//! `tournament_end`) once. Deadlines missed while the server was down
//! are announced once at start.

pub mod deadlines;
pub mod service;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;

use kairos_core::leaderboard::Leaderboard;
use kairos_core::leaderboard::deadlines::{Deadline, Marks, Timing, TournamentTimes};
use kairos_core::leaderboard::rank::RankIndex;
use kairos_core::leaderboard::schedule::{self, Schedule};
use kairos_core::tournament::Tournament;
use uuid::Uuid;

/// A leaderboard as the shards see it: its definition, parsed schedule,
/// and when its deadlines fall (none for a board that never resets).
#[derive(Clone, Debug)]
pub struct Board {
    pub def: Leaderboard,
    pub schedule: Option<Schedule>,
    pub timing: Option<Timing>,
    /// The deadlines already announced, as the store had them.
    pub marks: Marks,
}

impl Board {
    /// A plain leaderboard: it resets on its schedule.
    pub fn new(def: Leaderboard) -> Board {
        let schedule = def.schedule();
        let timing = schedule.clone().map(Timing::Leaderboard);
        let marks = Marks {
            reset: def.last_reset,
            end: 0,
        };
        Board {
            def,
            schedule,
            timing,
            marks,
        }
    }

    /// A tournament's leaderboard: its windows close and its periods
    /// expire as its start, end, duration and schedule say.
    pub fn tournament(t: &Tournament) -> Board {
        let schedule = t.leaderboard.schedule();
        let timing = Timing::Tournament(TournamentTimes {
            start_time: t.start_time,
            end_time: t.end_time,
            duration: t.duration,
            schedule: schedule.clone(),
        });
        Board {
            def: t.leaderboard.clone(),
            schedule,
            timing: Some(timing),
            marks: Marks {
                reset: t.leaderboard.last_reset,
                end: t.last_end,
            },
        }
    }

    pub fn is_tournament(&self) -> bool {
        matches!(self.timing, Some(Timing::Tournament(_)))
    }

    /// The expiry of the period current at `now` (0: never resets): the
    /// next reset, or a tournament's active window's expiry.
    pub fn expiry(&self, now: i64) -> i64 {
        match &self.timing {
            Some(Timing::Tournament(t)) => t.window(now).expiry,
            _ => schedule::expiry(self.schedule.as_ref(), now),
        }
    }
}

type Reply<T> = futures_channel::oneshot::Sender<T>;

/// What shards ask the thread.
pub(crate) enum Op {
    Get {
        id: String,
        reply: Reply<Option<Arc<Board>>>,
    },
    All {
        reply: Reply<Vec<Arc<Board>>>,
    },
    Created {
        board: Box<Board>,
    },
    Deleted {
        id: String,
    },
    /// A record's state after a write: update the index, answer its rank.
    Ranked {
        id: String,
        expiry: i64,
        owner: Uuid,
        score: i64,
        subscore: i64,
        generation: i32,
        reply: Reply<i64>,
    },
    Removed {
        id: String,
        expiry: i64,
        owner: Uuid,
    },
    /// Ranks were turned off for good: forget the board's indexes.
    RanksDisabled {
        id: String,
    },
    /// The owner, score and subscore ranked `rank` (1-based) in a period.
    AtRank {
        id: String,
        expiry: i64,
        rank: u64,
        reply: Reply<Option<(Uuid, i64, i64)>>,
    },
    /// An account was deleted with its records: unrank it everywhere.
    OwnerGone {
        owner: Uuid,
    },
    /// Ranks of owners in a period, and how many records it ranks.
    Fill {
        id: String,
        expiry: i64,
        owners: Vec<Uuid>,
        reply: Reply<(Vec<i64>, i64)>,
    },
    Stop,
}

/// The handle every shard holds.
#[derive(Clone)]
pub struct Leaderboards {
    tx: mpsc::Sender<Op>,
}

/// Deadlines for shard 0 to announce.
pub type DeadlineInbox = futures_channel::mpsc::UnboundedReceiver<Deadline>;

/// What the thread starts from: the stored boards and the rank index of
/// each one's current period.
pub struct Loaded {
    pub boards: Vec<Board>,
    pub indexes: HashMap<(String, i64), RankIndex>,
}

impl Leaderboards {
    /// Starts the thread with what was loaded; `clock` gives Unix seconds.
    pub fn start(
        loaded: Loaded,
        clock: fn() -> i64,
    ) -> std::io::Result<(Leaderboards, DeadlineInbox, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel();
        let (out, inbox) = futures_channel::mpsc::unbounded();
        let worker = worker::Worker::new(loaded, clock, out);
        let thread = std::thread::Builder::new()
            .name("kairos-leaderboards".into())
            .spawn(move || worker.run(rx))?;
        Ok((Leaderboards { tx }, inbox, thread))
    }

    fn send(&self, op: Op) {
        // The thread outlives every shard; a send fails only at exit.
        let _ = self.tx.send(op);
    }

    pub async fn get(&self, id: &str) -> Option<Arc<Board>> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::Get {
            id: id.to_string(),
            reply,
        });
        answer.await.ok().flatten()
    }

    /// Every board, oldest first.
    pub async fn all(&self) -> Vec<Arc<Board>> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::All { reply });
        answer.await.unwrap_or_default()
    }

    pub fn created(&self, board: Board) {
        self.send(Op::Created {
            board: Box::new(board),
        });
    }

    pub fn deleted(&self, id: String) {
        self.send(Op::Deleted { id });
    }

    /// Updates the index with a record's state; its rank (0 if unranked).
    pub async fn ranked(
        &self,
        id: String,
        expiry: i64,
        owner: Uuid,
        score: i64,
        subscore: i64,
        generation: i32,
    ) -> i64 {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::Ranked {
            id,
            expiry,
            owner,
            score,
            subscore,
            generation,
            reply,
        });
        answer.await.unwrap_or(0)
    }

    pub fn removed(&self, id: String, expiry: i64, owner: Uuid) {
        self.send(Op::Removed { id, expiry, owner });
    }

    /// Ranks of board `id` were turned off in the store.
    pub fn ranks_disabled(&self, id: String) {
        self.send(Op::RanksDisabled { id });
    }

    /// The record ranked `rank` in period `expiry` of board `id`, if the
    /// board keeps ranks and has one there.
    pub async fn at_rank(&self, id: String, expiry: i64, rank: u64) -> Option<(Uuid, i64, i64)> {
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::AtRank {
            id,
            expiry,
            rank,
            reply,
        });
        answer.await.ok().flatten()
    }

    /// `owner`'s account and records were deleted.
    pub fn owner_gone(&self, owner: Uuid) {
        self.send(Op::OwnerGone { owner });
    }

    /// Each owner's rank (0 if unranked) and the period's ranked count.
    pub async fn fill(&self, id: String, expiry: i64, owners: Vec<Uuid>) -> (Vec<i64>, i64) {
        let n = owners.len();
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::Fill {
            id,
            expiry,
            owners,
            reply,
        });
        answer.await.unwrap_or_else(|_| (vec![0; n], 0))
    }

    pub fn stop(&self) {
        self.send(Op::Stop);
    }
}

/// Loads every board and rebuilds the rank index of each ranked board's
/// current period from the store (at start, before the shards run).
pub fn load(persist: &kairos_store::Persist, now: i64) -> kairos_core::error::ApiResult<Loaded> {
    let boards =
        persist.block_on(persist.run(|store| async move { store.leaderboards_all().await }))?;
    // A tournament's current period is its active window's.
    let tournaments: HashMap<String, Tournament> = persist
        .block_on(persist.run(|store| async move { store.tournaments_all().await }))?
        .into_iter()
        .map(|t| (t.leaderboard.id.clone(), t))
        .collect();
    let boards: Vec<Board> = boards
        .into_iter()
        .map(|def| match tournaments.get(&def.id) {
            Some(t) => Board::tournament(t),
            None => Board::new(def),
        })
        .collect();
    let mut indexes = HashMap::new();
    for board in &boards {
        let def = &board.def;
        if !def.enable_ranks {
            continue;
        }
        let expiry = match tournaments.get(&def.id) {
            Some(t) => t.window(now).expiry,
            None => board.expiry(now),
        };
        let id = def.id.clone();
        let rows =
            persist
                .block_on(persist.run(move |store| async move {
                    store.leaderboard_rank_rows(id, expiry).await
                }))?;
        indexes.insert(
            (def.id.clone(), expiry),
            RankIndex::from_rows(def.sort_order, rows),
        );
    }
    tracing::info!(
        leaderboards = boards.len(),
        ranked = indexes.len(),
        "leaderboards loaded"
    );
    Ok(Loaded { boards, indexes })
}
