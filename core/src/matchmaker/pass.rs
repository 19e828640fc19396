//! One matchmaking pass over the pool (the algorithm is in the module
//! documentation, `mod.rs`).

use super::index::{Entry, ListId, MergeIter, Plan};
use super::pool::Pool;
use super::ticket::{Hot, Ticket};

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
        let active: Vec<Entry> = self
            .order
            .iter(&self.seqs)
            .filter(|e| self.hot[e.slot as usize].active)
            .collect();
        for Entry { seq, slot } in active {
            if self.seqs[slot as usize] != seq {
                continue; // matched earlier in this pass
            }
            let t = &mut self.hot[slot as usize];
            let Some(ticket) = self.tickets[slot as usize].as_mut() else {
                continue;
            };
            ticket.intervals += 1;
            let last = ticket.intervals >= config.max_intervals || t.min_count == t.max_count;
            if last {
                t.active = false;
            }
            if config.rev_precision && !relaxed {
                relaxed = past_rev_threshold();
            }
            let reverse = config.rev_precision && !relaxed;
            stats.searched += 1;
            let (group, read) = self.search(slot, last, reverse, &mut stats.candidates);
            // Before any ticket leaves, so the counts still say where
            // the search stopped.
            for (list, n) in read {
                self.tidy(list, n);
            }
            if let Some(group) = group {
                let tickets: Vec<Ticket> = group.into_iter().filter_map(|s| self.take(s)).collect();
                stats.matches += 1;
                stats.tickets += tickets.len();
                out.push(Matched { tickets });
            }
        }
        (out, stats)
    }

    /// Drops the removed tickets among the first `n` entries of `list`,
    /// which a search has just read ([`List::tidy`]).
    ///
    /// [`List::tidy`]: super::index::List::tidy
    fn tidy(&mut self, list: ListId, n: usize) {
        match list {
            ListId::Order => self.order.tidy(n, &self.seqs),
            _ => {
                if let Some(l) = self.index.list_mut(list) {
                    l.tidy(n, &self.seqs);
                }
            }
        }
    }

    /// The group the ticket in slot `slot` forms in this pass, itself
    /// first, if any (as slots); and, when it skipped removed tickets,
    /// how far it read each list.
    fn search(
        &self,
        slot: u32,
        last: bool,
        reverse: bool,
        read: &mut usize,
    ) -> (Option<Vec<u32>>, ReadLists) {
        let t = &self.hot[slot as usize];
        let (hits, lists) = self.hits(slot, reverse, read);
        let mut group: Vec<(u32, &Hot)> = vec![(slot, t)];
        let (mut lo, mut hi, mut size) = (t.min_count, t.max_count, t.count);
        'hits: for (hs, h) in hits {
            let (new_lo, new_hi) = (lo.max(h.min_count), hi.min(h.max_count));
            let new_size = size + h.count;
            // Before its last interval the searcher only forms a full
            // group, which a candidate with a smaller maximum would cap.
            if !last && h.max_count < t.max_count {
                continue;
            }
            if new_lo > new_hi || new_size > new_hi {
                continue;
            }
            for (_, g) in &group[1..] {
                if h.shares_session(g) || h.same_party(g) {
                    continue 'hits;
                }
                if reverse && !(h.accepts(g, &self.syms) && g.accepts(h, &self.syms)) {
                    continue 'hits;
                }
            }
            group.push((hs, h));
            (lo, hi, size) = (new_lo, new_hi, new_size);
            if size == hi {
                break;
            }
        }
        if group.len() > 1 && size == t.max_count && fits(&group, size) {
            return (Some(group.iter().map(|&(s, _)| s).collect()), lists);
        }
        if !last {
            return (None, lists);
        }
        // Last interval: the longest prefix of the group whose size every
        // member's window and multiple allow (the newest hits trimmed).
        for k in (2..=group.len()).rev() {
            let prefix = &group[..k];
            let size: usize = prefix.iter().map(|(_, g)| g.count).sum();
            if fits(prefix, size) {
                return (Some(prefix.iter().map(|&(s, _)| s).collect()), lists);
            }
        }
        (None, lists)
    }

    /// The candidates the ticket in slot `slot` accepts (and, with
    /// `reverse`, that accept it), best score first, ties oldest first;
    /// and, when it skipped removed tickets, how far it read each list.
    fn hits(&self, slot: u32, reverse: bool, read: &mut usize) -> (Vec<(u32, &Hot)>, ReadLists) {
        let t = &self.hot[slot as usize];
        let searcher = reverse.then_some(&*t.props);
        let mut hits: Vec<(f64, u32, &Hot)> = Vec::new();
        let mut brought = 0;
        // Whether to stop reading, having read the candidate `e`.
        let mut read_one = |e: Entry| -> bool {
            if e.slot == slot {
                return false;
            }
            let h = &self.hot[e.slot as usize];
            *read += 1;
            if h.min_count > t.max_count
                || h.max_count < t.min_count
                || t.shares_session(h)
                || t.same_party(h)
            {
                return false;
            }
            // A candidate that wants a larger match and will search again
            // is left to wait for one.
            if t.max_count < h.max_count && h.active {
                return false;
            }
            let Some(score) = t.score(h, &self.syms) else {
                return false;
            };
            if reverse && !h.accepts(t, &self.syms) {
                return false;
            }
            brought += h.count;
            hits.push((score, e.slot, h));
            hits.len() >= SCAN_HITS || brought > t.max_count.saturating_sub(t.count)
        };
        let seqs = &self.seqs[..];
        let mut skipped = 0;
        let alive = |e: &Entry| {
            let alive = seqs[e.slot as usize] == e.seq;
            skipped += usize::from(!alive);
            alive
        };
        let mut lists = Vec::new();
        match self.index.plan(&t.matcher, searcher, &self.order, seqs) {
            Plan::Lists(read) => {
                let mut merged = MergeIter::new(read);
                scan(merged.by_ref().filter(alive), &mut read_one);
                if skipped > 0 {
                    lists.extend(merged.taken());
                }
            }
            Plan::Entries(entries) => scan(entries.into_iter(), &mut read_one),
        }
        // Stable: equal scores keep age order.
        hits.sort_by(|a, b| b.0.total_cmp(&a.0));
        (hits.into_iter().map(|(_, s, h)| (s, h)).collect(), lists)
    }
}

/// How far a search read each list, when it skipped removed tickets.
type ReadLists = Vec<(ListId, usize)>;

/// Reads at most [`MAX_READS`] candidates, until `read_one` says stop.
fn scan(candidates: impl Iterator<Item = Entry>, read_one: &mut impl FnMut(Entry) -> bool) {
    for e in candidates.take(MAX_READS) {
        if read_one(e) {
            break;
        }
    }
}

/// Whether a group of `size` presences suits every member: within its
/// window, and a multiple of its `count_multiple`.
fn fits(group: &[(u32, &Hot)], size: usize) -> bool {
    group.iter().all(|(_, g)| {
        g.min_count <= size && size <= g.max_count && size.is_multiple_of(g.count_multiple)
    })
}
