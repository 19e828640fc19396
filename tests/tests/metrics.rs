//! The Prometheus endpoint: counters and histograms move with traffic,
//! and the exposition parses.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kairos_tests::{Backend, Http, TestServer, Ws, unique};
use serde_json::json;

/// One scrape: every sample keyed by `name{labels}` (labels as written).
struct Scrape {
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    fn take(metrics: &Http) -> Scrape {
        let r = metrics.request("GET", "/metrics", None, None);
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        Scrape {
            samples: parse(&r.text),
        }
    }

    /// The sum of a metric over all its series (e.g. over shards).
    fn total(&self, name: &str) -> f64 {
        self.samples
            .iter()
            .filter(|(k, _)| k.split('{').next() == Some(name))
            .map(|(_, v)| v)
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.samples
            .keys()
            .any(|k| k.split('{').next() == Some(name))
    }
}

/// Parses an exposition, checking its shape: every family announced by
/// HELP and TYPE before its samples, every sample `name{labels} value` with
/// the node_name label, histogram buckets cumulative and ending at `_count`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(helped.insert(name.to_string()), "HELP twice: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(
                ["counter", "gauge", "histogram"].contains(&kind),
                "kind: {line}"
            );
            assert!(
                typed.insert(name.into(), kind.into()).is_none(),
                "TYPE twice: {line}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("name{labels} value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value: {line}")),
        };
        let (name, labels) = series.split_once('{').expect("labels");
        assert!(labels.ends_with('}'), "labels: {line}");
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "name: {line}"
        );
        assert!(
            labels.starts_with("node_name=\"metricsnode\""),
            "constant label: {line}"
        );
        for pair in labels.trim_end_matches('}').split(',') {
            let (k, v) = pair.split_once('=').expect("label k=v");
            assert!(
                !k.is_empty() && v.starts_with('"') && v.ends_with('"'),
                "{line}"
            );
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .find(|f| typed.get(*f).map(String::as_str) == Some("histogram"))
            .unwrap_or(name);
        assert!(typed.contains_key(family), "sample before TYPE: {line}");
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "duplicate series: {line}"
        );
    }
    // Histograms: cumulative buckets, the last (+Inf) equal to _count.
    for (family, _) in typed.iter().filter(|(_, k)| *k == "histogram") {
        let counts: Vec<&String> = samples
            .keys()
            .filter(|k| k.starts_with(&format!("{family}_count{{")))
            .collect();
        assert!(!counts.is_empty(), "{family} has no _count");
        for count_key in counts {
            let labels = &count_key[format!("{family}_count{{").len()..count_key.len() - 1];
            let prefix = format!("{family}_bucket{{{labels},le=");
            let buckets: Vec<f64> = samples
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| *v)
                .collect();
            assert!(buckets.len() > 2, "{family}{{{labels}}} buckets");
            let inf = samples[&format!("{prefix}\"+Inf\"}}")];
            assert_eq!(inf, samples[count_key], "{family}: +Inf bucket vs _count");
            assert!(
                buckets.iter().all(|b| *b <= inf),
                "{family}: cumulative buckets"
            );
        }
    }
    samples
}

fn wait_until(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "condition not met in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn counters_and_histograms_move_and_the_exposition_parses() {
    let mut s = TestServer::start_with_metrics(&Backend::Sqlite, &["--name", "metricsnode"]);
    let metrics = s.metrics();
    let before = Scrape::take(&metrics);
    assert_eq!(before.total("nakama_AuthenticateDevice_count"), 0.0);
    assert_eq!(before.total("nakama_sessions"), 0.0);
    for name in [
        "nakama_overall_latency_ms_bucket",
        "nakama_GetAccount_latency_ms_count",
        "nakama_UnlinkCustom_errors",
        "kairos_shard_sessions",
        "kairos_shard_mesh_received_total",
        "kairos_shard_mesh_overflow",
        "kairos_shard_mesh_parks_total",
        "kairos_shard_mesh_wakeups_total",
        "kairos_shard_relay_replicas",
        "kairos_shard_ws_flush_writes_total",
        "kairos_shard_ws_flush_handbacks_total",
        "kairos_matches_authoritative",
        "kairos_match_ticks_total",
        "kairos_match_ticks_skipped_total",
        "kairos_match_input_dropped_total",
        "kairos_match_tick_seconds_bucket",
        "kairos_match_tick_lateness_seconds_bucket",
        "kairos_realtime_message_latency_seconds_bucket",
        "kairos_persist_jobs_completed_total",
        "kairos_persist_job_wait_seconds_total",
        "kairos_persist_job_run_seconds_total",
        "kairos_persist_job_wait_seconds_bucket",
        "kairos_persist_job_run_seconds_count",
        "kairos_shard_mesh_queue_depth",
        "kairos_shard_mesh_hop_seconds_bucket",
        "kairos_transport_rx_packets_total",
        "kairos_transport_tx_bytes_total",
        "nakama_presences",
        "kairos_matchmaker_tickets",
        "kairos_matchmaker_passes_total",
        "kairos_matchmaker_matches_total",
        "kairos_matchmaker_matched_tickets_total",
        "kairos_matchmaker_pass_seconds_bucket",
        "kairos_matchmaker_time_to_match_seconds_bucket",
    ] {
        assert!(before.has(name), "{name} missing");
    }
    assert!(
        before
            .samples
            .contains_key("kairos_shard_sessions{node_name=\"metricsnode\",shard=\"1\"}"),
        "one series per shard"
    );

    // Three device authentications, one failing call.
    let http = s.http();
    let sess = http.device(&unique("device-"));
    http.device(&unique("device-"));
    http.device(&unique("device-"));
    assert_eq!(http.get("/v2/account", "not-a-token").status, 401);

    // A socket with one ping (connected without the harness's own ping).
    let mut ws = match Ws::connect(&s.addr, &format!("token={}&format=json", sess.token)) {
        kairos_tests::Connect::Open(ws) => *ws,
        kairos_tests::Connect::Refused(status, body) => panic!("refused: {status} {body}"),
    };
    let ping = json!({"cid": "1", "ping": {}});
    ws.send_json(&ping);
    assert_eq!(ws.recv_json(), json!({"cid": "1", "pong": {}}));

    let open = Scrape::take(&metrics);
    let delta = |name: &str| open.total(name) - before.total(name);
    assert_eq!(delta("nakama_AuthenticateDevice_count"), 3.0);
    assert_eq!(delta("nakama_AuthenticateDevice_latency_ms_count"), 3.0);
    assert_eq!(delta("nakama_AuthenticateDevice_errors"), 0.0);
    assert!(delta("nakama_AuthenticateDevice_recv_bytes") > 0.0);
    assert!(delta("nakama_AuthenticateDevice_sent_bytes") > 0.0);
    assert!(delta("nakama_AuthenticateDevice_latency_ms_sum") > 0.0);
    assert_eq!(delta("nakama_GetAccount_count"), 1.0);
    assert_eq!(delta("nakama_GetAccount_errors"), 1.0);
    assert_eq!(delta("nakama_overall_request_count"), 4.0);
    assert_eq!(delta("nakama_overall_request_errors"), 1.0);
    assert_eq!(delta("nakama_overall_latency_ms_count"), 4.0);
    assert_eq!(delta("nakama_socket_ws_opened"), 1.0);
    assert_eq!(open.total("nakama_sessions"), 1.0);
    assert_eq!(open.total("kairos_shard_sessions"), 1.0);
    assert_eq!(delta("nakama_overall_message_count"), 1.0);
    assert_eq!(delta("nakama_overall_message_errors"), 0.0);
    assert_eq!(
        delta("nakama_overall_message_recv_bytes"),
        ping.to_string().len() as f64
    );
    assert!(delta("nakama_overall_message_sent_bytes") > 0.0);
    // The pong left through the shard's flush list, not a woken writer,
    // on runtimes that have one (`rt::DIRECT_WRITES`).
    assert_eq!(
        delta("kairos_shard_ws_flush_writes_total") >= 1.0,
        kairos_shards::rt::DIRECT_WRITES
    );
    assert_eq!(delta("nakama_overall_count"), 5.0);
    assert_eq!(
        delta("kairos_realtime_message_latency_seconds_count"),
        1.0,
        "summed over shards"
    );
    assert!(delta("kairos_persist_jobs_submitted_total") >= 3.0);
    assert!(delta("kairos_persist_job_run_seconds_count") >= 3.0);
    // Shards probe each other every 100 ms.
    wait_until(|| Scrape::take(&metrics).total("kairos_shard_mesh_hop_seconds_count") >= 4.0);

    ws.close();
    wait_until(|| Scrape::take(&metrics).total("nakama_sessions") == 0.0);
    let closed = Scrape::take(&metrics);
    assert_eq!(
        closed.total("nakama_socket_ws_closed") - before.total("nakama_socket_ws_closed"),
        1.0
    );
    assert_eq!(
        closed.total("kairos_persist_jobs_completed_total"),
        closed.total("kairos_persist_jobs_submitted_total")
    );

    // Only the exposition is served there.
    assert_eq!(metrics.request("GET", "/", None, None).status, 200);
    assert_eq!(
        metrics.request("GET", "/v2/account", None, None).status,
        404
    );
    assert_eq!(
        metrics.request("POST", "/metrics", None, Some("{}")).status,
        405
    );

    // The API port does not serve metrics, and shutdown stays graceful.
    assert_ne!(s.http().request("GET", "/metrics", None, None).status, 200);
    assert_eq!(
        s.terminate(Duration::from_secs(20)),
        Some(0),
        "log:\n{}",
        s.log()
    );
}

#[test]
fn prefix_and_namespace_are_configurable() {
    let s = TestServer::start_with_metrics(
        &Backend::Sqlite,
        &[
            "--name",
            "metricsnode",
            "--metrics.prefix",
            "game",
            "--metrics.namespace",
            "eu",
        ],
    );
    s.http().device(&unique("device-"));
    let text = s.metrics().request("GET", "/", None, None).text;
    assert!(
        text.contains(
            "game_AuthenticateDevice_count{node_name=\"metricsnode\",namespace=\"eu\"} 1\n"
        ),
        "{text}"
    );
    assert!(!text.contains("nakama_"), "no default prefix");
    assert!(text.contains(
        "kairos_shard_sessions{node_name=\"metricsnode\",namespace=\"eu\",shard=\"0\"} 0\n"
    ));
}

/// Closed, kicked and vanished sessions leave no presence, stream or
/// session behind on any shard.
#[test]
fn closed_sessions_leave_nothing_behind() {
    let s = TestServer::start_with_metrics(
        &Backend::Sqlite,
        &["--name", "metricsnode", "--session.single_socket", "true"],
    );
    let metrics = s.metrics();
    let mut users = kairos_tests::users_on_both_shards(&s, 4, "&status=true");
    let room = unique("room-");
    let m = users[0].0.request("c", "match_create", json!({}))["match"]["match_id"].clone();
    for (ws, _) in users.iter_mut() {
        ws.request("j", "match_join", json!({"match_id": m}));
        ws.request("r", "channel_join", json!({"target": room, "type": 1}));
    }
    let a = users[0].1.user_id();
    users[1]
        .0
        .request("d", "channel_join", json!({"target": a, "type": 2}));
    let busy = Scrape::take(&metrics);
    assert_eq!(
        busy.total("nakama_presences"),
        9.0,
        "4 in the match, 4 in the room, 1 in the DM"
    );
    assert_eq!(busy.total("kairos_shard_streams"), 3.0);
    assert_eq!(busy.total("nakama_sessions"), 4.0);

    // One leaves cleanly, one vanishes, one is kicked by a newer socket of
    // the same user, one stays.
    let (mut clean, _) = users.remove(0);
    clean.close();
    let (vanished, _) = users.remove(0);
    drop(vanished);
    let (_kicked, kicked_sess) = users.remove(0);
    let mut newer = Ws::open(&s.addr, &kicked_sess.token, "");
    wait_until(|| {
        let now = Scrape::take(&metrics);
        now.total("nakama_presences") == 2.0 && now.total("nakama_sessions") == 2.0
    });
    let left = Scrape::take(&metrics);
    assert_eq!(
        left.total("kairos_shard_streams"),
        2.0,
        "the match and the room"
    );
    newer.close();
    let (mut last, _) = users.remove(0);
    last.close();
    wait_until(|| {
        let now = Scrape::take(&metrics);
        now.total("nakama_presences") == 0.0
            && now.total("kairos_shard_streams") == 0.0
            && now.total("nakama_sessions") == 0.0
    });
}

/// The metrics endpoint owns its port. A port that another server's API
/// listeners hold (with SO_REUSEPORT, which would let a second reuseport
/// listener join them) refuses the start, so no scrape lands on an API
/// and no API request on a metrics endpoint.
#[test]
fn a_metrics_port_another_server_listens_on_refuses_the_start() {
    let other = TestServer::start(&Backend::Sqlite);
    let port = other.addr.rsplit(':').next().expect("port");
    let log = TestServer::start_refused(&Backend::Sqlite, &["--metrics.prometheus_port", port]);
    assert!(
        log.contains(&format!("cannot listen for metrics on 127.0.0.1:{port}")),
        "{log}"
    );
}
