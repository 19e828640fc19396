//! The cross-shard hop: shard A sends a message to shard B through the mesh
//! and B sends it straight back. Two pinned executors, as in the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kairos_shards::mesh::Mesh;
use kairos_shards::rt::{Tuning, start_pinned};

/// Runs `iters` round trips after `warmup` and returns each round trip's
/// duration. `spin` is the executors' spin-before-park: zero means an idle
/// shard parks at once (every hop pays a wake-up), a larger value keeps it
/// polling (the busy case).
pub fn round_trips(
    iters: usize,
    warmup: usize,
    spin: Duration,
    cpus: (usize, usize),
) -> Vec<Duration> {
    let total = iters + warmup;
    let tuning = Tuning {
        spin_before_park: spin,
        ..Tuning::default()
    };
    let mesh: Arc<Mesh<u64>> = Mesh::new(2, 1024);
    let echo_mesh = mesh.clone();
    let echo = start_pinned("hop-echo", Some(cpus.1), tuning, move || async move {
        let port = echo_mesh.port(1).with_spin(spin);
        let mut batch = Vec::with_capacity(64);
        let mut seen = 0;
        while seen < total {
            batch.clear();
            port.recv_batch(&mut batch, 64).await;
            for (_, v) in batch.drain(..) {
                port.send(0, v);
                seen += 1;
            }
        }
    })
    .expect("echo executor");
    let (tx, rx) = std::sync::mpsc::channel();
    let driver = start_pinned("hop-driver", Some(cpus.0), tuning, move || async move {
        let port = mesh.port(0).with_spin(spin);
        let mut batch = Vec::with_capacity(64);
        let mut samples = Vec::with_capacity(iters);
        for i in 0..total {
            let start = Instant::now();
            port.send(1, i as u64);
            batch.clear();
            port.recv_batch(&mut batch, 64).await;
            if i >= warmup {
                samples.push(start.elapsed());
            }
        }
        let _ = tx.send(samples);
    })
    .expect("driver executor");
    driver.join().expect("driver");
    echo.join().expect("echo");
    rx.recv().expect("samples")
}
