//! A ticket's properties and query over interned strings (`intern.rs`),
//! so that a pass evaluates a query on a candidate without reading a
//! string or allocating: a field is found, and a keyword compared, by
//! symbol. The meaning is the query language's reference evaluator's
//! ([`Compiled::score`]) on the document the properties make
//! (`properties_doc`), which the tests check on random queries and
//! properties:
//!
//! - a string property is the keyword at `properties.<name>`, a numeric
//!   one the number there (kept as [`sortable`], as bluge compares
//!   numbers); properties hold no dates, so a date range matches nothing;
//! - terms, numbers and number ranges are compiled here; wildcards,
//!   regular expressions and fuzzy terms are asked of the reference's
//!   compiled clause on the candidate's keyword
//!   ([`Compiled::leaf_matches_keyword`]).

use super::intern::{Interner, Sym};
use super::ticket::TicketSpec;
use crate::query::{Compiled, Leaf, Occur, Query, number_range, sortable};

/// One value of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PropValue {
    Keyword(Sym),
    /// [`sortable`] of the number.
    Number(i64),
}

/// One property: its path (`properties.<name>`) and value, in 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prop {
    Keyword {
        field: Sym,
        value: Sym,
    },
    /// The value is [`sortable`] of the number.
    Number {
        field: Sym,
        value: i64,
    },
}

impl Prop {
    pub(super) fn field(self) -> Sym {
        match self {
            Prop::Keyword { field, .. } | Prop::Number { field, .. } => field,
        }
    }

    pub(super) fn value(self) -> PropValue {
        match self {
            Prop::Keyword { value, .. } => PropValue::Keyword(value),
            Prop::Number { value, .. } => PropValue::Number(value),
        }
    }
}

/// Properties a ticket holds inline, in its [`Hot`](super::ticket::Hot)
/// record (more go to the heap).
const INLINE_PROPS: usize = 4;

/// A ticket's properties, in the order of its document: the string
/// properties, then the numeric ones, each by name. Up to
/// [`INLINE_PROPS`] inline, so that testing a candidate's properties
/// reads no other cache line than its record's.
#[derive(Debug)]
pub(super) enum Props {
    Inline(u8, [Prop; INLINE_PROPS]),
    Heap(Box<[Prop]>),
}

impl Props {
    pub(super) fn empty() -> Props {
        Props::Heap(Box::default())
    }
}

impl std::ops::Deref for Props {
    type Target = [Prop];

    fn deref(&self) -> &[Prop] {
        match self {
            Props::Inline(len, props) => &props[..usize::from(*len)],
            Props::Heap(props) => props,
        }
    }
}

/// A ticket's properties.
pub(super) fn props(spec: &TicketSpec, syms: &mut Interner) -> Props {
    let mut path = String::from("properties.");
    let mut field = |name: &str, syms: &mut Interner| {
        path.truncate("properties.".len());
        path.push_str(name);
        syms.intern(&path)
    };
    let mut out = Vec::with_capacity(spec.string_properties.len() + spec.numeric_properties.len());
    for (k, v) in &spec.string_properties {
        out.push(Prop::Keyword {
            field: field(k, syms),
            value: syms.intern(v),
        });
    }
    for (k, v) in &spec.numeric_properties {
        out.push(Prop::Number {
            field: field(k, syms),
            value: sortable(*v),
        });
    }
    match out[..] {
        [] => Props::empty(),
        [first, ..] if out.len() <= INLINE_PROPS => {
            let mut inline = [first; INLINE_PROPS];
            inline[..out.len()].copy_from_slice(&out);
            // At most INLINE_PROPS, so the length fits.
            Props::Inline(out.len() as u8, inline)
        }
        _ => Props::Heap(out.into_boxed_slice()),
    }
}

/// Lets go of the symbols of `props`.
pub(super) fn release_props(props: &[Prop], syms: &mut Interner) {
    for p in props {
        syms.release(p.field());
        if let PropValue::Keyword(k) = p.value() {
            syms.release(k);
        }
    }
}

/// What one clause's leaf asks of a value at its field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Test {
    /// The keyword equal to this.
    Term(Sym),
    /// The keyword written as the number was, or the number (sortable).
    Number { text: Sym, key: i64 },
    /// A number in these inclusive sortable bounds; `None`: an empty range.
    Range(Option<(i64, i64)>),
    /// A date range: no property is a date.
    Never,
    /// A wildcard, regular expression or fuzzy term: clause `n` of the
    /// reference, on keywords.
    Reference(usize),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Clause {
    pub(super) field: Sym,
    pub(super) occur: Occur,
    boost: f64,
    pub(super) test: Test,
}

/// A query compiled on symbols.
#[derive(Debug)]
pub(super) struct Matcher {
    /// `*`: everything, score 1.
    all: bool,
    clauses: Box<[Clause]>,
    /// The reference's compiled query, kept when a clause needs it.
    reference: Option<Box<Compiled>>,
}

impl Matcher {
    /// `query` (and `compiled`, its reference compilation) on symbols.
    pub(super) fn new(query: &Query, compiled: Compiled, syms: &mut Interner) -> Matcher {
        let Query::Bool(clauses) = query else {
            return Matcher {
                all: true,
                clauses: Box::default(),
                reference: None,
            };
        };
        let mut needs_reference = false;
        let clauses = clauses
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (field, test) = match &c.leaf {
                    Leaf::Term { field, value } => (field, Test::Term(syms.intern(value))),
                    Leaf::Number { field, text, value } => (
                        field,
                        Test::Number {
                            text: syms.intern(text),
                            key: sortable(*value),
                        },
                    ),
                    Leaf::NumberRange { field, min, max } => {
                        (field, Test::Range(number_range(min, max)))
                    }
                    Leaf::DateRange { field, .. } => (field, Test::Never),
                    Leaf::Wildcard { field, .. }
                    | Leaf::Regex { field, .. }
                    | Leaf::Fuzzy { field, .. } => {
                        needs_reference = true;
                        (field, Test::Reference(i))
                    }
                };
                Clause {
                    field: syms.intern(field),
                    occur: c.occur,
                    boost: c.boost,
                    test,
                }
            })
            .collect();
        Matcher {
            all: false,
            clauses,
            reference: needs_reference.then(|| Box::new(compiled)),
        }
    }

    /// The query that accepts nothing (a free slot's).
    pub(super) fn nothing() -> Matcher {
        Matcher {
            all: false,
            clauses: Box::default(),
            reference: None,
        }
    }

    /// Lets go of its symbols.
    pub(super) fn release(&self, syms: &mut Interner) {
        for c in &self.clauses {
            syms.release(c.field);
            match c.test {
                Test::Term(k) | Test::Number { text: k, .. } => syms.release(k),
                Test::Range(_) | Test::Never | Test::Reference(_) => {}
            }
        }
    }

    /// Whether it is `*`.
    pub(super) fn is_all(&self) -> bool {
        self.all
    }

    /// Its clauses, in the query's order.
    pub(super) fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// The score of a ticket with these properties, `None` when the query
    /// does not accept it: [`Compiled::score`] on their document.
    pub(super) fn score(&self, props: &[Prop], syms: &Interner) -> Option<f64> {
        if self.all {
            return Some(1.0);
        }
        let mut score = 0.0;
        let mut has_must = false;
        let mut has_should = false;
        let mut should_matched = false;
        for clause in self.clauses.iter() {
            let matched = self.matches(clause, props, syms);
            match clause.occur {
                Occur::Must => {
                    has_must = true;
                    if !matched {
                        return None;
                    }
                    score += clause.boost;
                }
                Occur::MustNot => {
                    if matched {
                        return None;
                    }
                }
                Occur::Should => {
                    has_should = true;
                    if matched {
                        should_matched = true;
                        score += clause.boost;
                    }
                }
            }
        }
        if has_must || should_matched {
            Some(score)
        } else if !has_should && !self.clauses.is_empty() {
            // Only MustNot clauses: bluge starts from match-all.
            Some(1.0)
        } else {
            None
        }
    }

    fn matches(&self, clause: &Clause, props: &[Prop], syms: &Interner) -> bool {
        props
            .iter()
            .filter(|p| p.field() == clause.field)
            .any(|p| match (clause.test, p.value()) {
                (Test::Term(t), PropValue::Keyword(k)) => t == k,
                (Test::Number { text, .. }, PropValue::Keyword(k)) => text == k,
                (Test::Number { key, .. }, PropValue::Number(n)) => key == n,
                (Test::Range(Some((lo, hi))), PropValue::Number(n)) => lo <= n && n <= hi,
                (Test::Reference(i), PropValue::Keyword(k)) => self
                    .reference
                    .as_ref()
                    .is_some_and(|r| r.leaf_matches_keyword(i, syms.resolve(k))),
                _ => false,
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::ticket::properties_doc;
    use super::*;
    use crate::query;

    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
    }

    fn spec(strings: BTreeMap<String, String>, numbers: BTreeMap<String, f64>) -> TicketSpec {
        TicketSpec {
            presences: Vec::new(),
            session_id: String::new(),
            party_id: String::new(),
            query: String::new(),
            min_count: 2,
            max_count: 2,
            count_multiple: 1,
            string_properties: strings,
            numeric_properties: numbers,
        }
    }

    /// The compiled matcher scores random properties as the reference
    /// evaluator scores their document, bit for bit, on random queries in
    /// the full grammar; and every symbol is let go of afterwards.
    #[test]
    fn the_matcher_agrees_with_the_evaluator() {
        let mut rng = Lcg(11);
        let names = ["mode", "region", "skill", "level", "tag"];
        let words = [
            "ranked", "casual", "rank", "ranker", "eu", "12", "-0", "a b", "T",
        ];
        let numbers = [0.0, -0.0, 12.0, 1.5, -3.0, 2500.0, 1e300];
        let mut syms = Interner::default();
        let mut specs = Vec::new();
        for _ in 0..60 {
            let mut strings = BTreeMap::new();
            let mut nums = BTreeMap::new();
            for name in names {
                match rng.below(4) {
                    0 => {
                        strings.insert(name.to_string(), rng.pick(&words).to_string());
                    }
                    1 => {
                        nums.insert(name.to_string(), numbers[rng.below(numbers.len())]);
                    }
                    2 => {
                        strings.insert(name.to_string(), rng.pick(&words).to_string());
                        nums.insert(name.to_string(), numbers[rng.below(numbers.len())]);
                    }
                    _ => {}
                }
            }
            specs.push(spec(strings, nums));
        }
        let docs: Vec<_> = specs.iter().map(properties_doc).collect();
        let props: Vec<Props> = specs.iter().map(|s| super::props(s, &mut syms)).collect();
        let fields = [
            "properties.mode",
            "properties.region",
            "properties.skill",
            "properties.level",
            "properties.tag",
            "properties.none",
            "mode",
        ];
        let leaf = |r: &mut Lcg| -> String {
            let f = r.pick(&fields);
            let w = r.pick(&words[..words.len() - 2]);
            match r.below(13) {
                0 => format!("{f}:{w}"),
                1 => format!("{f}:\"a b\""),
                2 => format!("{f}:{}", r.pick(&["12", "0", "-0", "1.5", "-3", "2500"])),
                3 => format!("{f}:>={}", r.pick(&["0", "-0", "1.5", "-3", "12"])),
                4 => format!("{f}:<{}", r.pick(&["0", "-0", "12", "2500", "1e301"])),
                5 => format!("{f}:{}*", &w[..1]),
                6 => format!("{f}:/r.n?k.*/"),
                7 => format!("{f}:{w}~1"),
                8 => format!("{f}:>\"2026-05-01T00:00:00Z\""),
                9 => format!("{f}:T"),
                10 => format!("{f}:>5 {f}:<1"),
                11 => r.pick(&["ranked", "12", "*"]).to_string(),
                _ => format!("{f}:{w}^{}", r.pick(&["2", "0.5", "3"])),
            }
        };
        let mut checked = 0;
        for i in 0..600 {
            let text = if i == 0 {
                "*".to_string()
            } else {
                let n = 1 + rng.below(4);
                let parts: Vec<String> = (0..n)
                    .map(|_| format!("{}{}", rng.pick(&["", "+", "-"]), leaf(&mut rng)))
                    .collect();
                parts.join(" ")
            };
            let Ok(q) = query::parse(&text) else {
                continue;
            };
            let compiled = q.compile().expect("parsed queries compile");
            let matcher = Matcher::new(&q, compiled.clone(), &mut syms);
            for (doc, props) in docs.iter().zip(&props) {
                assert_eq!(
                    matcher.score(props, &syms).map(f64::to_bits),
                    compiled.score(doc).map(f64::to_bits),
                    "{text} on {doc:?}"
                );
                checked += 1;
            }
            matcher.release(&mut syms);
        }
        assert!(checked > 500 * docs.len(), "{checked}");
        for p in &props {
            release_props(p, &mut syms);
        }
        assert_eq!(syms.len(), 0);
    }
}
