//! Grouping sessions by the shard they live on, so that a message to many
//! sessions costs one mesh message per destination shard.

use uuid::Uuid;

/// Groups `(shard, session id)` pairs by shard: one entry per shard with
/// at least one session, in ascending shard order, each keeping its
/// session ids in the order given.
pub fn by_shard(items: impl IntoIterator<Item = (usize, Uuid)>) -> Vec<(usize, Vec<Uuid>)> {
    let mut items: Vec<(usize, Uuid)> = items.into_iter().collect();
    // Stable: ids on one shard keep their order.
    items.sort_by_key(|(shard, _)| *shard);
    let mut out: Vec<(usize, Vec<Uuid>)> = Vec::new();
    for (shard, id) in items {
        match out.last_mut() {
            Some((last, ids)) if *last == shard => ids.push(id),
            _ => out.push((shard, vec![id])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_in_shard_order_keeping_each_shards_order() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let grouped = by_shard([
            (2, ids[0]),
            (0, ids[1]),
            (2, ids[2]),
            (1, ids[3]),
            (0, ids[4]),
        ]);
        assert_eq!(
            grouped,
            vec![
                (0, vec![ids[1], ids[4]]),
                (1, vec![ids[3]]),
                (2, vec![ids[0], ids[2]]),
            ]
        );
        assert!(by_shard([]).is_empty());
    }
}
