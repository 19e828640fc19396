//! Measurements and their presentation: per-operation latency histograms
//! and counters ([`Stats`]), the stdout table and the JSON document
//! ([`Report`]).
//!
//! Latencies are recorded in nanoseconds into an HDR histogram with 3
//! significant digits and reported in microseconds. Only successful
//! operations enter the histogram; failures are counted as `errors` (the
//! server answered wrongly or the connection failed) or `timeouts` (no answer
//! within `--timeout`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Highest latency the histograms can hold (larger values are clamped):
/// one hour, far above any sensible `--timeout`.
const MAX_TRACKABLE_NS: u64 = 3_600 * 1_000_000_000;
/// Distinct error labels kept per operation; further ones are lumped as
/// `other`.
const MAX_ERROR_KINDS: usize = 32;

/// When an operation's samples count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Preparation (authentication, connecting): recorded whenever it
    /// happens; its throughput is over its own active period.
    Setup,
    /// The operation under test: recorded only when it started inside the
    /// measurement window; its throughput is over the window.
    Measured,
}

impl Kind {
    /// Label used in the table and JSON.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Measured => "measured",
        }
    }
}

/// How one operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Success; its latency enters the histogram.
    Ok,
    /// A wrong answer or a failed connection, with a short stable label
    /// (e.g. `http:500`, `io:ConnectionRefused`).
    Error(String),
    /// No answer within the timeout.
    Timeout,
}

/// Counters and latency distribution of one operation.
#[derive(Debug, Clone)]
pub struct OpStats {
    /// Operation name, e.g. `authenticate_device`.
    pub name: &'static str,
    /// Setup or measured.
    pub kind: Kind,
    /// Latency of successful operations, nanoseconds.
    pub hist: Histogram<u64>,
    /// Successful operations.
    pub ok: u64,
    /// Failed operations (not timeouts).
    pub errors: u64,
    /// Timed-out operations.
    pub timeouts: u64,
    /// HTTP status codes seen (successful or not), where applicable.
    pub statuses: BTreeMap<u16, u64>,
    /// Failure labels and their counts.
    pub error_kinds: BTreeMap<String, u64>,
    /// Start of the first and end of the last sample (setup throughput).
    pub first_start: Option<Instant>,
    /// End of the last sample.
    pub last_end: Option<Instant>,
}

impl OpStats {
    /// Empty statistics for operation `name`.
    pub fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            hist: Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, 3)
                .expect("valid histogram bounds"),
            ok: 0,
            errors: 0,
            timeouts: 0,
            statuses: BTreeMap::new(),
            error_kinds: BTreeMap::new(),
            first_start: None,
            last_end: None,
        }
    }

    /// Adds one sample that started at `start` and took `latency`.
    pub fn record(
        &mut self,
        start: Instant,
        latency: Duration,
        status: Option<u16>,
        outcome: Outcome,
    ) {
        let end = start + latency;
        if self.first_start.is_none_or(|s| start < s) {
            self.first_start = Some(start);
        }
        if self.last_end.is_none_or(|e| end > e) {
            self.last_end = Some(end);
        }
        if let Some(s) = status {
            *self.statuses.entry(s).or_default() += 1;
        }
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                self.hist.saturating_record(ns.max(1));
            }
            Outcome::Error(kind) => {
                self.errors += 1;
                let key = if self.error_kinds.len() < MAX_ERROR_KINDS
                    || self.error_kinds.contains_key(&kind)
                {
                    kind
                } else {
                    "other".to_string()
                };
                *self.error_kinds.entry(key).or_default() += 1;
            }
            Outcome::Timeout => self.timeouts += 1,
        }
    }

    /// Adds `ok` successes and `errors` failures labelled `label` without
    /// latency samples: for operations far too frequent to time one by one
    /// (the raw datagram blast), whose latency columns stay empty.
    pub fn add_counts(&mut self, ok: u64, errors: u64, label: &str) {
        self.ok += ok;
        if errors > 0 {
            self.errors += errors;
            *self.error_kinds.entry(label.to_string()).or_default() += errors;
        }
    }

    /// All finished attempts: successes, errors and timeouts.
    pub fn count(&self) -> u64 {
        self.ok + self.errors + self.timeouts
    }

    /// Latency at quantile `q` (0..=1) in microseconds; 0 without samples.
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// Largest latency in microseconds; 0 without samples.
    pub fn max_us(&self) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.max() as f64 / 1000.0
    }

    /// Mean latency in microseconds; 0 without samples.
    pub fn mean_us(&self) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.mean() / 1000.0
    }

    /// The period this operation's throughput is computed over: the
    /// measurement window for measured operations, the span from the first
    /// start to the last end for setup operations.
    pub fn window(&self, measured: Duration) -> Duration {
        match self.kind {
            Kind::Measured => measured,
            Kind::Setup => match (self.first_start, self.last_end) {
                (Some(s), Some(e)) => e.saturating_duration_since(s),
                _ => Duration::ZERO,
            },
        }
    }

    /// Successful operations per second over [`window`](Self::window).
    pub fn throughput(&self, measured: Duration) -> f64 {
        let w = self.window(measured).as_secs_f64();
        if w > 0.0 { self.ok as f64 / w } else { 0.0 }
    }
}

/// Handle of a registered operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpId {
    index: usize,
    kind: Kind,
}

impl OpId {
    /// Setup or measured.
    pub const fn kind(self) -> Kind {
        self.kind
    }
}

/// Shared, thread-safe statistics of a run: one mutex per operation (held
/// for a histogram increment, so uncontended in practice) and free-form
/// counters.
#[derive(Debug, Default)]
pub struct Stats {
    ops: RwLock<Vec<Mutex<OpStats>>>,
    counters: Mutex<BTreeMap<&'static str, u64>>,
}

impl Stats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers operation `name` (or returns the existing one); the table
    /// lists operations in registration order.
    pub fn register(&self, name: &'static str, kind: Kind) -> OpId {
        let mut ops = self.ops.write().expect("stats lock");
        if let Some(index) = ops
            .iter()
            .position(|o| o.lock().expect("op lock").name == name)
        {
            let kind = ops[index].lock().expect("op lock").kind;
            return OpId { index, kind };
        }
        ops.push(Mutex::new(OpStats::new(name, kind)));
        OpId {
            index: ops.len() - 1,
            kind,
        }
    }

    fn with_op<R>(&self, id: OpId, f: impl FnOnce(&mut OpStats) -> R) -> R {
        let ops = self.ops.read().expect("stats lock");
        let mut op = ops[id.index].lock().expect("op lock");
        f(&mut op)
    }

    /// Records one sample.
    pub fn record(
        &self,
        id: OpId,
        start: Instant,
        latency: Duration,
        status: Option<u16>,
        outcome: Outcome,
    ) {
        self.with_op(id, |o| o.record(start, latency, status, outcome));
    }

    /// Adds counts without latency samples; see [`OpStats::add_counts`].
    pub fn add_counts(&self, id: OpId, ok: u64, errors: u64, label: &str) {
        self.with_op(id, |o| o.add_counts(ok, errors, label));
    }

    /// Current value of counter `name` (0 if never counted).
    pub fn counter(&self, name: &str) -> u64 {
        self.counters
            .lock()
            .expect("counters lock")
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Successful samples of a registered operation so far.
    pub fn ok_count(&self, id: OpId) -> u64 {
        self.with_op(id, |o| o.ok)
    }

    /// Adds `n` to counter `name`.
    pub fn count(&self, name: &'static str, n: u64) {
        *self
            .counters
            .lock()
            .expect("counters lock")
            .entry(name)
            .or_default() += n;
    }

    /// Copies of all operations' statistics.
    pub fn snapshot(&self) -> Vec<OpStats> {
        let ops = self.ops.read().expect("stats lock");
        ops.iter()
            .map(|o| o.lock().expect("op lock").clone())
            .collect()
    }

    /// (finished, errors + timeouts) summed over operations of `kind`,
    /// without copying histograms (for the progress line).
    pub fn totals(&self, kind: Kind) -> (u64, u64) {
        let ops = self.ops.read().expect("stats lock");
        ops.iter()
            .map(|o| {
                let o = o.lock().expect("op lock");
                if o.kind == kind {
                    (o.count(), o.errors + o.timeouts)
                } else {
                    (0, 0)
                }
            })
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// Copies of the counters.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters
            .lock()
            .expect("counters lock")
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect()
    }
}

/// Everything a run produced, ready to print or serialize.
#[derive(Debug, Clone)]
pub struct Report {
    /// argv as given (program name first).
    pub argv: Vec<String>,
    /// Scenario name.
    pub scenario: String,
    /// What was loaded (address or in-process server).
    pub target: String,
    /// Effective settings, in display order.
    pub settings: Vec<(String, Value)>,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Length of the measurement window actually run.
    pub measured: Duration,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
    /// Per-operation statistics.
    pub ops: Vec<OpStats>,
    /// Scenario counters (e.g. server pings answered).
    pub counters: BTreeMap<String, u64>,
    /// Scenario-specific results (e.g. server memory per session).
    pub extra: Vec<(String, Value)>,
}

/// Quotes `arg` for a POSIX shell if it needs it.
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@+%".contains(&b));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Formats a latency in microseconds with about 3 significant digits.
pub fn fmt_us(us: f64) -> String {
    if us == 0.0 {
        "-".to_string()
    } else if us < 10.0 {
        format!("{us:.2}")
    } else if us < 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl Report {
    /// The command line, shell-quoted.
    pub fn command_line(&self) -> String {
        self.argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The human-readable report: header, table, breakdowns, extras.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# kairos-loadtest {}", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(s, "# command: {}", self.command_line());
        let _ = writeln!(s, "# scenario: {}  target: {}", self.scenario, self.target);
        let settings: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| match v {
                Value::String(t) => format!("{k}={t}"),
                other => format!("{k}={other}"),
            })
            .collect();
        let _ = writeln!(s, "# settings: {}", settings.join(" "));
        let _ = writeln!(
            s,
            "# started: {} (unix ms)  measured: {:.3}s{}",
            self.started_unix_ms,
            self.measured.as_secs_f64(),
            if self.interrupted {
                "  INTERRUPTED (partial results)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "# latency in microseconds, successful operations only; ok/s = successes per second"
        );
        s.push('\n');

        let headers = [
            "operation",
            "phase",
            "count",
            "ok/s",
            "errors",
            "timeouts",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
        ];
        let rows: Vec<[String; 11]> = self
            .ops
            .iter()
            .map(|o| {
                [
                    o.name.to_string(),
                    o.kind.label().to_string(),
                    o.count().to_string(),
                    fmt_rate(o.throughput(self.measured)),
                    o.errors.to_string(),
                    o.timeouts.to_string(),
                    fmt_us(o.quantile_us(0.50)),
                    fmt_us(o.quantile_us(0.90)),
                    fmt_us(o.quantile_us(0.99)),
                    fmt_us(o.quantile_us(0.999)),
                    fmt_us(o.max_us()),
                ]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: &[&str]| {
            let mut l = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i < 2 {
                    let _ = write!(l, "{cell:<w$}  ");
                } else {
                    let _ = write!(l, "{cell:>w$}  ");
                }
            }
            l.trim_end().to_string()
        };
        let _ = writeln!(s, "{}", line(&headers));
        for row in &rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            let _ = writeln!(s, "{}", line(&cells));
        }

        let mut notes = String::new();
        for o in &self.ops {
            if !o.statuses.is_empty() {
                let list: Vec<String> =
                    o.statuses.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(notes, "{} status codes: {}", o.name, list.join(" "));
            }
            if !o.error_kinds.is_empty() {
                let list: Vec<String> = o
                    .error_kinds
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let _ = writeln!(notes, "{} errors: {}", o.name, list.join(" "));
            }
        }
        if !self.counters.is_empty() {
            let list: Vec<String> = self
                .counters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(notes, "counters: {}", list.join(" "));
        }
        for (k, v) in &self.extra {
            let _ = writeln!(notes, "{k}: {v}");
        }
        if !notes.is_empty() {
            s.push('\n');
            s.push_str(&notes);
        }
        s
    }

    /// The JSON document written by `--json`.
    pub fn to_json(&self) -> Value {
        let ops: Vec<Value> = self
            .ops
            .iter()
            .map(|o| {
                json!({
                    "name": o.name,
                    "phase": o.kind.label(),
                    "count": o.count(),
                    "ok": o.ok,
                    "errors": o.errors,
                    "timeouts": o.timeouts,
                    "window_secs": round3(o.window(self.measured).as_secs_f64()),
                    "throughput_ok_per_sec": round3(o.throughput(self.measured)),
                    "latency_us": {
                        "min": if o.hist.is_empty() { 0.0 } else { o.hist.min() as f64 / 1000.0 },
                        "mean": round3(o.mean_us()),
                        "p50": o.quantile_us(0.50),
                        "p90": o.quantile_us(0.90),
                        "p99": o.quantile_us(0.99),
                        "p99_9": o.quantile_us(0.999),
                        "max": o.max_us(),
                    },
                    "status_codes": o.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "error_kinds": o.error_kinds,
                })
            })
            .collect();
        json!({
            "tool": "kairos-loadtest",
            "version": env!("CARGO_PKG_VERSION"),
            "argv": self.argv,
            "command_line": self.command_line(),
            "scenario": self.scenario,
            "target": self.target,
            "settings": self.settings.iter().cloned().collect::<serde_json::Map<_, _>>(),
            "started_unix_ms": self.started_unix_ms,
            "measured_secs": round3(self.measured.as_secs_f64()),
            "interrupted": self.interrupted,
            "operations": ops,
            "counters": self.counters,
            "extra": self.extra.iter().cloned().collect::<serde_json::Map<_, _>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_op() -> OpStats {
        let mut o = OpStats::new("echo", Kind::Measured);
        let t = Instant::now();
        for us in 1..=1000u64 {
            o.record(t, Duration::from_micros(us), Some(200), Outcome::Ok);
        }
        o.record(
            t,
            Duration::from_micros(5),
            Some(500),
            Outcome::Error("http:500".into()),
        );
        o.record(t, Duration::from_secs(10), None, Outcome::Timeout);
        o
    }

    #[test]
    fn percentiles_and_counts() {
        let o = sample_op();
        assert_eq!((o.ok, o.errors, o.timeouts, o.count()), (1000, 1, 1, 1002));
        // 3 significant digits: within 0.1% of the exact quantile.
        let near = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(near(o.quantile_us(0.5), 500.0), "{}", o.quantile_us(0.5));
        assert!(near(o.quantile_us(0.9), 900.0), "{}", o.quantile_us(0.9));
        assert!(near(o.quantile_us(0.99), 990.0), "{}", o.quantile_us(0.99));
        assert!(
            near(o.quantile_us(0.999), 999.0),
            "{}",
            o.quantile_us(0.999)
        );
        assert!(near(o.max_us(), 1000.0), "{}", o.max_us());
        // Errors and timeouts stay out of the histogram.
        assert_eq!(o.hist.len(), 1000);
        assert_eq!(o.statuses, BTreeMap::from([(200, 1000), (500, 1)]));
        assert_eq!(o.error_kinds, BTreeMap::from([("http:500".to_string(), 1)]));
        assert!((o.throughput(Duration::from_secs(2)) - 500.0).abs() < 1e-9);
    }

    #[test]
    fn error_kinds_are_bounded() {
        let mut o = OpStats::new("x", Kind::Setup);
        let t = Instant::now();
        for i in 0..100 {
            o.record(t, Duration::ZERO, None, Outcome::Error(format!("e{i}")));
        }
        assert_eq!(o.error_kinds.len(), MAX_ERROR_KINDS + 1);
        assert_eq!(o.error_kinds["other"], 100 - MAX_ERROR_KINDS as u64);
    }

    #[test]
    fn setup_window_spans_samples() {
        let mut o = OpStats::new("connect", Kind::Setup);
        let t = Instant::now();
        o.record(t, Duration::from_millis(100), None, Outcome::Ok);
        o.record(
            t + Duration::from_millis(400),
            Duration::from_millis(100),
            None,
            Outcome::Ok,
        );
        assert_eq!(
            o.window(Duration::from_secs(99)),
            Duration::from_millis(500)
        );
        assert!((o.throughput(Duration::ZERO) - 4.0).abs() < 1e-9);
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_us(0.0), "-");
        assert_eq!(fmt_us(7.25), "7.25");
        assert_eq!(fmt_us(42.04), "42.0");
        assert_eq!(fmt_us(1234.4), "1234");
        assert_eq!(shell_quote("--json"), "--json");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    fn report() -> Report {
        Report {
            argv: vec![
                "kairos-loadtest".into(),
                "ws-ping".into(),
                "--server-key".into(),
                "my key".into(),
            ],
            scenario: "ws-ping".into(),
            target: "127.0.0.1:7350".into(),
            settings: vec![
                ("concurrency".into(), json!(4)),
                ("mode".into(), json!("new")),
            ],
            started_unix_ms: 1,
            measured: Duration::from_secs(2),
            interrupted: false,
            ops: vec![sample_op(), OpStats::new("ws_connect", Kind::Setup)],
            counters: BTreeMap::from([("server_pings_answered".to_string(), 3)]),
            extra: vec![("note".into(), json!("x"))],
        }
    }

    #[test]
    fn table_layout() {
        let t = report().to_table();
        assert!(
            t.contains("# command: kairos-loadtest ws-ping --server-key 'my key'\n"),
            "{t}"
        );
        assert!(t.contains("# settings: concurrency=4 mode=new\n"));
        let lines: Vec<&str> = t.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("operation"))
            .unwrap();
        let cols: Vec<&str> = lines[header].split_whitespace().collect();
        assert_eq!(
            cols,
            [
                "operation",
                "phase",
                "count",
                "ok/s",
                "errors",
                "timeouts",
                "p50",
                "p90",
                "p99",
                "p99.9",
                "max"
            ]
        );
        let row: Vec<&str> = lines[header + 1].split_whitespace().collect();
        assert_eq!(&row[..6], ["echo", "measured", "1002", "500", "1", "1"]);
        assert_eq!(row[10], "1000");
        // All rows are aligned to the same width as the header.
        assert_eq!(lines[header + 1].len(), lines[header].len());
        let empty: Vec<&str> = lines[header + 2].split_whitespace().collect();
        assert_eq!(
            empty,
            [
                "ws_connect",
                "setup",
                "0",
                "0.00",
                "0",
                "0",
                "-",
                "-",
                "-",
                "-",
                "-"
            ]
        );
        assert!(t.contains("echo status codes: 200=1000 500=1\n"));
        assert!(t.contains("echo errors: http:500=1\n"));
        assert!(t.contains("counters: server_pings_answered=3\n"));
        assert!(t.contains("note: \"x\"\n"));
    }

    #[test]
    fn json_document() {
        let j = report().to_json();
        assert_eq!(j["argv"][3], "my key");
        assert_eq!(
            j["command_line"],
            "kairos-loadtest ws-ping --server-key 'my key'"
        );
        assert_eq!(j["settings"]["concurrency"], 4);
        let op = &j["operations"][0];
        assert_eq!(op["name"], "echo");
        assert_eq!(op["count"], 1002);
        assert_eq!(op["throughput_ok_per_sec"], 500.0);
        assert_eq!(op["status_codes"]["500"], 1);
        assert!((op["latency_us"]["p99"].as_f64().unwrap() - 990.0).abs() < 1.0);
        assert_eq!(j["counters"]["server_pings_answered"], 3);
    }

    #[test]
    fn shared_stats() {
        let s = Stats::new();
        let a = s.register("a", Kind::Measured);
        let b = s.register("b", Kind::Setup);
        assert_eq!(s.register("a", Kind::Measured), a);
        let t = Instant::now();
        s.record(a, t, Duration::from_micros(3), None, Outcome::Ok);
        s.record(b, t, Duration::from_micros(3), None, Outcome::Timeout);
        s.count("c", 2);
        s.count("c", 3);
        assert_eq!(s.totals(Kind::Measured), (1, 0));
        assert_eq!(s.totals(Kind::Setup), (1, 1));
        assert_eq!(s.counters()["c"], 5);
        let snap = s.snapshot();
        assert_eq!(snap.iter().map(|o| o.name).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(b.kind(), Kind::Setup);
    }
}
