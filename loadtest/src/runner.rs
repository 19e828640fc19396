//! Run orchestration shared by all scenarios: the run clock (setup, ramp-up,
//! measurement window, stop), worker fleets, bounded setup loops and the
//! live progress line.
//!
//! A run goes through these phases:
//!
//! 1. *prepare*: scenario-wide setup (e.g. creating an account pool),
//!    usually with [`for_each_concurrent`];
//! 2. *setup / ramp-up*: a [`Fleet`] of workers starts, worker `i` at
//!    `ramp_up * i / n`; each does its own setup (connect, authenticate) and
//!    calls [`Worker::ready`];
//! 3. *measuring*: once every worker is ready and the ramp-up has elapsed,
//!    the measurement window opens for `--duration`; only measured
//!    operations that start inside it are recorded;
//! 4. *stop*: at the end of the window (or on Ctrl-C) every worker's pending
//!    operation is abandoned ([`Run::until_stopped`]) and workers return.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::cli::Options;
use crate::report::{Kind, OpId, Outcome, Stats};

/// Phases shown on the progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Scenario-wide preparation or per-worker setup.
    Setup = 0,
    /// Workers are starting; nothing is measured yet.
    RampUp = 1,
    /// The measurement window is open.
    Measuring = 2,
    /// The window closed; workers are finishing.
    Stopping = 3,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::RampUp => "ramp-up",
            Self::Measuring => "measuring",
            Self::Stopping => "stopping",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Setup,
            1 => Self::RampUp,
            2 => Self::Measuring,
            _ => Self::Stopping,
        }
    }
}

/// Shared state of one run. Cheap to share through `Arc`.
pub struct Run {
    /// Parsed options.
    pub opts: Options,
    /// Measurements.
    pub stats: Stats,
    /// Limits concurrent setup work (`--setup-concurrency`).
    pub setup_permits: Semaphore,
    started: Instant,
    phase: AtomicU8,
    window_start: OnceLock<Instant>,
    window_end: OnceLock<Instant>,
    stop: watch::Sender<bool>,
    interrupted: AtomicBool,
}

impl Run {
    /// A run for `opts`, starting now.
    pub fn new(opts: Options) -> Arc<Self> {
        let permits = opts.setup_concurrency;
        Arc::new(Self {
            opts,
            stats: Stats::new(),
            setup_permits: Semaphore::new(permits),
            started: Instant::now(),
            phase: AtomicU8::new(Phase::Setup as u8),
            window_start: OnceLock::new(),
            window_end: OnceLock::new(),
            stop: watch::channel(false).0,
            interrupted: AtomicBool::new(false),
        })
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Relaxed);
    }

    /// Asks everything to stop; `interrupted` marks a Ctrl-C.
    pub fn stop(&self, interrupted: bool) {
        if interrupted {
            self.interrupted.store(true, Ordering::Relaxed);
        }
        let now = Instant::now();
        if self.window_start.get().is_some() {
            let _ = self.window_end.set(now);
        }
        self.set_phase(Phase::Stopping);
        self.stop.send_replace(true);
    }

    /// Whether the run is stopping.
    pub fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Whether Ctrl-C stopped the run.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Resolves once the run is stopping.
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Runs `f` unless the run stops first (`None`): pending operations are
    /// abandoned, not counted.
    pub async fn until_stopped<F: Future>(&self, f: F) -> Option<F::Output> {
        let mut rx = self.stop.subscribe();
        tokio::select! {
            biased;
            _ = rx.wait_for(|s| *s) => None,
            v = f => Some(v),
        }
    }

    /// Sleeps until `deadline` unless the run stops first (`false`).
    pub async fn sleep_until(&self, deadline: Instant) -> bool {
        self.until_stopped(tokio::time::sleep_until(deadline.into()))
            .await
            .is_some()
    }

    /// Opens the measurement window now.
    fn open_window(&self) -> Instant {
        let now = Instant::now();
        let start = *self.window_start.get_or_init(|| now);
        self.set_phase(Phase::Measuring);
        start
    }

    /// Start of the measurement window, once open.
    pub fn window_start(&self) -> Option<Instant> {
        self.window_start.get().copied()
    }

    /// Length of the measurement window: so far while open, final once
    /// closed, zero if it never opened.
    pub fn measured(&self) -> Duration {
        match (self.window_start.get(), self.window_end.get()) {
            (Some(s), Some(e)) => e.saturating_duration_since(*s),
            (Some(s), None) => s.elapsed(),
            _ => Duration::ZERO,
        }
    }

    /// Whether an operation that started at `start` lies in the window.
    pub fn in_window(&self, start: Instant) -> bool {
        let Some(ws) = self.window_start.get() else {
            return false;
        };
        start >= *ws && self.window_end.get().is_none_or(|e| start < *e)
    }

    /// Records a sample of `op` that started at `start` and ends now.
    /// Measured operations outside the window are dropped.
    pub fn record(&self, op: OpId, start: Instant, status: Option<u16>, outcome: Outcome) {
        let latency = start.elapsed();
        if op.kind() == Kind::Measured && !self.in_window(start) {
            return;
        }
        self.stats.record(op, start, latency, status, outcome);
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Handed to each worker of a [`Fleet`].
pub struct Worker {
    /// Index in `0..n`.
    pub id: usize,
    /// The run.
    pub run: Arc<Run>,
    ready: Arc<Ready>,
    signalled: bool,
}

impl Worker {
    /// Reports that this worker finished its setup (successfully or not).
    /// Also happens when the worker returns or panics.
    pub fn ready(&mut self) {
        if !self.signalled {
            self.signalled = true;
            self.ready.arrive();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.ready();
    }
}

#[derive(Default)]
struct Ready {
    count: AtomicUsize,
    notify: Notify,
}

impl Ready {
    fn arrive(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    async fn wait_for(&self, n: usize) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::Acquire) >= n {
                return;
            }
            notified.await;
        }
    }
}

/// A set of concurrently running workers.
pub struct Fleet {
    run: Arc<Run>,
    n: usize,
    ramp_end: Instant,
    ready: Arc<Ready>,
    handles: Vec<JoinHandle<()>>,
}

impl Fleet {
    /// Spawns `n` workers running `body`, worker `i` starting after
    /// `ramp_up * i / n`.
    pub fn spawn<F, Fut>(run: &Arc<Run>, n: usize, body: F) -> Self
    where
        F: Fn(Worker) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let t0 = Instant::now();
        let ramp = run.opts.ramp_up;
        if !ramp.is_zero() {
            run.set_phase(Phase::RampUp);
        }
        let ready = Arc::new(Ready::default());
        let handles = (0..n)
            .map(|id| {
                let worker = Worker {
                    id,
                    run: run.clone(),
                    ready: ready.clone(),
                    signalled: false,
                };
                let offset = ramp.mul_f64(id as f64 / n as f64);
                let fut = body(worker);
                let run = run.clone();
                tokio::spawn(async move {
                    if !offset.is_zero() && !run.sleep_until(t0 + offset).await {
                        return; // Dropping `fut` drops its worker: ready.
                    }
                    fut.await;
                })
            })
            .collect();
        Self {
            run: run.clone(),
            n,
            ramp_end: t0 + ramp,
            ready,
            handles,
        }
    }

    /// Waits until every worker is ready and the ramp-up has elapsed (or the
    /// run stops). Returns whether the run is still going.
    pub async fn wait_ready(&self) -> bool {
        let all = async {
            self.ready.wait_for(self.n).await;
            tokio::time::sleep_until(self.ramp_end.into()).await;
        };
        self.run.until_stopped(all).await.is_some()
    }

    /// Workers that reported ready so far.
    pub fn ready_count(&self) -> usize {
        self.ready.count.load(Ordering::Acquire)
    }

    /// Opens the measurement window (if [`wait_ready`](Self::wait_ready) was
    /// not interrupted), keeps it open for `--duration` or until Ctrl-C,
    /// then stops the run and waits for the workers (at most a few seconds;
    /// stragglers are aborted).
    pub async fn measure(self) {
        if !self.run.is_stopped() {
            let start = self.run.open_window();
            self.run.sleep_until(start + self.run.opts.duration).await;
            self.run.stop(false);
        }
        self.join().await;
    }

    /// Waits for the workers after a stop.
    pub async fn join(self) {
        let grace = Instant::now() + Duration::from_secs(5);
        for h in self.handles {
            let abort = h.abort_handle();
            if tokio::time::timeout_at(grace.into(), h).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// Runs `f(i)` for every `i` in `0..n`, at most `concurrency` at a time,
/// stopping early if the run stops. Returns the results in index order
/// (`None` where skipped).
pub async fn for_each_concurrent<T, F, Fut>(
    run: &Arc<Run>,
    n: usize,
    concurrency: usize,
    f: F,
) -> Vec<Option<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let f = Arc::new(f);
    let tasks: Vec<JoinHandle<Vec<(usize, T)>>> = (0..concurrency.min(n))
        .map(|_| {
            let (next, f, run) = (next.clone(), f.clone(), run.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    match run.until_stopped(f(i)).await {
                        Some(v) => out.push((i, v)),
                        None => break,
                    }
                }
                out
            })
        })
        .collect();
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for t in tasks {
        if let Ok(list) = t.await {
            for (i, v) in list {
                results[i] = Some(v);
            }
        }
    }
    results
}

/// Prints a progress line on stderr every second until the run stops:
/// elapsed time, phase, measured operations, their rate over the last
/// second and the average rate, errors + timeouts. Overwrites itself on a
/// terminal.
pub async fn progress(run: Arc<Run>) {
    let tty = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await;
    let mut last = 0u64;
    loop {
        if run.until_stopped(tick.tick()).await.is_none() {
            break;
        }
        let (ops, errs) = run.stats.totals(Kind::Measured);
        let (setup, setup_errs) = run.stats.totals(Kind::Setup);
        let measured = run.measured().as_secs_f64();
        let avg = if measured > 0.0 {
            ops as f64 / measured
        } else {
            0.0
        };
        let line = format!(
            "[{:>6.1}s] {:<9} ops {:>9}  ops/s {:>8}  avg {:>9.1}  errors {:>5}  | setup {} (errors {})",
            run.elapsed().as_secs_f64(),
            run.phase().label(),
            ops,
            ops - last,
            avg,
            errs,
            setup,
            setup_errs,
        );
        last = ops;
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }
    if tty {
        eprintln!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, parse};

    fn run_with(args: &str) -> Arc<Run> {
        let argv = std::iter::once("kairos-loadtest")
            .chain(args.split_whitespace())
            .map(String::from)
            .collect();
        match parse(argv).unwrap() {
            Command::Run(o) => Run::new(*o),
            other => panic!("{other:?}"),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn window_follows_ramp_up_and_duration() {
        rt().block_on(async {
            let run = run_with("baseline-udp-echo -c 4 --ramp-up 0.2 --duration 0.3");
            let op = run.stats.register("tick", Kind::Measured);
            let t0 = Instant::now();
            let fleet = Fleet::spawn(&run, 4, move |mut w| async move {
                let run = w.run.clone();
                w.ready();
                while !run.is_stopped() {
                    let start = Instant::now();
                    if run
                        .until_stopped(tokio::time::sleep(Duration::from_millis(5)))
                        .await
                        .is_none()
                    {
                        break;
                    }
                    run.record(op, start, None, Outcome::Ok);
                }
            });
            assert_eq!(run.phase(), Phase::RampUp);
            assert!(fleet.wait_ready().await);
            assert_eq!(fleet.ready_count(), 4);
            // The last worker starts at 3/4 of the ramp-up; the window opens
            // only once the whole ramp-up has elapsed.
            assert!(t0.elapsed() >= Duration::from_millis(200));
            assert!(run.window_start().is_none());
            fleet.measure().await;
            let measured = run.measured();
            assert!(
                measured >= Duration::from_millis(300) && measured < Duration::from_millis(600)
            );
            let snap = run.stats.snapshot();
            // 4 workers, a sample per ~5 ms, over 0.3 s; none from ramp-up.
            assert!(snap[0].ok > 40 && snap[0].ok <= 4 * 61, "{}", snap[0].ok);
            assert!(snap[0].first_start.unwrap() >= run.window_start().unwrap());
            assert!(!run.interrupted());
            assert_eq!(run.phase(), Phase::Stopping);
        });
    }

    #[test]
    fn stop_abandons_pending_work() {
        rt().block_on(async {
            let run = run_with("baseline-udp-echo -c 2 --duration 60");
            let op = run.stats.register("slow", Kind::Measured);
            let fleet = Fleet::spawn(&run, 2, move |mut w| async move {
                let run = w.run.clone();
                w.ready();
                let start = Instant::now();
                if run
                    .until_stopped(tokio::time::sleep(Duration::from_secs(3600)))
                    .await
                    .is_some()
                {
                    run.record(op, start, None, Outcome::Ok);
                }
            });
            assert!(fleet.wait_ready().await);
            let stopper = run.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                stopper.stop(true);
            });
            let t = Instant::now();
            fleet.measure().await;
            assert!(t.elapsed() < Duration::from_secs(5));
            assert!(run.interrupted());
            assert_eq!(run.stats.snapshot()[0].count(), 0);
            assert!(run.measured() < Duration::from_secs(1));
        });
    }

    #[test]
    fn setup_kind_is_recorded_outside_the_window() {
        let run = run_with("baseline-udp-echo");
        let setup = run.stats.register("connect", Kind::Setup);
        let measured = run.stats.register("op", Kind::Measured);
        let t = Instant::now();
        run.record(setup, t, None, Outcome::Ok);
        run.record(measured, t, None, Outcome::Ok);
        let snap = run.stats.snapshot();
        assert_eq!((snap[0].ok, snap[1].ok), (1, 0));
        assert!(!run.in_window(t));
    }
}
