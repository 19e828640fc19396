//! Strings the pool compares often (property paths and keywords, query
//! fields and terms, session and party ids) as small numbers: two
//! symbols are equal exactly when their strings are. Each symbol counts
//! the tickets holding it and is forgotten when the last one leaves, so
//! the table holds no more than the pool's own strings, however many
//! distinct strings tickets bring over time.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// An interned string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Sym(u32);

#[derive(Debug, Default)]
pub(super) struct Interner {
    ids: HashMap<Arc<str>, Sym>,
    /// By symbol: the string and how many holders it has (0: free).
    strs: Vec<(Arc<str>, u32)>,
    free: Vec<Sym>,
}

impl Interner {
    /// The symbol of `s`, with one more holder.
    pub(super) fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            self.strs[sym.0 as usize].1 += 1;
            return sym;
        }
        let text: Arc<str> = Arc::from(s);
        let sym = match self.free.pop() {
            Some(sym) => {
                self.strs[sym.0 as usize] = (text.clone(), 1);
                sym
            }
            None => {
                // The pool's capacity bounds the strings far below this.
                let sym = Sym(u32::try_from(self.strs.len()).expect("fewer than 2^32 strings"));
                self.strs.push((text.clone(), 1));
                sym
            }
        };
        self.ids.insert(text, sym);
        sym
    }

    /// One holder of `sym` let go of it.
    pub(super) fn release(&mut self, sym: Sym) {
        let entry = &mut self.strs[sym.0 as usize];
        entry.1 -= 1;
        if entry.1 == 0 {
            let text = std::mem::replace(&mut entry.0, Arc::from(""));
            self.ids.remove(&text);
            self.free.push(sym);
        }
    }

    /// The symbol of `s` if some ticket holds it.
    pub(super) fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    /// The string of `sym`.
    pub(super) fn resolve(&self, sym: Sym) -> &str {
        &self.strs[sym.0 as usize].0
    }

    /// Symbols held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The hasher of maps keyed by symbols (which the pool hands out, so no
/// client chooses what is hashed): one multiplication per word.
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

/// A map keyed by symbols.
pub(super) type SymMap<K, V> = HashMap<K, V, BuildHasherDefault<SymHasher>>;
