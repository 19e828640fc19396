//! Streams as Nakama identifies them: a mode, a subject, a subcontext and a
//! label. Realtime features (matches, chat, status, notifications) are
//! streams; each has an owner shard, chosen by a fixed hash of its id.

use std::hash::{DefaultHasher, Hash, Hasher};

/// Nakama's reserved stream modes.
pub mod mode {
    pub const NOTIFICATIONS: u8 = 0;
    pub const STATUS: u8 = 1;
    pub const CHANNEL: u8 = 2;
    pub const GROUP: u8 = 3;
    pub const DIRECT: u8 = 4;
    pub const MATCH_RELAYED: u8 = 5;
    pub const MATCH_AUTHORITATIVE: u8 = 6;
    pub const PARTY: u8 = 7;
}

/// A stream, identified as in Nakama.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StreamId {
    pub mode: u8,
    pub subject: String,
    pub subcontext: String,
    pub label: String,
}

impl StreamId {
    /// The relayed match with this id.
    pub fn relayed_match(id: uuid::Uuid) -> StreamId {
        StreamId {
            mode: mode::MATCH_RELAYED,
            subject: crate::uuid_text::uuid_text(id),
            subcontext: String::new(),
            label: String::new(),
        }
    }

    /// The shard that owns this stream. Deterministic (fixed hash keys), so
    /// every shard computes the same owner.
    pub fn owner(&self, shards: usize) -> usize {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        (h.finish() % shards.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_stable_and_spread() {
        let ids: Vec<StreamId> = (0..1000)
            .map(|_| StreamId::relayed_match(uuid::Uuid::new_v4()))
            .collect();
        let on_zero = ids.iter().filter(|s| s.owner(2) == 0).count();
        assert!((300..700).contains(&on_zero), "{on_zero}");
        assert!(ids.iter().all(|s| s.owner(2) == s.clone().owner(2)));
        assert!(ids.iter().all(|s| s.owner(1) == 0));
    }
}
