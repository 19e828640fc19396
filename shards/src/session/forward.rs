//! Where the sessions that moved away from a shard went
//! ([`super::moving`]), so that the shard forwards what is still sent to
//! them there.
//!
//! Others address a session by its shard, which they learn from the
//! registry (notifications, kicks, game code's stream and status calls)
//! a moment before it moves, or while its move is on its way: the new
//! shard updates the registry only once the session has arrived, so until
//! then everyone keeps sending to the old shard. The old shard forwards
//! those messages through the mesh, whose queue between two shards is
//! FIFO: they reach the new shard after the session does.
//!
//! An entry lives until the session ends on its new shard, which then
//! says so to every shard it came from; the table is bounded by the
//! sessions alive on the node.

use std::cell::RefCell;
use std::collections::HashMap;

use uuid::Uuid;

use crate::metrics::ShardCells;
use crate::shard::{Shard, ShardMsg};

/// Tells each shard session `session_id` moved away from (`origins`) that
/// it ended, so that they forward to it no more.
pub fn end(shard: &Shard, session_id: Uuid, origins: &[usize]) {
    for &origin in origins.iter().filter(|&&o| o != shard.id) {
        shard.send_to(origin, ShardMsg::ForwardEnd { session_id });
    }
}

/// One shard's sessions that moved away: where each went, and whose it is.
pub struct Forwards {
    to: RefCell<HashMap<Uuid, (usize, Uuid)>>,
    metrics: ShardCells,
}

impl Forwards {
    pub fn new(metrics: ShardCells) -> Forwards {
        Forwards {
            to: RefCell::new(HashMap::new()),
            metrics,
        }
    }

    /// Session `session` of `user` moved to shard `to`.
    pub fn add(&self, session: Uuid, user: Uuid, to: usize) {
        let mut map = self.to.borrow_mut();
        map.insert(session, (to, user));
        self.metrics.session_forwards.set(map.len() as u64);
    }

    /// Session `session` ended (or came back): nothing more to forward.
    pub fn remove(&self, session: Uuid) {
        let mut map = self.to.borrow_mut();
        if map.remove(&session).is_some() {
            self.metrics.session_forwards.set(map.len() as u64);
        }
    }

    /// The shard session `session` moved to, if it moved away from here.
    #[inline]
    pub fn target(&self, session: &Uuid) -> Option<usize> {
        let map = self.to.borrow();
        if map.is_empty() {
            return None;
        }
        map.get(session).map(|&(to, _)| to)
    }

    /// The sessions of `user` that moved away from here.
    pub fn sessions_of(&self, user: Uuid) -> Vec<Uuid> {
        self.to
            .borrow()
            .iter()
            .filter(|(_, (_, u))| *u == user)
            .map(|(session, _)| *session)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_until_their_session_ends() {
        let cells = crate::metrics::Registry::new(3).handle(0);
        let f = Forwards::new(cells.clone());
        let (user, other) = (Uuid::new_v4(), Uuid::new_v4());
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(f.target(&a), None);
        f.add(a, user, 1);
        f.add(b, user, 2);
        f.add(c, other, 1);
        assert_eq!(cells.session_forwards.get(), 3);
        assert_eq!((f.target(&a), f.target(&b)), (Some(1), Some(2)));
        let mut of_user = f.sessions_of(user);
        of_user.sort();
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(of_user, want);
        assert_eq!(f.sessions_of(other), vec![c]);
        f.remove(a);
        f.remove(a);
        assert_eq!(f.target(&a), None);
        assert_eq!(f.sessions_of(user), vec![b]);
        assert_eq!(cells.session_forwards.get(), 2);
    }
}
