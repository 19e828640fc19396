//! The inverted index over ticket properties: a posting list per
//! `(field, keyword)` and an ordered set per numeric field, each keyed by
//! the ticket's age (`seq`), so a posting list reads oldest first.

use std::collections::{BTreeSet, HashMap};

use crate::query::{Bound, Doc, Leaf, Occur, Query, Value, number_range, sortable};

#[derive(Debug, Default)]
pub(super) struct Index {
    terms: HashMap<(String, String), BTreeSet<u64>>,
    numbers: HashMap<String, BTreeSet<(i64, u64)>>,
}

/// Where a query's candidates come from.
pub(super) enum Plan<'a> {
    /// The tickets of one posting list, read lazily in age order.
    Posting(&'a BTreeSet<u64>),
    /// Tickets in this age-ordered list.
    Seqs(Vec<u64>),
    /// No required clause the index can answer: every ticket.
    All,
}

impl Index {
    pub(super) fn insert(&mut self, seq: u64, doc: &Doc) {
        for (path, value) in &doc.fields {
            match value {
                Value::Keyword(k) => {
                    self.terms
                        .entry((path.clone(), k.clone()))
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

    pub(super) fn remove(&mut self, seq: u64, doc: &Doc) {
        for (path, value) in &doc.fields {
            match value {
                Value::Keyword(k) => {
                    let key = (path.clone(), k.clone());
                    if let Some(set) = self.terms.get_mut(&key) {
                        set.remove(&seq);
                        if set.is_empty() {
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
    /// range (or equal to a required number); else every ticket.
    pub(super) fn plan(&self, query: &Query) -> Plan<'_> {
        let Query::Bool(clauses) = query else {
            return Plan::All;
        };
        let mut best: Option<&BTreeSet<u64>> = None;
        let mut empty = false;
        for c in clauses.iter().filter(|c| c.occur == Occur::Must) {
            if let Leaf::Term { field, value } = &c.leaf {
                match self.terms.get(&(field.clone(), value.clone())) {
                    None => empty = true,
                    Some(set) if best.is_none_or(|b| set.len() < b.len()) => best = Some(set),
                    Some(_) => {}
                }
            }
        }
        if empty {
            return Plan::Seqs(Vec::new());
        }
        if let Some(set) = best {
            return Plan::Posting(set);
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
