//! Command-line parsing: `kairos-loadtest <scenario> [options]`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::scenarios::Scenario;

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
    /// Concurrent setup operations (account creation, auth + connect).
    pub setup_concurrency: usize,
    /// `idle-sockets` socket count.
    pub sockets: usize,
    /// Server process to sample VmRSS from (`idle-sockets`).
    pub server_pid: Option<u32>,
    /// Payload size in bytes for the baselines (`None`: scenario default).
    pub payload: Option<usize>,
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
  --concurrency C          concurrent workers: HTTP connections or sockets (default 10)
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
  --sockets N              idle-sockets: sockets to hold open (default 1000)
  --server-pid PID         idle-sockets: sample the server's VmRSS from /proc
  --payload BYTES          baseline-ws-echo: message size (default: a Nakama
                           ping envelope, as ws-ping sends); baseline-udp-echo:
                           datagram size (default 24, minimum 8)

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

/// Parses argv (program name first).
pub fn parse(argv: Vec<String>) -> Result<Command, String> {
    let mut scenario = None;
    let mut o = Options {
        scenario: Scenario::AuthDevice,
        target: "127.0.0.1:7350".into(),
        server_key: "defaultkey".into(),
        concurrency: 10,
        duration: Duration::from_secs(10),
        ramp_up: Duration::ZERO,
        timeout: Duration::from_secs(10),
        json: None,
        threads: 1,
        mode: AuthMode::New,
        accounts: 1000,
        setup_concurrency: 64,
        sockets: 1000,
        server_pid: None,
        payload: None,
        progress: true,
        argv: argv.clone(),
    };
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
            "--concurrency" | "-c" => o.concurrency = parse_num(&name, v)?,
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
            "--setup-concurrency" => o.setup_concurrency = parse_num(&name, v)?,
            "--sockets" => o.sockets = parse_num(&name, v)?,
            "--server-pid" => o.server_pid = Some(parse_num(&name, v)?),
            "--payload" => o.payload = Some(parse_num(&name, v)?),
            _ => return Err(format!("unknown option {name}")),
        }
    }
    o.scenario = scenario.ok_or("missing scenario")?;
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
    if o.duration.is_zero() {
        return Err("--duration must be positive".into());
    }
    if o.timeout.is_zero() {
        return Err("--timeout must be positive".into());
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
        s
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
        ] {
            assert!(parse(argv(bad)).is_err(), "{bad:?} should fail");
        }
        assert!(matches!(parse(argv("--help")), Ok(Command::Help)));
        assert!(matches!(parse(argv("ws-ping -V")), Ok(Command::Version)));
        assert!(usage().contains("baseline-udp-echo"));
    }
}
