//! Fan-out: streams, who is in them, and handing one message to many
//! sessions across shards. Every realtime feature builds on this module;
//! it knows no feature.
//!
//! A stream (Nakama's mode, subject, subcontext, label) is owned by one
//! shard, chosen by hashing its id. The owner keeps the membership
//! ([`StreamTable`]) and is the only one to change it, so joins, leaves and
//! data for one stream are ordered by the owner's mesh inbox. Sessions stay
//! on their own shards: the owner reaches them by sending one
//! `ShardMsg::Deliver` per destination shard ([`deliver`], grouped by
//! [`group::by_shard`]), which carries one encoding per wire shared by
//! every recipient there.
//!
//! * [`table`]: the owner's membership table and per-shard targets.
//! * [`membership`]: reaching an owner, leaving, closing a stream, and the
//!   messages ([`membership::Msg`]) that keep a session's stream list in step with its
//!   owners.
//! * [`deliver`]: one encoded message to many sessions.
//! * [`group`]: session ids grouped by the shard they live on.

pub(crate) mod deliver;
pub(crate) mod group;
pub(crate) mod membership;
mod presence;
mod table;

pub use kairos_core::stream::{StreamId, mode};
pub use presence::Presence;
pub use table::{LeaveEvent, Membership, StreamTable};
pub(crate) use table::{SizeHook, TargetsHook};
