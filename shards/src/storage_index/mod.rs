//! Storage indexes (Nakama's `StorageIndex`): node-wide in-memory indexes
//! of storage objects, searched with Nakama's query language.
//!
//! One thread, `kairos-storage-index`, owns every index ([`index::Index`]).
//! Shards never block on it: after a storage write or delete commits, the
//! shard that made it sends what changed ([`StorageIndexes::written`],
//! [`StorageIndexes::deleted`], [`StorageIndexes::user_gone`]), having run
//! the index's filter (game code) on the shard first; a listing is a
//! message answered through a oneshot. Everything travels one FIFO
//! channel, and a write's changes are sent before the write is
//! acknowledged, so a listing sees every write acknowledged before it was
//! asked.
//!
//! At startup shard 0 loads each index from the store ([`load`]): the
//! newest `max_entries` objects of its collection (and key), through its
//! filter. Until an index's load arrives its listings wait; writes and
//! deletes made meanwhile win over what the load brings.
//!
//! A listing evaluates the query on every entry of the index with the
//! reference evaluator (`kairos_core::query::Compiled::score`) and sorts
//! the matches: linear in the index's size, which
//! [`MAX_ENTRIES`](crate::modules::storage_index::MAX_ENTRIES) bounds.

pub(crate) mod index;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use kairos_core::error::{ApiError, ApiResult, Code};
use kairos_core::query::{self, Compiled};
use kairos_core::storage::{StorageAck, StorageCaller, StorageId, StorageObject, StorageWrite};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::modules::storage_index::{MAX_LIMIT, MAX_ORDER, StorageIndexDef};
use crate::modules::{CallMode, Context};
use crate::shard::Shard;
use index::{DocId, Hit, Index};

/// Listings in flight across the node, past which one is refused
/// (RESOURCE_EXHAUSTED) rather than queued.
pub const MAX_IN_FLIGHT: usize = 256;

type Reply = futures_channel::oneshot::Sender<Vec<Hit>>;

enum Op {
    Put {
        index: usize,
        object: StorageObject,
    },
    Remove {
        index: usize,
        id: DocId,
    },
    RemoveUser {
        user: Uuid,
    },
    Load {
        index: usize,
        objects: Vec<StorageObject>,
    },
    List {
        index: usize,
        query: Box<Compiled>,
        order: Vec<String>,
        offset: usize,
        count: usize,
        reply: Reply,
    },
    Stop,
}

/// The handle every shard holds.
#[derive(Clone)]
pub struct StorageIndexes {
    tx: mpsc::Sender<Op>,
    defs: Arc<Vec<StorageIndexDef>>,
    /// The indexes of each collection, by position in `defs`.
    by_collection: Arc<HashMap<String, Vec<usize>>>,
    in_flight: Arc<AtomicUsize>,
}

impl StorageIndexes {
    /// Starts the thread with the indexes `defs` (each waiting for its
    /// load); it stops at [`StorageIndexes::stop`].
    pub fn start(
        defs: Vec<StorageIndexDef>,
    ) -> std::io::Result<(StorageIndexes, std::thread::JoinHandle<()>)> {
        let mut by_collection: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, d) in defs.iter().enumerate() {
            by_collection
                .entry(d.collection.clone())
                .or_default()
                .push(i);
        }
        let indexes: Vec<Index> = defs.iter().cloned().map(Index::new).collect();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("kairos-storage-index".into())
            .spawn(move || run(indexes, rx))?;
        Ok((
            StorageIndexes {
                tx,
                defs: Arc::new(defs),
                by_collection: Arc::new(by_collection),
                in_flight: Arc::new(AtomicUsize::new(0)),
            },
            thread,
        ))
    }

    fn send(&self, op: Op) {
        // The thread outlives every shard; a send fails only at exit.
        let _ = self.tx.send(op);
    }

    /// Ends the thread (at shutdown, once shards are gone).
    pub fn stop(&self) {
        self.send(Op::Stop);
    }

    /// The indexes covering an object of `collection` and `key`.
    fn covering<'a>(&'a self, collection: &str, key: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.by_collection
            .get(collection)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&i| self.defs[i].key.is_empty() || self.defs[i].key == key)
    }

    /// The writes of a batch some index covers, with their positions, to
    /// keep until the batch commits; empty (and nothing cloned) when no
    /// index covers any.
    pub fn pick(&self, writes: &[StorageWrite]) -> Vec<(usize, StorageWrite)> {
        if self.defs.is_empty() {
            return Vec::new();
        }
        writes
            .iter()
            .enumerate()
            .filter(|(_, w)| self.covering(&w.collection, &w.key).next().is_some())
            .map(|(i, w)| (i, w.clone()))
            .collect()
    }

    /// A committed batch's covered writes (from [`StorageIndexes::pick`])
    /// and its acks: runs each index's filter on this shard, then sends
    /// the changes. Returns once they are sent.
    pub async fn written(
        &self,
        shard: &Shard,
        picked: Vec<(usize, StorageWrite)>,
        acks: &[StorageAck],
    ) {
        let objects = picked
            .into_iter()
            .filter_map(|(i, w)| {
                let a = acks.get(i)?;
                Some(StorageObject {
                    collection: w.collection,
                    key: w.key,
                    user_id: w.user_id,
                    value: w.value,
                    version: a.version.clone(),
                    permission_read: w.permission_read,
                    permission_write: w.permission_write,
                    create_time: a.create_time,
                    update_time: a.update_time,
                })
            })
            .collect();
        self.objects_written(shard, objects).await;
    }

    /// Objects as they now are in the store, through each covering index's
    /// filter, to their indexes.
    pub async fn objects_written(&self, shard: &Shard, objects: Vec<StorageObject>) {
        for o in objects {
            let covering: Vec<usize> = self.covering(&o.collection, &o.key).collect();
            for i in covering {
                let name = &self.defs[i].name;
                let keep = match shard.shared.modules.storage_index_filter(name) {
                    None => true,
                    Some(f) => {
                        let ctx = Context::for_server(shard.rc(), CallMode::StorageIndexFilter);
                        match f.call(ctx, o.clone()).await {
                            Ok(keep) => keep,
                            Err(e) => {
                                tracing::error!(index = %name, error = %e.message, "Error invoking custom Storage Index Filter function");
                                continue;
                            }
                        }
                    }
                };
                if keep {
                    self.send(Op::Put {
                        index: i,
                        object: o.clone(),
                    });
                } else {
                    self.send(Op::Remove {
                        index: i,
                        id: (o.collection.clone(), o.key.clone(), o.user_id),
                    });
                }
            }
        }
    }

    /// Committed deletes.
    pub fn deleted(&self, ids: &[StorageId]) {
        if self.defs.is_empty() {
            return;
        }
        for id in ids {
            for i in self.covering(&id.collection, &id.key) {
                self.send(Op::Remove {
                    index: i,
                    id: (id.collection.clone(), id.key.clone(), id.user_id),
                });
            }
        }
    }

    /// A deleted account: its objects went with it.
    pub fn user_gone(&self, user: Uuid) {
        if !self.defs.is_empty() {
            self.send(Op::RemoveUser { user });
        }
    }
}

/// What a listing cursor holds: Nakama's `indexListCursor`.
#[derive(Serialize, Deserialize)]
struct Cursor {
    q: String,
    o: usize,
    l: usize,
    ord: Vec<String>,
}

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::new(Code::InvalidArgument, message)
}

/// Nakama's `StorageIndexList` (see `Nk::storage_index_list`).
pub async fn list(
    shard: &Shard,
    name: &str,
    query: &str,
    limit: usize,
    order: Vec<String>,
    caller: Option<Uuid>,
    cursor: &str,
) -> ApiResult<(Vec<StorageObject>, String)> {
    let indexes = &shard.shared.storage_index;
    let Some(index) = indexes.defs.iter().position(|d| d.name == name) else {
        return Err(ApiError::new(
            Code::NotFound,
            format!("index {name:?} not found"),
        ));
    };
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid("invalid limit: expects value 1-10000"));
    }
    if order.len() > MAX_ORDER {
        return Err(invalid(format!("at most {MAX_ORDER} order fields")));
    }
    let query = if query.is_empty() { "*" } else { query };
    let offset = if cursor.is_empty() {
        0
    } else {
        let c: Cursor =
            kairos_core::cursor::decode(cursor).ok_or_else(|| invalid("invalid cursor"))?;
        if c.q != query {
            return Err(invalid("invalid cursor: query mismatch"));
        }
        if c.l != limit {
            return Err(invalid("invalid cursor: limit mismatch"));
        }
        if c.ord != order {
            return Err(invalid("invalid cursor: order mismatch"));
        }
        c.o
    };
    let compiled = query::parse(query)
        .and_then(|q| q.compile())
        .map_err(|e| invalid(e.to_string()))?;

    /// Counts one listing in flight until it is answered or given up.
    struct InFlight<'a>(&'a AtomicUsize);
    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let _counted = InFlight(&indexes.in_flight);
    if indexes.in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_IN_FLIGHT {
        return Err(ApiError::new(
            Code::ResourceExhausted,
            "Too many storage index listings in progress.",
        ));
    }
    let (reply, answer) = futures_channel::oneshot::channel();
    indexes.send(Op::List {
        index,
        query: Box::new(compiled),
        order: order.clone(),
        offset,
        count: limit + 1,
        reply,
    });
    let mut hits = answer
        .await
        .map_err(|_| ApiError::new(Code::Internal, "storage index listing failed"))?;
    let next = if hits.len() > limit {
        hits.truncate(limit);
        kairos_core::cursor::encode(&Cursor {
            q: query.to_string(),
            o: offset + limit,
            l: limit,
            ord: order,
        })
    } else {
        String::new()
    };
    if hits.is_empty() {
        return Ok((Vec::new(), String::new()));
    }
    if indexes.defs[index].index_only {
        let objects = hits
            .into_iter()
            .filter(|h| caller.is_none_or(|c| h.read == 2 || h.user_id == c))
            .map(|h| StorageObject {
                collection: h.collection,
                key: h.key,
                user_id: h.user_id,
                value: h.value,
                version: h.version,
                permission_read: h.read,
                permission_write: h.write,
                create_time: h.create_time,
                update_time: h.update_time,
            })
            .collect();
        return Ok((objects, next));
    }
    // Read back from the store, as the caller may read them, in the
    // index's order; objects gone since are left out, and those whose
    // version changed are indexed again.
    let ids: Vec<StorageId> = hits
        .iter()
        .map(|h| StorageId {
            collection: h.collection.clone(),
            key: h.key.clone(),
            user_id: h.user_id,
            version: String::new(),
        })
        .collect();
    let who = caller.map_or(StorageCaller::System, StorageCaller::User);
    let read = shard
        .shared
        .persist
        .run(move |store| async move { store.storage_read(who, ids).await })
        .await?;
    let mut by_id: HashMap<DocId, StorageObject> = read
        .into_iter()
        .map(|o| ((o.collection.clone(), o.key.clone(), o.user_id), o))
        .collect();
    let mut objects = Vec::with_capacity(hits.len());
    let mut stale = Vec::new();
    for h in hits {
        if let Some(o) = by_id.remove(&(h.collection, h.key, h.user_id)) {
            if o.version != h.version {
                stale.push(o.clone());
            }
            objects.push(o);
        }
    }
    if !stale.is_empty() {
        indexes.objects_written(shard, stale).await;
    }
    Ok((objects, next))
}

/// Loads every index from the store (on shard 0, once, at startup): the
/// newest `max_entries` objects of its collection (and key), those its
/// filter keeps.
pub async fn load(shard: std::rc::Rc<Shard>) {
    let indexes = shard.shared.storage_index.clone();
    for (i, def) in indexes.defs.iter().enumerate() {
        let started = std::time::Instant::now();
        let (collection, key, limit) = (def.collection.clone(), def.key.clone(), def.max_entries);
        let found = shard
            .shared
            .persist
            .run(
                move |store| async move { store.storage_scan_newest(collection, key, limit).await },
            )
            .await;
        let mut objects = match found {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(index = %def.name, error = %e.message, "storage index not loaded");
                Vec::new()
            }
        };
        if let Some(f) = shard.shared.modules.storage_index_filter(&def.name) {
            let mut kept = Vec::with_capacity(objects.len());
            for o in objects {
                let ctx = Context::for_server(shard.clone(), CallMode::StorageIndexFilter);
                match f.call(ctx, o.clone()).await {
                    Ok(true) => kept.push(o),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(index = %def.name, error = %e.message, "Error invoking custom Storage Index Filter function");
                    }
                }
            }
            objects = kept;
        }
        let count = objects.len();
        indexes.send(Op::Load { index: i, objects });
        tracing::info!(
            index = %def.name,
            collection = %def.collection,
            key = if def.key.is_empty() { "*" } else { def.key.as_str() },
            max_entries = def.max_entries,
            index_only = def.index_only,
            loaded = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Storage index loaded."
        );
    }
}

fn run(mut indexes: Vec<Index>, rx: mpsc::Receiver<Op>) {
    // Listings of indexes still loading, answered when their load comes.
    let mut parked: Vec<Op> = Vec::new();
    while let Ok(op) = rx.recv() {
        match op {
            Op::Stop => return,
            Op::Put { index, object } => indexes[index].put(object),
            Op::Remove { index, id } => indexes[index].remove(&id),
            Op::RemoveUser { user } => {
                for idx in &mut indexes {
                    idx.remove_user(user);
                }
            }
            Op::Load { index, objects } => {
                indexes[index].load(objects);
                let (ready, waiting): (Vec<Op>, Vec<Op>) = parked
                    .into_iter()
                    .partition(|op| matches!(op, Op::List { index: i, .. } if *i == index));
                parked = waiting;
                for op in ready {
                    answer(&indexes, op);
                }
            }
            op @ Op::List { index, .. } => {
                if indexes[index].loading.is_some() {
                    parked.push(op);
                } else {
                    answer(&indexes, op);
                }
            }
        }
    }
}

fn answer(indexes: &[Index], op: Op) {
    if let Op::List {
        index,
        query,
        order,
        offset,
        count,
        reply,
    } = op
    {
        let _ = reply.send(indexes[index].list(&query, &order, offset, count));
    }
}

#[cfg(test)]
mod tests;
