//! Measures the cross-shard hop round trip with percentiles.
//!
//! `cargo run --release -p kairos-benches --bin mesh-hop -- [iters] [spin_us...]`
//! Default: 100000 round trips for spin 0 (parked) and 1000 µs (busy).

use std::time::Duration;

use hdrhistogram::Histogram;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let iters: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let spins: Vec<u64> = if args.len() > 1 {
        args[1..].iter().filter_map(|a| a.parse().ok()).collect()
    } else {
        vec![0, 50, 1000]
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpus = if cores > 1 { (0, 1) } else { (0, 0) };
    println!(
        "cross-shard hop round trip (A -> B -> A), {iters} samples, executors on cpus {cpus:?}"
    );
    println!(
        "{:>14} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "spin_before_park", "p50 ns", "p90 ns", "p99 ns", "p99.9 ns", "max ns"
    );
    for spin in spins {
        let samples =
            kairos_benches::hop::round_trips(iters, iters / 10, Duration::from_micros(spin), cpus);
        let mut h = Histogram::<u64>::new(3).expect("histogram");
        for s in samples {
            let _ = h.record(s.as_nanos() as u64);
        }
        println!(
            "{:>13}µs {:>10} {:>10} {:>10} {:>10} {:>10}",
            spin,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        );
    }
}
