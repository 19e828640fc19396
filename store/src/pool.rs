//! The persistence pool: its own threads running a tokio runtime, apart
//! from the shards. Shards submit jobs with [`Persist::run`] and await a
//! [`Reply`], a oneshot that any executor can poll; the pool never runs on a
//! shard thread and a shard never blocks on the pool.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::histogram::Histogram;

use crate::Store;
use crate::common;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;

/// Where and how to persist.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `postgres://user[:pass]@host:port/db` (PostgreSQL or CockroachDB), or
    /// Nakama's `user:pass@host:port/db`. `None`: embedded SQLite.
    pub address: Option<String>,
    /// Directory of the SQLite file (`kairos.db`).
    pub data_dir: PathBuf,
    /// Threads of the pool.
    pub threads: usize,
    /// Most PostgreSQL connections open at once.
    pub max_open_conns: usize,
    /// bcrypt cost for new passwords (Nakama uses 10; 4 is the minimum,
    /// handy in tests).
    pub password_hash_cost: u32,
    /// PostgreSQL schema to use instead of the default search path: created
    /// if missing and set as every pooled connection's `search_path`.
    /// Letters, digits and `_` only. Tests isolate themselves with it; the
    /// server leaves it `None`.
    pub pg_schema: Option<String>,
}

/// Counters of the pool, kept with atomics only (nothing locks on submit).
#[derive(Default)]
pub struct PoolStats {
    /// Jobs handed to [`Persist::run`].
    pub submitted: AtomicU64,
    /// Jobs that ran to the end (successfully or not).
    pub completed: AtomicU64,
    /// Total nanoseconds jobs waited between submission and start.
    pub wait_nanos: AtomicU64,
    /// Total nanoseconds jobs ran.
    pub run_nanos: AtomicU64,
    /// How long jobs waited for a pool thread.
    pub wait: Histogram,
    /// How long jobs ran (the query, or the password hash).
    pub run: Histogram,
}

struct Inner {
    handle: tokio::runtime::Handle,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    store: Arc<dyn Store>,
    /// Shared with running jobs, which must not hold `Inner` itself: the
    /// last handle dropping inside a job would drop the runtime on its own
    /// thread.
    stats: Arc<PoolStats>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Never block in drop (it may run on any thread, even a runtime's).
        let runtime = match self.runtime.get_mut() {
            Ok(r) => r.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(rt) = runtime {
            rt.shutdown_background();
        }
    }
}

/// A handle to the pool; cheap to clone and share between shards
/// (`Clone + Send + Sync`).
#[derive(Clone)]
pub struct Persist {
    inner: Arc<Inner>,
}

impl Persist {
    /// Starts the pool threads (`kairos-persist-N`) and connects to the
    /// configured backend: SQLite at `<data_dir>/kairos.db` when
    /// `cfg.address` is `None`, PostgreSQL/CockroachDB otherwise. Does not
    /// migrate. Callable from any thread.
    pub fn open(cfg: &StoreConfig) -> ApiResult<Persist> {
        let threads = cfg.threads.max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .max_blocking_threads((threads * 4).max(8))
            .thread_name_fn(|| {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                format!("kairos-persist-{}", NEXT.fetch_add(1, Ordering::Relaxed))
            })
            .enable_all()
            .build()
            .map_err(|e| common::internal("starting the persistence pool", e))?;
        let handle = runtime.handle().clone();
        match Self::open_store(cfg, &handle) {
            Ok(store) => Ok(Persist {
                inner: Arc::new(Inner {
                    handle,
                    runtime: Mutex::new(Some(runtime)),
                    store,
                    stats: Arc::default(),
                }),
            }),
            Err(e) => {
                runtime.shutdown_background();
                Err(e)
            }
        }
    }

    fn open_store(cfg: &StoreConfig, handle: &tokio::runtime::Handle) -> ApiResult<Arc<dyn Store>> {
        Ok(match &cfg.address {
            None => Arc::new(SqliteStore::open(
                &cfg.data_dir.join("kairos.db"),
                cfg.threads.max(2),
                cfg.password_hash_cost,
            )?),
            Some(address) => {
                // Connect on the pool's own threads and wait here, so that
                // `open` works from any thread, even one inside a runtime.
                let (tx, rx) = oneshot::channel();
                let (address, conns, cost, schema) = (
                    address.clone(),
                    cfg.max_open_conns,
                    cfg.password_hash_cost,
                    cfg.pg_schema.clone(),
                );
                handle.spawn(async move {
                    let _ = tx.send(PgStore::connect(&address, conns, cost, schema).await);
                });
                Arc::new(futures_executor_block_on(Reply { rx })?)
            }
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.inner.store.backend()
    }

    /// Runs a job on the pool and returns its reply. Never blocks: the job is
    /// queued on the pool's runtime, and the [`Reply`] can be awaited on any
    /// executor. When the pool has stopped, the reply is
    /// `Unavailable`.
    pub fn run<T, F, Fut>(&self, f: F) -> Reply<T>
    where
        F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
        Fut: Future<Output = ApiResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let submitted = Instant::now();
        let stats = self.inner.stats.clone();
        stats.submitted.fetch_add(1, Ordering::Relaxed);
        let store = self.inner.store.clone();
        // On a stopped runtime the task is dropped at once, and with it
        // `tx`: the reply then reports the pool as unavailable.
        self.inner.handle.spawn(async move {
            let started = Instant::now();
            let waited = started - submitted;
            stats.wait_nanos.fetch_add(nanos(waited), Ordering::Relaxed);
            stats.wait.record(waited);
            let result = f(store).await;
            let ran = started.elapsed();
            stats.run_nanos.fetch_add(nanos(ran), Ordering::Relaxed);
            stats.run.record(ran);
            stats.completed.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send(result);
        });
        Reply { rx }
    }

    /// Runs a blocking closure (a slow hash, a blocking client library)
    /// on the pool runtime's blocking threads, so that neither a shard nor
    /// a pool worker that drives queries waits on it. Same reply as
    /// [`Persist::run`].
    pub fn blocking<T, F>(&self, f: F) -> Reply<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |_store| async move {
            tokio::task::spawn_blocking(f)
                .await
                .map_err(|e| common::internal("blocking task", e))
        })
    }

    /// Waits for a future on the calling thread, parking it: for start-up,
    /// the CLI and tests. Never call it on a shard thread.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        futures_executor_block_on(fut)
    }

    /// The pool's counters.
    pub fn stats(&self) -> &PoolStats {
        &self.inner.stats
    }

    /// Stops the pool, giving running jobs up to five seconds to finish.
    /// Later jobs fail with `Unavailable`. Idempotent; affects every clone.
    pub fn shutdown(&self) {
        let runtime = match self.inner.runtime.lock() {
            Ok(mut r) => r.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(rt) = runtime {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

/// Blocks the current thread on a future with a thread-parking waker.
fn futures_executor_block_on<F: Future>(fut: F) -> F::Output {
    use std::task::{Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// The reply to a job: resolves on any executor, on any thread.
pub struct Reply<T> {
    rx: oneshot::Receiver<ApiResult<T>>,
}

impl<T> Future for Reply<T> {
    type Output = ApiResult<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_)) => Poll::Ready(Err(ApiError::unavailable(
                "The persistence pool is not running.",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}
