//! Shard threads, each with its own current-thread runtime, pinned.

use std::future::Future;

use crate::rt::Tuning;
use crate::rt::affinity::pin_to;

/// A running shard thread.
pub struct ShardThread {
    handle: std::thread::JoinHandle<()>,
}

impl ShardThread {
    /// Waits for the shard's main future to finish.
    pub fn join(self) -> std::io::Result<()> {
        self.handle
            .join()
            .map_err(|_| std::io::Error::other("shard thread panicked"))
    }
}

/// Starts a thread named `name`, pinned to `cpu` when given, that runs
/// `main` on a current-thread runtime. tokio has no spin before parking
/// and no ring: `_tuning` is accepted for the seam's sake and ignored.
pub fn start_pinned<G, F>(
    name: &str,
    cpu: Option<usize>,
    _tuning: Tuning,
    main: G,
) -> std::io::Result<ShardThread>
where
    G: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()> + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if let Some(cpu) = cpu {
                pin_to(cpu);
            }
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, main());
        })?;
    Ok(ShardThread { handle })
}
