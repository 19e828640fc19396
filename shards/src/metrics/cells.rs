//! One shard's metric cells and the calls that record into them.
//!
//! Only the owning shard writes a [`ShardMetrics`]; every write is a relaxed
//! atomic add on a field of a preallocated struct: no lock, no allocation,
//! no string. The scraper reads every shard's cells and sums them.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use super::counter::{Counter, Gauge};
use super::histogram::Histogram;
use crate::http::Route;

/// Nakama's per-method metrics for one REST route.
#[derive(Default)]
pub struct ApiCells {
    pub count: Counter,
    pub errors: Counter,
    pub recv_bytes: Counter,
    pub sent_bytes: Counter,
    pub latency: Histogram,
}

/// Everything one shard records. Aligned so that two shards' hot counters
/// never share a cache line.
#[repr(align(128))]
pub struct ShardMetrics {
    pub ws_opened: Counter,
    pub ws_closed: Counter,
    /// WebSocket sessions that moved to this shard from another, and away
    /// from it to another (to their match's shard).
    pub sessions_moved_in: Counter,
    pub sessions_moved_out: Counter,
    /// Sessions that moved away whose messages this shard forwards, now.
    pub session_forwards: Gauge,
    /// Connections accepted and closed at once, past the shard's caps.
    pub conns_refused: Counter,
    /// REST requests (matched routes).
    pub requests: Counter,
    pub request_errors: Counter,
    pub request_recv_bytes: Counter,
    pub request_sent_bytes: Counter,
    pub request_latency: Histogram,
    pub api: [ApiCells; Route::COUNT],
    /// Realtime messages (envelopes) received.
    pub messages: Counter,
    pub message_errors: Counter,
    pub message_recv_bytes: Counter,
    /// Bytes written to WebSockets (all frames).
    pub message_sent_bytes: Counter,
    /// WebSocket writes the shard's flush list made for parked writers,
    /// and sockets it handed back to their writers (full, closing,
    /// moving): see `crate::ws::flush`.
    pub ws_flush_writes: Counter,
    pub ws_flush_handbacks: Counter,
    /// From a message decoded to its reply queued.
    pub message_latency: Histogram,
    /// Reliable-UDP datagrams and bytes, in and out.
    pub udp_rx_packets: Counter,
    pub udp_rx_bytes: Counter,
    pub udp_tx_packets: Counter,
    pub udp_tx_bytes: Counter,
    /// QUIC datagrams and bytes, in and out.
    pub quic_rx_packets: Counter,
    pub quic_rx_bytes: Counter,
    pub quic_tx_packets: Counter,
    pub quic_tx_bytes: Counter,
    /// One-way latency of this shard's inbound mesh hops, sampled by the
    /// probes other shards send every [`crate::server::PROBE_EVERY`].
    pub mesh_hop: Histogram,
    /// Streams this shard owns that have members, now.
    pub streams: Gauge,
    /// Presences in the streams this shard owns, now.
    pub presences: Gauge,
    /// Relayed matches with members on this shard, whose targets it holds
    /// a replica of, now.
    pub relay_replicas: Gauge,
    /// Messages that waited for their session's rate, and sessions that
    /// ever did.
    pub throttled_messages: Counter,
    pub throttled_sessions: Counter,
    /// Messages whose reading waited for the mesh overflow to drain.
    pub mesh_paused: Counter,
    /// Authoritative matches running on this shard, now.
    pub matches: Gauge,
    /// Parties this shard owns, now.
    pub parties: Gauge,
    /// Authoritative match ticks run, ticks skipped because a match fell
    /// behind, and member messages dropped at a full input queue.
    pub match_ticks: Counter,
    pub match_ticks_skipped: Counter,
    pub match_input_dropped: Counter,
    /// How long each tick's handler took.
    pub match_tick_time: Histogram,
    /// How late each tick started after it was due: the tick clock's
    /// jitter.
    pub match_tick_lateness: Histogram,
}

impl Default for ShardMetrics {
    fn default() -> Self {
        ShardMetrics {
            ws_opened: Counter::default(),
            ws_closed: Counter::default(),
            sessions_moved_in: Counter::default(),
            sessions_moved_out: Counter::default(),
            session_forwards: Gauge::default(),
            conns_refused: Counter::default(),
            requests: Counter::default(),
            request_errors: Counter::default(),
            request_recv_bytes: Counter::default(),
            request_sent_bytes: Counter::default(),
            request_latency: Histogram::default(),
            api: std::array::from_fn(|_| ApiCells::default()),
            messages: Counter::default(),
            message_errors: Counter::default(),
            message_recv_bytes: Counter::default(),
            message_sent_bytes: Counter::default(),
            ws_flush_writes: Counter::default(),
            ws_flush_handbacks: Counter::default(),
            message_latency: Histogram::default(),
            udp_rx_packets: Counter::default(),
            udp_rx_bytes: Counter::default(),
            udp_tx_packets: Counter::default(),
            udp_tx_bytes: Counter::default(),
            quic_rx_packets: Counter::default(),
            quic_rx_bytes: Counter::default(),
            quic_tx_packets: Counter::default(),
            quic_tx_bytes: Counter::default(),
            mesh_hop: Histogram::default(),
            streams: Gauge::default(),
            presences: Gauge::default(),
            relay_replicas: Gauge::default(),
            throttled_messages: Counter::default(),
            throttled_sessions: Counter::default(),
            mesh_paused: Counter::default(),
            matches: Gauge::default(),
            parties: Gauge::default(),
            match_ticks: Counter::default(),
            match_ticks_skipped: Counter::default(),
            match_input_dropped: Counter::default(),
            match_tick_time: Histogram::default(),
            match_tick_lateness: Histogram::default(),
        }
    }
}

impl ShardMetrics {
    /// One REST call, as Nakama's `Metrics.Api` counts it.
    #[inline]
    pub fn api(&self, route: Route, elapsed: Duration, recv: u64, sent: u64, is_err: bool) {
        self.requests.inc();
        self.request_recv_bytes.add(recv);
        self.request_sent_bytes.add(sent);
        self.request_latency.record(elapsed);
        let cells = &self.api[route.index()];
        cells.count.inc();
        cells.recv_bytes.add(recv);
        cells.sent_bytes.add(sent);
        cells.latency.record(elapsed);
        if is_err {
            self.request_errors.inc();
            cells.errors.inc();
        }
    }

    /// One realtime message handled, as Nakama's `Metrics.Message` counts
    /// it, plus its handling time.
    #[inline]
    pub fn message(&self, recv: u64, elapsed: Duration, is_err: bool) {
        self.messages.inc();
        self.message_recv_bytes.add(recv);
        self.message_latency.record(elapsed);
        if is_err {
            self.message_errors.inc();
        }
    }

    /// A message over its session's rate; `first` when that session was
    /// never throttled before.
    #[inline]
    pub fn throttled(&self, first: bool) {
        self.throttled_messages.inc();
        if first {
            self.throttled_sessions.inc();
        }
    }

    /// WebSocket sessions open on this shard now.
    pub fn sessions(&self) -> u64 {
        // Read what ends first: a session closing (or moving away) between
        // the loads then errs towards one more, never towards an underflow.
        let gone = self.ws_closed.get() + self.sessions_moved_out.get();
        (self.ws_opened.get() + self.sessions_moved_in.get()).saturating_sub(gone)
    }
}

/// Every shard's cells, created once at start.
#[derive(Clone)]
pub struct Registry {
    shards: Arc<[ShardMetrics]>,
}

impl Registry {
    pub fn new(shards: usize) -> Registry {
        Registry {
            shards: (0..shards).map(|_| ShardMetrics::default()).collect(),
        }
    }

    pub fn shards(&self) -> &[ShardMetrics] {
        &self.shards
    }

    /// An owned handle to shard `id`'s cells (for sessions and the shard).
    pub fn handle(&self, id: usize) -> ShardCells {
        assert!(id < self.shards.len(), "shard index out of range");
        ShardCells {
            all: self.shards.clone(),
            id,
        }
    }
}

/// One shard's cells, held by that shard and its sessions.
#[derive(Clone)]
pub struct ShardCells {
    all: Arc<[ShardMetrics]>,
    id: usize,
}

impl Deref for ShardCells {
    type Target = ShardMetrics;

    #[inline]
    fn deref(&self) -> &ShardMetrics {
        &self.all[self.id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shard_records_into_its_own_cells() {
        let r = Registry::new(2);
        let a = r.handle(0);
        let b = r.handle(1);
        a.api(
            Route::AuthenticateDevice,
            Duration::from_millis(2),
            10,
            20,
            false,
        );
        b.api(Route::GetAccount, Duration::from_millis(1), 0, 5, true);
        a.message(7, Duration::from_micros(30), false);
        a.ws_opened.inc();
        a.ws_opened.inc();
        a.ws_closed.inc();
        let s = r.shards();
        assert_eq!(s[0].requests.get(), 1);
        assert_eq!(s[0].api[Route::AuthenticateDevice.index()].count.get(), 1);
        assert_eq!(
            s[0].api[Route::AuthenticateDevice.index()].recv_bytes.get(),
            10
        );
        assert_eq!(s[0].request_errors.get(), 0);
        assert_eq!(s[1].request_errors.get(), 1);
        assert_eq!(s[1].api[Route::GetAccount.index()].errors.get(), 1);
        assert_eq!(
            s[1].api[Route::GetAccount.index()]
                .latency
                .snapshot()
                .count(),
            1
        );
        assert_eq!(s[0].messages.get(), 1);
        assert_eq!(s[0].message_recv_bytes.get(), 7);
        assert_eq!(s[0].message_latency.snapshot().count(), 1);
        assert_eq!(s[0].sessions(), 1);
        assert_eq!(s[1].sessions(), 0);
        // A session moving from shard 0 to shard 1, then closing there.
        a.sessions_moved_out.inc();
        b.sessions_moved_in.inc();
        assert_eq!((s[0].sessions(), s[1].sessions()), (0, 1));
        b.ws_closed.inc();
        assert_eq!((s[0].sessions(), s[1].sessions()), (0, 0));
        assert_eq!(std::mem::align_of::<ShardMetrics>(), 128);
    }
}
