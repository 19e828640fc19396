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

use std::collections::{BTreeSet, HashMap};

use crate::query::{Bound, Doc, Leaf, Occur, Query, Value, number_range, sortable};

/// A ticket's acceptance key: `(field, keyword)` its query requires.
pub(super) type AcceptKey = Option<(String, String)>;

#[derive(Debug, Default)]
pub(super) struct Posting {
    all: BTreeSet<u64>,
    by_accept: HashMap<AcceptKey, BTreeSet<u64>>,
}

#[derive(Debug, Default)]
pub(super) struct Index {
    terms: HashMap<(String, String), Posting>,
    numbers: HashMap<String, BTreeSet<(i64, u64)>>,
}

/// Where a query's candidates come from.
pub(super) enum Plan<'a> {
    /// The tickets of one posting list, read lazily in age order.
    Posting(&'a BTreeSet<u64>),
    /// The union of these age-ordered sets, merged lazily in age order.
    Merge(Vec<&'a BTreeSet<u64>>),
    /// Tickets in this age-ordered list.
    Seqs(Vec<u64>),
    /// No required clause the index can answer: every ticket.
    All,
}

impl Index {
    pub(super) fn insert(&mut self, seq: u64, doc: &Doc, accept: &AcceptKey) {
        for (path, value) in &doc.fields {
            match value {
                Value::Keyword(k) => {
                    let posting = self.terms.entry((path.clone(), k.clone())).or_default();
                    posting.all.insert(seq);
                    posting
                        .by_accept
                        .entry(accept.clone())
                        .or_default()
                        .insert(seq);
                }
                Value::Number(n) => {
                    self.numbers
                        .entry(path.clone())
                        .or_default()
                        .insert((sortable(*n), seq));
                }
                Value::Date(_) => {}
            }
        }
    }

    pub(super) fn remove(&mut self, seq: u64, doc: &Doc, accept: &AcceptKey) {
        for (path, value) in &doc.fields {
            match value {
                Value::Keyword(k) => {
                    let key = (path.clone(), k.clone());
                    if let Some(posting) = self.terms.get_mut(&key) {
                        posting.all.remove(&seq);
                        if let Some(part) = posting.by_accept.get_mut(accept) {
                            part.remove(&seq);
                            if part.is_empty() {
                                posting.by_accept.remove(accept);
                            }
                        }
                        if posting.all.is_empty() {
                            self.terms.remove(&key);
                        }
                    }
                }
                Value::Number(n) => {
                    if let Some(set) = self.numbers.get_mut(path) {
                        set.remove(&(sortable(*n), seq));
                        if set.is_empty() {
                            self.numbers.remove(path);
                        }
                    }
                }
                Value::Date(_) => {}
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
    pub(super) fn plan<'a>(&'a self, query: &Query, searcher: Option<&Doc>) -> Plan<'a> {
        let Query::Bool(clauses) = query else {
            return Plan::All;
        };
        let mut best: Option<&Posting> = None;
        let mut empty = false;
        for c in clauses.iter().filter(|c| c.occur == Occur::Must) {
            if let Leaf::Term { field, value } = &c.leaf {
                match self.terms.get(&(field.clone(), value.clone())) {
                    None => empty = true,
                    Some(p) if best.is_none_or(|b| p.all.len() < b.all.len()) => best = Some(p),
                    Some(_) => {}
                }
            }
        }
        if empty {
            return Plan::Seqs(Vec::new());
        }
        if let Some(posting) = best {
            let Some(doc) = searcher else {
                return Plan::Posting(&posting.all);
            };
            let mut parts: Vec<&BTreeSet<u64>> = posting.by_accept.get(&None).into_iter().collect();
            for (path, value) in &doc.fields {
                if let Value::Keyword(k) = value
                    && let Some(part) = posting.by_accept.get(&Some((path.clone(), k.clone())))
                {
                    parts.push(part);
                }
            }
            return Plan::Merge(parts);
        }
        for c in clauses.iter().filter(|c| c.occur == Occur::Must) {
            let (field, range) = match &c.leaf {
                Leaf::NumberRange { field, min, max } => (field, number_range(min, max)),
                Leaf::Number { field, value, .. } => {
                    let b = Bound::Inclusive(*value);
                    // A number clause also matches the keyword written the
                    // same way: only plan on it when no keyword could.
                    if self.terms.keys().any(|(f, _)| f == field) {
                        continue;
                    }
                    (field, number_range(&b, &b))
                }
                _ => continue,
            };
            let Some((lo, hi)) = range else {
                return Plan::Seqs(Vec::new());
            };
            let Some(set) = self.numbers.get(field) else {
                return Plan::Seqs(Vec::new());
            };
            let mut seqs: Vec<u64> = set
                .range((lo, 0)..=(hi, u64::MAX))
                .map(|&(_, s)| s)
                .collect();
            seqs.sort_unstable();
            return Plan::Seqs(seqs);
        }
        Plan::All
    }
}

/// The first keyword `query` requires (`+field:value`), if any: a document
/// without it is refused.
pub(super) fn accept_key(query: &Query) -> AcceptKey {
    let Query::Bool(clauses) = query else {
        return None;
    };
    clauses.iter().find_map(|c| match (&c.occur, &c.leaf) {
        (Occur::Must, Leaf::Term { field, value }) => Some((field.clone(), value.clone())),
        _ => None,
    })
}

/// Merges age-ordered sets into one age-ordered sequence, lazily.
pub(super) struct MergeIter<'a> {
    heads: Vec<std::iter::Peekable<std::collections::btree_set::Iter<'a, u64>>>,
}

impl<'a> MergeIter<'a> {
    pub(super) fn new(sets: Vec<&'a BTreeSet<u64>>) -> Self {
        MergeIter {
            heads: sets.into_iter().map(|s| s.iter().peekable()).collect(),
        }
    }
}

impl Iterator for MergeIter<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let mut best: Option<(usize, u64)> = None;
        for (i, h) in self.heads.iter_mut().enumerate() {
            if let Some(&&s) = h.peek()
                && best.is_none_or(|(_, b)| s < b)
            {
                best = Some((i, s));
            }
        }
        let (i, s) = best?;
        self.heads[i].next();
        Some(s)
    }
}
