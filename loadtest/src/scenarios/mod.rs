//! Scenarios: one module each, dispatched through [`Scenario`].
//!
//! Adding a scenario means: a variant here with its name and summary, a
//! module with `pub async fn run(run: &Arc<Run>) -> Result<Outcome, String>`
//! built from the [`runner`](crate::runner) pieces (a
//! [`Fleet`](crate::runner::Fleet) of workers recording into
//! [`Run::record`]), and an arm in [`Scenario::run`]. Transports live in
//! their own modules ([`crate::http`], [`crate::ws`], and
//! [`crate::blocking`] for the `kairos-client` ones); [`realtime`] has the
//! open-loop send/receive loops and the match setup of the realtime
//! traffic scenarios, [`crate::traffic`] their payload stamps, schedules
//! and delivery accounting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::http::HttpClient;
use crate::nakama;
use crate::report::{OpId, Outcome as Sample};
use crate::rng::Rng;
use crate::runner::Run;
use crate::ws::WsClient;

pub mod auth_device;
pub mod authoritative;
pub mod baseline_relay;
pub mod baseline_udp_blast;
pub mod baseline_udp_echo;
pub mod baseline_ws_echo;
pub mod chat_fanout;
pub mod idle_sockets;
pub mod leaderboard;
pub mod match_relay;
pub mod match_rtt;
pub mod matchmake;
pub mod realtime;
pub mod rpc_echo;
pub mod storage_write;
pub mod ws_ping;
pub mod ws_rtt;

/// The scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// HTTP device authentication loop.
    AuthDevice,
    /// Realtime ping/pong round trips.
    WsPing,
    /// Realtime `rpc` round trips to an echo RPC.
    RpcEcho,
    /// `PUT /v2/storage` batches in a loop per connection.
    StorageWrite,
    /// Leaderboard record writes and around-owner listings per account.
    Leaderboard,
    /// Many open, idle realtime sockets.
    IdleSockets,
    /// Round trips against an in-process raw WebSocket echo server.
    BaselineWsEcho,
    /// Players queue in the matchmaker, are matched and join: time to
    /// match.
    Matchmake,
    /// Relayed-match traffic, open loop: every player sends at a fixed
    /// rate, every other member records the delivery latency.
    MatchRelay,
    /// One crowded chat room: senders at a fixed rate, every member
    /// records the delivery latency.
    ChatFanout,
    /// The relay round trip A → server → B → server → A in two-player
    /// matches.
    MatchRtt,
    /// Players in server-authoritative matches: inputs at a fixed rate,
    /// state broadcasts every tick.
    Authoritative,
    /// Round trips against an in-process raw UDP echo server.
    BaselineUdpEcho,
    /// The raw one-way loopback datagram rate.
    BaselineUdpBlast,
    /// The `match-relay` workload against a raw relay process (one thread,
    /// epoll, frames forwarded verbatim).
    BaselineRelay,
}

/// What a scenario reports besides the shared statistics.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// What was loaded, for the report header.
    pub target: String,
    /// Scenario-specific results, in display order.
    pub extra: Vec<(String, Value)>,
}

impl Scenario {
    /// Every scenario, in usage order.
    pub const ALL: [Self; 15] = [
        Self::AuthDevice,
        Self::WsPing,
        Self::RpcEcho,
        Self::StorageWrite,
        Self::Leaderboard,
        Self::IdleSockets,
        Self::MatchRelay,
        Self::ChatFanout,
        Self::MatchRtt,
        Self::Authoritative,
        Self::Matchmake,
        Self::BaselineWsEcho,
        Self::BaselineRelay,
        Self::BaselineUdpEcho,
        Self::BaselineUdpBlast,
    ];

    /// Command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AuthDevice => "auth-device",
            Self::WsPing => "ws-ping",
            Self::RpcEcho => "rpc-echo",
            Self::StorageWrite => "storage-write",
            Self::Leaderboard => "leaderboard",
            Self::IdleSockets => "idle-sockets",
            Self::MatchRelay => "match-relay",
            Self::ChatFanout => "chat-fanout",
            Self::MatchRtt => "match-rtt",
            Self::Authoritative => "authoritative",
            Self::Matchmake => "matchmake",
            Self::BaselineWsEcho => "baseline-ws-echo",
            Self::BaselineUdpEcho => "baseline-udp-echo",
            Self::BaselineUdpBlast => "baseline-udp-blast",
            Self::BaselineRelay => "baseline-relay",
        }
    }

    /// One-line description for the usage text.
    pub const fn summary(self) -> &'static str {
        match self {
            Self::AuthDevice => "POST /v2/account/authenticate/device in a loop per connection",
            Self::WsPing => "realtime socket ping/pong round trips, back to back per socket",
            Self::RpcEcho => "realtime socket rpc round trips to --rpc (an echo), back to back",
            Self::StorageWrite => "PUT /v2/storage batches of --batch objects, per account",
            Self::Leaderboard => "leaderboard record writes, and the records around the owner",
            Self::IdleSockets => "hold --sockets realtime sockets open; server memory per session",
            Self::BaselineWsEcho => "the ws-ping loop against an in-process raw WebSocket echo",
            Self::MatchRelay => "relayed matches: every player sends at --rate, delivery latency",
            Self::ChatFanout => "one chat room: --senders send at --rate, delivery latency to all",
            Self::MatchRtt => "relay round trip A -> server -> B -> server -> A, back to back",
            Self::Authoritative => {
                "authoritative matches: inputs at --rate, state jitter and input->state"
            }
            Self::Matchmake => "queue 1v1 in the matchmaker, get matched, join: time to match",
            Self::BaselineUdpEcho => "datagram round trips against an in-process raw UDP echo",
            Self::BaselineUdpBlast => {
                "raw one-way loopback datagram rate, sender to receiver thread"
            }
            Self::BaselineRelay => "the match-relay load against a raw relay process; its CPU",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the scenario talks to `--target`.
    pub const fn uses_server(self) -> bool {
        !matches!(
            self,
            Self::BaselineWsEcho
                | Self::BaselineUdpEcho
                | Self::BaselineUdpBlast
                | Self::BaselineRelay
        )
    }

    /// Whether the scenario takes `--transport`.
    pub const fn has_transports(self) -> bool {
        matches!(
            self,
            Self::WsPing | Self::MatchRelay | Self::ChatFanout | Self::MatchRtt
        )
    }

    /// Smallest `--payload` the scenario accepts.
    pub const fn min_payload(self) -> usize {
        match self {
            Self::BaselineUdpEcho => baseline_udp_echo::MIN_PAYLOAD,
            Self::BaselineWsEcho => baseline_ws_echo::MIN_PAYLOAD,
            Self::BaselineUdpBlast => baseline_udp_blast::MIN_PAYLOAD,
            Self::MatchRelay | Self::BaselineRelay => match_relay::MIN_PAYLOAD,
            Self::MatchRtt => match_rtt::MIN_PAYLOAD,
            Self::Authoritative => authoritative::MIN_PAYLOAD,
            Self::StorageWrite => storage_write::MIN_PAYLOAD,
            // Not used by the others.
            _ => 0,
        }
    }

    /// Runs the scenario to completion (or Ctrl-C).
    pub async fn run(self, run: &Arc<Run>) -> Result<Outcome, String> {
        match self {
            Self::AuthDevice => auth_device::run(run).await,
            Self::WsPing => ws_ping::run(run).await,
            Self::RpcEcho => rpc_echo::run(run).await,
            Self::StorageWrite => storage_write::run(run).await,
            Self::Leaderboard => leaderboard::run(run).await,
            Self::IdleSockets => idle_sockets::run(run).await,
            Self::BaselineWsEcho => baseline_ws_echo::run(run).await,
            Self::MatchRelay => match_relay::run(run).await,
            Self::ChatFanout => chat_fanout::run(run).await,
            Self::MatchRtt => match_rtt::run(run).await,
            Self::Authoritative => authoritative::run(run).await,
            Self::Matchmake => matchmake::run(run).await,
            Self::BaselineUdpEcho => baseline_udp_echo::run(run).await,
            Self::BaselineUdpBlast => baseline_udp_blast::run(run).await,
            Self::BaselineRelay => baseline_relay::run(run).await,
        }
    }
}

/// Resolves `--target` to a socket address.
pub async fn resolve_target(run: &Run) -> Result<SocketAddr, String> {
    let target = &run.opts.target;
    tokio::net::lookup_host(target.as_str())
        .await
        .map_err(|e| format!("cannot resolve {target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target} resolves to no address"))
}

/// Operation handles of a realtime session setup.
#[derive(Debug, Clone, Copy)]
pub struct SessionOps {
    /// Device authentication.
    pub auth: OpId,
    /// WebSocket connect and upgrade.
    pub connect: OpId,
}

/// Sets up one realtime session for worker `id`: authenticates a fresh
/// device over HTTP, then opens `/ws?token=…&format=json`. Both steps are
/// recorded as setup operations and bounded by `--timeout`; at most
/// `--setup-concurrency` setups run at once. `None` on failure or stop.
pub async fn open_session(
    run: &Run,
    addr: SocketAddr,
    id: usize,
    ops: SessionOps,
) -> Option<WsClient> {
    open_session_on(run, addr, id, ops, None).await
}

/// Connections a player opens at most to land on its shard
/// ([`open_session_on`]); past them it keeps the last one, and the run
/// counts a `colocate_misses`.
pub const MAX_PLACEMENT_TRIES: usize = 64;

/// The shard a `match-relay` player is placed on with `--colocate-shards
/// n`: its match's index mod `n`, so that every match lives on one shard
/// and the matches are spread evenly. `None` when off.
pub fn colocate(match_index: usize, shards: usize) -> Option<usize> {
    (shards > 0).then(|| match_index % shards)
}

/// [`open_session`], reconnecting (same token) until the server says the
/// connection landed on `shard` (Kairos's `kairos-shard` upgrade header;
/// the kernel picks a shard per connection), at most
/// [`MAX_PLACEMENT_TRIES`] times. The connect operation's time includes
/// the retries.
pub async fn open_session_on(
    run: &Run,
    addr: SocketAddr,
    id: usize,
    ops: SessionOps,
    shard: Option<usize>,
) -> Option<WsClient> {
    let _permit = run.until_stopped(run.setup_permits.acquire()).await?.ok()?;
    let mut rng = Rng::from_entropy(id as u64);
    let token = {
        let mut http = HttpClient::new(addr, run.opts.target.clone());
        nakama::authenticate_device(run, &mut http, ops.auth, &rng.device_id(), true).await?
    };
    let start = Instant::now();
    let path = nakama::realtime_path(&token);
    let seed = rng.next_u64();
    let connect = tokio::time::timeout(run.opts.timeout, async {
        let mut tries = 1;
        loop {
            let ws = WsClient::connect(addr, &run.opts.target, &path, seed).await?;
            match shard {
                Some(want) if ws.shard != Some(want) => {
                    if tries == MAX_PLACEMENT_TRIES {
                        run.stats.count("colocate_misses", 1);
                        return Ok(ws);
                    }
                    tries += 1;
                }
                _ => return Ok::<_, crate::ws::WsError>(ws),
            }
        }
    });
    match run.until_stopped(connect).await? {
        Ok(Ok(ws)) => {
            run.record(ops.connect, start, Some(101), Sample::Ok);
            Some(ws)
        }
        Ok(Err(e)) => {
            let status = match e {
                crate::ws::WsError::Rejected(s) => Some(s),
                _ => None,
            };
            run.record(ops.connect, start, status, Sample::Error(e.kind()));
            None
        }
        Err(_) => {
            run.record(ops.connect, start, None, Sample::Timeout);
            None
        }
    }
}

/// Stops the run before the measurement window when setup left no socket
/// open: there would be nothing to measure.
pub fn stop_if_none_open(run: &Run, sockets: u64) {
    if sockets == 0 && !run.is_stopped() {
        eprintln!("kairos-loadtest: no socket could be opened (see the setup errors); stopping");
        run.stop(false);
    }
}

/// Sends one authorised JSON request on `client` (its deadline
/// `--timeout`), records it under `op`; returns whether it was answered
/// 200 with a body `accept` takes. A timeout drops the connection.
pub async fn timed_http(
    run: &Run,
    client: &mut HttpClient,
    op: OpId,
    (method, path, body): (&str, &str, &str),
    auth: &str,
    accept: impl Fn(&[u8]) -> bool,
) -> bool {
    let headers = [
        ("Authorization", auth),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let start = Instant::now();
    let request = tokio::time::timeout(
        run.opts.timeout,
        client.request(method, path, &headers, body.as_bytes()),
    );
    let Some(result) = run.until_stopped(request).await else {
        return true;
    };
    match result {
        Err(_) => {
            client.disconnect();
            run.record(op, start, None, Sample::Timeout);
            false
        }
        Ok(Err(e)) => {
            run.record(op, start, None, Sample::Error(e.kind()));
            false
        }
        Ok(Ok(resp)) if resp.status == 200 && accept(&resp.body) => {
            run.record(op, start, Some(200), Sample::Ok);
            true
        }
        Ok(Ok(resp)) => {
            let status = resp.status;
            run.record(
                op,
                start,
                Some(status),
                Sample::Error(format!("http-{status}")),
            );
            false
        }
    }
}
