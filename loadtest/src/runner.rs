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
//!
//! Open-loop scenarios ([`Fleet::measure_and_drain`]) put a *drain* between
//! 3 and 4: the window closes (no more sends), but workers keep receiving
//! until everything sent inside the window has arrived, or a time limit.
//!
//! Workers are tokio tasks ([`Fleet::spawn`]) or, for the blocking
//! `kairos-client` transports and the raw UDP blast, OS threads
//! ([`Fleet::spawn_threads`]); both record through the same [`Run`].

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::cli::Options;
use crate::report::{Kind, OpId, Outcome, Stats};

/// A window bound not set yet (`u64::MAX` also compares above every
/// timestamp, so an unset end means "open").
const UNSET: u64 = u64::MAX;

/// How far ahead of "now" a window bound is set (see `Run::publish_bound`).
const BOUND_MARGIN: Duration = Duration::from_millis(2);

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
    /// The window closed; what was sent inside it is still arriving.
    Draining = 4,
}

impl Phase {
    fn label(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::RampUp => "ramp-up",
            Self::Measuring => "measuring",
            Self::Stopping => "stopping",
            Self::Draining => "draining",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Setup,
            1 => Self::RampUp,
            2 => Self::Measuring,
            4 => Self::Draining,
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
    /// Window bounds, nanoseconds since `started` ([`UNSET`]: not yet).
    window_start: AtomicU64,
    window_end: AtomicU64,
    stop: watch::Sender<bool>,
    closed: watch::Sender<bool>,
    interrupted: AtomicBool,
    /// The process whose CPU time is sampled: `--server-pid`, or one the
    /// scenario started ([`watch_server`](Self::watch_server)).
    server_pid: std::sync::OnceLock<u32>,
    /// The server's CPU time when the window opened and when it closed.
    server_cpu: std::sync::Mutex<[Option<Duration>; 2]>,
    /// This process's own CPU time at the same two instants.
    generator_cpu: std::sync::Mutex<[Option<Duration>; 2]>,
}

impl Run {
    /// A run for `opts`, starting now.
    pub fn new(opts: Options) -> Arc<Self> {
        let permits = opts.setup_concurrency;
        let server_pid = std::sync::OnceLock::new();
        if let Some(pid) = opts.server_pid {
            let _ = server_pid.set(pid);
        }
        Arc::new(Self {
            opts,
            stats: Stats::new(),
            setup_permits: Semaphore::new(permits),
            started: Instant::now(),
            phase: AtomicU8::new(Phase::Setup as u8),
            window_start: AtomicU64::new(UNSET),
            window_end: AtomicU64::new(UNSET),
            stop: watch::channel(false).0,
            closed: watch::channel(false).0,
            interrupted: AtomicBool::new(false),
            server_pid,
            server_cpu: std::sync::Mutex::new([None, None]),
            generator_cpu: std::sync::Mutex::new([None, None]),
        })
    }

    /// Samples the CPU time of process `pid` at the window's ends, as with
    /// `--server-pid`: for a server the scenario started itself. `false`
    /// (and no change) if a process is already watched.
    pub fn watch_server(&self, pid: u32) -> bool {
        self.server_pid.set(pid).is_ok()
    }

    /// The process whose CPU time is sampled, if any.
    pub fn server_pid(&self) -> Option<u32> {
        self.server_pid.get().copied()
    }

    /// Samples the server's CPU time (`--server-pid`) and this process's
    /// own as bound `i` of the window (0: open, 1: close); a failed read
    /// leaves it unknown.
    fn sample_cpu(&self, i: usize) {
        if let Some(pid) = self.server_pid() {
            let t = crate::proc::cpu_time(pid).ok();
            self.server_cpu.lock().expect("server cpu lock")[i] = t;
        }
        let own = crate::proc::cpu_time(std::process::id()).ok();
        self.generator_cpu.lock().expect("generator cpu lock")[i] = own;
    }

    /// The server CPU time spent inside the measurement window, when a
    /// server is watched (`--server-pid`, [`watch_server`](Self::watch_server))
    /// and both ends were sampled.
    pub fn server_cpu(&self) -> Option<Duration> {
        window_span(*self.server_cpu.lock().expect("server cpu lock"))
    }

    /// The CPU time this process, the load generator, spent inside the
    /// measurement window, all its threads included: on a machine shared
    /// with the server, what the load took from it.
    pub fn generator_cpu(&self) -> Option<Duration> {
        window_span(*self.generator_cpu.lock().expect("generator cpu lock"))
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
        if self.window_start.load(Ordering::SeqCst) != UNSET {
            let now = self.ns_since_origin(Instant::now());
            let _ =
                self.window_end
                    .compare_exchange(UNSET, now, Ordering::SeqCst, Ordering::SeqCst);
        }
        self.set_phase(Phase::Stopping);
        self.closed.send_replace(true);
        self.stop.send_replace(true);
    }

    /// Publishes a window bound into `slot`: [`BOUND_MARGIN`] ahead of now,
    /// and again later if publishing took longer than that (a preempted
    /// thread). So no worker can take a timestamp at or past the bound
    /// before the bound is visible: whether an instant lies in the window
    /// is then the same whenever, and on whichever thread, it is asked (a
    /// sender counting its message and its receivers counting the
    /// deliveries agree).
    fn publish_bound(&self, slot: &AtomicU64) -> Instant {
        loop {
            let at = Instant::now() + BOUND_MARGIN;
            slot.store(self.ns_since_origin(at), Ordering::SeqCst);
            if Instant::now() < at {
                return at;
            }
        }
    }

    /// Closes the measurement window without stopping the run (the drain of
    /// open-loop scenarios): nothing that starts from now on is measured,
    /// but workers keep running until [`stop`](Self::stop). Returns once
    /// the bound is past and senders were told ([`window_closed`](Self::window_closed)).
    pub async fn close_window(&self) {
        if self.window_start.load(Ordering::SeqCst) != UNSET
            && self.window_end.load(Ordering::SeqCst) == UNSET
        {
            let end = self.publish_bound(&self.window_end);
            tokio::time::sleep_until(end.into()).await;
        }
        if !self.is_stopped() {
            self.set_phase(Phase::Draining);
        }
        self.closed.send_replace(true);
    }

    /// Whether the window closed (or the run stopped): open-loop senders
    /// stop sending.
    pub fn window_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves once the window closed (or the run stopped).
    pub async fn window_closed_wait(&self) {
        let mut rx = self.closed.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Sleeps on this OS thread until `deadline`, waking regularly to notice
    /// a stop; `false` if the run stopped first. For thread workers.
    pub fn sleep_blocking_until(&self, deadline: Instant) -> bool {
        loop {
            if self.is_stopped() {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    /// The run's clock origin: every timestamp carried in a payload is
    /// nanoseconds since this instant (one clock, in the generator).
    pub fn origin(&self) -> Instant {
        self.started
    }

    /// `t` as nanoseconds since [`origin`](Self::origin).
    pub fn ns_since_origin(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.started).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `ns` nanoseconds after [`origin`](Self::origin).
    pub fn at_ns(&self, ns: u64) -> Instant {
        self.started + Duration::from_nanos(ns)
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

    /// Opens the measurement window (a moment from now, see
    /// `publish_bound`); returns its start.
    fn open_window(&self) -> Instant {
        let start = match self.window_start() {
            Some(s) => s,
            None => self.publish_bound(&self.window_start),
        };
        self.set_phase(Phase::Measuring);
        start
    }

    /// Start of the measurement window, once open.
    pub fn window_start(&self) -> Option<Instant> {
        match self.window_start.load(Ordering::SeqCst) {
            UNSET => None,
            ns => Some(self.at_ns(ns)),
        }
    }

    /// Length of the measurement window: so far while open, final once
    /// closed, zero if it never opened.
    pub fn measured(&self) -> Duration {
        let start = self.window_start.load(Ordering::SeqCst);
        if start == UNSET {
            return Duration::ZERO;
        }
        let end = match self.window_end.load(Ordering::SeqCst) {
            UNSET => self.ns_since_origin(Instant::now()),
            ns => ns,
        };
        Duration::from_nanos(end.saturating_sub(start))
    }

    /// Whether an operation that started at `start` lies in the window.
    pub fn in_window(&self, start: Instant) -> bool {
        let ws = self.window_start.load(Ordering::SeqCst);
        if ws == UNSET {
            return false;
        }
        let t = self.ns_since_origin(start);
        t >= ws && t < self.window_end.load(Ordering::SeqCst)
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

    /// Records how a request awaited under `--timeout` ended (the reply's
    /// answer, an error label, a socket error, or the timeout) as a
    /// sample of `op` that started at `start`; the answer, if any.
    pub fn record_reply<T>(
        &self,
        op: OpId,
        start: Instant,
        reply: Result<Result<Result<T, String>, crate::ws::WsError>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        let (answer, outcome) = match reply {
            Ok(Ok(Ok(v))) => (Some(v), Outcome::Ok),
            Ok(Ok(Err(label))) => (None, Outcome::Error(label)),
            Ok(Err(e)) => (None, Outcome::Error(e.kind())),
            Err(_) => (None, Outcome::Timeout),
        };
        self.record(op, start, None, outcome);
        answer
    }

    /// Records a sample of `op` that started at `start` and took `latency`
    /// (measured elsewhere, e.g. a delivery stamped on arrival). Measured
    /// operations that started outside the window are dropped.
    pub fn record_sample(
        &self,
        op: OpId,
        start: Instant,
        latency: Duration,
        status: Option<u16>,
        outcome: Outcome,
    ) {
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

    /// Spawns `n` workers running `body` on OS threads of their own (for
    /// blocking clients), worker `i` starting after `ramp_up * i / n`. Each
    /// thread's end is awaited like a task's; a thread still running after
    /// the stop's grace period is left behind (the process exits anyway).
    /// A thread that cannot be spawned counts as a ready worker that did
    /// nothing (counter `threads_not_spawned`).
    pub fn spawn_threads<F>(run: &Arc<Run>, n: usize, body: F) -> Self
    where
        F: Fn(Worker) + Send + Sync + 'static,
    {
        let t0 = Instant::now();
        let ramp = run.opts.ramp_up;
        if !ramp.is_zero() {
            run.set_phase(Phase::RampUp);
        }
        let ready = Arc::new(Ready::default());
        let body = Arc::new(body);
        let mut handles = Vec::with_capacity(n);
        for id in 0..n {
            let worker = Worker {
                id,
                run: run.clone(),
                ready: ready.clone(),
                signalled: false,
            };
            let offset = ramp.mul_f64(id as f64 / n as f64);
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let (body, thread_run) = (body.clone(), run.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("lt-worker-{id}"))
                .spawn(move || {
                    // Dropped when the thread ends, however it ends.
                    let _done = done_tx;
                    if !offset.is_zero() && !thread_run.sleep_blocking_until(t0 + offset) {
                        return; // Dropping the worker reports it ready.
                    }
                    body(worker);
                });
            match spawned {
                Ok(_) => handles.push(tokio::spawn(async move {
                    let _ = done_rx.await;
                })),
                Err(e) => {
                    if run.stats.counter("threads_not_spawned") == 0 {
                        eprintln!("kairos-loadtest: cannot start a worker thread: {e}");
                    }
                    run.stats.count("threads_not_spawned", 1);
                }
            }
        }
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
            if self.run.sleep_until(start).await {
                self.run.sample_cpu(0);
            }
            if self.run.sleep_until(start + self.run.opts.duration).await {
                self.run.sample_cpu(1);
            }
            self.run.stop(false);
        }
        self.join().await;
    }

    /// Like [`measure`](Self::measure), for open-loop scenarios: opens the
    /// window for `--duration`, then closes it ([`Run::close_window`]) and
    /// drains: workers keep receiving until `done()` says everything sent
    /// in the window has arrived, or `limit` passed; then stops the run and
    /// waits for the workers.
    pub async fn measure_and_drain(self, limit: Duration, done: impl Fn() -> bool) {
        if !self.run.is_stopped() {
            let start = self.run.open_window();
            if self.run.sleep_until(start).await {
                self.run.sample_cpu(0);
            }
            if self.run.sleep_until(start + self.run.opts.duration).await {
                self.run.sample_cpu(1);
                self.run.close_window().await;
                let deadline = Instant::now() + limit;
                while !done() && Instant::now() < deadline {
                    let tick = (Instant::now() + Duration::from_millis(2)).min(deadline);
                    if !self.run.sleep_until(tick).await {
                        break;
                    }
                }
            }
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

/// The time between a window's two samples, when both were read.
fn window_span(ends: [Option<Duration>; 2]) -> Option<Duration> {
    match ends {
        [Some(a), Some(b)] => Some(b.saturating_sub(a)),
        _ => None,
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
    fn the_window_samples_the_server_cpu_at_both_ends() {
        // This process stands in for the server: it burns CPU in the window.
        let pid = std::process::id();
        rt().block_on(async {
            let run = run_with(&format!(
                "baseline-udp-echo -c 1 --duration 0.3 --server-pid {pid}"
            ));
            let burner = std::thread::spawn({
                let run = run.clone();
                move || {
                    let mut x = 0u64;
                    while !run.is_stopped() {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                }
            });
            let fleet = Fleet::spawn(&run, 1, |mut w| async move { w.ready() });
            fleet.wait_ready().await;
            fleet.measure().await;
            burner.join().unwrap();
            let cpu = run.server_cpu().expect("both ends sampled");
            assert!(cpu > Duration::ZERO, "a busy thread in the window shows");
            let own = run.generator_cpu().expect("the generator samples itself");
            assert!(
                own > Duration::ZERO,
                "the same busy thread is the generator's"
            );
        });
        let run = run_with("baseline-udp-echo -c 1");
        assert_eq!(run.server_cpu(), None, "no --server-pid, no figure");
        assert_eq!(run.generator_cpu(), None, "no window, no figure");
    }

    #[test]
    fn a_scenario_can_watch_the_server_it_started() {
        let run = run_with("baseline-udp-echo -c 1");
        assert_eq!(run.server_pid(), None);
        assert!(run.watch_server(42));
        assert!(!run.watch_server(43), "the first process stays watched");
        assert_eq!(run.server_pid(), Some(42));
        let run = run_with("baseline-udp-echo -c 1 --server-pid 7");
        assert!(!run.watch_server(42));
        assert_eq!(run.server_pid(), Some(7));
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
    fn drain_follows_the_window() {
        rt().block_on(async {
            let run = run_with("baseline-udp-blast --duration 0.2 --timeout 30");
            let fleet = Fleet::spawn(&run, 2, |mut w| async move {
                w.ready();
                // A sender: stops at the window's end, keeps running after.
                w.run.window_closed_wait().await;
                w.run.stopped().await;
            });
            assert!(fleet.wait_ready().await);
            let r = run.clone();
            let t = Instant::now();
            fleet
                .measure_and_drain(Duration::from_secs(30), move || {
                    r.window_closed() && r.phase() == Phase::Draining && !r.is_stopped()
                })
                .await;
            // The drain ended as soon as `done` held, not after its limit.
            assert!(t.elapsed() < Duration::from_secs(5));
            assert!(run.is_stopped() && !run.interrupted());
            let m = run.measured();
            assert!(m >= Duration::from_millis(200) && m < Duration::from_millis(600));
            // The bounds are exact: the last nanosecond is in, the end out.
            let (start, end) = (run.window_start().unwrap(), run.window_start().unwrap() + m);
            assert!(run.in_window(start) && !run.in_window(start - Duration::from_nanos(1)));
            assert!(run.in_window(end - Duration::from_nanos(1)) && !run.in_window(end));
        });
    }

    #[test]
    fn thread_workers() {
        rt().block_on(async {
            let run = run_with("baseline-udp-blast -c 3 --duration 0.2");
            let op = run.stats.register("tick", Kind::Measured);
            let fleet = Fleet::spawn_threads(&run, 3, move |mut w| {
                let run = w.run.clone();
                w.ready();
                while !run.is_stopped() {
                    let start = Instant::now();
                    std::thread::sleep(Duration::from_millis(5));
                    run.record(op, start, None, Outcome::Ok);
                }
            });
            assert!(fleet.wait_ready().await);
            assert_eq!(fleet.ready_count(), 3);
            let t = Instant::now();
            fleet.measure().await;
            assert!(t.elapsed() < Duration::from_secs(3));
            let ok = run.stats.snapshot()[0].ok;
            // 3 threads, a sample per ~5 ms, over 0.2 s.
            assert!(ok > 20 && ok <= 3 * 41, "{ok}");
            assert!(!run.sleep_blocking_until(Instant::now()));
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
