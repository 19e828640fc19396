//! criterion: the cross-shard hop, parked and busy.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

fn hop(c: &mut Criterion) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cpus = if cores > 1 { (0, 1) } else { (0, 0) };
    let mut g = c.benchmark_group("mesh_hop_round_trip");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for (name, spin) in [
        ("parked", Duration::ZERO),
        ("busy", Duration::from_millis(1)),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                kairos_benches::hop::round_trips(iters as usize, 100, spin, cpus)
                    .iter()
                    .sum()
            });
        });
    }
    g.finish();
}

criterion_group!(benches, hop);
criterion_main!(benches);
