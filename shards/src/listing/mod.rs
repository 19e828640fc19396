//! Match listing: Nakama's `ListMatches` (`GET /v2/match`,
//! `Nk::match_list`) over every live match of every shard.
//!
//! One thread, `kairos-listing`, owns the listing: the [`Table`] of live
//! matches (ids, labels, sizes) and the tantivy [`Index`] of authoritative
//! matches' labels. Shards never block on it: owner shards send it what
//! changes ([`Listing::upsert`], [`Listing::size`], [`Listing::remove`])
//! and a listing request is a message answered through a oneshot. All of
//! it travels one FIFO channel, and the thread makes the index's pending
//! changes visible before it answers a request that follows them, so a
//! listing sees every create, label update and join that happened before
//! it was asked (Nakama batches label updates once a second). Changes
//! with no request after them become visible within a second anyway.
//!
//! What a listing returns follows Nakama's `LocalMatchRegistry.ListMatches`:
//! - with a `query`: authoritative matches whose labels match it, by
//!   score, then newest first;
//! - else with a `label`: authoritative matches with exactly that label,
//!   newest first;
//! - else authoritative matches (unless `authoritative` is false), newest
//!   first, then, when `authoritative` is unset or false, relayed ones;
//! - `min_size`/`max_size` filter them all; at most `limit` are returned.

mod index;
mod table;
mod terms;
mod translate;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kairos_core::error::{ApiError, Code};
use kairos_core::query::{self, Doc, Query};
use tantivy::query::{ConstScoreQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use uuid::Uuid;

pub use table::{Entry, SizeRange};

use crate::modules::matches::MatchInfo;
use index::Index;
use table::Table;

/// Longest wait before changes become visible with no request asking.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Requests in flight across the node, past which a listing is refused
/// (RESOURCE_EXHAUSTED) rather than queued.
pub const MAX_IN_FLIGHT: usize = 256;

/// What a listing asks, validated ([`ListRequest::new`]).
#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    pub limit: usize,
    pub authoritative: Option<bool>,
    pub label: Option<String>,
    pub sizes: SizeRange,
    /// Parsed; `""` is [`Query::All`], as in Nakama.
    pub query: Option<Query>,
}

impl ListRequest {
    /// Validates a listing as Nakama's API does (same messages, all
    /// INVALID_ARGUMENT) and parses its query. A query that does not
    /// parse is what Nakama answers for it: INTERNAL, "Error listing
    /// matches.".
    pub fn new(
        limit: Option<i64>,
        authoritative: Option<bool>,
        label: Option<String>,
        min_size: Option<i64>,
        max_size: Option<i64>,
        query: Option<&str>,
    ) -> Result<ListRequest, ApiError> {
        let limit = match limit {
            None => 10,
            Some(l) if (1..=100).contains(&l) => l as usize,
            Some(_) => {
                return Err(ApiError::invalid(
                    "Invalid limit - limit must be between 1 and 100.",
                ));
            }
        };
        if authoritative == Some(false) {
            if label.is_some() {
                return Err(ApiError::invalid(
                    "Label filtering is not supported for non-authoritative matches.",
                ));
            }
            if query.is_some() {
                return Err(ApiError::invalid(
                    "Query filtering is not supported for non-authoritative matches.",
                ));
            }
        }
        if min_size.is_some_and(|m| m < 0) {
            return Err(ApiError::invalid("Minimum size must be 0 or above."));
        }
        if max_size.is_some_and(|m| m < 0) {
            return Err(ApiError::invalid("Maximum size must be 0 or above."));
        }
        if let (Some(min), Some(max)) = (min_size, max_size)
            && min > max
        {
            return Err(ApiError::invalid(
                "Maximum size must be greater than or equal to minimum size when both are specified.",
            ));
        }
        let query = match query {
            None => None,
            Some("") => Some(Query::All),
            Some(text) => Some(query::parse(text).map_err(|e| {
                tracing::debug!(error = %e, "match listing query does not parse");
                ApiError::new(Code::Internal, "Error listing matches.")
            })?),
        };
        let size = |v: Option<i64>| v.map(|v| usize::try_from(v).unwrap_or(usize::MAX));
        Ok(ListRequest {
            limit,
            authoritative,
            label,
            sizes: SizeRange {
                min: size(min_size),
                max: size(max_size),
            },
            query,
        })
    }
}

type Reply = futures_channel::oneshot::Sender<Result<Vec<MatchInfo>, ApiError>>;

enum Op {
    /// An authoritative match started, or its label changed.
    Upsert {
        id: Uuid,
        entry: Entry,
    },
    /// A match's member count changed.
    Size {
        id: Uuid,
        match_id: String,
        authoritative: bool,
        size: usize,
    },
    /// An authoritative match ended.
    Remove {
        id: Uuid,
    },
    List {
        request: ListRequest,
        reply: Reply,
    },
    /// The server is stopping.
    Stop,
}

/// The handle every shard holds.
#[derive(Clone)]
pub struct Listing {
    tx: mpsc::Sender<Op>,
    in_flight: Arc<AtomicUsize>,
}

impl Listing {
    /// Starts the listing thread; it stops when every handle is dropped.
    pub fn start() -> std::io::Result<(Listing, std::thread::JoinHandle<()>)> {
        let index = Index::new().map_err(std::io::Error::other)?;
        let (tx, rx) = mpsc::channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            table: Table::default(),
            index,
            dirty_since: None,
        };
        let thread = std::thread::Builder::new()
            .name("kairos-listing".into())
            .spawn(move || worker.run(rx))?;
        Ok((Listing { tx, in_flight }, thread))
    }

    fn send(&self, op: Op) {
        // The thread outlives every shard; a send fails only at exit.
        let _ = self.tx.send(op);
    }

    /// Authoritative match `id` started, or its label changed.
    pub fn upsert(&self, id: Uuid, entry: Entry) {
        self.send(Op::Upsert { id, entry });
    }

    /// Match `id` has `size` members now (a relayed match with none is
    /// gone).
    pub fn size(&self, id: Uuid, match_id: String, authoritative: bool, size: usize) {
        self.send(Op::Size {
            id,
            match_id,
            authoritative,
            size,
        });
    }

    /// Authoritative match `id` ended.
    pub fn remove(&self, id: Uuid) {
        self.send(Op::Remove { id });
    }

    /// Ends the listing thread (at shutdown, once shards are gone).
    pub fn stop(&self) {
        self.send(Op::Stop);
    }

    /// Lists matches.
    pub async fn list(&self, request: ListRequest) -> Result<Vec<MatchInfo>, ApiError> {
        /// Counts one listing in flight until it is answered or given up.
        struct InFlight<'a>(&'a AtomicUsize);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _counted = InFlight(&self.in_flight);
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
            return Err(ApiError::new(
                Code::ResourceExhausted,
                "Too many match listings in progress.",
            ));
        }
        let (reply, answer) = futures_channel::oneshot::channel();
        self.send(Op::List { request, reply });
        answer
            .await
            .unwrap_or_else(|_| Err(ApiError::new(Code::Internal, "Error listing matches.")))
    }
}

struct Worker {
    table: Table,
    index: Index,
    /// When the oldest change not yet visible was made.
    dirty_since: Option<Instant>,
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Op>) {
        loop {
            let op = match self.dirty_since {
                None => match rx.recv() {
                    Ok(op) => op,
                    Err(_) => return,
                },
                Some(since) => {
                    let wait = REFRESH_EVERY.saturating_sub(since.elapsed());
                    match rx.recv_timeout(wait) {
                        Ok(op) => op,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            self.refresh();
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            };
            if matches!(op, Op::Stop) {
                return;
            }
            self.apply(op);
            if self
                .dirty_since
                .is_some_and(|since| since.elapsed() >= REFRESH_EVERY)
            {
                self.refresh();
            }
        }
    }

    fn refresh(&mut self) {
        if let Err(e) = self.index.refresh() {
            tracing::error!(error = %e, "match listing index refresh failed");
        }
        self.dirty_since = None;
    }

    fn changed(&mut self) {
        self.dirty_since.get_or_insert_with(Instant::now);
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Upsert { id, entry } => self.upsert(id, entry),
            Op::Size {
                id,
                match_id,
                authoritative,
                size,
            } => self.resize(id, match_id, authoritative, size),
            Op::Remove { id } => {
                if let Some((slot, entry)) = self.table.remove(&id)
                    && entry.authoritative
                {
                    self.index.delete(slot);
                    self.changed();
                }
            }
            Op::List { request, reply } => {
                if self.dirty_since.is_some() {
                    self.refresh();
                }
                let answer = self.list(&request).map_err(|e| {
                    tracing::error!(error = %e, "match listing failed");
                    ApiError::new(Code::Internal, "Error listing matches.")
                });
                let _ = reply.send(answer);
            }
            Op::Stop => {}
        }
    }

    fn upsert(&mut self, id: Uuid, mut entry: Entry) {
        let slot = match self.table.slot_of(&id) {
            Some(slot) => {
                let old = self.table.get_mut(slot).expect("a slot the table gave");
                entry.size = old.size;
                entry.create_time = old.create_time;
                *old = entry.clone();
                slot
            }
            None => self.table.insert(id, entry.clone()),
        };
        let label = Doc::from_label(&entry.label);
        if let Err(e) = self.index.put(slot, &entry, &label) {
            tracing::error!(error = %e, match_id = %entry.match_id, "match label not indexed");
        }
        self.changed();
    }

    fn resize(&mut self, id: Uuid, match_id: String, authoritative: bool, size: usize) {
        match self.table.slot_of(&id) {
            Some(slot) => {
                if size == 0 && !authoritative {
                    self.table.remove(&id);
                } else if let Some(e) = self.table.get_mut(slot) {
                    e.size = size;
                }
            }
            // An authoritative match is listed from its start (upsert),
            // so a size for an unknown one is for a match that ended.
            None if size > 0 && !authoritative => {
                self.table.insert(
                    id,
                    Entry {
                        match_id,
                        authoritative: false,
                        label: String::new(),
                        tick_rate: 0,
                        handler_name: String::new(),
                        create_time: kairos_core::time::now_micros().saturating_mul(1000),
                        size,
                    },
                );
            }
            None => {}
        }
    }

    fn list(&self, req: &ListRequest) -> tantivy::Result<Vec<MatchInfo>> {
        let search = |q: &dyn tantivy::query::Query| -> tantivy::Result<Vec<MatchInfo>> {
            let only = (!req.sizes.is_any()).then(|| Arc::new(self.table.sized(&req.sizes)));
            Ok(self
                .index
                .search(q, req.limit, only)?
                .into_iter()
                .filter_map(|slot| self.table.get(slot))
                .filter(|e| e.authoritative && req.sizes.contains(e.size))
                .map(info)
                .collect())
        };
        // Newest first from the table: no search needed.
        let newest = |authoritative: bool, room: usize| {
            self.table
                .newest(authoritative)
                .filter(|e| req.sizes.contains(e.size))
                .take(room)
                .map(info)
        };
        if let Some(q) = &req.query {
            if req.authoritative == Some(false) {
                return Ok(Vec::new());
            }
            return search(&*translate::translate(q, &self.index)?);
        }
        if let Some(label) = &req.label {
            if req.authoritative == Some(false) {
                return Ok(Vec::new());
            }
            let term = tantivy::Term::from_field_text(
                self.index.fields.kw,
                &terms::keyword("label_string", label),
            );
            let q = ConstScoreQuery::new(
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                1.0,
            );
            return search(&q);
        }
        let mut out: Vec<MatchInfo> = Vec::with_capacity(req.limit);
        if req.authoritative != Some(false) {
            out.extend(newest(true, req.limit));
        }
        if req.authoritative != Some(true) {
            let room = req.limit - out.len();
            out.extend(newest(false, room));
        }
        Ok(out)
    }
}

fn info(e: &Entry) -> MatchInfo {
    MatchInfo {
        match_id: e.match_id.clone(),
        authoritative: e.authoritative,
        label: e.label.clone(),
        size: e.size,
        tick_rate: e.tick_rate,
        handler_name: e.handler_name.clone(),
    }
}

#[cfg(test)]
mod tests;
