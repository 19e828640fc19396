//! Pinned executors, one per shard.

use std::future::Future;
use std::time::Duration;

use glommio::{LocalExecutorBuilder, Placement};

use crate::rt::Tuning;

/// A running shard thread.
pub struct ShardThread {
    handle: glommio::ExecutorJoinHandle<()>,
}

impl ShardThread {
    /// Waits for the shard's main future to finish.
    pub fn join(self) -> std::io::Result<()> {
        self.handle
            .join()
            .map_err(|e| std::io::Error::other(format!("shard thread failed: {e}")))
    }
}

/// Starts an executor thread named `name`, pinned to `cpu` when given, that
/// polls for `tuning.spin_before_park` before sleeping when idle, with
/// rings of `tuning.ring_depth` entries, and runs `main`.
pub fn start_pinned<G, F>(
    name: &str,
    cpu: Option<usize>,
    tuning: Tuning,
    main: G,
) -> std::io::Result<ShardThread>
where
    G: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()> + 'static,
{
    let placement = match cpu {
        Some(cpu) => Placement::Fixed(cpu),
        None => Placement::Unbound,
    };
    let mut builder = LocalExecutorBuilder::new(placement)
        .name(name)
        // We do no file I/O; keep locked memory well under RLIMIT_MEMLOCK.
        .io_memory(512 << 10)
        .ring_depth(tuning.ring_depth as usize)
        .preempt_timer(Duration::from_millis(10));
    if !tuning.spin_before_park.is_zero() {
        builder = builder.spin_before_park(tuning.spin_before_park);
    }
    let handle = builder
        .spawn(main)
        .map_err(|e| std::io::Error::other(format!("cannot start executor {name}: {e}")))?;
    Ok(ShardThread { handle })
}
