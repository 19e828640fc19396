//! The inverted index over ticket properties: a posting list per
//! `(field, keyword)` and an ordered set per numeric field, each keyed by
//! the ticket's age (`seq`), so a posting list reads oldest first.
//!
//! Each keyword posting list is also split by its tickets' *acceptance
//! key*: the first keyword their own query requires (`+field:value`), or
//! none. A searcher that needs candidates to accept it too reads only the
//! parts whose key its own properties satisfy (and the keyless part),
//! merged in age order, so tickets that could never accept it (a picky
//! ticket waiting for one property value) cost it nothing.

use std::collections::BTreeSet;

use super::intern::{Sym, SymMap};
use super::matcher::{Matcher, Prop, PropValue, Test};
use crate::query::Occur;

/// A ticket's acceptance key: `(field, keyword)` its query requires.
pub(super) type AcceptKey = Option<(Sym, Sym)>;

/// A ticket in a list: its age, then its slot in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Entry {
    pub(super) seq: u64,
    pub(super) slot: u32,
}

/// An age-ordered list of tickets. Tickets are appended (a new ticket is
/// the youngest) and removed lazily: a removed ticket's entry stays until
/// the list is tidied, and reading skips entries whose slot no longer
/// holds their `seq` (`seqs`, the pool's slot-to-age table). Every live
/// ticket of the list is in `entries[head..]`, once, in age order; what
/// is before `head` is garbage. Removed entries are dropped three ways,
/// each paid for by the removals or the reading it follows, so that no
/// removed entry is skipped by reader after reader:
///
/// - at the head, as soon as the ticket there is removed;
/// - in the part a search has just read ([`List::tidy`]): its live
///   entries move up against the rest, and `head` after them;
/// - everywhere, once removed entries outnumber live ones.
#[derive(Debug, Default)]
pub(super) struct List {
    entries: Vec<Entry>,
    head: usize,
    live: usize,
}

impl List {
    pub(super) fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
        self.live += 1;
    }

    /// One of its tickets was removed (its slot in `seqs` already says so).
    pub(super) fn removed(&mut self, seqs: &[u64]) {
        self.live -= 1;
        let alive = |e: &Entry| seqs[e.slot as usize] == e.seq;
        if self.live == 0 {
            self.entries = Vec::new();
            self.head = 0;
        } else if self.entries.len() - self.live > self.live + 16 {
            self.entries.drain(..self.head);
            self.entries.retain(alive);
            self.head = 0;
            // A list that was long gives back what it no longer needs.
            if self.entries.capacity() > 4 * self.live + 64 {
                self.entries.shrink_to(2 * self.live);
            }
        } else {
            while self.entries.get(self.head).is_some_and(|e| !alive(e)) {
                self.head += 1;
            }
        }
    }

    /// A reader went through the first `read` entries of [`List::raw`]:
    /// drops the removed ones among them (moving the live ones up against
    /// the rest, in order). O(`read`), as the reading was.
    pub(super) fn tidy(&mut self, read: usize, seqs: &[u64]) {
        let end = (self.head + read).min(self.entries.len());
        let mut to = end;
        for i in (self.head..end).rev() {
            let e = self.entries[i];
            if seqs[e.slot as usize] == e.seq {
                to -= 1;
                self.entries[to] = e;
            }
        }
        self.head = to;
    }

    /// Live tickets.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Its entries from the first live one, removed ones included.
    pub(super) fn raw(&self) -> &[Entry] {
        &self.entries[self.head..]
    }

    /// Its live tickets, oldest first.
    pub(super) fn iter<'a>(&'a self, seqs: &'a [u64]) -> impl Iterator<Item = Entry> + 'a {
        self.raw()
            .iter()
            .copied()
            .filter(move |e| seqs[e.slot as usize] == e.seq)
    }
}

/// A list a search may read: the pool's age order, a posting list, or
/// the part of one with an acceptance key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ListId {
    Order,
    All((Sym, Sym)),
    Part((Sym, Sym), AcceptKey),
}

#[derive(Debug, Default)]
pub(super) struct Posting {
    all: List,
    by_accept: SymMap<AcceptKey, List>,
}

#[derive(Debug, Default)]
pub(super) struct Index {
    terms: SymMap<(Sym, Sym), Posting>,
    /// Per field, how many keywords have a posting list.
    term_fields: SymMap<Sym, usize>,
    numbers: SymMap<Sym, Numbers>,
}

/// The tickets with a number at one field, by number: removed lazily
/// like a [`List`] (a reader skips removed entries), compacted once they
/// outnumber live ones.
#[derive(Debug, Default)]
struct Numbers {
    set: BTreeSet<(i64, Entry)>,
    live: usize,
}

/// Where a query's candidates come from.
pub(super) enum Plan<'a> {
    /// The union of these age-ordered lists ([`List::raw`]: they may hold
    /// removed tickets, which the reader skips), merged lazily in age
    /// order: one posting list, or the parts of one. Every ticket when
    /// no required clause can answer (the pool's age order).
    Lists(Vec<(ListId, &'a [Entry])>),
    /// Tickets in this age-ordered list, all live.
    Entries(Vec<Entry>),
}

impl Index {
    pub(super) fn insert(&mut self, entry: Entry, props: &[Prop], accept: AcceptKey) {
        for p in props {
            match p.value() {
                PropValue::Keyword(k) => {
                    let posting = self.terms.entry((p.field(), k)).or_insert_with(|| {
                        *self.term_fields.entry(p.field()).or_default() += 1;
                        Posting::default()
                    });
                    posting.all.push(entry);
                    posting.by_accept.entry(accept).or_default().push(entry);
                }
                PropValue::Number(n) => {
                    let numbers = self.numbers.entry(p.field()).or_default();
                    numbers.set.insert((n, entry));
                    numbers.live += 1;
                }
            }
        }
    }

    /// Removes a ticket with these properties and acceptance key, whose
    /// slot `seqs` already says is free.
    pub(super) fn remove(&mut self, props: &[Prop], accept: AcceptKey, seqs: &[u64]) {
        for p in props {
            match p.value() {
                PropValue::Keyword(k) => {
                    let key = (p.field(), k);
                    if let Some(posting) = self.terms.get_mut(&key) {
                        posting.all.removed(seqs);
                        if let Some(part) = posting.by_accept.get_mut(&accept) {
                            part.removed(seqs);
                            if part.len() == 0 {
                                posting.by_accept.remove(&accept);
                            }
                        }
                        if posting.all.len() == 0 {
                            self.terms.remove(&key);
                            if let Some(n) = self.term_fields.get_mut(&p.field()) {
                                *n -= 1;
                                if *n == 0 {
                                    self.term_fields.remove(&p.field());
                                }
                            }
                        }
                    }
                }
                PropValue::Number(_) => {
                    if let Some(numbers) = self.numbers.get_mut(&p.field()) {
                        numbers.live -= 1;
                        if numbers.live == 0 {
                            self.numbers.remove(&p.field());
                        } else if numbers.set.len() - numbers.live > numbers.live + 16 {
                            numbers.set.retain(|(_, e)| seqs[e.slot as usize] == e.seq);
                        }
                    }
                }
            }
        }
    }

    /// The candidates of `query`: a superset of the tickets it accepts, in
    /// age order. Reads the shortest posting list among the required
    /// keyword clauses; without one, the tickets in a required number
    /// range (or equal to a required number); else every ticket. With
    /// `searcher` (the searching ticket's properties, when candidates
    /// must accept it), a posting list is read only in the parts whose
    /// acceptance key those properties satisfy.
    pub(super) fn plan<'a>(
        &'a self,
        query: &Matcher,
        searcher: Option<&[Prop]>,
        order: &'a List,
        seqs: &[u64],
    ) -> Plan<'a> {
        if query.is_all() {
            return self.every(order);
        }
        let musts = || query.clauses().iter().filter(|c| c.occur == Occur::Must);
        let mut best: Option<((Sym, Sym), &Posting)> = None;
        let mut empty = false;
        for c in musts() {
            if let Test::Term(value) = c.test {
                let key = (c.field, value);
                match self.terms.get(&key) {
                    None => empty = true,
                    Some(p) if best.is_none_or(|(_, b)| p.all.len() < b.all.len()) => {
                        best = Some((key, p));
                    }
                    Some(_) => {}
                }
            }
        }
        if empty {
            return Plan::Entries(Vec::new());
        }
        if let Some((key, posting)) = best {
            let Some(props) = searcher else {
                return Plan::Lists(vec![(ListId::All(key), posting.all.raw())]);
            };
            let accepts =
                std::iter::once(None).chain(props.iter().filter_map(|p| match p.value() {
                    PropValue::Keyword(k) => Some(Some((p.field(), k))),
                    PropValue::Number(_) => None,
                }));
            let mut parts: Vec<(ListId, &[Entry])> = Vec::new();
            for accept in accepts {
                if let Some(part) = posting.by_accept.get(&accept) {
                    parts.push((ListId::Part(key, accept), part.raw()));
                }
            }
            return Plan::Lists(parts);
        }
        for c in musts() {
            let range = match c.test {
                Test::Range(range) => range,
                Test::Number { key, .. } => {
                    // A number clause also matches the keyword written the
                    // same way: only plan on it when no keyword could.
                    if self.term_fields.contains_key(&c.field) {
                        continue;
                    }
                    Some((key, key))
                }
                _ => continue,
            };
            let Some((lo, hi)) = range else {
                return Plan::Entries(Vec::new());
            };
            let Some(numbers) = self.numbers.get(&c.field) else {
                return Plan::Entries(Vec::new());
            };
            let first = Entry { seq: 0, slot: 0 };
            let last = Entry {
                seq: u64::MAX,
                slot: u32::MAX,
            };
            let mut entries: Vec<Entry> = numbers
                .set
                .range((lo, first)..=(hi, last))
                .map(|&(_, e)| e)
                .filter(|e| seqs[e.slot as usize] == e.seq)
                .collect();
            entries.sort_unstable();
            return Plan::Entries(entries);
        }
        self.every(order)
    }

    /// Every ticket: the pool's age order.
    fn every<'a>(&self, order: &'a List) -> Plan<'a> {
        Plan::Lists(vec![(ListId::Order, order.raw())])
    }

    /// The list `id` (not the order, which the pool holds), if it is
    /// still there.
    pub(super) fn list_mut(&mut self, id: ListId) -> Option<&mut List> {
        match id {
            ListId::Order => None,
            ListId::All(key) => self.terms.get_mut(&key).map(|p| &mut p.all),
            ListId::Part(key, accept) => self.terms.get_mut(&key)?.by_accept.get_mut(&accept),
        }
    }
}

/// The first keyword `query` requires (`+field:value`), if any: a document
/// without it is refused.
pub(super) fn accept_key(query: &Matcher) -> AcceptKey {
    if query.is_all() {
        return None;
    }
    query
        .clauses()
        .iter()
        .find_map(|c| match (c.occur, c.test) {
            (Occur::Must, Test::Term(value)) => Some((c.field, value)),
            _ => None,
        })
}

/// Merges age-ordered lists into one age-ordered sequence, lazily,
/// counting what it took from each.
pub(super) struct MergeIter<'a> {
    heads: Vec<(ListId, &'a [Entry], usize)>,
}

impl<'a> MergeIter<'a> {
    pub(super) fn new(lists: Vec<(ListId, &'a [Entry])>) -> Self {
        MergeIter {
            heads: lists.into_iter().map(|(id, l)| (id, l, 0)).collect(),
        }
    }

    /// How many entries it took from each list.
    pub(super) fn taken(&self) -> impl Iterator<Item = (ListId, usize)> + '_ {
        self.heads.iter().map(|&(id, _, n)| (id, n))
    }
}

impl Iterator for MergeIter<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        let mut best: Option<(usize, Entry)> = None;
        for (i, (_, h, n)) in self.heads.iter().enumerate() {
            if let Some(&e) = h.get(*n)
                && best.is_none_or(|(_, b)| e < b)
            {
                best = Some((i, e));
            }
        }
        let (i, e) = best?;
        self.heads[i].2 += 1;
        Some(e)
    }
}

#[cfg(test)]
impl List {
    /// Checks `live` and `head` against `seqs` (every live ticket after
    /// `head`, once: in strictly increasing age, `live` of them); returns
    /// its live entries.
    pub(super) fn check(&self, seqs: &[u64]) -> Vec<Entry> {
        let live: Vec<Entry> = self.iter(seqs).collect();
        assert_eq!(live.len(), self.live);
        assert!(
            self.raw()
                .first()
                .is_none_or(|e| seqs[e.slot as usize] == e.seq)
        );
        assert!(self.raw().windows(2).all(|w| w[0].seq < w[1].seq));
        live
    }
}

/// What [`Index::check`] finds: the live `(field, keyword, entry)` and
/// `(field, number, entry)` triples.
#[cfg(test)]
pub(super) type Held = (Vec<(Sym, Sym, Entry)>, Vec<(Sym, i64, Entry)>);

#[cfg(test)]
impl Index {
    /// Checks every list against `seqs`: counts, order, parts adding up
    /// to their posting list, no empty list kept. Returns the live
    /// `(field, keyword, entry)` and `(field, number, entry)` it holds.
    pub(super) fn check(&self, seqs: &[u64]) -> Held {
        let mut keywords = Vec::new();
        let mut fields: SymMap<Sym, usize> = SymMap::default();
        for (&(field, keyword), posting) in &self.terms {
            let all = posting.all.check(seqs);
            assert!(!all.is_empty());
            let mut parts: Vec<Entry> = Vec::new();
            for part in posting.by_accept.values() {
                let live = part.check(seqs);
                assert!(!live.is_empty());
                parts.extend(live);
            }
            parts.sort_unstable();
            assert_eq!(parts, all);
            *fields.entry(field).or_default() += 1;
            keywords.extend(all.into_iter().map(|e| (field, keyword, e)));
        }
        assert_eq!(fields, self.term_fields);
        let mut numbers = Vec::new();
        for (&field, held) in &self.numbers {
            let before = numbers.len();
            for &(n, e) in &held.set {
                if seqs[e.slot as usize] == e.seq {
                    numbers.push((field, n, e));
                }
            }
            assert_eq!(numbers.len() - before, held.live);
            assert!(held.live > 0);
        }
        (keywords, numbers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lazy removal: the head moves past removed tickets, a read part is
    /// tidied in order, and a list mostly removed is compacted.
    #[test]
    fn lists_drop_removed_tickets_as_they_go() {
        let mut seqs: Vec<u64> = (0..40).collect();
        let mut list = List::default();
        for slot in 0..40u32 {
            list.push(Entry {
                seq: u64::from(slot),
                slot,
            });
        }
        let remove = |list: &mut List, seqs: &mut Vec<u64>, slot: usize| {
            seqs[slot] = u64::MAX;
            list.removed(seqs);
        };
        remove(&mut list, &mut seqs, 0);
        remove(&mut list, &mut seqs, 1);
        assert_eq!(list.raw().len(), 38, "the head moved past 0 and 1");
        for slot in [3, 5, 6, 8] {
            remove(&mut list, &mut seqs, slot);
        }
        assert_eq!(list.raw().len(), 38, "not at the head: still there");
        // A reader went through 2, 3, 4, 5, 6, 7 (six entries).
        list.tidy(6, &seqs);
        let raw: Vec<u64> = list.raw().iter().map(|e| e.seq).collect();
        assert_eq!(&raw[..5], &[2, 4, 7, 8, 9]);
        assert_eq!(list.len(), 34);
        assert_eq!(list.check(&seqs).len(), 34);
        // Removing most: compacted, only live entries left.
        for slot in 9..35 {
            remove(&mut list, &mut seqs, slot);
        }
        assert_eq!(list.len(), 8);
        assert!(list.entries.len() <= 2 * 8 + 16 + 1);
        assert!(list.entries.capacity() <= 4 * 8 + 64);
        let live: Vec<u64> = list.iter(&seqs).map(|e| e.seq).collect();
        assert_eq!(live, [2, 4, 7, 35, 36, 37, 38, 39]);
        assert_eq!(list.check(&seqs).len(), 8);
    }
}
