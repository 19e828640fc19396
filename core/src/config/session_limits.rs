//! `kairos.session.*`: what one realtime session may ask of the server.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::kairos::invalid;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionLimits {
    /// Relayed matches one realtime session may be in at once; a
    /// match_create or match_join past it is refused (MATCH_JOIN_REJECTED)
    /// and joins nothing.
    pub max_matches: usize,
    /// Streams (matches, chat channels, ...) one realtime session may be
    /// in at once; a join past it is refused and joins nothing.
    pub max_streams: usize,
    /// Parties one realtime session may be in, or be asking to join, at
    /// once; a party_create or party_join past it is refused (BAD_INPUT)
    /// and asks nothing. Memberships count against max_streams too.
    pub max_parties: usize,
    /// Realtime messages per second one session may send, on every
    /// transport, on average (a token bucket refilled at this rate). Past
    /// it the session's reader waits for the next token: the client is
    /// slowed by TCP or inbox backpressure, never answered with an error.
    pub max_messages_per_sec: u32,
    /// Messages a session may send at once above its rate (the token
    /// bucket's size).
    pub message_burst: u32,
    /// Messages the mesh may hold in overflow (all shards together) before
    /// sessions' readers pause: while it is above this, no session reads a
    /// new message until it falls to half, so floods are slowed at their
    /// sources.
    pub mesh_overflow_pause: usize,
    /// Hard bound on one shard's mesh overflow: past it, relayed match data
    /// and chat relays to other shards are dropped (and counted in
    /// kairos_shard_mesh_shed_total); joins, leaves and other control
    /// messages are always kept.
    pub mesh_overflow_max: usize,
    /// A WebSocket session that joins a match owned by another shard moves
    /// there first, socket and all, so that a match's members share one
    /// shard and its data never crosses shards. Only a session that nothing
    /// else records on its shard moves (no stream, status or follow, no
    /// matchmaker ticket queued, never a party), matchmaker token joins
    /// included; an unnamed match_create goes where packing places it.
    /// Needs a runtime that can move a socket (tokio, the default);
    /// ignored elsewhere.
    pub move_to_match: bool,
    /// Packing: an unnamed match_create, and the relayed match of a
    /// matchmaker token, goes to the lowest-numbered shard busy less than
    /// this fraction of a core (and given fewer than pack_matches_per_sec
    /// new matches this second), its creator or matched players moving
    /// there as joiners do; when no shard is, to the creator's own shard
    /// (a token's, to its first player's). 0 turns packing off: every
    /// unnamed match is made on its creator's shard, a token's on any.
    /// Needs move_to_match.
    #[serde(deserialize_with = "super::number_like")]
    pub pack_matches_below: f64,
    /// New matches packing may send to one shard in a second, before the
    /// shard's measured busyness has caught up with them.
    pub pack_matches_per_sec: u32,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_matches: 32,
            max_streams: 128,
            max_parties: 8,
            max_messages_per_sec: 500,
            message_burst: 1000,
            mesh_overflow_pause: 8192,
            mesh_overflow_max: 262_144,
            move_to_match: true,
            pack_matches_below: 0.5,
            pack_matches_per_sec: 64,
        }
    }
}

impl SessionLimits {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_matches == 0 {
            return invalid("session.max_matches", "must be at least 1");
        }
        if self.max_streams < self.max_matches {
            return invalid(
                "session.max_streams",
                "must be at least session.max_matches",
            );
        }
        if self.max_parties == 0 {
            return invalid("session.max_parties", "must be at least 1");
        }
        if self.max_messages_per_sec == 0 {
            return invalid("session.max_messages_per_sec", "must be at least 1");
        }
        if self.message_burst == 0 {
            return invalid("session.message_burst", "must be at least 1");
        }
        if self.mesh_overflow_pause == 0 {
            return invalid("session.mesh_overflow_pause", "must be at least 1");
        }
        if self.mesh_overflow_max < 2 * self.mesh_overflow_pause {
            return invalid(
                "session.mesh_overflow_max",
                "must be at least twice session.mesh_overflow_pause",
            );
        }
        if !(0.0..=1.0).contains(&self.pack_matches_below) {
            return invalid(
                "session.pack_matches_below",
                "must be a fraction of a core from 0 to 1",
            );
        }
        if self.pack_matches_per_sec == 0 {
            return invalid("session.pack_matches_per_sec", "must be at least 1");
        }
        Ok(())
    }
}
