//! The matchmaker's realtime side. `session.rs`: `matchmaker_add` and
//! `matchmaker_remove` on the session's shard, which ask the matchmaker
//! thread (`crate::matchmaker`). `deliver.rs`: a pass's matches, from the
//! thread to the shard of each group's first player (the hook, or a
//! token), then to every matched session's shard through the mesh
//! ([`Msg::Matched`]).

pub mod deliver;
pub mod session;

use std::sync::Arc;

use crate::matchmaker::Group;
use crate::shard::{Shard, ShardMsg};

/// How matched players meet: the hook's match, or a relayed match by token.
#[derive(Clone, Debug)]
pub enum Outcome {
    MatchId(String),
    Token(String),
}

/// The matchmaker's messages between shards.
#[derive(Debug)]
pub enum Msg {
    /// Tell this shard's matched sessions of `group`.
    Matched { group: Arc<Group>, outcome: Outcome },
}

impl From<Msg> for ShardMsg {
    fn from(m: Msg) -> ShardMsg {
        ShardMsg::Matchmaker(m)
    }
}

pub fn on_msg(shard: &Shard, msg: Msg) {
    match msg {
        Msg::Matched { group, outcome } => deliver::tell_local(shard, &group, &outcome),
    }
}
