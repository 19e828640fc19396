//! criterion: a stream owner's membership table: a join and a leave in a
//! match of 8 members spread over 2 shards (each rebuilds the per-shard
//! delivery targets and the wire set, so sending allocates nothing).

use criterion::{Criterion, criterion_group, criterion_main};
use kairos_shards::fanout::{Presence, StreamId, StreamTable};
use kairos_shards::session::Wire;
use uuid::Uuid;

fn presence(shard: usize) -> Presence {
    Presence {
        session_id: Uuid::now_v7(),
        user_id: Uuid::new_v4(),
        username: "player".into(),
        shard,
        wire: Wire::Json,
        persistence: false,
        hidden: false,
        status: None,
    }
}

fn streams(c: &mut Criterion) {
    let mut table = StreamTable::default();
    let stream = StreamId::relayed_match(Uuid::new_v4());
    for i in 0..7 {
        table.join(&stream, presence(i % 2));
    }
    let joiner = presence(1);
    c.bench_function("stream_join_then_leave_8_members", |b| {
        b.iter(|| {
            table.join(&stream, joiner.clone());
            table.leave(&stream, joiner.session_id)
        })
    });
}

criterion_group!(benches, streams);
criterion_main!(benches);
