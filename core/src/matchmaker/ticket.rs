//! A ticket: who is queued together, what they ask for and what they are.

use std::collections::BTreeMap;

use super::index::AcceptKey;
use super::intern::{Interner, Sym};
use super::matcher::{Matcher, Props};
#[cfg(test)]
use crate::query::Doc;

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
}

impl Ticket {
    /// How many presences it brings.
    pub fn count(&self) -> usize {
        self.spec.presences.len()
    }
}

/// What a pass reads of a ticket, apart from the [`Ticket`] (which a pass
/// reads only to count its intervals and to hand it over): counts, flags,
/// and its sessions, party, properties and query as symbols
/// (`intern.rs`), so that filtering a candidate reads a few cache lines
/// and no string. Laid out in that order from a cache line's start: what
/// every candidate read is tested on (counts, sessions, party, then the
/// properties its searcher's query reads) fills the first two lines; its
/// own query, read only for candidates the searcher accepts, follows.
#[derive(Debug)]
#[repr(C, align(64))]
pub(super) struct Hot {
    pub(super) min_count: usize,
    pub(super) max_count: usize,
    /// Presences it brings.
    pub(super) count: usize,
    /// Every presence's session.
    pub(super) sessions: Sessions,
    /// Its party, `None` for a solo ticket.
    pub(super) party: Option<Sym>,
    /// Whether it still searches in a pass (its first `max_intervals`
    /// passes); an inactive ticket waits to be found.
    pub(super) active: bool,
    /// Its properties as the query language sees them.
    pub(super) props: Props,
    /// Its query.
    pub(super) matcher: Matcher,
    pub(super) count_multiple: usize,
    /// The first keyword its query requires (`index.rs`).
    pub(super) accept: AcceptKey,
    /// Its id's keyed hash in the pool's id table, so that removing it
    /// does not hash the id again.
    pub(super) id_hash: u64,
}

/// The sessions of a ticket's presences, inline for the usual one.
#[derive(Debug)]
pub(super) enum Sessions {
    One(Sym),
    Many(Box<[Sym]>),
}

impl Sessions {
    pub(super) fn as_slice(&self) -> &[Sym] {
        match self {
            Sessions::One(s) => std::slice::from_ref(s),
            Sessions::Many(s) => s,
        }
    }
}

impl Hot {
    /// A free slot.
    pub(super) fn vacant() -> Hot {
        Hot {
            min_count: 0,
            max_count: 0,
            count_multiple: 1,
            count: 0,
            active: false,
            sessions: Sessions::Many(Box::default()),
            party: None,
            props: Props::empty(),
            matcher: Matcher::nothing(),
            accept: None,
            id_hash: 0,
        }
    }

    /// Whether this ticket's query accepts `other`'s properties.
    pub(super) fn accepts(&self, other: &Hot, syms: &Interner) -> bool {
        self.matcher.score(&other.props, syms).is_some()
    }

    /// The score this ticket's query gives `other`, `None` when it does not
    /// accept it.
    pub(super) fn score(&self, other: &Hot, syms: &Interner) -> Option<f64> {
        self.matcher.score(&other.props, syms)
    }

    /// Whether the two share a session (one player cannot meet itself).
    pub(super) fn shares_session(&self, other: &Hot) -> bool {
        let theirs = other.sessions.as_slice();
        self.sessions.as_slice().iter().any(|a| theirs.contains(a))
    }

    /// Whether both are tickets of the same party.
    pub(super) fn same_party(&self, other: &Hot) -> bool {
        self.party.is_some() && self.party == other.party
    }
}

/// The document a ticket's properties make: string properties as keywords
/// and numeric ones as numbers, each under `properties.<name>` (what
/// `matcher.rs` evaluates queries on, without building it).
#[cfg(test)]
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
