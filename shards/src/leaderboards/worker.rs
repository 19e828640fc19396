//! The `kairos-leaderboards` thread: definitions, rank indexes and the
//! deadlines, serving one message at a time and sleeping until the next
//! deadline in between.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use kairos_core::leaderboard::deadlines::{Deadline, Deadlines, Kind};
use kairos_core::leaderboard::rank::RankIndex;

use super::{Board, Loaded, Op};

pub(super) struct Worker {
    boards: HashMap<String, Arc<Board>>,
    /// Creation order, for listings.
    order: Vec<String>,
    indexes: HashMap<(String, i64), RankIndex>,
    deadlines: Deadlines,
    clock: fn() -> i64,
    out: futures_channel::mpsc::UnboundedSender<Deadline>,
}

impl Worker {
    pub(super) fn new(
        loaded: Loaded,
        clock: fn() -> i64,
        out: futures_channel::mpsc::UnboundedSender<Deadline>,
    ) -> Worker {
        let mut w = Worker {
            boards: HashMap::new(),
            order: Vec::new(),
            indexes: loaded.indexes,
            deadlines: Deadlines::new(),
            clock,
            out,
        };
        for board in loaded.boards {
            w.add(board);
        }
        w
    }

    fn add(&mut self, board: Board) {
        if self.boards.contains_key(&board.def.id) {
            return;
        }
        if let Some(timing) = &board.timing {
            let now = (self.clock)();
            let d = &board.def;
            self.deadlines
                .insert(&d.id, timing.clone(), d.create_time, board.marks, now);
        }
        self.order.push(board.def.id.clone());
        self.boards.insert(board.def.id.clone(), Arc::new(board));
    }

    pub(super) fn run(mut self, rx: Receiver<Op>) {
        loop {
            self.fire_due();
            let op = match self.deadlines.next_wake() {
                Some(at) => {
                    // The clock counts whole seconds: within the last one
                    // before a deadline, look again every 50 ms, so it is
                    // announced within about that much of its second.
                    let wait = match at - (self.clock)() {
                        ..=1 => Duration::from_millis(50),
                        secs => Duration::from_secs((secs - 1).min(3600) as u64),
                    };
                    match rx.recv_timeout(wait) {
                        Ok(op) => op,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match rx.recv() {
                    Ok(op) => op,
                    Err(_) => return,
                },
            };
            if !self.serve(op) {
                return;
            }
        }
    }

    /// Announces every deadline due now, dropping the indexes of the
    /// periods that expired.
    fn fire_due(&mut self) {
        let now = (self.clock)();
        if self.deadlines.next_wake().is_none_or(|t| t > now) {
            return;
        }
        for due in self.deadlines.due(now) {
            if due.kind == Kind::Reset {
                self.indexes.retain(|(id, expiry), _| {
                    !(*id == due.id && *expiry != 0 && *expiry <= due.at)
                });
            }
            tracing::info!(leaderboard = %due.id, kind = ?due.kind, at = due.at, "leaderboard deadline");
            let _ = self.out.unbounded_send(due);
        }
    }

    fn serve(&mut self, op: Op) -> bool {
        match op {
            Op::Get { id, reply } => {
                let _ = reply.send(self.boards.get(&id).cloned());
            }
            Op::All { reply } => {
                let all = self
                    .order
                    .iter()
                    .filter_map(|id| self.boards.get(id).cloned())
                    .collect();
                let _ = reply.send(all);
            }
            Op::Created { board } => self.add(*board),
            Op::Deleted { id } => {
                self.boards.remove(&id);
                self.order.retain(|o| *o != id);
                self.indexes.retain(|(i, _), _| *i != id);
                self.deadlines.remove(&id);
            }
            Op::Ranked {
                id,
                expiry,
                owner,
                score,
                subscore,
                generation,
                reply,
            } => {
                let rank = match self.boards.get(&id) {
                    Some(b) if b.def.enable_ranks => {
                        let sort = b.def.sort_order;
                        let index = self
                            .indexes
                            .entry((id, expiry))
                            .or_insert_with(|| RankIndex::new(sort));
                        index.upsert(owner, score, subscore, generation) as i64
                    }
                    _ => 0,
                };
                let _ = reply.send(rank);
            }
            Op::Removed { id, expiry, owner } => {
                if let Some(index) = self.indexes.get_mut(&(id, expiry)) {
                    index.remove(owner);
                }
            }
            Op::RanksDisabled { id } => {
                if let Some(board) = self.boards.get_mut(&id) {
                    Arc::make_mut(board).def.enable_ranks = false;
                }
                self.indexes.retain(|(i, _), _| *i != id);
            }
            Op::AtRank {
                id,
                expiry,
                rank,
                reply,
            } => {
                let enabled = self.boards.get(&id).is_some_and(|b| b.def.enable_ranks);
                let found = self
                    .indexes
                    .get(&(id, expiry))
                    .filter(|_| enabled)
                    .and_then(|index| index.at_rank(rank));
                let _ = reply.send(found);
            }
            Op::OwnerGone { owner } => {
                for index in self.indexes.values_mut() {
                    index.remove(owner);
                }
            }
            Op::Fill {
                id,
                expiry,
                owners,
                reply,
            } => {
                let enabled = self.boards.get(&id).is_some_and(|b| b.def.enable_ranks);
                let answer = match self.indexes.get(&(id, expiry)) {
                    Some(index) if enabled => (
                        owners
                            .iter()
                            .map(|o| index.rank(*o).map_or(0, |r| r as i64))
                            .collect(),
                        index.len() as i64,
                    ),
                    _ => (vec![0; owners.len()], 0),
                };
                let _ = reply.send(answer);
            }
            Op::Stop => return false,
        }
        true
    }
}
