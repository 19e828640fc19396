//! One storage index in memory: its entries by object, each with the
//! document the query language sees, and the linear search, sort and
//! eviction Nakama's bluge index gives.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use kairos_core::query::{Compiled, Doc, Value};
use kairos_core::storage::StorageObject;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::modules::storage_index::StorageIndexDef;

/// An object's identity in an index, as Nakama's document id
/// `collection.key.user_id`.
pub type DocId = (String, String, Uuid);

/// What a listing returns of an entry.
#[derive(Clone, Debug)]
pub struct Hit {
    pub collection: String,
    pub key: String,
    pub user_id: Uuid,
    pub version: String,
    pub read: i32,
    pub write: i32,
    pub create_time: i64,
    pub update_time: i64,
    /// The indexed fields as a JSON object, for `index_only` indexes;
    /// empty otherwise.
    pub value: String,
}

struct Entry {
    hit: Hit,
    doc: Doc,
    /// When it was (re)indexed: ties sort by it, oldest first.
    seq: u64,
}

/// The changes made while an index loads.
#[derive(Default)]
pub struct Touched {
    /// Objects written or deleted.
    objects: HashSet<DocId>,
    /// Users whose accounts were deleted.
    users: HashSet<Uuid>,
}

/// One index.
pub struct Index {
    pub def: StorageIndexDef,
    /// The paths a listing may sort by: `value.<sortable field>`, and the
    /// two times.
    sortable: HashSet<String>,
    entries: HashMap<DocId, Entry>,
    seq: u64,
    /// While the startup load is on its way: what changed meanwhile,
    /// which the load must not overwrite.
    pub loading: Option<Touched>,
}

impl Index {
    pub fn new(def: StorageIndexDef) -> Index {
        let mut sortable: HashSet<String> = def
            .sortable_fields
            .iter()
            .map(|f| format!("value.{f}"))
            .collect();
        sortable.insert("create_time".into());
        sortable.insert("update_time".into());
        Index {
            def,
            sortable,
            entries: HashMap::new(),
            seq: 0,
            loading: Some(Touched::default()),
        }
    }

    fn touch(&mut self, id: &DocId) {
        if let Some(touched) = &mut self.loading {
            touched.objects.insert(id.clone());
        }
    }

    /// Indexes `o` (or drops it when none of the index's fields is in its
    /// value), then evicts past the bound.
    pub fn put(&mut self, o: StorageObject) {
        let id = (o.collection.clone(), o.key.clone(), o.user_id);
        self.touch(&id);
        self.insert(id, o);
        self.evict();
    }

    fn insert(&mut self, id: DocId, o: StorageObject) {
        match entry_of(&self.def, o) {
            Some((hit, doc)) => {
                self.seq += 1;
                self.entries.insert(
                    id,
                    Entry {
                        hit,
                        doc,
                        seq: self.seq,
                    },
                );
            }
            None => {
                self.entries.remove(&id);
            }
        }
    }

    /// Drops an object.
    pub fn remove(&mut self, id: &DocId) {
        self.touch(id);
        self.entries.remove(id);
    }

    /// Drops every object of `user`.
    pub fn remove_user(&mut self, user: Uuid) {
        if let Some(touched) = &mut self.loading {
            touched.users.insert(user);
        }
        let gone: Vec<DocId> = self
            .entries
            .keys()
            .filter(|(_, _, u)| *u == user)
            .cloned()
            .collect();
        for id in gone {
            self.remove(&id);
        }
    }

    /// The startup load: the newest objects of the store, each added
    /// unless a write or delete since the start already decided it.
    pub fn load(&mut self, objects: Vec<StorageObject>) {
        let touched = self.loading.take().unwrap_or_default();
        // Oldest first, so the sequence numbers follow the update times.
        for o in objects.into_iter().rev() {
            let id = (o.collection.clone(), o.key.clone(), o.user_id);
            if !touched.objects.contains(&id)
                && !touched.users.contains(&o.user_id)
                && !self.entries.contains_key(&id)
            {
                self.insert(id, o);
            }
        }
        self.evict();
    }

    /// Nakama's eviction: past 110% of `max_entries`, the oldest by update
    /// time go until `max_entries` are left.
    fn evict(&mut self) {
        let max = self.def.max_entries;
        if (self.entries.len() as f64) <= max as f64 * 1.1 {
            return;
        }
        let mut by_age: Vec<(i64, u64, DocId)> = self
            .entries
            .iter()
            .map(|(id, e)| (e.hit.update_time, e.seq, id.clone()))
            .collect();
        let excess = by_age.len() - max;
        by_age.select_nth_unstable_by(excess - 1, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, id) in by_age.into_iter().take(excess) {
            self.entries.remove(&id);
        }
    }

    /// The entries `query` matches, sorted by `order` (by score, highest
    /// first, without one), from `offset`, at most `count`.
    pub fn list(
        &self,
        query: &Compiled,
        order: &[String],
        offset: usize,
        count: usize,
    ) -> Vec<Hit> {
        // Each order field: descending or not, and whether it is the
        // score or a sortable path (an unsortable one sorts nothing).
        enum Key<'p> {
            Score,
            Path(&'p str),
            Nothing,
        }
        let keys: Vec<(bool, Key)> = order
            .iter()
            .map(|o| {
                let (desc, path) = match o.strip_prefix('-') {
                    Some(path) => (true, path),
                    None => (false, o.as_str()),
                };
                let key = if path == "_score" {
                    Key::Score
                } else if self.sortable.contains(path) {
                    Key::Path(path)
                } else {
                    Key::Nothing
                };
                (desc, key)
            })
            .collect();
        struct Found<'e> {
            score: f64,
            /// The first value of each order field, read once.
            sort: Vec<Option<&'e Value>>,
            entry: &'e Entry,
        }
        let mut found: Vec<Found> = self
            .entries
            .values()
            .filter_map(|e| {
                let score = query.score(&e.doc)?;
                let sort = keys
                    .iter()
                    .map(|(_, k)| match k {
                        Key::Path(p) => e.doc.values(p).next(),
                        _ => None,
                    })
                    .collect();
                Some(Found {
                    score,
                    sort,
                    entry: e,
                })
            })
            .collect();
        let cmp = |a: &Found, b: &Found| -> Ordering {
            if keys.is_empty() {
                return b
                    .score
                    .total_cmp(&a.score)
                    .then(a.entry.seq.cmp(&b.entry.seq));
            }
            for (i, (desc, key)) in keys.iter().enumerate() {
                let ord = match key {
                    Key::Score => a.score.total_cmp(&b.score),
                    Key::Nothing => Ordering::Equal,
                    Key::Path(_) => match (a.sort[i], b.sort[i]) {
                        // Missing values sort last either way.
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => return Ordering::Greater,
                        (Some(_), None) => return Ordering::Less,
                        (Some(x), Some(y)) => compare(x, y),
                    },
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.entry.seq.cmp(&b.entry.seq)
        };
        let end = offset.saturating_add(count).min(found.len());
        if offset >= end {
            return Vec::new();
        }
        // Only the first `end` need ordering.
        if end < found.len() {
            found.select_nth_unstable_by(end - 1, cmp);
            found.truncate(end);
        }
        found.sort_unstable_by(cmp);
        found[offset..end]
            .iter()
            .map(|f| f.entry.hit.clone())
            .collect()
    }
}

/// Numbers before dates before keywords; within a kind, by value.
fn compare(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        Value::Number(_) => 0,
        Value::Date(_) => 1,
        Value::Keyword(_) => 2,
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.total_cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Keyword(x), Value::Keyword(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The entry of an object as Nakama's `mapIndexStorageFields` makes it:
/// the value's listed top-level fields under `value.` (flattened as
/// `kairos_core::query` flattens labels), plus `collection`, `key`,
/// `user_id`, `version`, `read`, `write`, `create_time` and
/// `update_time`. `None` when the value is not a JSON object or holds
/// none of the fields.
fn entry_of(def: &StorageIndexDef, o: StorageObject) -> Option<(Hit, Doc)> {
    let Ok(Json::Object(mut all)) = serde_json::from_str::<Json>(&o.value) else {
        tracing::error!(
            index = %def.name,
            collection = %o.collection,
            key = %o.key,
            "storage index: the object's value is not a JSON object"
        );
        return None;
    };
    let mut kept = serde_json::Map::new();
    for f in &def.fields {
        if let Some(v) = all.remove(f) {
            kept.insert(f.clone(), v);
        }
    }
    if kept.is_empty() {
        return None;
    }
    let kept = Json::Object(kept);
    let mut doc = Doc::default();
    const NANOS: i64 = 1_000_000_000;
    doc.push_date("create_time", o.create_time.saturating_mul(NANOS));
    doc.push_date("update_time", o.update_time.saturating_mul(NANOS));
    doc.push_keyword("collection", o.collection.as_str());
    doc.push_keyword("key", o.key.as_str());
    doc.push_keyword("user_id", o.user_id.to_string());
    doc.push_keyword("version", o.version.as_str());
    doc.push_number("read", o.permission_read as f64);
    doc.push_number("write", o.permission_write as f64);
    doc.push_json("value", &kept);
    let value = if def.index_only {
        kept.to_string()
    } else {
        String::new()
    };
    Some((
        Hit {
            collection: o.collection,
            key: o.key,
            user_id: o.user_id,
            version: o.version,
            read: o.permission_read,
            write: o.permission_write,
            create_time: o.create_time,
            update_time: o.update_time,
            value,
        },
        doc,
    ))
}
