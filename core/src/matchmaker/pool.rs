//! The pool: every ticket, by age and by id, the index over their
//! properties, and which tickets each session and party holds.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::index::Index;
use super::ticket::{Ticket, TicketSpec, properties_doc};
use crate::query::{self, QueryError};

/// Why [`Pool::add`] refused a ticket. On the realtime wire Nakama answers
/// every one of them `RUNTIME_EXCEPTION` "Error adding to matchmaker".
#[derive(Debug, Clone, PartialEq)]
pub enum AddError {
    /// The query does not parse (or is over the query language's bounds).
    Query(QueryError),
    /// A presence's session, or the party, already holds `max_tickets`.
    TooManyTickets,
    /// The pool holds its maximum number of tickets.
    PoolFull,
    /// A ticket with that id exists.
    DuplicateId,
    /// No presence.
    NoPresence,
}

impl AddError {
    /// Nakama's message for a refused `matchmaker_add`.
    pub fn message(&self) -> &'static str {
        "Error adding to matchmaker"
    }
}

/// Why a removal found nothing to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveError {
    /// "Matchmaker ticket not found" (`BAD_INPUT` on the realtime wire).
    NotFound,
}

/// All tickets waiting to be matched.
#[derive(Debug)]
pub struct Pool {
    /// Tickets by age.
    pub(super) tickets: BTreeMap<u64, Ticket>,
    by_id: HashMap<String, u64>,
    by_session: HashMap<String, HashSet<u64>>,
    by_party: HashMap<String, HashSet<u64>>,
    pub(super) index: Index,
    next_seq: u64,
    /// `matchmaker.max_tickets`: per session and per party.
    max_tickets: usize,
    /// Tickets the pool holds at most.
    capacity: usize,
}

impl Pool {
    /// An empty pool: at most `max_tickets` tickets per session and per
    /// party, `capacity` in all.
    pub fn new(max_tickets: usize, capacity: usize) -> Pool {
        Pool {
            tickets: BTreeMap::new(),
            by_id: HashMap::new(),
            by_session: HashMap::new(),
            by_party: HashMap::new(),
            index: Index::default(),
            next_seq: 0,
            max_tickets,
            capacity,
        }
    }

    /// Tickets in the pool.
    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }

    /// Presences queued in all tickets.
    pub fn presences(&self) -> usize {
        self.tickets.values().map(Ticket::count).sum()
    }

    /// The ticket with this id.
    pub fn get(&self, id: &str) -> Option<&Ticket> {
        self.by_id.get(id).and_then(|s| self.tickets.get(s))
    }

    /// The oldest ticket's creation time, if any.
    pub fn oldest_created_at_ms(&self) -> Option<u64> {
        self.tickets.values().next().map(|t| t.created_at_ms)
    }

    /// Adds a ticket with id `id` made at `now_ms`. Its counts must have
    /// passed [`validate_counts`](super::validate_counts).
    pub fn add(&mut self, id: String, spec: TicketSpec, now_ms: u64) -> Result<(), AddError> {
        if spec.presences.is_empty() {
            return Err(AddError::NoPresence);
        }
        let text = if spec.query.is_empty() {
            "*"
        } else {
            spec.query.as_str()
        };
        let query = query::parse(text).map_err(AddError::Query)?;
        let compiled = query.compile().map_err(AddError::Query)?;
        if self.by_id.contains_key(&id) {
            return Err(AddError::DuplicateId);
        }
        let full = |set: Option<&HashSet<u64>>| set.is_some_and(|s| s.len() >= self.max_tickets);
        if spec
            .presences
            .iter()
            .any(|p| full(self.by_session.get(&p.session_id)))
        {
            return Err(AddError::TooManyTickets);
        }
        if !spec.party_id.is_empty() && full(self.by_party.get(&spec.party_id)) {
            return Err(AddError::TooManyTickets);
        }
        if self.tickets.len() >= self.capacity {
            return Err(AddError::PoolFull);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let doc = properties_doc(&spec);
        let accept = super::index::accept_key(&query);
        self.index.insert(seq, &doc, &accept);
        for p in &spec.presences {
            self.by_session
                .entry(p.session_id.clone())
                .or_default()
                .insert(seq);
        }
        if !spec.party_id.is_empty() {
            self.by_party
                .entry(spec.party_id.clone())
                .or_default()
                .insert(seq);
        }
        self.by_id.insert(id.clone(), seq);
        self.tickets.insert(
            seq,
            Ticket {
                id,
                spec,
                created_at_ms: now_ms,
                intervals: 0,
                active: true,
                seq,
                query,
                compiled,
                doc,
                accept,
            },
        );
        Ok(())
    }

    /// Removes a ticket by its place; returns it.
    pub(super) fn take(&mut self, seq: u64) -> Option<Ticket> {
        let ticket = self.tickets.remove(&seq)?;
        self.index.remove(seq, &ticket.doc, &ticket.accept);
        self.by_id.remove(&ticket.id);
        for p in &ticket.spec.presences {
            if let Some(set) = self.by_session.get_mut(&p.session_id) {
                set.remove(&seq);
                if set.is_empty() {
                    self.by_session.remove(&p.session_id);
                }
            }
        }
        if !ticket.spec.party_id.is_empty()
            && let Some(set) = self.by_party.get_mut(&ticket.spec.party_id)
        {
            set.remove(&seq);
            if set.is_empty() {
                self.by_party.remove(&ticket.spec.party_id);
            }
        }
        Some(ticket)
    }

    /// `matchmaker_remove`: the solo ticket `id` of session `session_id`.
    pub fn remove_session_ticket(
        &mut self,
        session_id: &str,
        id: &str,
    ) -> Result<Ticket, RemoveError> {
        let seq = *self.by_id.get(id).ok_or(RemoveError::NotFound)?;
        if self.tickets[&seq].spec.session_id != session_id {
            return Err(RemoveError::NotFound);
        }
        self.take(seq).ok_or(RemoveError::NotFound)
    }

    /// `party_matchmaker_remove`: the ticket `id` of party `party_id`.
    pub fn remove_party_ticket(&mut self, party_id: &str, id: &str) -> Result<Ticket, RemoveError> {
        let seq = *self.by_id.get(id).ok_or(RemoveError::NotFound)?;
        if party_id.is_empty() || self.tickets[&seq].spec.party_id != party_id {
            return Err(RemoveError::NotFound);
        }
        self.take(seq).ok_or(RemoveError::NotFound)
    }

    /// A session ended: every ticket one of its presences is in (its own,
    /// and its party's, as Nakama removes them).
    pub fn remove_session(&mut self, session_id: &str) -> Vec<Ticket> {
        let seqs: Vec<u64> = self
            .by_session
            .get(session_id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        seqs.into_iter().filter_map(|s| self.take(s)).collect()
    }

    /// Every ticket of a party (it closed, or its members changed).
    pub fn remove_party(&mut self, party_id: &str) -> Vec<Ticket> {
        let seqs: Vec<u64> = self
            .by_party
            .get(party_id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        seqs.into_iter().filter_map(|s| self.take(s)).collect()
    }

    /// Tickets a session's presence is in.
    pub fn session_tickets(&self, session_id: &str) -> usize {
        self.by_session.get(session_id).map_or(0, HashSet::len)
    }
}
