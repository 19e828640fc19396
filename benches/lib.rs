//! Shared measurement helpers for the benches and the `mesh-hop` program.

pub mod hop;
