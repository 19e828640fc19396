//! The listing's own view of every live match: what a listing returns
//! (id, label, size, tick rate, handler) by slot, the slot the index
//! documents carry. Sizes and relayed matches live only here: they change
//! with every join and leave, which the index need not hear of.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

/// One live match.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The id on the wire: `<uuid>.<node>`, or `<uuid>.` when relayed.
    pub match_id: String,
    pub authoritative: bool,
    pub label: String,
    pub tick_rate: u32,
    pub handler_name: String,
    /// Nanoseconds since the epoch; newest are listed first.
    pub create_time: i64,
    pub size: usize,
}

/// Matches by slot. Slots are reused, so the index's slot field stays
/// small; a removed match's slot is free for the next one.
#[derive(Default)]
pub struct Table {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    by_id: HashMap<Uuid, u32>,
    /// Each kind's matches by `(create_time, slot)` (relayed at 0,
    /// authoritative at 1), for listing them newest first without a sort
    /// or a search.
    order: [BTreeSet<(i64, u32)>; 2],
}

impl Table {
    pub fn slot_of(&self, id: &Uuid) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    pub fn get(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    /// Adds `entry` under `id`; its slot. The id must not be present.
    pub fn insert(&mut self, id: Uuid, entry: Entry) -> u32 {
        let key = (usize::from(entry.authoritative), entry.create_time);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(entry);
                s
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.by_id.insert(id, slot);
        self.order[key.0].insert((key.1, slot));
        slot
    }

    /// Removes match `id`; its slot and entry.
    pub fn remove(&mut self, id: &Uuid) -> Option<(u32, Entry)> {
        let slot = self.by_id.remove(id)?;
        let entry = self.slots[slot as usize].take()?;
        self.order[usize::from(entry.authoritative)].remove(&(entry.create_time, slot));
        self.free.push(slot);
        Some((slot, entry))
    }

    /// Every live match of one kind, newest first.
    pub fn newest(&self, authoritative: bool) -> impl Iterator<Item = &Entry> {
        self.order[usize::from(authoritative)]
            .iter()
            .rev()
            .filter_map(|(_, slot)| self.get(*slot))
    }

    /// One bit per slot: set where the match's size is within `range`.
    pub fn sized(&self, range: &SizeRange) -> Vec<u64> {
        let mut bits = vec![0u64; self.slots.len().div_ceil(64)];
        for (i, e) in self.slots.iter().enumerate() {
            if e.as_ref().is_some_and(|e| range.contains(e.size)) {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    }
}

/// `min_size` and `max_size`, each optional and inclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SizeRange {
    pub min: Option<usize>,
    pub max: Option<usize>,
}

impl SizeRange {
    pub fn is_any(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }

    pub fn contains(&self, size: usize) -> bool {
        self.min.is_none_or(|m| size >= m) && self.max.is_none_or(|m| size <= m)
    }
}

/// Whether bit `slot` is set in `bits` (from [`Table::sized`]).
pub fn has(bits: &[u64], slot: u64) -> bool {
    bits.get((slot / 64) as usize)
        .is_some_and(|w| w & (1 << (slot % 64)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(authoritative: bool, size: usize, create_time: i64) -> Entry {
        Entry {
            match_id: String::new(),
            authoritative,
            label: String::new(),
            tick_rate: 0,
            handler_name: String::new(),
            create_time,
            size,
        }
    }

    #[test]
    fn slots_are_reused_and_sizes_filter() {
        let mut t = Table::default();
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(t.insert(a, entry(true, 1, 1)), 0);
        assert_eq!(t.insert(b, entry(false, 4, 2)), 1);
        assert_eq!(t.remove(&a).unwrap().0, 0);
        assert!(t.remove(&a).is_none());
        assert_eq!(t.insert(c, entry(false, 2, 3)), 0, "the freed slot");
        let relayed: Vec<i64> = t.newest(false).map(|e| e.create_time).collect();
        assert_eq!(relayed, vec![3, 2]);
        assert_eq!(t.newest(true).count(), 0);
        let range = SizeRange {
            min: Some(3),
            max: None,
        };
        let bits = t.sized(&range);
        assert!(!has(&bits, 0) && has(&bits, 1) && !has(&bits, 2) && !has(&bits, 999));
        assert!(SizeRange::default().is_any());
        assert!(
            SizeRange {
                min: Some(2),
                max: Some(2)
            }
            .contains(2)
        );
    }
}
