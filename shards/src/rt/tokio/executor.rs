//! Shard threads, each with its own current-thread runtime, pinned.

use std::future::Future;
use std::time::Duration;

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
/// `main` on a current-thread runtime. tokio has no spin before parking;
/// `_spin_before_park` is accepted for the seam's sake and ignored.
pub fn start_pinned<G, F>(
    name: &str,
    cpu: Option<usize>,
    _spin_before_park: Duration,
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

/// Pins the calling thread to one CPU; a failure (a CPU outside the
/// process's mask) leaves it unpinned, as glommio's placement would refuse.
fn pin_to(cpu: usize) {
    // SAFETY: `set` is a plain bitmask on the stack; sched_setaffinity
    // only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            tracing::warn!(cpu, "cannot pin shard thread");
        }
    }
}
