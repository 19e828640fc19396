//! Command-line parsing: `kairos-loadtest <scenario> [options]`.

use std::path::PathBuf;
use std::time::Duration;

pub use kairos_client::Transport;
use serde_json::{Value, json};

use crate::scenarios::Scenario;

/// Most connections a kairos-client transport runs: one OS thread each.
pub const MAX_THREAD_CONNECTIONS: usize = 512;

/// `auth-device --mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// A fresh random device id per request: every request creates an
    /// account.
    New,
    /// Re-authenticate a pool of accounts created before the timed phase.
    Existing,
}

/// Parsed options. Fields a scenario does not use are ignored by it.
#[derive(Debug, Clone)]
pub struct Options {
    /// The scenario to run.
    pub scenario: Scenario,
    /// `HOST:PORT` of the server (not used by the baselines).
    pub target: String,
    /// Server key for HTTP Basic auth on authenticate calls.
    pub server_key: String,
    /// `rpc-echo`: the RPC called; `authoritative`: the RPC that creates
    /// a match.
    pub rpc: String,
    /// `authoritative`: the creating RPC's payload (`None`: the example
    /// arena's parameters from `--tick-rate` and `--players-per-match`).
    pub rpc_payload: Option<String>,
    /// `authoritative`: the matches' tick rate (sent in the default
    /// `--rpc-payload`; the nominal period the state jitter is measured
    /// against).
    pub tick_rate: u32,
    /// `authoritative`: the op code of the players' inputs.
    pub op_code: i64,
    /// Concurrent workers (connections or sockets).
    pub concurrency: usize,
    /// Length of the measurement window.
    pub duration: Duration,
    /// Period over which workers start.
    pub ramp_up: Duration,
    /// Per-operation timeout.
    pub timeout: Duration,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Tokio worker threads of the load generator.
    pub threads: usize,
    /// `auth-device` mode.
    pub mode: AuthMode,
    /// `auth-device --mode existing` pool size.
    pub accounts: usize,
    /// `storage-write`: objects per request.
    pub batch: usize,
    /// `storage-write`: keys each account cycles over.
    pub keys: usize,
    /// `leaderboard`: an existing board (`None`: one made with `--rpc`).
    pub leaderboard: Option<String>,
    /// Concurrent setup operations (account creation, auth + connect).
    pub setup_concurrency: usize,
    /// `idle-sockets` socket count.
    pub sockets: usize,
    /// Server process to sample CPU time (and, for `idle-sockets`, VmRSS)
    /// from.
    pub server_pid: Option<u32>,
    /// Payload size in bytes (`None`: scenario default).
    pub payload: Option<usize>,
    /// Realtime transport (`ws-ping`, `match-relay`, `chat-fanout`,
    /// `match-rtt`): `ws-json` is the tokio client, the others go through
    /// `kairos-client` on OS threads.
    pub transport: Transport,
    /// `match-relay`: players per match.
    pub players_per_match: usize,
    /// `match-relay`, `chat-fanout`: messages per second per sender
    /// (`None`: scenario default).
    pub rate: Option<f64>,
    /// `match-relay`, `match-rtt`: Nakama's `reliable` flag on
    /// `match_data_send`.
    pub reliable: bool,
    /// `chat-fanout`: members that send.
    pub senders: usize,
    /// `chat-fanout`: the `persistence` flag of `channel_join` (history
    /// writes per message).
    pub persistence: bool,
    /// `match-relay` over `ws-json`, against Kairos only: the server's
    /// shard count, to place each match's players on one shard
    /// (`crate::scenarios::colocate`). 0: wherever the kernel puts them.
    pub colocate_shards: usize,
    /// Print the live progress line.
    pub progress: bool,
    /// The command line as given, program name first.
    pub argv: Vec<String>,
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Command {
    /// Run a scenario.
    Run(Box<Options>),
    /// Print usage and exit successfully.
    Help,
    /// Print the version.
    Version,
}

/// Usage text.
pub fn usage() -> String {
    let mut s = String::from(
        "usage: kairos-loadtest <scenario> [options]

scenarios:
",
    );
    for sc in Scenario::ALL {
        s.push_str(&format!("  {:<18} {}\n", sc.name(), sc.summary()));
    }
    s.push_str(
        "
common options:
  --target HOST:PORT       server to load (default 127.0.0.1:7350)
  --server-key KEY         server key for Basic auth (default defaultkey)
  --concurrency C          concurrent workers: HTTP connections or sockets
                           (default 10; match-relay, baseline-relay: 4
                           matches of players, chat-fanout: 100 room
                           members, match-rtt: 1 pair, baseline-udp-blast:
                           1 sender/receiver pair)
  --duration SECS          length of the measurement window (default 10)
  --ramp-up SECS           start workers spread over this period; ops during
                           ramp-up are not measured (default 0)
  --timeout SECS           per-operation timeout (default 10)
  --threads N              tokio worker threads of the generator (default 1, so
                           that it takes one core and leaves the rest to the
                           server on small machines; raise it when the
                           generator itself saturates one core)
  --setup-concurrency N    concurrent setup operations: account creation,
                           authenticate + connect of sockets (default 64)
  --json PATH              also write the results as JSON to PATH
  --no-progress            no live progress line on stderr

scenario options:
  --mode new|existing      auth-device: fresh device per request, or re-auth
                           of a pre-created pool (default new)
  --accounts N             auth-device --mode existing: pool size (default 1000)
  --batch N                storage-write: objects per PUT /v2/storage (default 1)
  --keys N                 storage-write: keys each account cycles over, so
                           writes replace objects (default 16)
  --leaderboard ID         leaderboard: an existing board to load (default: a
                           new one, made at setup by --rpc, default
                           example.leaderboard_create)
  --sockets N              idle-sockets: sockets to hold open (default 1000)
  --rpc ID                 rpc-echo: the RPC called on the socket (default
                           example.echo, Kairos's stock example; it must
                           answer with its payload); authoritative: the RPC
                           that creates a match and answers its id, as
                           {\"match_id\":...} or a string (default
                           example.create_arena)
  --rpc-payload TEXT       authoritative: that RPC's payload (default
                           {\"tick_rate\":<--tick-rate>,\"max_players\":<M>})
  --tick-rate HZ           authoritative: the matches' tick rate, 1 to 1000
                           (default 10); state jitter is measured against
                           1/HZ
  --op-code N              authoritative: op code of the inputs (default 1)
  --server-pid PID         sample the server's CPU time (utime+stime) from /proc
                           at the window's ends and report it per delivered
                           message (or per operation); idle-sockets: also its
                           VmRSS. Not for baseline-relay: it reports the CPU
                           of the relay process it starts
  --payload BYTES          baseline-ws-echo: message size (default: a Nakama
                           ping envelope, as ws-ping sends); baseline-udp-echo:
                           datagram size (default 24, minimum 8);
                           baseline-udp-blast: datagram size (default 64,
                           minimum 16); match-relay, baseline-relay,
                           match-rtt: match data size (default 64, minimum 24);
                           authoritative: input size (default and minimum
                           15, the bare {\"dx\":1,\"dy\":0}; padded from 24)
  --transport T            ws-ping, match-relay, chat-fanout, match-rtt:
                           ws-json (default; Nakama-compatible), ws-protobuf,
                           ws-flatbuffers, udp (reliable UDP) or quic; all but
                           ws-json are Kairos only and run one OS thread per
                           connection (at most 512 connections)
  --players-per-match M    match-relay, baseline-relay, authoritative: players
                           per match
                           (default 8);
                           --concurrency is the total, a multiple of M
                           (default 4 matches)
  --rate R                 match-relay, baseline-relay: messages per second
                           per player; authoritative: inputs per second per
                           player
                           (default 20); chat-fanout: per sender (default 10);
                           open loop, on a fixed schedule
  --colocate-shards N      match-relay over ws-json, Kairos only: the server
                           has N shards; each match's players reconnect
                           until the upgrade's kairos-shard header names
                           one shard (match index mod N), to measure what
                           co-locating a match saves (default 0: off)
  --reliable true|false    match-relay, match-rtt: match_data_send's reliable
                           flag (default true; false: unreliable channel on
                           udp and quic)
  --senders K              chat-fanout: members that send (default 10, at most
                           --concurrency, default 100)
  --persistence true|false chat-fanout: channel_join's persistence flag, i.e.
                           history writes per message (default false)

  -h, --help               this text
  -V, --version            print the version
",
    );
    s
}

fn parse_secs(opt: &str, v: &str) -> Result<Duration, String> {
    let f: f64 = v
        .parse()
        .map_err(|_| format!("{opt}: expected seconds, got {v:?}"))?;
    if !(0.0..=1e7).contains(&f) {
        return Err(format!("{opt}: out of range: {v}"));
    }
    Ok(Duration::from_secs_f64(f))
}

fn parse_num<T: std::str::FromStr>(opt: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{opt}: expected a number, got {v:?}"))
}

fn parse_bool(opt: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{opt}: expected true or false, got {v:?}")),
    }
}

/// Parses a `--transport` name (`ws-json`, `ws-protobuf`, `ws-flatbuffers`,
/// `udp`, `quic`).
pub fn parse_transport(v: &str) -> Result<Transport, String> {
    Transport::ALL
        .into_iter()
        .find(|t| t.name() == v)
        .ok_or_else(|| {
            format!(
                "--transport: expected ws-json, ws-protobuf, ws-flatbuffers, udp or quic, got {v:?}"
            )
        })
}

/// Parses argv (program name first).
pub fn parse(argv: Vec<String>) -> Result<Command, String> {
    let mut scenario = None;
    let mut o = Options {
        scenario: Scenario::AuthDevice,
        target: "127.0.0.1:7350".into(),
        server_key: "defaultkey".into(),
        rpc: String::new(),
        rpc_payload: None,
        tick_rate: crate::scenarios::authoritative::DEFAULT_TICK_RATE,
        op_code: crate::scenarios::authoritative::DEFAULT_OP_CODE,
        concurrency: 10,
        duration: Duration::from_secs(10),
        ramp_up: Duration::ZERO,
        timeout: Duration::from_secs(10),
        json: None,
        threads: 1,
        mode: AuthMode::New,
        accounts: 1000,
        batch: 1,
        keys: 16,
        leaderboard: None,
        setup_concurrency: 64,
        sockets: 1000,
        server_pid: None,
        payload: None,
        transport: Transport::WsJson,
        players_per_match: 8,
        rate: None,
        reliable: true,
        senders: 10,
        persistence: false,
        colocate_shards: 0,
        progress: true,
        argv: argv.clone(),
    };
    let mut concurrency = None;
    let mut senders = None;
    let mut args = argv.into_iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        if arg == "-V" || arg == "--version" {
            return Ok(Command::Version);
        }
        if !arg.starts_with('-') {
            if scenario.is_some() {
                return Err(format!("unexpected argument {arg:?}"));
            }
            scenario =
                Some(Scenario::from_name(&arg).ok_or_else(|| format!("unknown scenario {arg:?}"))?);
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        if name == "--no-progress" {
            if inline.is_some() {
                return Err("--no-progress takes no value".into());
            }
            o.progress = false;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        let v = value.as_str();
        match name.as_str() {
            "--target" => o.target = value.clone(),
            "--server-key" => o.server_key = value.clone(),
            "--rpc" => o.rpc = value.clone(),
            "--rpc-payload" => {
                if value.len() > 1 << 20 {
                    return Err("--rpc-payload: at most 1048576 bytes".into());
                }
                o.rpc_payload = Some(value.clone());
            }
            "--tick-rate" => {
                o.tick_rate = parse_num(&name, v)?;
                if !(1..=1000).contains(&o.tick_rate) {
                    return Err(format!("--tick-rate: must be between 1 and 1000, got {v}"));
                }
            }
            "--op-code" => o.op_code = parse_num(&name, v)?,
            "--concurrency" | "-c" => concurrency = Some(parse_num(&name, v)?),
            "--duration" | "-d" => o.duration = parse_secs(&name, v)?,
            "--ramp-up" => o.ramp_up = parse_secs(&name, v)?,
            "--timeout" => o.timeout = parse_secs(&name, v)?,
            "--json" => o.json = Some(PathBuf::from(v)),
            "--threads" => o.threads = parse_num(&name, v)?,
            "--mode" => {
                o.mode = match v {
                    "new" => AuthMode::New,
                    "existing" => AuthMode::Existing,
                    _ => return Err(format!("--mode: expected new or existing, got {v:?}")),
                }
            }
            "--accounts" => o.accounts = parse_num(&name, v)?,
            "--batch" => o.batch = parse_num(&name, v)?,
            "--keys" => o.keys = parse_num(&name, v)?,
            "--leaderboard" => {
                if value.is_empty() || value.len() > 128 {
                    return Err("--leaderboard: an id of 1 to 128 bytes".into());
                }
                o.leaderboard = Some(value.clone());
            }
            "--setup-concurrency" => o.setup_concurrency = parse_num(&name, v)?,
            "--sockets" => o.sockets = parse_num(&name, v)?,
            "--server-pid" => o.server_pid = Some(parse_num(&name, v)?),
            "--payload" => o.payload = Some(parse_num(&name, v)?),
            "--transport" => o.transport = parse_transport(v)?,
            "--players-per-match" => o.players_per_match = parse_num(&name, v)?,
            "--rate" => {
                let r: f64 = parse_num(&name, v)?;
                if !(r > 0.0 && r <= 1e6) {
                    return Err(format!(
                        "--rate: must be above 0 and at most 1000000, got {v}"
                    ));
                }
                o.rate = Some(r);
            }
            "--reliable" => o.reliable = parse_bool(&name, v)?,
            "--senders" => senders = Some(parse_num(&name, v)?),
            "--persistence" => o.persistence = parse_bool(&name, v)?,
            "--colocate-shards" => {
                let n: usize = parse_num(&name, v)?;
                if n > 1024 {
                    return Err("--colocate-shards must be at most 1024".into());
                }
                o.colocate_shards = n;
            }
            _ => return Err(format!("unknown option {name}")),
        }
    }
    o.scenario = scenario.ok_or("missing scenario")?;
    let sc = o.scenario;
    if o.rpc.is_empty() {
        o.rpc = match sc {
            Scenario::Authoritative => crate::scenarios::authoritative::DEFAULT_RPC,
            Scenario::Leaderboard => crate::scenarios::leaderboard::DEFAULT_RPC,
            _ => "example.echo",
        }
        .into();
    }
    if o.colocate_shards > 0 && (sc != Scenario::MatchRelay || o.transport != Transport::WsJson) {
        return Err("--colocate-shards is for match-relay over ws-json".into());
    }
    if o.players_per_match < 2 || o.players_per_match > 1000 {
        return Err("--players-per-match must be between 2 and 1000".into());
    }
    o.concurrency = concurrency.unwrap_or(match sc {
        Scenario::MatchRelay | Scenario::BaselineRelay | Scenario::Authoritative => {
            4 * o.players_per_match
        }
        Scenario::ChatFanout => 100,
        Scenario::MatchRtt | Scenario::BaselineUdpBlast => 1,
        _ => 10,
    });
    if o.concurrency == 0 || o.concurrency > 1_000_000 {
        return Err("--concurrency must be between 1 and 1000000".into());
    }
    if o.sockets == 0 || o.sockets > 1_000_000 {
        return Err("--sockets must be between 1 and 1000000".into());
    }
    if o.threads == 0 || o.threads > 1024 {
        return Err("--threads must be between 1 and 1024".into());
    }
    if o.setup_concurrency == 0 {
        return Err("--setup-concurrency must be at least 1".into());
    }
    if o.accounts == 0 {
        return Err("--accounts must be at least 1".into());
    }
    if o.batch == 0 || o.batch > 1000 {
        return Err("--batch must be between 1 and 1000".into());
    }
    if o.keys == 0 {
        return Err("--keys must be at least 1".into());
    }
    if o.duration.is_zero() {
        return Err("--duration must be positive".into());
    }
    if o.timeout.is_zero() {
        return Err("--timeout must be positive".into());
    }
    if matches!(
        sc,
        Scenario::MatchRelay | Scenario::BaselineRelay | Scenario::Authoritative
    ) && !o.concurrency.is_multiple_of(o.players_per_match)
    {
        return Err(format!(
            "{}: --concurrency ({}) must be a multiple of --players-per-match ({})",
            sc.name(),
            o.concurrency,
            o.players_per_match
        ));
    }
    if sc == Scenario::BaselineRelay && o.server_pid.is_some() {
        return Err(
            "baseline-relay: no --server-pid, it reports the CPU of the relay it starts".into(),
        );
    }
    if o.transport != Transport::WsJson && !sc.has_transports() {
        return Err(format!(
            "--transport applies to ws-ping, match-relay, chat-fanout and match-rtt, not {}",
            sc.name()
        ));
    }
    if o.transport != Transport::WsJson {
        let connections = if sc == Scenario::MatchRtt {
            2 * o.concurrency
        } else {
            o.concurrency
        };
        if connections > MAX_THREAD_CONNECTIONS {
            return Err(format!(
                "--transport {} runs one OS thread per connection: at most {MAX_THREAD_CONNECTIONS} \
                 connections, {connections} asked for (use ws-json for more)",
                o.transport.name()
            ));
        }
    }
    o.senders = senders.unwrap_or(o.senders.min(o.concurrency));
    if sc == Scenario::ChatFanout && (o.senders == 0 || o.senders > o.concurrency) {
        return Err(format!(
            "chat-fanout: --senders must be between 1 and --concurrency ({})",
            o.concurrency
        ));
    }
    if o.target
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(format!("--target: expected HOST:PORT, got {:?}", o.target));
    }
    if let Some(p) = o.payload {
        let min = o.scenario.min_payload();
        if p < min || p > 1 << 20 {
            return Err(format!(
                "--payload for {}: must be between {min} and 1048576 bytes",
                o.scenario.name()
            ));
        }
    }
    Ok(Command::Run(Box::new(o)))
}

impl Options {
    /// The effective settings relevant to the scenario, for the report.
    pub fn settings(&self) -> Vec<(String, Value)> {
        let mut s = vec![];
        let sc = self.scenario;
        if sc.uses_server() {
            s.push(("target".to_string(), json!(self.target)));
        }
        if sc == Scenario::IdleSockets {
            s.push(("sockets".to_string(), json!(self.sockets)));
        } else {
            s.push(("concurrency".to_string(), json!(self.concurrency)));
        }
        s.push((
            "duration_secs".to_string(),
            json!(self.duration.as_secs_f64()),
        ));
        s.push((
            "ramp_up_secs".to_string(),
            json!(self.ramp_up.as_secs_f64()),
        ));
        s.push((
            "timeout_secs".to_string(),
            json!(self.timeout.as_secs_f64()),
        ));
        s.push(("threads".to_string(), json!(self.threads)));
        if sc == Scenario::AuthDevice {
            let mode = match self.mode {
                AuthMode::New => "new",
                AuthMode::Existing => "existing",
            };
            s.push(("mode".to_string(), json!(mode)));
            if self.mode == AuthMode::Existing {
                s.push(("accounts".to_string(), json!(self.accounts)));
            }
        }
        if sc == Scenario::Leaderboard {
            s.push(("rpc".to_string(), json!(self.rpc)));
            if let Some(id) = &self.leaderboard {
                s.push(("leaderboard".to_string(), json!(id)));
            }
        }
        if sc == Scenario::StorageWrite {
            s.push(("batch".to_string(), json!(self.batch)));
            s.push(("keys".to_string(), json!(self.keys)));
        }
        if sc.uses_server() {
            s.push((
                "setup_concurrency".to_string(),
                json!(self.setup_concurrency),
            ));
        }
        if let Some(pid) = self.server_pid {
            s.push(("server_pid".to_string(), json!(pid)));
        }
        if let Some(p) = self.payload {
            s.push(("payload_bytes".to_string(), json!(p)));
        }
        if sc.has_transports() {
            s.push(("transport".to_string(), json!(self.transport.name())));
        }
        match sc {
            Scenario::MatchRelay | Scenario::BaselineRelay => {
                s.push((
                    "players_per_match".to_string(),
                    json!(self.players_per_match),
                ));
                s.push(("rate_per_sec".to_string(), json!(self.rate_or_default())));
                s.push(("reliable".to_string(), json!(self.reliable)));
                if self.colocate_shards > 0 {
                    s.push(("colocate_shards".to_string(), json!(self.colocate_shards)));
                }
            }
            Scenario::ChatFanout => {
                s.push(("senders".to_string(), json!(self.senders)));
                s.push(("rate_per_sec".to_string(), json!(self.rate_or_default())));
                s.push(("persistence".to_string(), json!(self.persistence)));
            }
            Scenario::MatchRtt => s.push(("reliable".to_string(), json!(self.reliable))),
            Scenario::Authoritative => {
                s.push((
                    "players_per_match".to_string(),
                    json!(self.players_per_match),
                ));
                s.push(("rate_per_sec".to_string(), json!(self.rate_or_default())));
                s.push(("tick_rate".to_string(), json!(self.tick_rate)));
                s.push(("rpc".to_string(), json!(self.rpc)));
                s.push(("op_code".to_string(), json!(self.op_code)));
            }
            _ => {}
        }
        s
    }

    /// `--rate`, or the scenario's default (20 for `match-relay`,
    /// `baseline-relay` and `authoritative`, 10 for `chat-fanout`).
    pub fn rate_or_default(&self) -> f64 {
        self.rate.unwrap_or(match self.scenario {
            Scenario::MatchRelay | Scenario::BaselineRelay | Scenario::Authoritative => 20.0,
            _ => 10.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        std::iter::once("kairos-loadtest")
            .chain(s.split_whitespace())
            .map(String::from)
            .collect()
    }

    fn opts(s: &str) -> Options {
        match parse(argv(s)).unwrap() {
            Command::Run(o) => *o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = opts("ws-ping");
        assert_eq!(o.scenario, Scenario::WsPing);
        assert_eq!(o.target, "127.0.0.1:7350");
        assert_eq!(o.server_key, "defaultkey");
        assert_eq!(o.threads, 1);
        assert_eq!(o.concurrency, 10);
        assert_eq!(o.duration, Duration::from_secs(10));
        assert!(o.progress);
        assert_eq!(o.argv, argv("ws-ping"));
    }

    #[test]
    fn options_both_spellings() {
        let o = opts(
            "auth-device --mode existing --accounts=50 --concurrency 4 --duration 2.5 --ramp-up=1 --json out.json --target localhost:7399 --no-progress --threads 2",
        );
        assert_eq!(o.scenario, Scenario::AuthDevice);
        assert_eq!(o.mode, AuthMode::Existing);
        assert_eq!(o.accounts, 50);
        assert_eq!(o.concurrency, 4);
        assert_eq!(o.duration, Duration::from_millis(2500));
        assert_eq!(o.ramp_up, Duration::from_secs(1));
        assert_eq!(o.json, Some(PathBuf::from("out.json")));
        assert_eq!(o.target, "localhost:7399");
        assert_eq!(o.threads, 2);
        assert!(!o.progress);
        let settings = o.settings();
        assert!(settings.contains(&("mode".to_string(), json!("existing"))));
    }

    #[test]
    fn colocation_is_for_relayed_matches_over_ws_json() {
        assert_eq!(opts("match-relay -c 16").colocate_shards, 0);
        assert_eq!(
            opts("match-relay -c 16 --colocate-shards 2").colocate_shards,
            2
        );
        for bad in [
            "match-relay --colocate-shards 2 --transport udp",
            "match-rtt --colocate-shards 2",
            "match-relay --colocate-shards 5000",
        ] {
            assert!(parse(argv(bad)).is_err(), "{bad}");
        }
        // Each match on one shard, the matches spread evenly.
        use crate::scenarios::colocate;
        assert_eq!(colocate(7, 0), None);
        let placed: Vec<_> = (0..4).map(|m| colocate(m, 2)).collect();
        assert_eq!(placed, [Some(0), Some(1), Some(0), Some(1)]);
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "nope",
            "ws-ping --concurrency 0",
            "ws-ping --threads 0",
            "ws-ping --duration x",
            "ws-ping --duration 0",
            "ws-ping --bogus 1",
            "ws-ping --target nohost",
            "ws-ping --target host:99999",
            "ws-ping --concurrency",
            "auth-device --mode old",
            "baseline-udp-echo --payload 4",
            "ws-ping idle-sockets",
            "match-relay -c 12",
            "match-relay --players-per-match 1 -c 2",
            "match-relay --payload 23",
            "match-rtt --payload 8",
            "baseline-udp-blast --payload 15",
            "match-relay --rate 0",
            "match-relay --rate -1",
            "match-relay --reliable yes",
            "match-relay --transport tcp",
            "auth-device --transport udp",
            "baseline-udp-echo --transport quic",
            "ws-ping --transport udp -c 513",
            "match-relay --transport quic -c 520",
            "match-rtt --transport udp -c 257",
            "chat-fanout -c 5 --senders 6",
            "chat-fanout --senders 0",
            "chat-fanout --persistence 1",
            "baseline-relay -c 12",
            "baseline-relay --payload 23",
            "baseline-relay --server-pid 1",
            "baseline-relay --transport udp",
            "authoritative -c 12",
            "authoritative --tick-rate 0",
            "authoritative --tick-rate 1001",
            "authoritative --op-code x",
            "authoritative --payload 14",
            "authoritative --transport udp",
        ] {
            assert!(parse(argv(bad)).is_err(), "{bad:?} should fail");
        }
        // The thread cap is about kairos-client transports only.
        assert!(parse(argv("ws-ping -c 2000")).is_ok());
        assert!(parse(argv("ws-ping --transport udp -c 512")).is_ok());
        assert!(parse(argv("match-rtt --transport quic -c 256")).is_ok());
        assert!(matches!(parse(argv("--help")), Ok(Command::Help)));
        assert!(matches!(parse(argv("ws-ping -V")), Ok(Command::Version)));
        assert!(usage().contains("baseline-udp-echo"));
        for name in [
            "match-relay",
            "baseline-relay",
            "chat-fanout",
            "match-rtt",
            "baseline-udp-blast",
            "--transport",
            "--players-per-match",
            "--senders",
        ] {
            assert!(usage().contains(name), "{name}");
        }
    }

    #[test]
    fn realtime_scenario_options() {
        let o = opts("match-relay");
        assert_eq!(o.scenario, Scenario::MatchRelay);
        assert_eq!(o.players_per_match, 8);
        assert_eq!(o.concurrency, 32); // 4 matches
        assert_eq!(o.rate_or_default(), 20.0);
        assert!(o.reliable);
        assert_eq!(o.transport, Transport::WsJson);
        assert_eq!(o.payload, None);

        let o = opts(
            "match-relay --players-per-match 4 -c 12 --rate 2.5 --reliable false --transport udp --payload 24",
        );
        assert_eq!((o.players_per_match, o.concurrency), (4, 12));
        assert_eq!(o.rate, Some(2.5));
        assert!(!o.reliable);
        assert_eq!(o.transport, Transport::ReliableUdp);
        assert_eq!(o.payload, Some(24));
        let settings = o.settings();
        for (k, v) in [
            ("transport", json!("udp")),
            ("players_per_match", json!(4)),
            ("rate_per_sec", json!(2.5)),
            ("reliable", json!(false)),
            ("payload_bytes", json!(24)),
        ] {
            assert!(
                settings.contains(&(k.to_string(), v.clone())),
                "{k}: {settings:?}"
            );
        }
        // The default concurrency follows --players-per-match.
        assert_eq!(opts("match-relay --players-per-match 2").concurrency, 8);

        let o = opts("baseline-relay -c 16 --players-per-match 4 --payload 32");
        assert_eq!((o.concurrency, o.players_per_match), (16, 4));
        assert_eq!(o.rate_or_default(), 20.0);
        assert!(!o.scenario.uses_server());
        let settings = o.settings();
        assert!(settings.contains(&("players_per_match".to_string(), json!(4))));
        assert!(!settings.iter().any(|(k, _)| k == "target"));
        assert_eq!(opts("baseline-relay").concurrency, 32);

        let o = opts("chat-fanout");
        assert_eq!((o.concurrency, o.senders), (100, 10));
        assert_eq!(o.rate_or_default(), 10.0);
        assert!(!o.persistence);
        let o = opts("chat-fanout -c 4 --persistence=true --transport=ws-flatbuffers");
        // Fewer members than the default senders: all of them send.
        assert_eq!((o.concurrency, o.senders), (4, 4));
        assert!(o.persistence);
        assert_eq!(o.transport, Transport::WsFlatBuffers);
        assert_eq!(opts("chat-fanout -c 50 --senders 3").senders, 3);

        let o = opts("match-rtt --transport quic");
        assert_eq!((o.concurrency, o.transport), (1, Transport::Quic));
        assert!(
            o.settings()
                .contains(&("reliable".to_string(), json!(true)))
        );
        assert_eq!(
            opts("ws-ping --transport ws-protobuf").transport,
            Transport::WsProtobuf
        );
        assert!(
            !opts("auth-device")
                .settings()
                .iter()
                .any(|(k, _)| k == "transport")
        );

        let o = opts("authoritative");
        assert_eq!(o.scenario, Scenario::Authoritative);
        assert_eq!((o.players_per_match, o.concurrency), (8, 32));
        assert_eq!(o.rpc, "example.create_arena");
        assert_eq!((o.tick_rate, o.op_code, o.rate_or_default()), (10, 1, 20.0));
        assert_eq!(o.rpc_payload, None);
        let o = opts(
            "authoritative --players-per-match 10 -c 30 --tick-rate 60 --rate 2 --rpc game.create --rpc-payload {} --op-code 7",
        );
        assert_eq!((o.players_per_match, o.concurrency), (10, 30));
        assert_eq!((o.tick_rate, o.op_code), (60, 7));
        assert_eq!(o.rpc, "game.create");
        assert_eq!(o.rpc_payload.as_deref(), Some("{}"));
        let settings = o.settings();
        for (k, v) in [
            ("tick_rate", json!(60)),
            ("rate_per_sec", json!(2.0)),
            ("rpc", json!("game.create")),
            ("op_code", json!(7)),
        ] {
            assert!(
                settings.contains(&(k.to_string(), v.clone())),
                "{k}: {settings:?}"
            );
        }
        // rpc-echo keeps its own default RPC.
        assert_eq!(opts("rpc-echo").rpc, "example.echo");

        let o = opts("baseline-udp-blast --payload 16");
        assert_eq!((o.concurrency, o.payload), (1, Some(16)));
        assert!(!o.scenario.uses_server());
        for name in ["ws-json", "ws-protobuf", "ws-flatbuffers", "udp", "quic"] {
            assert_eq!(parse_transport(name).unwrap().name(), name);
        }
    }
}
