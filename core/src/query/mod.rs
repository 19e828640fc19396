//! Nakama's query string, the language of match listing (and, later, the
//! matchmaker): bluge's `query_string` grammar read with a keyword
//! analyzer, as Nakama's `ParseQueryString` reads it.
//!
//! - `parse.rs` (with `lex.rs`): text to a [`Query`], or a [`QueryError`].
//! - `ast.rs`: the parsed query; `doc.rs`: the flattened document.
//! - `flatten.rs`: a match label (JSON) to a [`Doc`], as Nakama's
//!   `BlugeWalkDocument` indexes it.
//! - `eval.rs`: the reference meaning of a query on one document
//!   ([`Query::score`], or [`Query::compile`] once and [`Compiled::score`]
//!   per document).
//! - `date.rs`, `number.rs`, `pattern.rs`: Go's date and float syntax, and
//!   regexps and wildcards with bluge's semantics ([`go_regex_to_rust`]
//!   and [`wildcard_to_regex`] give an index the same patterns).
//!
//! Pure: no I/O, no clock.

pub mod ast;
mod date;
pub mod doc;
mod error;
mod eval;
mod flatten;
mod lex;
mod number;
mod parse;
mod pattern;

pub use ast::{Bound, Clause, DateBound, Leaf, Occur, Query};
pub use doc::{Doc, Value};
pub use error::QueryError;
pub use eval::{Compiled, date_range, number_range};
pub use flatten::{MAX_JSON_DEPTH, MAX_JSON_FIELDS};
pub use number::sortable;
pub use parse::{MAX_CLAUSES, MAX_FUZZINESS, MAX_QUERY_BYTES, parse};
pub use pattern::{PATTERN_BUDGET, go_regex_to_rust, wildcard_to_regex};
