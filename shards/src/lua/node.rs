//! What the Lua states of a node share, whatever shard they run on and
//! whichever program (reload) they run: Nakama's local cache
//! (`nk.localcache_*`), the custom metrics (`nk.metrics_*`) and the
//! configuration `nk.get_config`, `nk.get_context` and `nk.file_read`
//! read. States are not `Send`, so values cross between them in a
//! converted form ([`Cached`]), never as Lua values.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kairos_core::config::Config;
use kairos_core::histogram::Histogram;

/// The node's shared Lua things.
pub(crate) struct Node {
    pub cache: LocalCache,
    pub metrics: CustomMetrics,
    /// The configuration the server started with.
    pub config: Config,
}

impl Node {
    pub fn new(config: &Config) -> Node {
        let rt = &config.kairos.runtime;
        Node {
            cache: LocalCache::new(rt.lua_localcache_max_entries, rt.lua_localcache_max_bytes),
            metrics: CustomMetrics::new(rt.lua_metrics_max_series),
            config: config.clone(),
        }
    }
}

/// A Lua value as the cache keeps it: primitives and tables (keys and
/// values of these kinds), never functions.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cached {
    Nil,
    Bool(bool),
    Int(mlua::Integer),
    Number(f64),
    String(Vec<u8>),
    Table(Vec<(Cached, Cached)>),
}

impl Cached {
    /// Bytes it is counted as: its strings plus 16 per value.
    pub fn size(&self) -> usize {
        16 + match self {
            Cached::String(s) => s.len(),
            Cached::Table(pairs) => pairs.iter().map(|(k, v)| k.size() + v.size()).sum(),
            _ => 0,
        }
    }
}

struct Entry {
    /// Shared, so a read copies no value under the lock.
    value: Arc<Cached>,
    expires: Option<Instant>,
    /// Insertion order, for eviction.
    seq: u64,
    bytes: usize,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    next: u64,
    bytes: usize,
}

impl CacheState {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.order.remove(&e.seq);
            self.bytes -= e.bytes;
        }
    }

    fn purge_expired(&mut self, now: Instant) {
        let dead: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| e.expires.is_some_and(|at| at <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in dead {
            self.remove(&k);
        }
    }
}

/// Nakama's local cache: one per node, shared by every state, with a
/// time to live per entry. Bounded in entries and bytes: the oldest
/// entries go first.
pub(crate) struct LocalCache {
    state: Mutex<CacheState>,
    max_entries: usize,
    max_bytes: usize,
}

/// Why a value was not cached.
#[derive(Debug, PartialEq)]
pub(crate) struct TooLarge;

impl LocalCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> LocalCache {
        LocalCache {
            state: Mutex::new(CacheState::default()),
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value under `key`, if present and not expired.
    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        let mut s = self.lock();
        let now = Instant::now();
        let expired = match s.entries.get(key) {
            None => return None,
            Some(e) => e.expires.is_some_and(|at| at <= now),
        };
        if expired {
            s.remove(key);
            return None;
        }
        s.entries.get(key).map(|e| e.value.clone())
    }

    /// Keeps `value` under `key` for `ttl` (none: until deleted).
    pub fn put(&self, key: &str, value: Cached, ttl: Option<Duration>) -> Result<(), TooLarge> {
        let bytes = key.len() + value.size();
        if bytes > self.max_bytes {
            return Err(TooLarge);
        }
        let now = Instant::now();
        let mut s = self.lock();
        s.remove(key);
        if s.entries.len() >= self.max_entries || s.bytes + bytes > self.max_bytes {
            s.purge_expired(now);
        }
        while s.entries.len() >= self.max_entries || s.bytes + bytes > self.max_bytes {
            let Some((_, oldest)) = s.order.pop_first() else {
                break;
            };
            if let Some(e) = s.entries.remove(&oldest) {
                s.bytes -= e.bytes;
            }
        }
        let seq = s.next;
        s.next += 1;
        s.order.insert(seq, key.to_owned());
        s.bytes += bytes;
        s.entries.insert(
            key.to_owned(),
            Entry {
                value: Arc::new(value),
                expires: ttl.map(|d| now + d),
                seq,
                bytes,
            },
        );
        Ok(())
    }

    pub fn delete(&self, key: &str) {
        self.lock().remove(key);
    }

    pub fn clear(&self) {
        *self.lock() = CacheState::default();
    }

    /// Entries and bytes held (expired ones included until purged).
    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let s = self.lock();
        (s.entries.len(), s.bytes)
    }
}

/// The kind of a custom metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricKind {
    Counter,
    Gauge,
    Timer,
}

/// One series' value.
pub(crate) enum SeriesValue {
    Counter(u64),
    Gauge(f64),
    Timer(Box<Histogram>),
}

/// The custom metrics game code records, exported with the server's own
/// (`kairos_custom_<name>`). A name keeps the kind it was first recorded
/// as; at most `max_series` series exist on a node, and what would add
/// more is dropped (and counted).
pub(crate) struct CustomMetrics {
    families: Mutex<BTreeMap<String, Family>>,
    series: AtomicU64,
    max_series: usize,
    pub dropped: AtomicU64,
}

pub(crate) struct Family {
    pub kind: MetricKind,
    /// By tags, sorted by key.
    pub series: BTreeMap<Vec<(String, String)>, SeriesValue>,
}

/// Longest metric name, tag key and tag value; most tags on one series.
pub const MAX_NAME: usize = 128;
pub const MAX_TAG_KEY: usize = 64;
pub const MAX_TAG_VALUE: usize = 256;
pub const MAX_TAGS: usize = 16;

impl CustomMetrics {
    pub fn new(max_series: usize) -> CustomMetrics {
        CustomMetrics {
            families: Mutex::new(BTreeMap::new()),
            series: AtomicU64::new(0),
            max_series,
            dropped: AtomicU64::new(0),
        }
    }

    /// Records into the series `name` with `tags` (already checked for
    /// length), made if the bound allows.
    pub fn record(
        &self,
        name: &str,
        tags: Vec<(String, String)>,
        kind: MetricKind,
        f: impl FnOnce(&mut SeriesValue),
    ) {
        let name = metric_name(name);
        let mut tags: Vec<(String, String)> =
            tags.into_iter().map(|(k, v)| (label_name(&k), v)).collect();
        tags.sort();
        tags.dedup_by(|a, b| a.0 == b.0);
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let full = self.series.load(Ordering::Relaxed) as usize >= self.max_series;
        if full
            && !families
                .get(&name)
                .is_some_and(|f| f.series.contains_key(&tags))
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let family = families.entry(name).or_insert_with(|| Family {
            kind,
            series: BTreeMap::new(),
        });
        if family.kind != kind {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let value = family.series.entry(tags).or_insert_with(|| {
            self.series.fetch_add(1, Ordering::Relaxed);
            match kind {
                MetricKind::Counter => SeriesValue::Counter(0),
                MetricKind::Gauge => SeriesValue::Gauge(0.0),
                MetricKind::Timer => SeriesValue::Timer(Box::default()),
            }
        });
        f(value);
    }

    /// Reads every family, for the exposition.
    pub fn with_families(&self, f: impl FnOnce(&BTreeMap<String, Family>)) {
        f(&self.families.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// `kairos_custom_<name>`, characters Prometheus does not allow in a
/// name replaced by `_`.
fn metric_name(name: &str) -> String {
    let mut out = String::from("kairos_custom_");
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// A tag key as a Prometheus label name: `[a-zA-Z0-9_]`, not starting
/// with a digit nor with `__` (reserved); `tag_` before it otherwise.
fn label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    // Also kept off the labels the exposition adds itself.
    if out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit())
        || out.starts_with("__")
        || matches!(out.as_str(), "le" | "node_name" | "namespace")
    {
        out.insert_str(0, "tag_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_expires_evicts_the_oldest_and_counts_bytes() {
        let c = LocalCache::new(2, 1000);
        c.put("a", Cached::Int(1), None).unwrap();
        c.put("b", Cached::String(b"xy".to_vec()), Some(Duration::ZERO))
            .unwrap();
        assert_eq!(c.get("a").as_deref(), Some(&Cached::Int(1)));
        assert_eq!(c.get("b"), None, "expired");
        c.put("b", Cached::Bool(true), None).unwrap();
        c.put("c", Cached::Nil, None).unwrap();
        assert_eq!(c.get("a"), None, "the oldest went");
        assert_eq!(c.get("b").as_deref(), Some(&Cached::Bool(true)));
        assert_eq!(c.usage(), (2, 2 + 32));
        // Replacing a key does not evict another.
        c.put("c", Cached::Int(3), None).unwrap();
        assert_eq!(c.get("b").as_deref(), Some(&Cached::Bool(true)));
        c.delete("b");
        assert_eq!(c.usage(), (1, 17));
        c.clear();
        assert_eq!(c.usage(), (0, 0));

        let small = LocalCache::new(100, 100);
        let big = Cached::String(vec![b'x'; 90]);
        assert_eq!(small.put("k", big.clone(), None), Err(TooLarge));
        small
            .put("k1", Cached::String(vec![b'x'; 40]), None)
            .unwrap();
        small
            .put("k2", Cached::String(vec![b'x'; 40]), None)
            .unwrap();
        assert_eq!(small.get("k1"), None, "bytes evict the oldest");
        assert!(small.get("k2").is_some());
        let t = Cached::Table(vec![(Cached::Int(1), big)]);
        assert_eq!(t.size(), 16 + 16 + 16 + 90);
    }

    #[test]
    fn metrics_are_bounded_in_series_and_keep_their_kind() {
        let m = CustomMetrics::new(2);
        let add = |name: &str, tags: Vec<(String, String)>, kind| {
            m.record(name, tags, kind, |v| {
                if let SeriesValue::Counter(n) = v {
                    *n += 1
                }
            })
        };
        add("a b", vec![("k-1".into(), "v".into())], MetricKind::Counter);
        add("a b", vec![("k-1".into(), "v".into())], MetricKind::Counter);
        add("a b", vec![], MetricKind::Gauge);
        add("c", vec![("1x".into(), "v".into())], MetricKind::Counter);
        add("d", vec![], MetricKind::Counter);
        assert_eq!(label_name("le"), "tag_le");
        assert_eq!(label_name("node_name"), "tag_node_name");
        assert_eq!(label_name("__x"), "tag___x");
        let mut seen = Vec::new();
        m.with_families(|f| {
            for (name, fam) in f {
                for (tags, v) in &fam.series {
                    if let SeriesValue::Counter(n) = v {
                        seen.push((name.clone(), tags.clone(), *n));
                    }
                }
            }
        });
        assert_eq!(
            seen,
            vec![
                (
                    "kairos_custom_a_b".to_string(),
                    vec![("k_1".to_string(), "v".to_string())],
                    2
                ),
                (
                    "kairos_custom_c".to_string(),
                    vec![("tag_1x".to_string(), "v".to_string())],
                    1
                ),
            ]
        );
        assert_eq!(m.dropped.load(Ordering::Relaxed), 2);
    }
}
