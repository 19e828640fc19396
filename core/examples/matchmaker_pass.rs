//! Matchmaker pass time over a full pool, with realistic tickets.
//!
//! `cargo run --release -p kairos-core --example matchmaker_pass -- [tickets...]`
//! (default 1000 10000 100000). It lives in `core` (not `benches/`)
//! because it needs nothing else: a release build of `kairos-core` alone.
//!
//! Drives the pool the `kairos-matchmaker` thread runs
//! (`kairos_core::matchmaker::Pool`) directly: no thread, no network, so
//! the figure is the pass itself. Each ticket is one player with a mode
//! (3), a region (4) and a skill (0 to 3000, a triangle distribution), and
//! the query players send: its mode and region required, skill within
//! ±150 of its own. Two in three want a 1v1 (2 to 2), one in three a
//! 2v2 (4 to 4, count multiple 2). Every ticket is new, so every ticket
//! searches in the first pass (the worst case); the second pass is the
//! leftovers' last interval. Then a steady state: the pool refilled to
//! `tickets`, nine tenths of them waiting (inactive, each asking first for
//! a private code no one else has) and a tenth that just arrived, and one
//! pass (`steady_ms`).
//!
//! Each time is wall-clock; the `cpu` columns are the same spans in CPU
//! time of this thread (Linux's `/proc/thread-self/schedstat`, `-` where
//! it cannot be read), which waiting for a core on a busy machine does
//! not inflate.

use std::collections::BTreeMap;
use std::time::Instant;

use kairos_core::matchmaker::{PassConfig, Pool, Presence, TicketSpec};

const MODES: [&str; 3] = ["ranked", "casual", "custom"];
const REGIONS: [&str; 4] = ["eu", "us", "asia", "sa"];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn spec(i: usize, rng: &mut Lcg) -> TicketSpec {
    let mode = MODES[(rng.next() % 3) as usize];
    let region = REGIONS[(rng.next() % 4) as usize];
    let skill = ((rng.next() % 1501) + (rng.next() % 1501)) as f64;
    let (min, max, multiple) = if i % 3 == 2 { (4, 4, 2) } else { (2, 2, 1) };
    let session = format!("session-{i}");
    TicketSpec {
        presences: vec![Presence {
            session_id: session.clone(),
            user_id: format!("user-{i}"),
            username: format!("player{i}"),
            node: "kairos".into(),
        }],
        session_id: session,
        party_id: String::new(),
        query: format!(
            "+properties.mode:{mode} +properties.region:{region} +properties.skill:>={} +properties.skill:<={}",
            skill - 150.0,
            skill + 150.0
        ),
        min_count: min,
        max_count: max,
        count_multiple: multiple,
        string_properties: BTreeMap::from([
            ("mode".to_string(), mode.to_string()),
            ("region".to_string(), region.to_string()),
        ]),
        numeric_properties: BTreeMap::from([("skill".to_string(), skill)]),
    }
}

/// Nanoseconds this thread has run on a CPU, if the system says.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Times `f`: wall-clock milliseconds and CPU milliseconds of this thread.
fn timed<R>(f: impl FnOnce() -> R) -> (R, f64, Option<f64>) {
    let cpu = cpu_ns();
    let t = Instant::now();
    let r = f();
    let wall = t.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu.zip(cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e6);
    (r, wall, cpu)
}

fn ms(cpu: Option<f64>) -> String {
    cpu.map_or_else(|| "-".to_string(), |c| format!("{c:.0}"))
}

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .map(|a| a.parse().expect("a ticket count"))
            .collect();
        if args.is_empty() {
            vec![1_000, 10_000, 100_000]
        } else {
            args
        }
    };
    let config = PassConfig {
        max_intervals: 2,
        rev_precision: true,
    };
    println!(
        "tickets  add_ms  pass1_ms  matched1  candidates1  pass2_ms  matched2  left  steady_ms  steady_matched  add_cpu  pass1_cpu  steady_cpu"
    );
    for n in sizes {
        let mut rng = Lcg(42);
        let mut pool = Pool::new(3, n);
        let ((), add_ms, add_cpu) = timed(|| {
            for i in 0..n {
                pool.add(format!("ticket-{i}"), spec(i, &mut rng), 0)
                    .expect("a valid ticket");
            }
        });
        // The matches are dropped inside the span, as before.
        let (first, pass1, pass1_cpu) = timed(|| pool.pass(&config, || false).1);
        let t = Instant::now();
        let (_, second) = pool.pass(&config, || false);
        let pass2 = t.elapsed().as_secs_f64() * 1e3;
        let left = pool.len();
        // Steady state: refill to n with tickets that have waited their
        // intervals (two passes with nothing to match: each asks first for
        // a private `code` no other ticket has, as a private lobby would),
        // then a tenth that just arrived.
        let mut steady = Pool::new(3, n + left);
        let waiting = n - n / 10;
        for i in 0..waiting {
            let mut s = spec(n + i, &mut rng);
            s.query = format!("+properties.code:c{i} {}", s.query);
            steady.add(format!("wait-{i}"), s, 0).expect("valid");
        }
        steady.pass(&config, || false);
        steady.pass(&config, || false);
        for i in 0..n / 10 {
            steady
                .add(format!("new-{i}"), spec(2 * n + i, &mut rng), 0)
                .expect("valid");
        }
        let (third, steady_ms, steady_cpu) = timed(|| steady.pass(&config, || false).1);
        println!(
            "{n:>7}  {add_ms:>6.0}  {pass1:>8.1}  {:>8}  {:>11}  {pass2:>8.1}  {:>8}  {left:>4}  {steady_ms:>9.1}  {:>14}  {:>7}  {:>9}  {:>10}",
            first.tickets,
            first.candidates,
            second.tickets,
            third.tickets,
            ms(add_cpu),
            ms(pass1_cpu),
            ms(steady_cpu),
        );
    }
}
