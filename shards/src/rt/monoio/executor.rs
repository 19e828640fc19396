//! Shard threads, each with its own monoio runtime, pinned.

use std::future::Future;

use monoio::time::TimeDriver;
use monoio::{FusionDriver, FusionRuntime, IoUringDriver, LegacyDriver, RuntimeBuilder};

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

type Runtime = FusionRuntime<TimeDriver<IoUringDriver>, TimeDriver<LegacyDriver>>;

/// Builds the shard's runtime: io_uring with `ring_depth` entries when the
/// kernel allows it and `force_epoll` is off, else epoll.
fn build(tuning: &Tuning) -> std::io::Result<Runtime> {
    if tuning.force_epoll {
        return RuntimeBuilder::<LegacyDriver>::new()
            .enable_timer()
            .build()
            .map(FusionRuntime::Legacy);
    }
    let runtime = RuntimeBuilder::<FusionDriver>::new()
        .with_entries(tuning.ring_depth)
        .enable_timer()
        .build()?;
    if matches!(runtime, FusionRuntime::Legacy(_)) {
        tracing::warn!(
            "io_uring is unavailable (kernel, seccomp or RLIMIT_MEMLOCK): monoio runs on epoll"
        );
    }
    Ok(runtime)
}

/// Starts a thread named `name`, pinned to `cpu` when given, that runs
/// `main` on a monoio runtime. monoio has no spin before parking; the
/// spin of `tuning` is left to the mesh's own.
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
    // The runtime is built on its own thread (monoio's are not Send); a
    // failure to build it comes back before the thread goes on.
    let (built_tx, built_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if let Some(cpu) = cpu {
                pin_to(cpu);
            }
            let mut runtime = match build(&tuning) {
                Ok(r) => r,
                Err(e) => {
                    let _ = built_tx.send(Err(e));
                    return;
                }
            };
            let _ = built_tx.send(Ok(()));
            runtime.block_on(main());
        })?;
    match built_rx.recv() {
        Ok(Ok(())) => Ok(ShardThread { handle }),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(std::io::Error::other(format!(
                "cannot start the monoio runtime of {name}: {e}"
            )))
        }
        Err(_) => Err(std::io::Error::other(format!(
            "{name} ended before it started"
        ))),
    }
}
