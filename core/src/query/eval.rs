//! The reference meaning of a [`Query`] on one [`Doc`], as Nakama's bluge
//! index answers it. [`Query::compile`] builds the patterns once;
//! [`Compiled::score`] then evaluates any number of documents.
//!
//! A leaf reads the values at its field's exact path:
//!
//! - `Term`: a keyword equal to the value.
//! - `Number`: a keyword equal to the text as written, or a number equal
//!   to the value.
//! - `Wildcard`, `Regex`: a keyword the pattern matches whole
//!   (`pattern.rs`).
//! - `Fuzzy`: a keyword within the distance of the value, counting in
//!   characters, with a transposition of two adjacent characters as one
//!   edit (the restricted Damerau-Levenshtein distance of bluge's
//!   automaton).
//! - `NumberRange`: a number in the range; `DateRange`: a date in it.
//!
//! Numbers compare as bluge compares them (`number::sortable`): exactly,
//! except that `-0` is below `0`, so `f:0` does not find `-0`.
//!
//! Combining clauses and scoring: see [`Occur`]. The empty `Bool` matches
//! nothing; `All`, and a query of `MustNot` clauses only, give every
//! (other) document score 1, as bluge's match-all does.

use super::ast::{Bound, DateBound, Leaf, Occur, Query};
use super::doc::{Doc, Value};
use super::error::QueryError;
use super::number::sortable;
use super::pattern::{self, Budget, Pattern};

/// A query ready to evaluate: patterns compiled, ranges in bluge's order.
#[derive(Debug, Clone)]
pub struct Compiled {
    all: bool,
    clauses: Vec<CompiledClause>,
}

#[derive(Debug, Clone)]
struct CompiledClause {
    occur: Occur,
    boost: f64,
    field: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    Term(String),
    Number {
        text: String,
        key: i64,
    },
    Pattern(Pattern),
    Fuzzy {
        chars: Vec<char>,
        distance: usize,
    },
    /// Inclusive bounds on `sortable`; `None` when the range is empty.
    NumberRange(Option<(i64, i64)>),
    /// Inclusive bounds in nanoseconds; `None` when the range is empty.
    DateRange(Option<(i64, i64)>),
}

impl Query {
    /// Compiles the query's patterns. Only a query built by hand can fail
    /// here: [`parse`](super::parse) refuses what does not compile.
    pub fn compile(&self) -> Result<Compiled, QueryError> {
        let clauses = match self {
            Query::All => {
                return Ok(Compiled {
                    all: true,
                    clauses: Vec::new(),
                });
            }
            Query::Bool(clauses) => clauses,
        };
        let mut budget = Budget::new();
        let clauses = clauses
            .iter()
            .map(|c| {
                let (field, matcher) = compile_leaf(&c.leaf, &mut budget)?;
                Ok(CompiledClause {
                    occur: c.occur,
                    boost: c.boost,
                    field: field.to_string(),
                    matcher,
                })
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(Compiled {
            all: false,
            clauses,
        })
    }

    /// The document's score, `None` when it does not match. Compiles the
    /// query each time: to evaluate many documents, [`Query::compile`]
    /// once. A query whose patterns do not compile matches nothing.
    pub fn score(&self, doc: &Doc) -> Option<f64> {
        self.compile().ok()?.score(doc)
    }
}

impl Compiled {
    /// Whether clause `clause`'s leaf matches `value`, one value at its
    /// field: for an index that enumerates a field's values and needs
    /// the evaluator's own pattern and fuzzy tests (match listing).
    pub fn leaf_matches(&self, clause: usize, value: &Value) -> bool {
        self.clauses
            .get(clause)
            .is_some_and(|c| c.matcher.matches(value))
    }

    /// Whether clause `clause`'s leaf matches the keyword `keyword`, one
    /// value at its field: [`Compiled::leaf_matches`] for a keyword the
    /// caller holds as a `&str` (the matchmaker's pool, for the clauses
    /// it does not compile itself).
    pub fn leaf_matches_keyword(&self, clause: usize, keyword: &str) -> bool {
        self.clauses
            .get(clause)
            .is_some_and(|c| c.matcher.matches_keyword(keyword))
    }

    /// The document's score, `None` when it does not match.
    pub fn score(&self, doc: &Doc) -> Option<f64> {
        if self.all {
            return Some(1.0);
        }
        let mut score = 0.0;
        let mut has_must = false;
        let mut has_should = false;
        let mut should_matched = false;
        for clause in &self.clauses {
            let matched = clause.matches(doc);
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
}

impl CompiledClause {
    fn matches(&self, doc: &Doc) -> bool {
        doc.values(&self.field).any(|v| self.matcher.matches(v))
    }
}

impl Matcher {
    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Keyword(k)) => self.matches_keyword(k),
            (Matcher::Number { key, .. }, Value::Number(n)) => sortable(*n) == *key,
            (Matcher::NumberRange(Some((lo, hi))), Value::Number(n)) => {
                (*lo..=*hi).contains(&sortable(*n))
            }
            (Matcher::DateRange(Some((lo, hi))), Value::Date(d)) => (*lo..=*hi).contains(d),
            _ => false,
        }
    }

    fn matches_keyword(&self, k: &str) -> bool {
        match self {
            Matcher::Term(t) => t == k,
            Matcher::Number { text, .. } => text == k,
            Matcher::Pattern(re) => re.is_match(k),
            Matcher::Fuzzy { chars, distance } => within_distance(chars, k, *distance),
            Matcher::NumberRange(_) | Matcher::DateRange(_) => false,
        }
    }
}

fn compile_leaf<'a>(leaf: &'a Leaf, budget: &mut Budget) -> Result<(&'a str, Matcher), QueryError> {
    let bad = |e: String| QueryError::new(0, e);
    Ok(match leaf {
        Leaf::Term { field, value } => (field, Matcher::Term(value.clone())),
        Leaf::Number { field, text, value } => (
            field,
            Matcher::Number {
                text: text.clone(),
                key: sortable(*value),
            },
        ),
        Leaf::Wildcard { field, pattern } => (
            field,
            Matcher::Pattern(pattern::compile_wildcard(pattern, budget).map_err(bad)?),
        ),
        Leaf::Regex { field, pattern } => (
            field,
            Matcher::Pattern(pattern::compile_regex(pattern, budget).map_err(bad)?),
        ),
        Leaf::Fuzzy {
            field,
            value,
            distance,
        } => (
            field,
            Matcher::Fuzzy {
                chars: value.chars().collect(),
                distance: usize::from(*distance),
            },
        ),
        Leaf::NumberRange { field, min, max } => {
            (field, Matcher::NumberRange(number_range(min, max)))
        }
        Leaf::DateRange { field, min, max } => (field, Matcher::DateRange(date_range(min, max))),
    })
}

/// A number range as inclusive bounds on [`sortable`] values (how bluge
/// compares numbers); `None` when it holds nothing. An index of numbers
/// keyed by `sortable` finds exactly what the evaluator matches.
pub fn number_range(min: &Bound, max: &Bound) -> Option<(i64, i64)> {
    let lo = match *min {
        Bound::Unbounded => i64::MIN,
        Bound::Inclusive(v) => sortable(v),
        Bound::Exclusive(v) => sortable(v).saturating_add(1),
    };
    let hi = match *max {
        Bound::Unbounded => i64::MAX,
        Bound::Inclusive(v) => sortable(v),
        Bound::Exclusive(v) => sortable(v).saturating_sub(1),
    };
    ordered(lo, hi)
}

/// A date range as inclusive bounds in nanoseconds; `None` when empty.
pub fn date_range(min: &DateBound, max: &DateBound) -> Option<(i64, i64)> {
    let lo = match *min {
        DateBound::Unbounded => i64::MIN,
        DateBound::Inclusive(v) => v,
        DateBound::Exclusive(v) => v.saturating_add(1),
    };
    let hi = match *max {
        DateBound::Unbounded => i64::MAX,
        DateBound::Inclusive(v) => v,
        DateBound::Exclusive(v) => v.saturating_sub(1),
    };
    ordered(lo, hi)
}

/// The inclusive range `lo..=hi`, `None` when empty. An exclusive end has
/// moved by one before, except at the end of the `i64` range, where it
/// stays (as in bluge's range searcher).
fn ordered(lo: i64, hi: i64) -> Option<(i64, i64)> {
    (lo <= hi).then_some((lo, hi))
}

/// Whether the restricted Damerau-Levenshtein distance (insertions,
/// deletions, substitutions, and swaps of two adjacent characters, no
/// substring edited twice) between `a` and `b`, in characters, is at most
/// `max`.
fn within_distance(a: &[char], b: &str, max: usize) -> bool {
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    // Three rows of the dynamic programme: i-2, i-1 and i.
    let n = b.len();
    let mut before: Vec<usize> = vec![0; n + 1];
    let mut prev: Vec<usize> = (0..=n).collect();
    let mut row: Vec<usize> = vec![0; n + 1];
    for i in 1..=a.len() {
        row[0] = i;
        let mut row_min = row[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return false;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    prev[n] <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist_ok(a: &str, b: &str, max: usize) -> bool {
        within_distance(&a.chars().collect::<Vec<_>>(), b, max)
    }

    #[test]
    fn restricted_damerau_levenshtein() {
        assert!(dist_ok("ranked", "ranked", 0));
        assert!(!dist_ok("ranked", "ranke", 0));
        assert!(dist_ok("ranked", "ranke", 1));
        assert!(dist_ok("ranked", "rankedx", 1));
        assert!(dist_ok("ranked", "rinked", 1));
        // A swap is one edit.
        assert!(dist_ok("ranked", "rnaked", 1));
        assert!(!dist_ok("ranked", "rnakde", 1));
        assert!(dist_ok("ranked", "rnakde", 2));
        // Restricted: "ca" to "abc" is 3, not Damerau's 2.
        assert!(!dist_ok("ca", "abc", 2));
        assert!(dist_ok("ca", "abc", 3));
        // Characters, not bytes.
        assert!(dist_ok("héllo", "hello", 1));
        assert!(dist_ok("日本", "日本語", 1));
        assert!(dist_ok("", "ab", 2));
        assert!(!dist_ok("", "abc", 2));
        assert!(dist_ok("abc", "", 3));
    }
}
