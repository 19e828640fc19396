//! The matchmaker's pool and its pass, sans-IO: tickets in, matched groups
//! out. The caller (the `kairos-matchmaker` thread in `kairos-shards`)
//! owns the clock: it passes `now` to [`Pool::add`] and decides when to run
//! [`Pool::pass`].
//!
//! - `ticket.rs`: a ticket (one or several presences, a party id, a query,
//!   counts, properties) and the compact record a pass reads of it.
//! - `validate.rs`: the checks of `matchmaker_add`, with Nakama's messages.
//! - `intern.rs`: strings as symbols (property paths and keywords, query
//!   fields and terms, sessions, parties), counted and forgotten with the
//!   last ticket holding them.
//! - `matcher.rs`: a ticket's properties and query on symbols, with the
//!   query language's meaning (`query::Compiled::score`).
//! - `index.rs`: the inverted index over properties.
//! - `pool.rs`: the tickets in slots, per-session and per-party caps,
//!   removal.
//! - `pass.rs`: one matchmaking pass.
//! - `token.rs`: the token a match is joined by when no hook chose one.
//!
//! # The pass
//!
//! Every ticket is *active* for its first `max_intervals` passes (one pass
//! when its `min_count == max_count`, since waiting would not change what
//! it accepts); an active ticket searches, an inactive one waits to be
//! found. Active tickets search oldest first. For each:
//!
//! 1. **Candidates from the index, not from every pair.** The ticket's
//!    query is planned on the inverted index: the shortest posting list of
//!    a required (`+`) keyword or number clause, else a required number
//!    range read from the ordered index of that property, else every
//!    ticket. Posting lists are ordered by age, so candidates come oldest
//!    first. When candidates must accept the searcher too, a posting list
//!    is read only in the parts whose *acceptance key* (the first keyword
//!    each ticket's own query requires) the searcher's properties satisfy
//!    (`index.rs`), so tickets that could never accept it are not read. A search reads at most [`MAX_READS`] candidates, so a pass
//!    costs at most its active tickets times that, however many old
//!    tickets that accept no one sit at the head of a list.
//! 2. **Filters:** not the ticket itself, not already matched in this pass,
//!    no shared session, not the same party, count windows that overlap,
//!    the query accepting the candidate's properties and, with
//!    `rev_precision` (Kairos's default), the candidate's query accepting
//!    this ticket's and every ticket already in the group (two-way). The
//!    reverse check is dropped for the rest of a pass that has run longer
//!    than `rev_threshold` intervals, as in Nakama. A candidate whose
//!    `max_count` is above the searcher's and which may still wait
//!    (`intervals <= max_intervals`) is left to wait for a larger match.
//! 3. **Best first:** accepted candidates are collected oldest first until
//!    they bring one presence more than the group lacks (at most
//!    [`SCAN_HITS`]), then ordered by query score, highest first, ties by
//!    age. So the best-scoring of the oldest few wins, where Nakama sorts
//!    every hit of its index by score.
//! 4. **The group** takes hits in that order while they fit: the group's
//!    window is the intersection of every member's `[min_count,
//!    max_count]`, each hit's presences counted whole (a party ticket is
//!    never split). The group is matched as soon as it reaches its window's
//!    top and every member's `count_multiple` divides its size; on the
//!    searcher's last active interval it may instead match with any size in
//!    the window that every `count_multiple` divides, trimming the newest
//!    hits to get there.
//! 5. Matched tickets leave the pool and the index at once, so a ticket is
//!    never in two matches.
//!
//! The cost of a pass is the sum over active tickets of the candidates
//! read, which the index keeps to one property bucket (e.g. one mode and
//! region) and the early stop keeps to a few dozen when the bucket has
//! partners; plus, per matched ticket, its removal.
//!
//! # What reading a candidate costs
//!
//! A candidate is read without touching a string or allocating: each
//! ticket has a slot, and its slot's record (`ticket.rs`: counts, flags,
//! sessions and party as symbols, up to four properties inline, its query
//! compiled on symbols by `matcher.rs`) holds everything the filters
//! test, so reading one costs a few cache misses, not a walk of strings
//! and maps. Index lists are vectors of `(seq, slot)` in age order;
//! removal is lazy (a removed ticket's entries stay until its list is
//! tidied, and readers skip them by checking the slot's current `seq`),
//! so removing a matched ticket is a few counter updates rather than a
//! tree deletion per list. What keeps skipping bounded: each search tidies
//! the part of the lists it read, so a removed entry is skipped once, and
//! a list compacts when removed entries outnumber live ones.
//! `BENCHMARKS.md` has the figures.

mod index;
mod intern;
mod matcher;
mod pass;
mod pool;
mod ticket;
mod token;
mod validate;

#[cfg(test)]
mod tests;

pub use pass::{MAX_READS, Matched, PassConfig, PassStats, SCAN_HITS};
pub use pool::{AddError, Pool, RemoveError};
pub use ticket::{Presence, Ticket, TicketSpec};
pub use token::{TOKEN_TTL_SEC, sign_token, verify_token};
pub use validate::{CountError, validate_counts};
