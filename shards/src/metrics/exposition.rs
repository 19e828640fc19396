//! Prometheus's text exposition format, version 0.0.4: `# HELP` and
//! `# TYPE` lines, then `name{labels} value` samples. Only the scraper
//! writes it; nothing here runs on the recording path.

use std::fmt::Write;

use super::histogram::{BOUNDS_NANOS, Snapshot};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Builds one exposition. Every sample carries the constant labels.
pub struct Exposition {
    out: String,
    /// `k="v",k2="v2"`, rendered once.
    constant: String,
}

impl Exposition {
    pub fn new(constant: &[(&str, &str)]) -> Exposition {
        let mut labels = String::new();
        for (k, v) in constant {
            push_label(&mut labels, k, v);
        }
        Exposition {
            out: String::with_capacity(16 * 1024),
            constant: labels,
        }
    }

    /// Starts a metric family.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl SampleValue) {
        self.out.push_str(name);
        self.out.push('{');
        self.out.push_str(&self.constant);
        for (k, v) in labels {
            push_label(&mut self.out, k, v);
        }
        self.out.push_str("} ");
        value.write(&mut self.out);
        self.out.push('\n');
    }

    /// A counter family with one sample.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, help, Kind::Counter);
        self.sample(name, &[], value);
    }

    /// A gauge family with one sample.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl SampleValue) {
        self.family(name, help, Kind::Gauge);
        self.sample(name, &[], value);
    }

    /// The samples of one histogram series (after [`Exposition::family`]):
    /// cumulative `_bucket{le}`, `_sum` and `_count`, with bounds and sum
    /// shown in units of `unit_nanos` (1e6 for milliseconds, 1e9 for
    /// seconds).
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        snap: &Snapshot,
        unit_nanos: u64,
    ) {
        let unit = unit_nanos.max(1) as f64;
        let cumulative = snap.cumulative();
        let bucket = format!("{name}_bucket");
        for (i, count) in cumulative.iter().enumerate() {
            let le = match BOUNDS_NANOS.get(i) {
                Some(&b) => format!("{}", b as f64 / unit),
                None => "+Inf".to_string(),
            };
            let mut with_le: Vec<(&str, &str)> = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, *count);
        }
        self.sample(&format!("{name}_sum"), labels, snap.sum_nanos as f64 / unit);
        self.sample(&format!("{name}_count"), labels, snap.count());
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A sample value as Prometheus writes numbers.
pub trait SampleValue {
    fn write(&self, out: &mut String);
}

impl SampleValue for u64 {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl SampleValue for f64 {
    fn write(&self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self.is_infinite() {
            out.push_str(if *self > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

fn push_label(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() && !out.ends_with('{') {
        out.push(',');
    }
    out.push_str(key);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histogram::{BUCKETS, Histogram};
    use std::time::Duration;

    #[test]
    fn counters_and_gauges_carry_help_type_and_constant_labels() {
        let mut e = Exposition::new(&[("node_name", "n\"1\\\n")]);
        e.counter("nakama_overall_count", "All calls.", 42);
        e.gauge("nakama_sessions", "Open sockets.", 3u64);
        e.family("kairos_shard_sessions", "Per shard.", Kind::Gauge);
        e.sample("kairos_shard_sessions", &[("shard", "0")], 1u64);
        e.sample("kairos_shard_sessions", &[("shard", "1")], 2u64);
        e.gauge("x", "A float.", 0.25f64);
        assert_eq!(
            e.finish(),
            "# HELP nakama_overall_count All calls.\n\
             # TYPE nakama_overall_count counter\n\
             nakama_overall_count{node_name=\"n\\\"1\\\\\\n\"} 42\n\
             # HELP nakama_sessions Open sockets.\n\
             # TYPE nakama_sessions gauge\n\
             nakama_sessions{node_name=\"n\\\"1\\\\\\n\"} 3\n\
             # HELP kairos_shard_sessions Per shard.\n\
             # TYPE kairos_shard_sessions gauge\n\
             kairos_shard_sessions{node_name=\"n\\\"1\\\\\\n\",shard=\"0\"} 1\n\
             kairos_shard_sessions{node_name=\"n\\\"1\\\\\\n\",shard=\"1\"} 2\n\
             # HELP x A float.\n\
             # TYPE x gauge\n\
             x{node_name=\"n\\\"1\\\\\\n\"} 0.25\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_bounds_in_the_chosen_unit() {
        let h = Histogram::default();
        h.record(Duration::from_micros(15));
        h.record(Duration::from_millis(3));
        h.record(Duration::from_secs(30));
        let mut e = Exposition::new(&[("node_name", "a")]);
        e.family("lat_ms", "Latency.", Kind::Histogram);
        e.histogram("lat_ms", &[], &h.snapshot(), 1_000_000);
        let text = e.finish();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + BUCKETS + 2);
        assert_eq!(lines[2], "lat_ms_bucket{node_name=\"a\",le=\"0.0002\"} 0");
        assert!(text.contains("lat_ms_bucket{node_name=\"a\",le=\"0.01\"} 0\n"));
        assert!(text.contains("lat_ms_bucket{node_name=\"a\",le=\"0.02\"} 1\n"));
        assert!(text.contains("lat_ms_bucket{node_name=\"a\",le=\"2\"} 1\n"));
        assert!(text.contains("lat_ms_bucket{node_name=\"a\",le=\"5\"} 2\n"));
        assert!(text.contains("lat_ms_bucket{node_name=\"a\",le=\"10000\"} 2\n"));
        assert!(text.contains("lat_ms_bucket{node_name=\"a\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("lat_ms_sum{node_name=\"a\"} 30003.015\n"));
        assert!(text.ends_with("lat_ms_count{node_name=\"a\"} 3\n"));

        let mut e = Exposition::new(&[]);
        e.family("lat_seconds", "Latency.", Kind::Histogram);
        e.histogram(
            "lat_seconds",
            &[("shard", "1")],
            &h.snapshot(),
            1_000_000_000,
        );
        let text = e.finish();
        assert!(text.contains("lat_seconds_bucket{shard=\"1\",le=\"0.00001\"} 0\n"));
        assert!(text.contains("lat_seconds_bucket{shard=\"1\",le=\"10\"} 2\n"));
        assert!(text.contains("lat_seconds_count{shard=\"1\"} 3\n"));
    }

    #[test]
    fn special_floats() {
        let mut s = String::new();
        f64::NAN.write(&mut s);
        s.push(' ');
        f64::INFINITY.write(&mut s);
        s.push(' ');
        f64::NEG_INFINITY.write(&mut s);
        assert_eq!(s, "NaN +Inf -Inf");
    }
}
