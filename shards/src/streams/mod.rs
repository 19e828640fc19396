//! Streams and presence: who is in which stream, across shards.
//!
//! A stream (Nakama's mode, subject, subcontext, label) is owned by one
//! shard, chosen by hashing its id. The owner keeps the membership and is the
//! only one to change it, so joins, leaves and data for one stream are
//! ordered by the owner's mesh inbox. Sessions stay on their own shards: the
//! owner reaches them by sending one `Deliver` per destination shard, which
//! carries one encoded frame shared by every recipient there.

mod presence;
mod table;

pub use kairos_core::stream::{StreamId, mode};
pub use presence::Presence;
pub use table::{Membership, StreamTable};
