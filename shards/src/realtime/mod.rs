//! Realtime features built on streams. Each has a session side (runs on the
//! shard of the session that asked) and an owner side (runs on the shard
//! that owns the stream), joined by [`crate::shard::ShardMsg`]s.

pub mod deliver;
pub mod matches;
pub mod status;
