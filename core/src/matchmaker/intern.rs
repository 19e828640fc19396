//! Strings the pool compares often (property paths and keywords, query
//! fields and terms, session and party ids) as small numbers: two
//! symbols are equal exactly when their strings are. Each symbol counts
//! the tickets holding it and is forgotten when the last one leaves, so
//! the table holds no more than the pool's own strings, however many
//! distinct strings tickets bring over time.
//!
//! Strings are found by a keyed hash (`std`'s SipHash, with a random key
//! per pool, so no client can choose colliding strings) that each symbol
//! keeps, so letting go of one neither hashes nor compares its string.
//! The pool's ids are found the same way ([`StrIndex`]).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// An interned string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Sym(u32);

#[derive(Debug, Default)]
pub(super) struct Interner {
    /// Symbols by their string's hash.
    ids: StrIndex<Sym>,
    /// By symbol: the string, its hash and how many holders it has (0:
    /// free).
    strs: Vec<(Box<str>, u64, u32)>,
    free: Vec<Sym>,
}

impl Interner {
    /// The symbol of `s`, with one more holder.
    pub(super) fn intern(&mut self, s: &str) -> Sym {
        let hash = self.ids.hash(s);
        if let Some(sym) = self
            .ids
            .find(hash, |sym| &*self.strs[sym.0 as usize].0 == s)
        {
            self.strs[sym.0 as usize].2 += 1;
            return sym;
        }
        let entry = (Box::from(s), hash, 1);
        let sym = match self.free.pop() {
            Some(sym) => {
                self.strs[sym.0 as usize] = entry;
                sym
            }
            None => {
                // The pool's capacity bounds the strings far below this.
                let sym = Sym(u32::try_from(self.strs.len()).expect("fewer than 2^32 strings"));
                self.strs.push(entry);
                sym
            }
        };
        self.ids.insert(hash, sym);
        sym
    }

    /// One holder of `sym` let go of it.
    pub(super) fn release(&mut self, sym: Sym) {
        let entry = &mut self.strs[sym.0 as usize];
        entry.2 -= 1;
        if entry.2 == 0 {
            entry.0 = Box::default();
            self.ids.remove(entry.1, sym);
            self.free.push(sym);
        }
    }

    /// The symbol of `s` if some ticket holds it.
    pub(super) fn get(&self, s: &str) -> Option<Sym> {
        self.ids
            .find(self.ids.hash(s), |sym| &*self.strs[sym.0 as usize].0 == s)
    }

    /// The string of `sym`.
    pub(super) fn resolve(&self, sym: Sym) -> &str {
        &self.strs[sym.0 as usize].0
    }

    /// Symbols held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.strs.iter().filter(|e| e.2 > 0).count()
    }
}

/// Values found by a string the caller keeps elsewhere (a symbol's, a
/// ticket's id): by the string's keyed hash, the caller telling which of
/// the few values with that hash is the one.
#[derive(Debug)]
pub(super) struct StrIndex<T> {
    keys: RandomState,
    by_hash: SymMap<u64, Few<T>>,
}

impl<T> Default for StrIndex<T> {
    fn default() -> Self {
        StrIndex {
            keys: RandomState::new(),
            by_hash: SymMap::default(),
        }
    }
}

impl<T: Copy + PartialEq> StrIndex<T> {
    /// The keyed hash of `s`.
    pub(super) fn hash(&self, s: &str) -> u64 {
        self.keys.hash_one(s)
    }

    /// The value with hash `hash` that `is` accepts.
    pub(super) fn find(&self, hash: u64, is: impl Fn(T) -> bool) -> Option<T> {
        self.by_hash.get(&hash)?.iter().find(|&&v| is(v)).copied()
    }

    pub(super) fn insert(&mut self, hash: u64, value: T) {
        self.by_hash.entry(hash).or_default().insert(value);
    }

    pub(super) fn remove(&mut self, hash: u64, value: T) {
        remove(&mut self.by_hash, hash, value);
    }

    /// Values held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_hash.values().map(|f| f.len()).sum()
    }
}

/// A set of a few values: one inline, more in a vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Few<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few::Many(Vec::new())
    }
}

impl<T: Copy + PartialEq> Few<T> {
    pub(super) fn iter(&self) -> std::slice::Iter<'_, T> {
        match self {
            Few::One(v) => std::slice::from_ref(v).iter(),
            Few::Many(v) => v.iter(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.iter().len()
    }

    pub(super) fn contains(&self, value: T) -> bool {
        self.iter().any(|&v| v == value)
    }

    /// Adds `value` unless it is there.
    pub(super) fn insert(&mut self, value: T) {
        if self.contains(value) {
            return;
        }
        let grown = match self {
            Few::One(first) => Few::Many(vec![*first, value]),
            Few::Many(v) if !v.is_empty() => {
                v.push(value);
                return;
            }
            Few::Many(_) => Few::One(value),
        };
        *self = grown;
    }

    /// Removes `value`; whether the set is now empty.
    pub(super) fn remove(&mut self, value: T) -> bool {
        match self {
            Few::One(v) => *v == value,
            Few::Many(v) => {
                v.retain(|&x| x != value);
                v.is_empty()
            }
        }
    }
}

/// Removes `value` from the set at `key`, and the set once empty.
pub(super) fn remove<K: std::hash::Hash + Eq, T: Copy + PartialEq>(
    map: &mut SymMap<K, Few<T>>,
    key: K,
    value: T,
) {
    if let Some(set) = map.get_mut(&key)
        && set.remove(value)
    {
        map.remove(&key);
    }
}

/// The hasher of maps keyed by symbols, slots or keyed hashes (which the
/// pool makes, so no client chooses what is hashed): one multiplication
/// per word.
#[derive(Default, Clone, Copy)]
pub(super) struct SymHasher(u64);

impl Hasher for SymHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A map keyed by symbols (or slots, or keyed hashes).
pub(super) type SymMap<K, V> = HashMap<K, V, BuildHasherDefault<SymHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_counted_and_forgotten() {
        let mut syms = Interner::default();
        let a = syms.intern("a");
        let b = syms.intern("b");
        assert_ne!(a, b);
        assert_eq!(syms.intern("a"), a);
        assert_eq!(syms.get("a"), Some(a));
        assert_eq!(syms.resolve(b), "b");
        syms.release(a);
        assert_eq!(syms.get("a"), Some(a), "one holder left");
        syms.release(a);
        assert_eq!(syms.get("a"), None);
        assert_eq!(syms.len(), 1);
        // A freed symbol is reused, for another string.
        let c = syms.intern("c");
        assert_eq!(c, a);
        assert_eq!(syms.resolve(c), "c");
        assert_eq!(syms.get("a"), None);
        syms.release(b);
        syms.release(c);
        assert_eq!(syms.len(), 0);
        assert_eq!(syms.ids.len(), 0);
    }

    #[test]
    fn a_few_values() {
        let mut few = Few::default();
        assert_eq!(few.len(), 0);
        few.insert(1);
        few.insert(1);
        assert_eq!(few, Few::One(1));
        few.insert(2);
        few.insert(3);
        assert_eq!(few.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert!(!few.remove(2));
        assert!(!few.remove(9));
        assert!(!few.remove(1));
        assert!(few.remove(3));
        let mut one = Few::One(4);
        assert!(!one.remove(5));
        assert!(one.remove(4));
        // Values sharing a hash are told apart by the caller.
        let mut index = StrIndex::default();
        index.insert(7, 'x');
        index.insert(7, 'y');
        assert_eq!(index.find(7, |v| v == 'y'), Some('y'));
        assert_eq!(index.find(8, |_| true), None);
        index.remove(7, 'x');
        assert_eq!(index.find(7, |v| v == 'x'), None);
        index.remove(7, 'y');
        assert_eq!(index.len(), 0);
    }
}
