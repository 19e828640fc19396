//! Kairos domain logic. Nothing here does I/O or knows about an async runtime:
//! the shards drive it, the store persists it, and tests call it directly.

pub mod account;
pub mod channel;
pub mod config;
pub mod cursor;
pub mod error;
pub mod friend;
pub mod grant;
pub mod group;
pub mod histogram;
pub mod leaderboard;
pub mod matchmaker;
pub mod multi;
pub mod notification;
pub mod query;
pub mod session;
pub mod storage;
pub mod stream;
pub mod time;
pub mod token;
pub mod tournament;
pub mod uuid_text;
pub mod validate;
pub mod wallet;
