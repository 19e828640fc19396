//! The rank index of one leaderboard period: exact ranks of every owner,
//! kept in memory and answered without the store.
//!
//! An order-statistics structure built as a sorted list of sorted blocks
//! (the layout of Python's `sortedcontainers.SortedList`, a two-level
//! B-tree): records sit in rank order in blocks of at most
//! [`BLOCK`] keys, the blocks in order, and a Fenwick tree over the
//! blocks' lengths gives how many records precede a block. So:
//!
//! * finding a key is a binary search over the blocks' last keys and one
//!   inside its block: `O(log n)`;
//! * inserting or removing one shifts at most [`BLOCK`] keys of one block
//!   (a `memmove` of a few KiB) and updates the Fenwick tree in
//!   `O(log b)`; a block that grows past `2 * BLOCK` splits, one that
//!   empties goes, each rebuilding the tree in `O(b)`, amortized over
//!   the `BLOCK` changes between two;
//! * a rank is the Fenwick prefix plus the position in the block.
//!
//! With a million records that is about a thousand blocks: the index
//! costs about 40 bytes a record (key plus the owner map) and a few
//! microseconds an update (`BENCHMARKS.md`, "Leaderboards").
//!
//! Keys are normalized so that ascending key order *is* rank order:
//! `(score, subscore, owner)` for an ascending board, each bitwise negated
//! for a descending one (Nakama breaks ties on owner id in the board's own
//! direction). Each owner's entry carries its `num_score` as a generation,
//! as in Nakama's rank cache: an update older than the entry held (two
//! writes whose answers crossed) is ignored.

use std::collections::HashMap;

use uuid::Uuid;

use super::SortOrder;

/// Target block size; a block splits past twice this.
pub const BLOCK: usize = 512;

type Key = (i64, i64, u128);

/// What the index is built from: a stored record's `(owner, score,
/// subscore, num_score)`.
pub type RankRow = (Uuid, i64, i64, i32);

/// Exact ranks of one leaderboard period.
#[derive(Clone, Debug)]
pub struct RankIndex {
    sort: SortOrder,
    blocks: Vec<Vec<Key>>,
    /// Fenwick tree over `blocks[i].len()`.
    fenwick: Vec<usize>,
    owners: HashMap<Uuid, (Key, i32)>,
}

impl RankIndex {
    pub fn new(sort: SortOrder) -> RankIndex {
        RankIndex {
            sort,
            blocks: Vec::new(),
            fenwick: Vec::new(),
            owners: HashMap::new(),
        }
    }

    /// Builds an index from stored rows `(owner, score, subscore,
    /// num_score)` in any order, in `O(n log n)`.
    pub fn from_rows(sort: SortOrder, rows: Vec<RankRow>) -> RankIndex {
        let mut index = RankIndex::new(sort);
        let mut keys = Vec::with_capacity(rows.len());
        index.owners.reserve(rows.len());
        for (owner, score, subscore, generation) in rows {
            let key = index.key(owner, score, subscore);
            if index.owners.insert(owner, (key, generation)).is_none() {
                keys.push(key);
            }
        }
        keys.sort_unstable();
        index.blocks = keys.chunks(BLOCK).map(<[Key]>::to_vec).collect();
        index.rebuild();
        index
    }

    pub fn sort_order(&self) -> SortOrder {
        self.sort
    }

    /// How many owners are ranked.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    fn key(&self, owner: Uuid, score: i64, subscore: i64) -> Key {
        let o = owner.as_u128();
        match self.sort {
            SortOrder::Ascending => (score, subscore, o),
            SortOrder::Descending => (!score, !subscore, !o),
        }
    }

    fn unkey(&self, k: Key) -> (Uuid, i64, i64) {
        match self.sort {
            SortOrder::Ascending => (Uuid::from_u128(k.2), k.0, k.1),
            SortOrder::Descending => (Uuid::from_u128(!k.2), !k.0, !k.1),
        }
    }

    /// Sets `owner`'s record to `(score, subscore)` unless the index holds
    /// a newer one (a larger `generation`); returns the owner's rank
    /// (1-based) afterwards.
    pub fn upsert(&mut self, owner: Uuid, score: i64, subscore: i64, generation: i32) -> u64 {
        let key = self.key(owner, score, subscore);
        match self.owners.get(&owner).copied() {
            Some((old, g)) if g >= generation => return self.rank_of(old),
            Some((old, _)) => self.remove_key(old),
            None => {}
        }
        self.owners.insert(owner, (key, generation));
        self.insert_key(key);
        self.rank_of(key)
    }

    /// Forgets `owner`; whether it was ranked.
    pub fn remove(&mut self, owner: Uuid) -> bool {
        match self.owners.remove(&owner) {
            Some((key, _)) => {
                self.remove_key(key);
                true
            }
            None => false,
        }
    }

    /// `owner`'s rank (1-based), if ranked.
    pub fn rank(&self, owner: Uuid) -> Option<u64> {
        self.owners.get(&owner).map(|(k, _)| self.rank_of(*k))
    }

    /// The owner, score and subscore at `rank` (1-based).
    pub fn at_rank(&self, rank: u64) -> Option<(Uuid, i64, i64)> {
        let mut left = usize::try_from(rank.checked_sub(1)?).ok()?;
        for b in &self.blocks {
            if left < b.len() {
                return Some(self.unkey(b[left]));
            }
            left -= b.len();
        }
        None
    }

    /// Every owner in rank order (for tests and checks).
    pub fn iter(&self) -> impl Iterator<Item = (Uuid, i64, i64)> + '_ {
        self.blocks.iter().flatten().map(|k| self.unkey(*k))
    }

    /// The block that holds (or would hold) `key`.
    fn block_of(&self, key: &Key) -> usize {
        let i = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|last| last < key));
        i.min(self.blocks.len().saturating_sub(1))
    }

    fn rank_of(&self, key: Key) -> u64 {
        let i = self.block_of(&key);
        let within = self
            .blocks
            .get(i)
            .map_or(0, |b| b.partition_point(|k| *k < key));
        (self.prefix(i) + within + 1) as u64
    }

    fn insert_key(&mut self, key: Key) {
        if self.blocks.is_empty() {
            self.blocks.push(vec![key]);
            self.rebuild();
            return;
        }
        let i = self.block_of(&key);
        let block = &mut self.blocks[i];
        let at = block.partition_point(|k| *k < key);
        block.insert(at, key);
        if block.len() > 2 * BLOCK {
            let tail = block.split_off(BLOCK);
            self.blocks.insert(i + 1, tail);
            self.rebuild();
        } else {
            self.add(i, 1);
        }
    }

    fn remove_key(&mut self, key: Key) {
        let i = self.block_of(&key);
        let Some(block) = self.blocks.get_mut(i) else {
            return;
        };
        let Ok(at) = block.binary_search(&key) else {
            return;
        };
        block.remove(at);
        if block.is_empty() {
            self.blocks.remove(i);
            self.rebuild();
        } else {
            self.sub(i);
        }
    }

    /// Records in `blocks[..i]`.
    fn prefix(&self, i: usize) -> usize {
        let mut sum = 0;
        let mut j = i;
        while j > 0 {
            sum += self.fenwick[j - 1];
            j &= j - 1;
        }
        sum
    }

    fn add(&mut self, i: usize, n: usize) {
        let mut j = i + 1;
        while j <= self.fenwick.len() {
            self.fenwick[j - 1] += n;
            j += j & j.wrapping_neg();
        }
    }

    fn sub(&mut self, i: usize) {
        let mut j = i + 1;
        while j <= self.fenwick.len() {
            self.fenwick[j - 1] -= 1;
            j += j & j.wrapping_neg();
        }
    }

    fn rebuild(&mut self) {
        let n = self.blocks.len();
        self.fenwick.clear();
        self.fenwick.extend(self.blocks.iter().map(Vec::len));
        for j in 1..=n {
            let parent = j + (j & j.wrapping_neg());
            if parent <= n {
                self.fenwick[parent - 1] += self.fenwick[j - 1];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*), so the property test
    /// needs no extra crate and replays the same cases.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The reference: every record sorted as Nakama's SQL orders them.
    fn sorted(sort: SortOrder, model: &HashMap<Uuid, (i64, i64)>) -> Vec<(Uuid, i64, i64)> {
        let mut v: Vec<_> = model.iter().map(|(o, (s, ss))| (*o, *s, *ss)).collect();
        v.sort_by(|a, b| {
            let ka = (a.1, a.2, a.0);
            let kb = (b.1, b.2, b.0);
            match sort {
                SortOrder::Ascending => ka.cmp(&kb),
                SortOrder::Descending => kb.cmp(&ka),
            }
        });
        v
    }

    #[test]
    fn ranks_match_a_sort_of_the_records() {
        for (seed, sort) in [(7, SortOrder::Descending), (11, SortOrder::Ascending)] {
            let mut rng = Rng(seed);
            let owners: Vec<Uuid> = (0..3000)
                .map(|_| Uuid::from_u128(rng.next() as u128 * 31))
                .collect();
            let mut index = RankIndex::new(sort);
            let mut model = HashMap::new();
            let mut generation = HashMap::new();
            for step in 0..20_000 {
                let owner = owners[rng.below(owners.len() as u64) as usize];
                if rng.below(10) == 0 {
                    assert_eq!(index.remove(owner), model.remove(&owner).is_some());
                    generation.remove(&owner);
                } else {
                    // Few distinct scores, so ties on score and subscore
                    // are common and the owner id decides.
                    let (s, ss) = (rng.below(50) as i64, rng.below(3) as i64);
                    let g = generation.entry(owner).or_insert(0);
                    *g += 1;
                    let rank = index.upsert(owner, s, ss, *g);
                    model.insert(owner, (s, ss));
                    // The reference rank: how many records sort before it.
                    let me = (s, ss, owner);
                    let before = model
                        .iter()
                        .filter(|(o, (a, b))| match sort {
                            SortOrder::Ascending => (*a, *b, **o) < me,
                            SortOrder::Descending => (*a, *b, **o) > me,
                        })
                        .count();
                    assert_eq!(rank, before as u64 + 1, "step {step}");
                }
                if step % 997 == 0 {
                    let reference = sorted(sort, &model);
                    assert_eq!(index.iter().collect::<Vec<_>>(), reference);
                    for (i, r) in reference.iter().enumerate() {
                        assert_eq!(index.rank(r.0), Some(i as u64 + 1));
                        assert_eq!(index.at_rank(i as u64 + 1), Some(*r));
                    }
                    assert_eq!(index.len(), reference.len());
                }
            }
            // A bulk build gives the same order.
            let rows = model.iter().map(|(o, (s, ss))| (*o, *s, *ss, 1)).collect();
            let built = RankIndex::from_rows(sort, rows);
            assert_eq!(
                built.iter().collect::<Vec<_>>(),
                index.iter().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn an_older_generation_does_not_overwrite_a_newer_one() {
        let mut index = RankIndex::new(SortOrder::Descending);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(index.upsert(a, 10, 0, 2), 1);
        assert_eq!(index.upsert(b, 20, 0, 1), 1);
        assert_eq!(index.rank(a), Some(2));
        // a's generation-1 answer arrives late: ignored.
        assert_eq!(index.upsert(a, 99, 0, 1), 2);
        assert_eq!(index.upsert(a, 99, 0, 3), 1);
        assert_eq!(index.at_rank(1), Some((a, 99, 0)));
        assert_eq!(index.at_rank(3), None);
        assert_eq!(index.at_rank(0), None);
        assert!(index.remove(a));
        assert!(!index.remove(a));
        assert_eq!(index.rank(b), Some(1));
    }

    #[test]
    fn extreme_scores_and_ties_order_as_nakama() {
        let mut desc = RankIndex::new(SortOrder::Descending);
        let lo = Uuid::from_u128(1);
        let hi = Uuid::from_u128(u128::MAX);
        desc.upsert(lo, i64::MAX, 0, 1);
        desc.upsert(hi, i64::MAX, 0, 1);
        desc.upsert(Uuid::from_u128(5), 0, i64::MAX, 1);
        // Ties break on owner id descending for a descending board.
        assert_eq!(desc.rank(hi), Some(1));
        assert_eq!(desc.rank(lo), Some(2));
        let mut asc = RankIndex::new(SortOrder::Ascending);
        asc.upsert(lo, 0, 0, 1);
        asc.upsert(hi, 0, 0, 1);
        assert_eq!(asc.rank(lo), Some(1));
    }
}
