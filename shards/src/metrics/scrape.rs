//! Gathers a node's metrics into one exposition: every shard's cells
//! summed under Nakama's names, plus Kairos's own per-shard series, the
//! mesh and the persistence pool. Runs only when scraped; this is where
//! the names are formatted.

use std::sync::atomic::Ordering;

use super::cells::ShardMetrics;
use super::exposition::{Exposition, Kind};
use super::histogram::Snapshot;
use crate::http::Route;
use crate::shard::Shared;

const MILLIS: u64 = 1_000_000;
const SECONDS: u64 = 1_000_000_000;

/// The exposition of every metric of this node.
pub fn render(shared: &Shared) -> String {
    let cfg = &shared.config;
    let mut constant = vec![("node_name", cfg.name.as_str())];
    if !cfg.metrics.namespace.is_empty() {
        constant.push(("namespace", cfg.metrics.namespace.as_str()));
    }
    let mut e = Exposition::new(&constant);
    let prefix = &cfg.metrics.prefix;
    let nakama = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}_{name}")
        }
    };
    let shards = shared.metrics.shards();
    let sum = |f: &dyn Fn(&ShardMetrics) -> u64| {
        shards.iter().fold(0u64, |acc, s| acc.wrapping_add(f(s)))
    };
    let merged = |f: &dyn Fn(&ShardMetrics) -> Snapshot| {
        let mut snap = Snapshot::default();
        for s in shards {
            snap.merge(&f(s));
        }
        snap
    };

    // Nakama's names, summed over shards.
    let requests = sum(&|s| s.requests.get());
    let messages = sum(&|s| s.messages.get());
    let request_errors = sum(&|s| s.request_errors.get());
    let message_errors = sum(&|s| s.message_errors.get());
    let request_recv = sum(&|s| s.request_recv_bytes.get());
    let request_sent = sum(&|s| s.request_sent_bytes.get());
    let message_recv = sum(&|s| s.message_recv_bytes.get());
    let message_sent = sum(&|s| s.message_sent_bytes.get());
    e.gauge(
        &nakama("sessions"),
        "Realtime (WebSocket) sessions open now.",
        sum(&|s| s.sessions()),
    );
    e.gauge(
        &nakama("presences"),
        "Presences in streams (matches and chat channels) now.",
        sum(&|s| s.presences.get()),
    );
    e.counter(
        &nakama("socket_ws_opened"),
        "WebSocket sessions opened.",
        sum(&|s| s.ws_opened.get()),
    );
    e.counter(
        &nakama("socket_ws_closed"),
        "WebSocket sessions closed.",
        sum(&|s| s.ws_closed.get()),
    );
    e.counter(
        &nakama("overall_count"),
        "API requests and realtime messages handled.",
        requests.wrapping_add(messages),
    );
    e.counter(
        &nakama("overall_request_count"),
        "API requests handled.",
        requests,
    );
    e.counter(
        &nakama("overall_message_count"),
        "Realtime messages received.",
        messages,
    );
    e.counter(
        &nakama("overall_errors"),
        "API requests and realtime messages that failed.",
        request_errors.wrapping_add(message_errors),
    );
    e.counter(
        &nakama("overall_request_errors"),
        "API requests that failed (status other than 2xx).",
        request_errors,
    );
    e.counter(
        &nakama("overall_message_errors"),
        "Realtime messages answered with an error.",
        message_errors,
    );
    e.counter(
        &nakama("overall_recv_bytes"),
        "Bytes received in API request bodies and realtime messages.",
        request_recv.wrapping_add(message_recv),
    );
    e.counter(
        &nakama("overall_sent_bytes"),
        "Bytes sent in API response bodies and WebSocket frames.",
        request_sent.wrapping_add(message_sent),
    );
    e.counter(
        &nakama("overall_request_recv_bytes"),
        "Bytes received in API request bodies.",
        request_recv,
    );
    e.counter(
        &nakama("overall_request_sent_bytes"),
        "Bytes sent in API response bodies.",
        request_sent,
    );
    e.counter(
        &nakama("overall_message_recv_bytes"),
        "Bytes received in realtime messages (payloads).",
        message_recv,
    );
    e.counter(
        &nakama("overall_message_sent_bytes"),
        "Bytes written to WebSockets (whole frames, control frames included).",
        message_sent,
    );
    let name = nakama("overall_latency_ms");
    e.family(
        &name,
        "Time to serve an API request, in milliseconds.",
        Kind::Histogram,
    );
    e.histogram(
        &name,
        &[],
        &merged(&|s| s.request_latency.snapshot()),
        MILLIS,
    );

    for route in Route::ALL {
        let i = route.index();
        let method = route.name();
        e.counter(
            &nakama(&format!("{method}_count")),
            &format!("{method} calls."),
            sum(&|s| s.api[i].count.get()),
        );
        e.counter(
            &nakama(&format!("{method}_errors")),
            &format!("{method} calls that failed."),
            sum(&|s| s.api[i].errors.get()),
        );
        e.counter(
            &nakama(&format!("{method}_recv_bytes")),
            &format!("Bytes received in {method} request bodies."),
            sum(&|s| s.api[i].recv_bytes.get()),
        );
        e.counter(
            &nakama(&format!("{method}_sent_bytes")),
            &format!("Bytes sent in {method} response bodies."),
            sum(&|s| s.api[i].sent_bytes.get()),
        );
        let name = nakama(&format!("{method}_latency_ms"));
        e.family(
            &name,
            &format!("Time to serve {method}, in milliseconds."),
            Kind::Histogram,
        );
        e.histogram(
            &name,
            &[],
            &merged(&|s| s.api[i].latency.snapshot()),
            MILLIS,
        );
    }

    // Kairos's own, per shard.
    type Cell = fn(&ShardMetrics) -> u64;
    let ids: Vec<String> = (0..shards.len()).map(|i| i.to_string()).collect();
    e.family(
        "kairos_shard_sessions",
        "Realtime sessions open on each shard.",
        Kind::Gauge,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample("kairos_shard_sessions", &[("shard", id)], s.sessions());
    }
    e.family(
        "kairos_shard_connections_refused_total",
        "Connections each shard accepted and closed at once: past \
         kairos.net.max_connections_per_shard or max_connections_per_ip.",
        Kind::Counter,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample(
            "kairos_shard_connections_refused_total",
            &[("shard", id)],
            s.conns_refused.get(),
        );
    }
    e.family(
        "kairos_shard_streams",
        "Streams with members that each shard owns.",
        Kind::Gauge,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample("kairos_shard_streams", &[("shard", id)], s.streams.get());
    }
    e.family(
        "kairos_shard_sessions_moved_total",
        "WebSocket sessions that moved away from each shard to their match's shard (kairos.session.move_to_match).",
        Kind::Counter,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample(
            "kairos_shard_sessions_moved_total",
            &[("shard", id)],
            s.sessions_moved_out.get(),
        );
    }
    e.family(
        "kairos_shard_ws_flush_writes_total",
        "WebSocket writes each shard's flush list made for idle sessions, once per socket per turn (no task woken per message).",
        Kind::Counter,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample(
            "kairos_shard_ws_flush_writes_total",
            &[("shard", id)],
            s.ws_flush_writes.get(),
        );
    }
    e.family(
        "kairos_shard_ws_flush_handbacks_total",
        "Sockets each shard's flush list handed back to their session's writer: full (the write must wait), closing or moving.",
        Kind::Counter,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample(
            "kairos_shard_ws_flush_handbacks_total",
            &[("shard", id)],
            s.ws_flush_handbacks.get(),
        );
    }
    e.family(
        "kairos_shard_session_forwards",
        "Sessions that moved away from each shard, whose messages it forwards to their new shard until they end.",
        Kind::Gauge,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample(
            "kairos_shard_session_forwards",
            &[("shard", id)],
            s.session_forwards.get(),
        );
    }
    e.family(
        "kairos_shard_relay_replicas",
        "Relayed matches with members on each shard, whose targets it holds a replica of.",
        Kind::Gauge,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample(
            "kairos_shard_relay_replicas",
            &[("shard", id)],
            s.relay_replicas.get(),
        );
    }
    e.family(
        "kairos_shard_busy_ratio",
        "How busy each shard's thread was, CPU time over wall time averaged over its last two 250 ms windows; measured while new matches are packed (kairos.session.pack_matches_below); 0 otherwise.",
        Kind::Gauge,
    );
    for (i, id) in ids.iter().enumerate() {
        e.sample(
            "kairos_shard_busy_ratio",
            &[("shard", id)],
            shared.placement.busy(i),
        );
    }
    e.family(
        "kairos_shard_mesh_received_total",
        "Messages each shard has taken from its inbound mesh queues.",
        Kind::Counter,
    );
    for (i, id) in ids.iter().enumerate() {
        e.sample(
            "kairos_shard_mesh_received_total",
            &[("shard", id)],
            shared.mesh.received(i),
        );
    }
    e.family(
        "kairos_shard_mesh_overflow",
        "Messages each shard holds in its mesh overflow, waiting for room in a full queue.",
        Kind::Gauge,
    );
    for (i, id) in ids.iter().enumerate() {
        e.sample(
            "kairos_shard_mesh_overflow",
            &[("shard", id)],
            shared.mesh.overflowed(i) as u64,
        );
    }
    type MeshCell = fn(usize, &Shared) -> u64;
    let per_shard: [(&str, &str, Kind, MeshCell); 4] = [
        (
            "kairos_shard_mesh_overflow_peak",
            "The most messages each shard has held in its mesh overflow since it started.",
            Kind::Gauge,
            |i, shared| shared.mesh.overflow_peak(i) as u64,
        ),
        (
            "kairos_shard_mesh_shed_total",
            "Relayed messages each shard dropped because its mesh overflow was at kairos.session.mesh_overflow_max.",
            Kind::Counter,
            |i, shared| shared.mesh.shed(i),
        ),
        (
            "kairos_shard_mesh_parks_total",
            "Times each shard's mesh receiver parked on an empty inbox (the shard then sleeps unless a socket or timer wakes it first).",
            Kind::Counter,
            |i, shared| shared.mesh.parks(i),
        ),
        (
            "kairos_shard_mesh_wakeups_total",
            "Times another shard found each shard parked and woke it: cross-core wake-ups, the dearest step of a cross-shard hop.",
            Kind::Counter,
            |i, shared| shared.mesh.wakeups(i),
        ),
    ];
    for (name, help, kind, value) in per_shard {
        e.family(name, help, kind);
        for (i, id) in ids.iter().enumerate() {
            e.sample(name, &[("shard", id)], value(i, shared));
        }
    }
    let match_counters: [(&str, &str, Cell); 3] = [
        (
            "kairos_match_ticks_total",
            "Authoritative match ticks run.",
            |s| s.match_ticks.get(),
        ),
        (
            "kairos_match_ticks_skipped_total",
            "Authoritative match ticks skipped because a match fell a whole period behind its tick rate.",
            |s| s.match_ticks_skipped.get(),
        ),
        (
            "kairos_match_input_dropped_total",
            "Messages to authoritative matches dropped because the match's input queue was full (kairos.runtime.match_input_queue).",
            |s| s.match_input_dropped.get(),
        ),
    ];
    for (name, help, cell) in match_counters {
        e.counter(name, help, sum(&cell));
    }
    e.family(
        "kairos_matches_authoritative",
        "Authoritative matches running on each shard.",
        Kind::Gauge,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.sample(
            "kairos_matches_authoritative",
            &[("shard", id)],
            s.matches.get(),
        );
    }
    e.family("kairos_parties", "Parties each shard owns.", Kind::Gauge);
    for (s, id) in shards.iter().zip(&ids) {
        e.sample("kairos_parties", &[("shard", id)], s.parties.get());
    }
    e.family(
        "kairos_match_tick_seconds",
        "Time an authoritative match's handler took for one tick, per shard.",
        Kind::Histogram,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.histogram(
            "kairos_match_tick_seconds",
            &[("shard", id)],
            &s.match_tick_time.snapshot(),
            SECONDS,
        );
    }
    e.family(
        "kairos_match_tick_lateness_seconds",
        "How late each authoritative match tick started after it was due (the tick clock's jitter), per shard.",
        Kind::Histogram,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.histogram(
            "kairos_match_tick_lateness_seconds",
            &[("shard", id)],
            &s.match_tick_lateness.snapshot(),
            SECONDS,
        );
    }
    let session_counters: [(&str, &str, Cell); 3] = [
        (
            "kairos_session_throttled_messages_total",
            "Realtime messages that waited because their session was over kairos.session.max_messages_per_sec.",
            |s| s.throttled_messages.get(),
        ),
        (
            "kairos_session_throttled_sessions_total",
            "Realtime sessions that went over kairos.session.max_messages_per_sec at least once.",
            |s| s.throttled_sessions.get(),
        ),
        (
            "kairos_session_mesh_paused_total",
            "Realtime messages whose reading waited for the mesh overflow to fall under kairos.session.mesh_overflow_pause.",
            |s| s.mesh_paused.get(),
        ),
    ];
    for (name, help, cell) in session_counters {
        e.counter(name, help, sum(&cell));
    }
    e.family(
        "kairos_shard_mesh_queue_depth",
        "Messages waiting in each shard's inbound mesh queues.",
        Kind::Gauge,
    );
    for (i, id) in ids.iter().enumerate() {
        e.sample(
            "kairos_shard_mesh_queue_depth",
            &[("shard", id)],
            shared.mesh.inbound_depth(i) as u64,
        );
    }
    e.family(
        "kairos_shard_mesh_hop_seconds",
        "One-way latency of cross-shard hops into each shard, from probes every 100 ms.",
        Kind::Histogram,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.histogram(
            "kairos_shard_mesh_hop_seconds",
            &[("shard", id)],
            &s.mesh_hop.snapshot(),
            SECONDS,
        );
    }
    let transports: [(&str, &str, &str, Cell); 8] = [
        (
            "kairos_transport_rx_packets_total",
            "udp",
            "Datagrams received.",
            |s| s.udp_rx_packets.get(),
        ),
        (
            "kairos_transport_rx_bytes_total",
            "udp",
            "Bytes received.",
            |s| s.udp_rx_bytes.get(),
        ),
        (
            "kairos_transport_tx_packets_total",
            "udp",
            "Datagrams sent.",
            |s| s.udp_tx_packets.get(),
        ),
        (
            "kairos_transport_tx_bytes_total",
            "udp",
            "Bytes sent.",
            |s| s.udp_tx_bytes.get(),
        ),
        (
            "kairos_transport_rx_packets_total",
            "quic",
            "Datagrams received.",
            |s| s.quic_rx_packets.get(),
        ),
        (
            "kairos_transport_rx_bytes_total",
            "quic",
            "Bytes received.",
            |s| s.quic_rx_bytes.get(),
        ),
        (
            "kairos_transport_tx_packets_total",
            "quic",
            "Datagrams sent.",
            |s| s.quic_tx_packets.get(),
        ),
        (
            "kairos_transport_tx_bytes_total",
            "quic",
            "Bytes sent.",
            |s| s.quic_tx_bytes.get(),
        ),
    ];
    for name in [
        "kairos_transport_rx_packets_total",
        "kairos_transport_rx_bytes_total",
        "kairos_transport_tx_packets_total",
        "kairos_transport_tx_bytes_total",
    ] {
        let help = transports
            .iter()
            .find(|t| t.0 == name)
            .map(|t| t.2)
            .unwrap_or_default();
        e.family(
            name,
            &format!("{help} Per datagram transport and shard."),
            Kind::Counter,
        );
        for (_, transport, _, get) in transports.iter().filter(|t| t.0 == name) {
            for (s, id) in shards.iter().zip(&ids) {
                e.sample(name, &[("transport", transport), ("shard", id)], get(s));
            }
        }
    }
    e.family(
        "kairos_realtime_message_latency_seconds",
        "Time from a realtime message decoded to its reply queued, per shard.",
        Kind::Histogram,
    );
    for (s, id) in shards.iter().zip(&ids) {
        e.histogram(
            "kairos_realtime_message_latency_seconds",
            &[("shard", id)],
            &s.message_latency.snapshot(),
            SECONDS,
        );
    }

    // The matchmaker thread.
    let mm = &shared.matchmaker.metrics;
    e.gauge(
        "kairos_matchmaker_tickets",
        "Tickets waiting in the matchmaker.",
        mm.tickets.load(Ordering::Relaxed),
    );
    e.counter(
        "kairos_matchmaker_passes_total",
        "Matchmaker passes run over a non-empty pool.",
        mm.passes.load(Ordering::Relaxed),
    );
    e.counter(
        "kairos_matchmaker_matches_total",
        "Matches the matchmaker formed (per pass: its rate over kairos_matchmaker_passes_total's).",
        mm.matches.load(Ordering::Relaxed),
    );
    e.counter(
        "kairos_matchmaker_matched_tickets_total",
        "Tickets the matchmaker matched.",
        mm.matched_tickets.load(Ordering::Relaxed),
    );
    e.family(
        "kairos_matchmaker_pass_seconds",
        "How long each matchmaker pass took.",
        Kind::Histogram,
    );
    e.histogram(
        "kairos_matchmaker_pass_seconds",
        &[],
        &mm.pass_time.snapshot(),
        SECONDS,
    );
    e.family(
        "kairos_matchmaker_time_to_match_seconds",
        "How long each matched ticket waited, from its add to the pass that matched it.",
        Kind::Histogram,
    );
    e.histogram(
        "kairos_matchmaker_time_to_match_seconds",
        &[],
        &mm.time_to_match.snapshot(),
        SECONDS,
    );

    // Lua module reloads, when they are on.
    if let Some(cell) = shared.modules.lua_program() {
        let (reloads, failures) = cell.counts();
        e.gauge(
            "kairos_lua_program_generation",
            "The Lua program new calls run: 1 at startup, one more per reload.",
            cell.current().generation,
        );
        e.counter(
            "kairos_lua_reloads_total",
            "Lua module reloads that replaced the running code.",
            reloads,
        );
        e.counter(
            "kairos_lua_reload_failures_total",
            "Lua module changes not reloaded because a module failed to load.",
            failures,
        );
    }

    // Custom metrics recorded by Lua modules (`nk.metrics_*`).
    if let Some(node) = shared.modules.lua_node() {
        use crate::lua::node::{MetricKind, SeriesValue};
        node.metrics.with_families(|families| {
            for (name, family) in families {
                let kind = match family.kind {
                    MetricKind::Counter => Kind::Counter,
                    MetricKind::Gauge => Kind::Gauge,
                    MetricKind::Timer => Kind::Histogram,
                };
                e.family(name, "Recorded by Lua code (nk.metrics_*).", kind);
                for (tags, value) in &family.series {
                    let labels: Vec<(&str, &str)> =
                        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    match value {
                        SeriesValue::Counter(n) => e.sample(name, &labels, *n),
                        SeriesValue::Gauge(g) => e.sample(name, &labels, *g),
                        SeriesValue::Timer(h) => e.histogram(name, &labels, &h.snapshot(), SECONDS),
                    }
                }
            }
        });
        e.counter(
            "kairos_lua_custom_metrics_dropped_total",
            "Lua custom metric records dropped: past kairos.runtime.lua_metrics_max_series, or a name recorded as another kind.",
            node.metrics.dropped.load(Ordering::Relaxed),
        );
    }

    // The persistence pool.
    let stats = shared.persist.stats();
    let submitted = stats.submitted.load(Ordering::Relaxed);
    let completed = stats.completed.load(Ordering::Relaxed);
    e.counter(
        "kairos_persist_jobs_submitted_total",
        "Jobs shards submitted to the persistence pool.",
        submitted,
    );
    e.counter(
        "kairos_persist_jobs_completed_total",
        "Jobs the persistence pool finished.",
        completed,
    );
    e.gauge(
        "kairos_persist_jobs_in_flight",
        "Jobs submitted and not yet finished.",
        submitted.saturating_sub(completed),
    );
    e.family(
        "kairos_persist_job_wait_seconds",
        "How long persistence jobs waited for a pool thread.",
        Kind::Histogram,
    );
    e.histogram(
        "kairos_persist_job_wait_seconds",
        &[],
        &stats.wait.snapshot(),
        SECONDS,
    );
    e.family(
        "kairos_persist_job_run_seconds",
        "How long persistence jobs ran (queries, password hashes).",
        Kind::Histogram,
    );
    e.histogram(
        "kairos_persist_job_run_seconds",
        &[],
        &stats.run.snapshot(),
        SECONDS,
    );
    e.family(
        "kairos_persist_job_wait_seconds_total",
        "Total time jobs waited between submission and start.",
        Kind::Counter,
    );
    e.sample(
        "kairos_persist_job_wait_seconds_total",
        &[],
        stats.wait_nanos.load(Ordering::Relaxed) as f64 / SECONDS as f64,
    );
    e.family(
        "kairos_persist_job_run_seconds_total",
        "Total time jobs ran.",
        Kind::Counter,
    );
    e.sample(
        "kairos_persist_job_run_seconds_total",
        &[],
        stats.run_nanos.load(Ordering::Relaxed) as f64 / SECONDS as f64,
    );
    e.finish()
}
