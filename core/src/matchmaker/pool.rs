//! The pool: every ticket, by age and by id, the index over their
//! properties, and which tickets each session and party holds.

use super::index::{Entry, Index, List};
use super::intern::{self, Few, Interner, StrIndex, Sym, SymMap};
use super::matcher::{self, Matcher};
use super::ticket::{Hot, Sessions, Ticket, TicketSpec};
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

/// The `seq` of a free slot.
pub(super) const VACANT: u64 = u64::MAX;

/// All tickets waiting to be matched.
///
/// Each ticket has a slot: its age in `seqs`, its [`Ticket`] in
/// `tickets` and what a pass reads of it in `hot` (`ticket.rs`), at the
/// same index. A removed ticket's slot is reused by the next one added;
/// its age (`seq`, a smaller one added earlier) never is.
#[derive(Debug)]
pub struct Pool {
    /// By slot: the age of its ticket, [`VACANT`] for a free slot.
    pub(super) seqs: Vec<u64>,
    /// By slot: what a pass reads.
    pub(super) hot: Vec<Hot>,
    /// By slot: the tickets (`None`: a free slot).
    pub(super) tickets: Vec<Option<Ticket>>,
    free: Vec<u32>,
    /// Every ticket by age.
    pub(super) order: List,
    /// Slots by their ticket's id.
    by_id: StrIndex<u32>,
    /// The slots each session's presences are in.
    by_session: SymMap<Sym, Few<u32>>,
    /// The slots of each party's tickets.
    by_party: SymMap<Sym, Few<u32>>,
    pub(super) syms: Interner,
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
            seqs: Vec::new(),
            hot: Vec::new(),
            tickets: Vec::new(),
            free: Vec::new(),
            order: List::default(),
            by_id: StrIndex::default(),
            by_session: SymMap::default(),
            by_party: SymMap::default(),
            syms: Interner::default(),
            index: Index::default(),
            next_seq: 0,
            max_tickets,
            capacity,
        }
    }

    /// Tickets in the pool.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.len() == 0
    }

    /// Presences queued in all tickets.
    pub fn presences(&self) -> usize {
        self.order
            .iter(&self.seqs)
            .map(|e| self.hot[e.slot as usize].count)
            .sum()
    }

    /// The ticket with this id.
    pub fn get(&self, id: &str) -> Option<&Ticket> {
        self.slot_of(id).and_then(|s| self.ticket(s))
    }

    /// The slot of the ticket with this id.
    fn slot_of(&self, id: &str) -> Option<u32> {
        self.slot_with(self.by_id.hash(id), id)
    }

    /// The slot of the ticket with this id, whose hash is `hash`.
    fn slot_with(&self, hash: u64, id: &str) -> Option<u32> {
        self.by_id
            .find(hash, |s| self.ticket(s).is_some_and(|t| t.id == id))
    }

    /// The ticket in slot `slot`.
    pub(super) fn ticket(&self, slot: u32) -> Option<&Ticket> {
        self.tickets.get(slot as usize).and_then(Option::as_ref)
    }

    /// The oldest ticket's creation time, if any.
    pub fn oldest_created_at_ms(&self) -> Option<u64> {
        let e = self.order.iter(&self.seqs).next()?;
        self.ticket(e.slot).map(|t| t.created_at_ms)
    }

    /// How many tickets hold a session's presences.
    fn session_slots(&self, session_id: &str) -> usize {
        self.syms
            .get(session_id)
            .and_then(|s| self.by_session.get(&s))
            .map_or(0, Few::len)
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
        let id_hash = self.by_id.hash(&id);
        if self.slot_with(id_hash, &id).is_some() {
            return Err(AddError::DuplicateId);
        }
        if spec
            .presences
            .iter()
            .any(|p| self.session_slots(&p.session_id) >= self.max_tickets)
        {
            return Err(AddError::TooManyTickets);
        }
        if !spec.party_id.is_empty()
            && self
                .syms
                .get(&spec.party_id)
                .and_then(|s| self.by_party.get(&s))
                .is_some_and(|s| s.len() >= self.max_tickets)
        {
            return Err(AddError::TooManyTickets);
        }
        if self.order.len() >= self.capacity {
            return Err(AddError::PoolFull);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                // The pool's capacity bounds the slots far below this.
                let slot = u32::try_from(self.hot.len()).expect("fewer than 2^32 tickets");
                self.seqs.push(VACANT);
                self.hot.push(Hot::vacant());
                self.tickets.push(None);
                slot
            }
        };
        let matcher = Matcher::new(&query, compiled, &mut self.syms);
        let accept = super::index::accept_key(&matcher);
        let props = matcher::props(&spec, &mut self.syms);
        self.index.insert(Entry { seq, slot }, &props, accept);
        let mut sessions = Vec::with_capacity(spec.presences.len());
        for p in &spec.presences {
            let sym = self.syms.intern(&p.session_id);
            self.by_session.entry(sym).or_default().insert(slot);
            sessions.push(sym);
        }
        let sessions = match sessions[..] {
            [one] => Sessions::One(one),
            _ => Sessions::Many(sessions.into_boxed_slice()),
        };
        let party = (!spec.party_id.is_empty()).then(|| {
            let sym = self.syms.intern(&spec.party_id);
            self.by_party.entry(sym).or_default().insert(slot);
            sym
        });
        self.by_id.insert(id_hash, slot);
        self.order.push(Entry { seq, slot });
        self.seqs[slot as usize] = seq;
        self.hot[slot as usize] = Hot {
            min_count: spec.min_count,
            max_count: spec.max_count,
            count_multiple: spec.count_multiple,
            count: spec.presences.len(),
            active: true,
            sessions,
            party,
            props,
            matcher,
            accept,
            id_hash,
        };
        self.tickets[slot as usize] = Some(Ticket {
            id,
            spec,
            created_at_ms: now_ms,
            intervals: 0,
        });
        Ok(())
    }

    /// Removes the ticket in slot `slot`; returns it.
    pub(super) fn take(&mut self, slot: u32) -> Option<Ticket> {
        let ticket = self.tickets.get_mut(slot as usize)?.take()?;
        let hot = std::mem::replace(&mut self.hot[slot as usize], Hot::vacant());
        self.seqs[slot as usize] = VACANT;
        self.free.push(slot);
        self.order.removed(&self.seqs);
        self.index.remove(&hot.props, hot.accept, &self.seqs);
        self.by_id.remove(hot.id_hash, slot);
        for &sym in hot.sessions.as_slice() {
            intern::remove(&mut self.by_session, sym, slot);
            self.syms.release(sym);
        }
        if let Some(sym) = hot.party {
            intern::remove(&mut self.by_party, sym, slot);
            self.syms.release(sym);
        }
        matcher::release_props(&hot.props, &mut self.syms);
        hot.matcher.release(&mut self.syms);
        Some(ticket)
    }

    /// `matchmaker_remove`: the solo ticket `id` of session `session_id`.
    pub fn remove_session_ticket(
        &mut self,
        session_id: &str,
        id: &str,
    ) -> Result<Ticket, RemoveError> {
        let slot = self.slot_of(id).ok_or(RemoveError::NotFound)?;
        if self
            .ticket(slot)
            .is_none_or(|t| t.spec.session_id != session_id)
        {
            return Err(RemoveError::NotFound);
        }
        self.take(slot).ok_or(RemoveError::NotFound)
    }

    /// `party_matchmaker_remove`: the ticket `id` of party `party_id`.
    pub fn remove_party_ticket(&mut self, party_id: &str, id: &str) -> Result<Ticket, RemoveError> {
        let slot = self.slot_of(id).ok_or(RemoveError::NotFound)?;
        if party_id.is_empty()
            || self
                .ticket(slot)
                .is_none_or(|t| t.spec.party_id != party_id)
        {
            return Err(RemoveError::NotFound);
        }
        self.take(slot).ok_or(RemoveError::NotFound)
    }

    /// A session ended: every ticket one of its presences is in (its own,
    /// and its party's, as Nakama removes them).
    pub fn remove_session(&mut self, session_id: &str) -> Vec<Ticket> {
        let slots: Vec<u32> = self
            .syms
            .get(session_id)
            .and_then(|s| self.by_session.get(&s))
            .map(|f| f.iter().copied().collect())
            .unwrap_or_default();
        slots.into_iter().filter_map(|s| self.take(s)).collect()
    }

    /// Every ticket of a party (it closed, or its members changed).
    pub fn remove_party(&mut self, party_id: &str) -> Vec<Ticket> {
        if party_id.is_empty() {
            return Vec::new();
        }
        let slots: Vec<u32> = self
            .syms
            .get(party_id)
            .and_then(|s| self.by_party.get(&s))
            .map(|f| f.iter().copied().collect())
            .unwrap_or_default();
        slots.into_iter().filter_map(|s| self.take(s)).collect()
    }

    /// Tickets a session's presence is in.
    pub fn session_tickets(&self, session_id: &str) -> usize {
        self.session_slots(session_id)
    }
}

#[cfg(test)]
impl Pool {
    /// Checks every structure against the tickets: slots, age order, ids,
    /// sessions, parties, the index, and that the interner holds exactly
    /// the strings of the tickets in the pool.
    pub(super) fn check(&self) {
        use super::index::AcceptKey;
        use super::matcher::{PropValue, Test};
        use std::collections::BTreeSet;

        let order = self.order.check(&self.seqs);
        let slots: Vec<u32> = (0..self.tickets.len() as u32)
            .filter(|&s| self.tickets[s as usize].is_some())
            .collect();
        let mut in_order: Vec<u32> = order.iter().map(|e| e.slot).collect();
        in_order.sort_unstable();
        assert_eq!(in_order, slots);
        assert_eq!(self.by_id.len(), slots.len());
        let mut free = self.free.clone();
        free.sort_unstable();
        let vacant: Vec<u32> = (0..self.tickets.len() as u32)
            .filter(|&s| self.tickets[s as usize].is_none())
            .collect();
        assert_eq!(free, vacant);
        let mut syms = BTreeSet::new();
        let mut keywords = Vec::new();
        let mut numbers = Vec::new();
        for e in &order {
            let t = self.ticket(e.slot).expect("a ticket");
            let h = &self.hot[e.slot as usize];
            assert_eq!(self.slot_of(&t.id), Some(e.slot));
            assert_eq!(h.id_hash, self.by_id.hash(&t.id));
            assert_eq!(h.count, t.count());
            assert_eq!(
                (h.min_count, h.max_count, h.count_multiple),
                (t.spec.min_count, t.spec.max_count, t.spec.count_multiple)
            );
            let sessions = h.sessions.as_slice();
            assert_eq!(sessions.len(), t.spec.presences.len());
            for (&s, p) in sessions.iter().zip(&t.spec.presences) {
                assert_eq!(self.syms.resolve(s), p.session_id);
                assert!(self.by_session[&s].contains(e.slot));
                syms.insert(s);
            }
            match h.party {
                Some(p) => {
                    assert_eq!(self.syms.resolve(p), t.spec.party_id);
                    assert!(self.by_party[&p].contains(e.slot));
                    syms.insert(p);
                }
                None => assert!(t.spec.party_id.is_empty()),
            }
            assert_eq!(
                h.props.len(),
                t.spec.string_properties.len() + t.spec.numeric_properties.len()
            );
            for p in h.props.iter() {
                syms.insert(p.field());
                match p.value() {
                    PropValue::Keyword(k) => {
                        syms.insert(k);
                        keywords.push((p.field(), k, *e));
                    }
                    PropValue::Number(n) => numbers.push((p.field(), n, *e)),
                }
            }
            for c in h.matcher.clauses() {
                syms.insert(c.field);
                if let Test::Term(k) | Test::Number { text: k, .. } = c.test {
                    syms.insert(k);
                }
            }
            let accept: AcceptKey = super::index::accept_key(&h.matcher);
            assert_eq!(h.accept, accept);
        }
        assert_eq!(syms.len(), self.syms.len(), "symbols held by no ticket");
        for (map, slots) in [(&self.by_session, &slots), (&self.by_party, &slots)] {
            for held in map.values() {
                assert!(held.len() > 0);
                assert!(held.iter().all(|s| slots.contains(s)));
            }
        }
        let (mut k, mut n) = self.index.check(&self.seqs);
        keywords.sort_unstable();
        k.sort_unstable();
        assert_eq!(k, keywords);
        numbers.sort_unstable();
        n.sort_unstable();
        assert_eq!(n, numbers);
    }
}
