//! A ticket: who is queued together, what they ask for and what they are.

use std::collections::BTreeMap;

use crate::query::{Compiled, Doc, Query};

/// One queued player: a session of a user, on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub session_id: String,
    pub user_id: String,
    pub username: String,
    pub node: String,
}

/// What `matchmaker_add` (or a party's `party_matchmaker_add`) asks for,
/// before the pool gives it an id and a place. Validate the counts with
/// [`validate_counts`](super::validate_counts) first; [`Pool::add`]
/// parses the query.
///
/// [`Pool::add`]: super::Pool::add
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSpec {
    /// Everyone matched together: one presence for a solo ticket, every
    /// member for a party's. Never empty.
    pub presences: Vec<Presence>,
    /// The session that owns a solo ticket (its presence's session), empty
    /// for a party's ticket; `matchmaker_remove` must come from it.
    pub session_id: String,
    /// The party a party ticket belongs to; empty for a solo ticket.
    pub party_id: String,
    /// The query on the other tickets' `properties.*`; empty means `*`.
    pub query: String,
    pub min_count: usize,
    pub max_count: usize,
    pub count_multiple: usize,
    pub string_properties: BTreeMap<String, String>,
    pub numeric_properties: BTreeMap<String, f64>,
}

/// A ticket in the pool.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The id clients see (a UUID the caller chose).
    pub id: String,
    pub spec: TicketSpec,
    /// When it was added, in the caller's milliseconds.
    pub created_at_ms: u64,
    /// Passes it has been active in.
    pub intervals: u32,
    /// Whether it still searches in a pass (its first `max_intervals`
    /// passes); an inactive ticket waits to be found.
    pub(super) active: bool,
    /// Its place in age order: a smaller `seq` was added earlier.
    pub(super) seq: u64,
    pub(super) query: Query,
    pub(super) compiled: Compiled,
    /// Its properties as the query language sees them.
    pub(super) doc: Doc,
    /// The first keyword its query requires (`index.rs`).
    pub(super) accept: super::index::AcceptKey,
}

impl Ticket {
    /// How many presences it brings.
    pub fn count(&self) -> usize {
        self.spec.presences.len()
    }

    /// Whether this ticket's query accepts `other`'s properties.
    pub(super) fn accepts(&self, other: &Ticket) -> bool {
        self.compiled.score(&other.doc).is_some()
    }

    /// The score this ticket's query gives `other`, `None` when it does not
    /// accept it.
    pub(super) fn score(&self, other: &Ticket) -> Option<f64> {
        self.compiled.score(&other.doc)
    }

    /// Whether the two share a session (one player cannot meet itself).
    pub(super) fn shares_session(&self, other: &Ticket) -> bool {
        self.spec.presences.iter().any(|a| {
            other
                .spec
                .presences
                .iter()
                .any(|b| a.session_id == b.session_id)
        })
    }

    /// Whether both are tickets of the same party.
    pub(super) fn same_party(&self, other: &Ticket) -> bool {
        !self.spec.party_id.is_empty() && self.spec.party_id == other.spec.party_id
    }
}

/// The document a ticket's properties make: string properties as keywords
/// and numeric ones as numbers, each under `properties.<name>`.
pub(super) fn properties_doc(spec: &TicketSpec) -> Doc {
    let mut doc = Doc::default();
    for (k, v) in &spec.string_properties {
        doc.push_keyword(&format!("properties.{k}"), v.clone());
    }
    for (k, v) in &spec.numeric_properties {
        doc.push_number(&format!("properties.{k}"), *v);
    }
    doc
}
