//! criterion: relaying one match message to 8, 64 and 1,000 recipients
//! spread over 2 shards, as the owner shard does it: encode the `match_data`
//! envelope once per wire its members speak (`session::Frames`), queue a
//! reference to its wire's bytes for each local recipient, and hand the
//! other shard one mesh message carrying its recipient list and the same
//! encodings, which that shard queues for its own recipients. Both shards
//! run on this thread here, so the figure is the CPU cost per message
//! without cross-core wake-ups. Recipients speak JSON (`json/N`), or half
//! JSON and half FlatBuffers (`mixed/N`, two encodings per message).
//!
//! Also prints heap allocations per relayed message, counted by a wrapping
//! global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kairos_schema::rtapi::{MatchData, Outgoing, UserPresence};
use kairos_shards::mesh::Mesh;
use kairos_shards::rt::LocalQueue;
use kairos_shards::session::{Frame, Frames, Wire, WireSet};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type Delivery = (Arc<[usize]>, Frames);

struct World {
    queues: Vec<LocalQueue<Frame>>,
    /// The wire of each recipient.
    wires: Vec<Wire>,
    wire_set: WireSet,
    /// Recipients on shard 0 (the owner) and on shard 1.
    local: Arc<[usize]>,
    remote: Arc<[usize]>,
    mesh: Arc<Mesh<Delivery>>,
    sender: UserPresence,
    payload: Bytes,
}

impl World {
    fn new(recipients: usize, mixed: bool) -> World {
        let queues = (0..recipients).map(|_| LocalQueue::new(1 << 20)).collect();
        let wires: Vec<Wire> = (0..recipients)
            .map(|i| {
                if mixed && i % 4 >= 2 {
                    Wire::Flat
                } else {
                    Wire::Json
                }
            })
            .collect();
        let wire_set = wires.iter().copied().collect();
        let local: Arc<[usize]> = (0..recipients).filter(|i| i % 2 == 0).collect();
        let remote: Arc<[usize]> = (0..recipients).filter(|i| i % 2 == 1).collect();
        World {
            queues,
            wires,
            wire_set,
            local,
            remote,
            mesh: Mesh::new(2, 1024),
            sender: UserPresence {
                user_id: uuid::Uuid::new_v4().to_string(),
                session_id: uuid::Uuid::new_v4().to_string(),
                username: "player_one".into(),
                ..Default::default()
            },
            payload: Bytes::from(vec![42u8; 32]),
        }
    }

    /// One relayed message, as in `realtime::matches::on_data`.
    fn relay(
        &self,
        owner: &kairos_shards::mesh::MeshPort<Delivery>,
        other: &kairos_shards::mesh::MeshPort<Delivery>,
        batch: &mut Vec<(usize, Delivery)>,
    ) {
        let msg = Outgoing::MatchData(MatchData {
            match_id: "c1bd1a7a-4a4f-4c52-9a5e-7b1fbd2a7c11.".into(),
            presence: self.sender.clone(),
            op_code: 1,
            data: self.payload.clone(),
            reliable: true,
        });
        let frames = Frames::encode_with("", &msg, self.wire_set, true);
        for &i in self.local.iter() {
            if let Some(f) = frames.frame(self.wires[i]) {
                let _ = self.queues[i].push(f);
            }
        }
        owner.send(1, (self.remote.clone(), frames));
        other.try_recv_batch(batch, 32);
        for (_, (sessions, frames)) in batch.drain(..) {
            for &i in sessions.iter() {
                if let Some(f) = frames.frame(self.wires[i]) {
                    let _ = self.queues[i].push(f);
                }
            }
        }
    }

    fn drain(&self, scratch: &mut Vec<Frame>) {
        for q in &self.queues {
            q.drain_into(scratch, usize::MAX);
            scratch.clear();
        }
    }
}

fn fanout(c: &mut Criterion) {
    let mut g = c.benchmark_group("relay_fanout_2_shards");
    for (mixed, n) in [
        (false, 8usize),
        (false, 64),
        (false, 1000),
        (true, 8),
        (true, 64),
        (true, 1000),
    ] {
        let name = format!("{}/{n}", if mixed { "mixed" } else { "json" });
        let world = World::new(n, mixed);
        let owner = world.mesh.port(0);
        let other = world.mesh.port(1);
        let mut batch = Vec::with_capacity(32);
        let mut scratch = Vec::with_capacity(n);
        // Allocations per message, after a warm-up.
        for _ in 0..100 {
            world.relay(&owner, &other, &mut batch);
            world.drain(&mut scratch);
        }
        let before = ALLOCS.load(Ordering::Relaxed);
        for _ in 0..1000 {
            world.relay(&owner, &other, &mut batch);
            world.drain(&mut scratch);
        }
        let per_msg = (ALLOCS.load(Ordering::Relaxed) - before) as f64 / 1000.0;
        eprintln!(
            "relay_fanout_2_shards/{name}: {per_msg:.1} heap allocations per relayed message"
        );
        g.bench_with_input(BenchmarkId::from_parameter(&name), &n, |b, _| {
            b.iter(|| {
                world.relay(&owner, &other, &mut batch);
                world.drain(&mut scratch);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
