//! The program cell: which [`Program`] a node's Lua code runs now.
//!
//! Every registered Lua function and match factory holds the node's one
//! cell rather than a program, so a reload ([`super::reload`]) changes
//! the code they run by swapping the cell's program, without touching
//! the immutable registry. A call reads the cell once, when it starts,
//! and runs on that program to its end; a match reads it once, when it
//! is created, and keeps that program until it ends. The read is an
//! `ArcSwap` load: no lock, and not on the relay path anyway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use super::Program;

/// The node's current Lua program, and how many times it was replaced.
pub(crate) struct ProgramCell {
    current: ArcSwap<Program>,
    /// Reloads that replaced the program.
    reloads: AtomicU64,
    /// Reloads refused because the new modules failed to load.
    failures: AtomicU64,
}

impl ProgramCell {
    pub fn new(program: Arc<Program>) -> ProgramCell {
        ProgramCell {
            current: ArcSwap::new(program),
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// The program a call or match starting now runs on.
    pub fn current(&self) -> Arc<Program> {
        self.current.load_full()
    }

    /// Makes `program` the one new calls and matches run on.
    pub fn replace(&self, program: Arc<Program>) {
        self.current.store(program);
        self.reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reload the new modules' errors refused.
    pub fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Reloads that replaced the program, and reloads refused.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.reloads.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }
}
