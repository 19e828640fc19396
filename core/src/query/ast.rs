//! A parsed query string: what Nakama's match listing (and, later, its
//! matchmaker) accepts, as bluge's `query_string` grammar reads it with a
//! keyword analyzer. Listing translates it into an index query; the
//! evaluator in `eval.rs` gives the reference meaning on one document.

/// A whole query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// `*` on its own: every document, each with score 1.
    All,
    /// Clauses combined as a boolean query. No clause matches nothing (the
    /// empty query string). See [`Occur`] for how clauses combine.
    Bool(Vec<Clause>),
}

/// How a clause takes part: a document matches when it matches every
/// `Must`, no `MustNot`, and, when there is no `Must`, at least one
/// `Should` (with only `MustNot` clauses, every other document matches).
/// A matching document's score is the sum of the boosts of the `Must` and
/// `Should` clauses it matches (constant scoring, as Nakama configures
/// bluge); with only `MustNot` clauses it is 1 (bluge's match-all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occur {
    /// No prefix.
    Should,
    /// `+`.
    Must,
    /// `-`.
    MustNot,
}

/// One clause: a prefix, a leaf and an optional `^boost` (1 without one).
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub occur: Occur,
    pub boost: f64,
    pub leaf: Leaf,
}

/// A leaf query on one field. The field is the dotted path as written
/// (`label.skill`); an unqualified term has the empty field, which no
/// document has.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// `field:value` or `field:"a phrase"`: the keyword equal to `value`.
    Term { field: String, value: String },
    /// `field:12` or `field:-1.5`: the keyword equal to the text as written
    /// or the number equal to `value`.
    Number {
        field: String,
        text: String,
        value: f64,
    },
    /// `field:ab*c?`: a keyword matching the pattern, `*` any run of
    /// characters and `?` any one character.
    Wildcard { field: String, pattern: String },
    /// `field:/re/`: a keyword the regular expression matches whole.
    Regex { field: String, pattern: String },
    /// `field:value~` or `field:value~2`: a keyword within `distance`
    /// (Levenshtein, in characters, a swap of two adjacent characters
    /// counting as one edit, as bluge's automaton counts; 1 when no number
    /// is written; at most 2) of `value`.
    Fuzzy {
        field: String,
        value: String,
        distance: u8,
    },
    /// `field:>n`, `>=`, `<`, `<=`: a number in the range.
    NumberRange {
        field: String,
        min: Bound,
        max: Bound,
    },
    /// `field:>"2024-01-01T00:00:00Z"` and the other comparisons with an
    /// RFC 3339 date: a date in the range, in nanoseconds since the epoch.
    DateRange {
        field: String,
        min: DateBound,
        max: DateBound,
    },
}

/// One end of a number range; `Unbounded` is open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Unbounded,
    Inclusive(f64),
    Exclusive(f64),
}

/// One end of a date range, in nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateBound {
    Unbounded,
    Inclusive(i64),
    Exclusive(i64),
}
