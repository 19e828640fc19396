//! Realtime features built on streams. Each has a session side (runs on the
//! shard of the session that asked) and an owner side (runs on the shard
//! that owns the stream), joined by [`crate::shard::ShardMsg`]s.
//!
//! * [`membership`]: what every stream shares (reaching the owner,
//!   leaving, closing).
//! * [`matches`]: relayed matches.
//! * [`chat`]: rooms, direct conversations and group channels.
//! * [`status`]: online status and follows.
//! * [`notifications`]: the server-side notification API and live delivery.
//! * [`deliver`]: one frame to many sessions, one mesh message per shard.

pub mod chat;
pub mod deliver;
pub mod matches;
pub mod membership;
pub mod notifications;
pub mod status;
