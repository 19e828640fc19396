//! Prometheus metrics.
//!
//! Recording is per shard and lock-free: each shard owns a [`ShardMetrics`]
//! of relaxed `AtomicU64` counters and fixed-bucket histograms in one
//! preallocated `Arc<[ShardMetrics]>` ([`Registry`]), and writes only its
//! own. Nothing on the request or message path locks, allocates or formats.
//! The scraper reads every shard's cells, sums and merges them, and formats
//! the exposition.
//!
//! * `counter`, `histogram` (from `kairos-core`, shared with the
//!   persistence pool): the cells.
//! * `cells`: one shard's cells and the calls that record into them.
//! * `exposition`: Prometheus's text format.
//! * `scrape`: the metric names, and gathering everything into one text.
//! * `endpoint`: the scrape listener on shard 0.

pub mod cells;
pub mod counter;
pub mod endpoint;
pub mod exposition;
pub use kairos_core::histogram;
pub mod scrape;

pub use cells::{Registry, ShardCells};
