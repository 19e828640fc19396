//! The tantivy index of authoritative matches' labels: one document per
//! match, keyed by its slot in the listing's [`Table`](super::table::Table).
//!
//! The schema is fixed; a label's fields become terms of two index fields
//! ([`super::terms`]). Beside them, `slot` (to find the match, and to
//! delete its document) and `created` (to order equal scores newest
//! first) are fast fields. Changes are buffered by tantivy's writer and
//! become visible on [`Index::refresh`], which the listing calls before
//! answering a query that follows a change, and at least once a second.

use std::ops::Bound;
use std::sync::Arc;

use kairos_core::query::{Doc, Value};
use tantivy::collector::{FilterCollector, TopDocs};
use tantivy::query::Query;
use tantivy::schema::{
    BytesOptions, FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{
    IndexReader, IndexWriter, ReloadPolicy, Searcher, SegmentReader, TantivyDocument, Term,
};

use super::table::{Entry, has};
use super::terms;

/// The writer's memory budget; tantivy's minimum per indexing thread.
const WRITER_BUDGET: usize = 15_000_000;

/// The index's fields.
#[derive(Clone, Copy)]
pub struct Fields {
    pub slot: Field,
    pub created: Field,
    pub kw: Field,
    pub num: Field,
}

pub struct Index {
    writer: IndexWriter,
    reader: IndexReader,
    searcher: Searcher,
    pub fields: Fields,
    /// Changes not yet visible to searches.
    dirty: bool,
}

impl Index {
    /// An empty index in memory, with one indexing thread and one merge
    /// thread (tantivy's own; they only index and merge).
    pub fn new() -> tantivy::Result<Index> {
        let mut schema = Schema::builder();
        let slot = schema.add_u64_field("slot", INDEXED | FAST);
        let created = schema.add_i64_field("created", FAST);
        let kw = schema.add_text_field(
            "kw",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic),
            ),
        );
        let num = schema.add_bytes_field("num", BytesOptions::default().set_indexed());
        let index = tantivy::Index::create_in_ram(schema.build());
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .memory_budget_per_thread(WRITER_BUDGET)
            .num_worker_threads(1)
            .num_merge_threads(1)
            .build();
        let writer = index.writer_with_options(options)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        Ok(Index {
            writer,
            reader,
            searcher,
            fields: Fields {
                slot,
                created,
                kw,
                num,
            },
            dirty: false,
        })
    }

    /// Indexes `entry` (its label flattened as `label`) at `slot`,
    /// replacing what the slot held.
    pub fn put(&mut self, slot: u32, entry: &Entry, label: &Doc) -> tantivy::Result<()> {
        self.delete(slot);
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.slot, u64::from(slot));
        doc.add_i64(f.created, entry.create_time);
        doc.add_text(f.kw, terms::keyword("node", node_of(&entry.match_id)));
        doc.add_text(f.kw, terms::keyword("label_string", &entry.label));
        doc.add_text(f.kw, terms::keyword("handler_name", &entry.handler_name));
        doc.add_bytes(
            f.num,
            &terms::number("tick_rate", f64::from(entry.tick_rate)),
        );
        doc.add_bytes(
            f.num,
            &terms::number("create_time", entry.create_time as f64),
        );
        for (path, value) in &label.fields {
            if !terms::indexable(path) {
                continue;
            }
            match value {
                Value::Keyword(s) => doc.add_text(f.kw, terms::keyword(path, s)),
                Value::Number(n) => doc.add_bytes(f.num, &terms::number(path, *n)),
                Value::Date(d) => doc.add_bytes(f.num, &terms::date(path, *d)),
            }
        }
        self.writer.add_document(doc)?;
        self.dirty = true;
        Ok(())
    }

    /// Forgets the document at `slot`.
    pub fn delete(&mut self, slot: u32) {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.slot, u64::from(slot)));
        self.dirty = true;
    }

    /// Makes every change so far visible to searches.
    pub fn refresh(&mut self) -> tantivy::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.writer.commit()?;
        self.reader.reload()?;
        self.searcher = self.reader.searcher();
        self.dirty = false;
        Ok(())
    }

    /// The slots of the best `limit` matches of `query`: by score, then
    /// newest first; only slots set in `only`, when given.
    pub fn search(
        &self,
        query: &dyn Query,
        limit: usize,
        only: Option<Arc<Vec<u64>>>,
    ) -> tantivy::Result<Vec<u32>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let top = TopDocs::with_limit(limit).tweak_score(|segment: &SegmentReader| {
            let fast = segment.fast_fields();
            let created = fast.i64("created").map(|c| c.first_or_default_col(0)).ok();
            let slot = fast.u64("slot").map(|c| c.first_or_default_col(0)).ok();
            move |doc, score| {
                (
                    score,
                    created.as_ref().map_or(0, |c| c.get_val(doc)),
                    slot.as_ref().map_or(u64::MAX, |c| c.get_val(doc)),
                )
            }
        });
        let hits = match only {
            None => self.searcher.search(query, &top)?,
            Some(bits) => {
                let filtered =
                    FilterCollector::new("slot".to_string(), move |s: u64| has(&bits, s), top);
                self.searcher.search(query, &filtered)?
            }
        };
        Ok(hits
            .into_iter()
            .filter_map(|((_, _, slot), _)| u32::try_from(slot).ok())
            .collect())
    }

    /// Every keyword term at `path` (the values a pattern is tested
    /// against), from every segment.
    pub fn keywords(&self, path: &str) -> tantivy::Result<Vec<String>> {
        let prefix = terms::keyword_prefix(path);
        let mut upper = prefix.clone().into_bytes();
        // The byte after the separator bounds every term of this path.
        *upper.last_mut().expect("prefix ends with its separator") += 1;
        let mut values = Vec::new();
        for segment in self.searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.kw)?;
            let mut stream = inverted
                .terms()
                .range()
                .ge(prefix.as_bytes())
                .lt(&upper)
                .into_stream()?;
            while stream.advance() {
                if let Ok(s) = std::str::from_utf8(&stream.key()[prefix.len()..]) {
                    values.push(s.to_string());
                }
            }
        }
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }

    /// The documents with a number (or date) term between `lower` and
    /// `upper` ([`terms::number`], [`terms::date`]).
    pub fn range(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
    ) -> tantivy::query::RangeQuery {
        let term = |b: Vec<u8>| Term::from_field_bytes(self.fields.num, &b);
        tantivy::query::RangeQuery::new(lower.map(term), upper.map(term))
    }
}

/// A match id's node: what follows the first dot.
fn node_of(match_id: &str) -> &str {
    match_id.split_once('.').map_or("", |(_, node)| node)
}
