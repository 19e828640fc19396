//! One matchmaking pass over the pool (the algorithm is in the module
//! documentation, `mod.rs`).

use super::index::{MergeIter, Plan};
use super::pool::Pool;
use super::ticket::Ticket;

/// Accepted candidates a searching ticket collects at most before it forms
/// its group (it stops sooner, once they bring one presence more than its
/// group lacks).
pub const SCAN_HITS: usize = 64;

/// Candidates one search reads at most: what bounds a pass's cost to
/// `active tickets × MAX_READS` when old tickets that accept no one sit at
/// the head of every posting list. A ticket past them is found when it
/// searches itself.
pub const MAX_READS: usize = 1024;

/// The knobs of a pass (`matchmaker.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassConfig {
    /// Passes a ticket searches in before it may match with fewer than its
    /// `max_count` (`matchmaker.max_intervals`, at least 1).
    pub max_intervals: u32,
    /// Whether a candidate's query must accept the group too
    /// (`matchmaker.rev_precision`).
    pub rev_precision: bool,
}

/// One formed match: the searching ticket first, then the others in the
/// order they joined the group. Every ticket has left the pool.
#[derive(Debug)]
pub struct Matched {
    pub tickets: Vec<Ticket>,
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassStats {
    /// Tickets that searched.
    pub searched: usize,
    /// Candidates read from the index.
    pub candidates: usize,
    /// Matches formed.
    pub matches: usize,
    /// Tickets matched.
    pub tickets: usize,
}

impl Pool {
    /// Runs one pass. `past_rev_threshold` is asked before each search
    /// whether the pass has run longer than `rev_threshold` intervals;
    /// once it answers true, the pass stops checking queries in reverse.
    pub fn pass(
        &mut self,
        config: &PassConfig,
        mut past_rev_threshold: impl FnMut() -> bool,
    ) -> (Vec<Matched>, PassStats) {
        let mut stats = PassStats::default();
        let mut out = Vec::new();
        let mut relaxed = false;
        let active: Vec<u64> = self
            .tickets
            .values()
            .filter(|t| t.active)
            .map(|t| t.seq)
            .collect();
        for seq in active {
            let Some(t) = self.tickets.get_mut(&seq) else {
                continue; // matched earlier in this pass
            };
            t.intervals += 1;
            let last = t.intervals >= config.max_intervals || t.spec.min_count == t.spec.max_count;
            if last {
                t.active = false;
            }
            if config.rev_precision && !relaxed {
                relaxed = past_rev_threshold();
            }
            let reverse = config.rev_precision && !relaxed;
            stats.searched += 1;
            if let Some(group) = self.search(seq, last, reverse, &mut stats.candidates) {
                let tickets: Vec<Ticket> = group.into_iter().filter_map(|s| self.take(s)).collect();
                stats.matches += 1;
                stats.tickets += tickets.len();
                out.push(Matched { tickets });
            }
        }
        (out, stats)
    }

    /// The group ticket `seq` forms in this pass, itself first, if any.
    fn search(&self, seq: u64, last: bool, reverse: bool, read: &mut usize) -> Option<Vec<u64>> {
        let t = &self.tickets[&seq];
        let hits = self.hits(t, reverse, read);
        let mut group: Vec<&Ticket> = vec![t];
        let (mut lo, mut hi, mut size) = (t.spec.min_count, t.spec.max_count, t.count());
        'hits: for h in hits {
            let (new_lo, new_hi) = (lo.max(h.spec.min_count), hi.min(h.spec.max_count));
            let new_size = size + h.count();
            // Before its last interval the searcher only forms a full
            // group, which a candidate with a smaller maximum would cap.
            if !last && h.spec.max_count < t.spec.max_count {
                continue;
            }
            if new_lo > new_hi || new_size > new_hi {
                continue;
            }
            for g in &group[1..] {
                if h.shares_session(g) || h.same_party(g) {
                    continue 'hits;
                }
                if reverse && !(h.accepts(g) && g.accepts(h)) {
                    continue 'hits;
                }
            }
            group.push(h);
            (lo, hi, size) = (new_lo, new_hi, new_size);
            if size == hi {
                break;
            }
        }
        if group.len() > 1 && size == t.spec.max_count && fits(&group, size) {
            return Some(group.iter().map(|g| g.seq).collect());
        }
        if !last {
            return None;
        }
        // Last interval: the longest prefix of the group whose size every
        // member's window and multiple allow (the newest hits trimmed).
        for k in (2..=group.len()).rev() {
            let prefix = &group[..k];
            let size: usize = prefix.iter().map(|g| g.count()).sum();
            if fits(prefix, size) {
                return Some(prefix.iter().map(|g| g.seq).collect());
            }
        }
        None
    }

    /// The candidates ticket `t` accepts (and, with `reverse`, that accept
    /// it), best score first, ties oldest first.
    fn hits<'a>(&'a self, t: &Ticket, reverse: bool, read: &mut usize) -> Vec<&'a Ticket> {
        let searcher = reverse.then_some(&t.doc);
        let candidates: Box<dyn Iterator<Item = u64> + '_> =
            match self.index.plan(&t.query, searcher) {
                Plan::Posting(set) => Box::new(set.iter().copied()),
                Plan::Merge(sets) => Box::new(MergeIter::new(sets)),
                Plan::Seqs(seqs) => Box::new(seqs.into_iter()),
                Plan::All => Box::new(self.tickets.keys().copied()),
            };
        let mut hits: Vec<(f64, &Ticket)> = Vec::new();
        let mut brought = 0;
        for s in candidates.take(MAX_READS) {
            if s == t.seq {
                continue;
            }
            let Some(h) = self.tickets.get(&s) else {
                continue;
            };
            *read += 1;
            if h.spec.min_count > t.spec.max_count
                || h.spec.max_count < t.spec.min_count
                || t.shares_session(h)
                || t.same_party(h)
            {
                continue;
            }
            // A candidate that wants a larger match and will search again
            // is left to wait for one.
            if t.spec.max_count < h.spec.max_count && h.active {
                continue;
            }
            let Some(score) = t.score(h) else {
                continue;
            };
            if reverse && !h.accepts(t) {
                continue;
            }
            brought += h.count();
            hits.push((score, h));
            if hits.len() >= SCAN_HITS || brought > t.spec.max_count - t.count() {
                break;
            }
        }
        // Stable: equal scores keep age order.
        hits.sort_by(|a, b| b.0.total_cmp(&a.0));
        hits.into_iter().map(|(_, h)| h).collect()
    }
}

/// Whether a group of `size` presences suits every member: within its
/// window, and a multiple of its `count_multiple`.
fn fits(group: &[&Ticket], size: usize) -> bool {
    group.iter().all(|g| {
        g.spec.min_count <= size
            && size <= g.spec.max_count
            && size.is_multiple_of(g.spec.count_multiple)
    })
}
