//! Global index of live realtime sessions: which shard holds each of a
//! user's sockets. Written on connect and close, read for single-socket
//! enforcement, account deletion, notifications and game code's stream
//! calls (to find a session's shard); never on the message path.

use dashmap::DashMap;
use uuid::Uuid;

use crate::session::Wire;

/// Where a session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRef {
    pub shard: usize,
    pub session_id: Uuid,
    /// Connected with `status=true`: the user appears online.
    pub status: bool,
    /// What the session speaks.
    pub wire: Wire,
}

#[derive(Default)]
pub struct SessionRegistry {
    by_user: DashMap<Uuid, Vec<SessionRef>>,
}

impl SessionRegistry {
    pub fn add(&self, user: Uuid, r: SessionRef) {
        self.by_user.entry(user).or_default().push(r);
    }

    pub fn remove(&self, user: Uuid, session_id: Uuid) {
        if let dashmap::Entry::Occupied(mut e) = self.by_user.entry(user) {
            e.get_mut().retain(|s| s.session_id != session_id);
            if e.get().is_empty() {
                e.remove();
            }
        }
    }

    /// Session `session_id` of `user` now lives on shard `shard` (it
    /// moved there).
    pub fn relocate(&self, user: Uuid, session_id: Uuid, shard: usize) {
        if let Some(mut v) = self.by_user.get_mut(&user)
            && let Some(r) = v.iter_mut().find(|s| s.session_id == session_id)
        {
            r.shard = shard;
        }
    }

    /// The user's sessions, as of now.
    pub fn sessions_of(&self, user: Uuid) -> Vec<SessionRef> {
        self.by_user
            .get(&user)
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Whether any of the user's sockets shows them online.
    pub fn is_online(&self, user: Uuid) -> bool {
        self.by_user
            .get(&user)
            .is_some_and(|v| v.iter().any(|s| s.status))
    }

    /// The users with at least one session, as of now.
    pub fn connected_users(&self) -> Vec<Uuid> {
        self.by_user.iter().map(|e| *e.key()).collect()
    }

    /// Number of users with at least one session.
    #[cfg(test)]
    pub fn users(&self) -> usize {
        self.by_user.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove() {
        let r = SessionRegistry::default();
        let u = Uuid::new_v4();
        let a = SessionRef {
            shard: 0,
            session_id: Uuid::new_v4(),
            status: true,
            wire: Wire::Json,
        };
        let b = SessionRef {
            shard: 1,
            session_id: Uuid::new_v4(),
            status: false,
            wire: Wire::Flat,
        };
        r.add(u, a);
        r.add(u, b);
        assert_eq!(r.sessions_of(u), vec![a, b]);
        r.relocate(u, a.session_id, 1);
        assert_eq!(r.sessions_of(u)[0].shard, 1);
        r.relocate(u, a.session_id, 0);
        assert!(r.is_online(u));
        r.remove(u, a.session_id);
        assert_eq!(r.sessions_of(u), vec![b]);
        assert!(!r.is_online(u));
        r.remove(u, b.session_id);
        assert_eq!(r.users(), 0);
    }
}
