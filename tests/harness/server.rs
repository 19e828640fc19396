//! Starting and stopping a server under test.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Backend;

/// A running `kairos` process, killed when dropped.
pub struct TestServer {
    pub addr: String,
    /// Reliable UDP (`host:port`), when enabled.
    pub udp_addr: Option<String>,
    /// QUIC (`host:port`), when enabled.
    pub quic_addr: Option<String>,
    /// The Prometheus endpoint (`host:port`), when started with
    /// [`TestServer::start_with_metrics`].
    pub metrics_addr: Option<String>,
    /// The port asked for the metrics endpoint. The server cannot take port
    /// 0 for it (0 turns metrics off), so the harness picks a free one and
    /// picks again if another listener took it before the server bound it.
    metrics_port: Option<u16>,
    pub backend: Backend,
    pub data_dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
    stderr_path: PathBuf,
}

/// The server binary: `KAIROS_BIN` if set, else this package's
/// `kairos-under-test` (the kairos command line), which cargo builds next to
/// the test executables (`target/<profile>/`).
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("KAIROS_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    profile_dir.join("kairos-under-test")
}

/// Builds `kairos-under-test` into the target directory the calling test
/// runs from, with the same profile, so that [`binary`] is up to date. Tests
/// of other packages call it first: cargo builds this package's binary only
/// for this package's own tests. Does nothing when `KAIROS_BIN` is set.
pub fn build_server_binary() {
    if std::env::var_os("KAIROS_BIN").is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let profile = profile_dir
        .file_name()
        .and_then(|p| p.to_str())
        .expect("profile directory name");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "kairos-tests", "--bin", "kairos-under-test"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd.status().expect("cargo runs");
    assert!(
        status.success(),
        "building kairos-under-test failed; build it yourself (cargo build -p kairos-tests) \
         or set KAIROS_BIN"
    );
}

impl TestServer {
    /// Starts a server with 2 shards on an ephemeral port.
    pub fn start(backend: &Backend) -> TestServer {
        Self::start_with(backend, &[])
    }

    /// Starts a server with extra `--key value` arguments.
    pub fn start_with(backend: &Backend, extra: &[&str]) -> TestServer {
        Self::start_inner(backend, extra, None)
    }

    /// Starts a server with extra arguments and its Prometheus endpoint on a
    /// free port, which [`TestServer::metrics_addr`] names.
    pub fn start_with_metrics(backend: &Backend, extra: &[&str]) -> TestServer {
        Self::start_inner(backend, extra, Some(free_port()))
    }

    /// A metrics client for a server started with
    /// [`TestServer::start_with_metrics`].
    pub fn metrics(&self) -> crate::Http {
        crate::Http::new(self.metrics_addr.as_deref().expect("started with metrics"))
    }

    /// Starts a server that must refuse to start; returns its log.
    pub fn start_refused(backend: &Backend, extra: &[&str]) -> String {
        let mut s = Self::unstarted(backend, extra, None);
        match s.try_spawn() {
            Ok(()) => panic!("kairos started; log:\n{}", s.log()),
            Err(_) => s.log(),
        }
    }

    fn start_inner(backend: &Backend, extra: &[&str], metrics_port: Option<u16>) -> TestServer {
        let mut s = Self::unstarted(backend, extra, metrics_port);
        s.spawn();
        s
    }

    fn unstarted(backend: &Backend, extra: &[&str], metrics_port: Option<u16>) -> TestServer {
        let data_dir = std::env::temp_dir().join(crate::unique("kairos-test-"));
        std::fs::create_dir_all(&data_dir).expect("temp dir");
        TestServer {
            addr: String::new(),
            udp_addr: None,
            quic_addr: None,
            metrics_addr: None,
            metrics_port,
            backend: backend.clone(),
            stderr_path: data_dir.join("server.log"),
            data_dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        }
    }

    /// The arguments this server runs with.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--shards",
            "2",
            "--socket.port",
            "0",
            "--udp.port",
            "0",
            "--quic.port",
            "0",
            "--socket.address",
            "127.0.0.1",
            "--logger.level",
            "info",
            "--database.password_hash_cost",
            "4",
            "--database.max_open_conns",
            "8",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push("--data_dir".into());
        args.push(self.data_dir.to_string_lossy().into_owned());
        if let Backend::Postgres(url) = &self.backend {
            args.push("--database.address".into());
            args.push(url.clone());
        }
        if let Some(port) = self.metrics_port {
            args.push("--metrics.prometheus_port".into());
            args.push(port.to_string());
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// Starts the process and waits for its listening lines. When the
    /// metrics port it was given was taken in the meantime, starts it again
    /// on another.
    fn spawn(&mut self) {
        const ATTEMPTS: usize = 10;
        for attempt in 1.. {
            let log_before = self.log().len();
            let Err(status) = self.try_spawn() else {
                return;
            };
            let log = self.log();
            let taken = log
                .get(log_before..)
                .is_some_and(|new| new.contains("cannot listen for metrics"));
            if !(taken && self.metrics_port.is_some() && attempt < ATTEMPTS) {
                panic!("kairos exited early with {status}; log:\n{log}");
            }
            self.metrics_port = Some(free_port());
        }
    }

    /// Starts the process; `Err` carries its exit status if it exits before
    /// it listens.
    fn try_spawn(&mut self) -> Result<(), std::process::ExitStatus> {
        let args = self.args();
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_path)
            .expect("log file");
        // Spawned from a thread that lives as long as the test process, with
        // PR_SET_PDEATHSIG, so a failing test never leaves a server behind.
        let (tx, rx) = mpsc::channel();
        spawner().send((args, stderr, tx)).expect("spawner alive");
        let mut child: Child = rx.recv().expect("spawned").expect("kairos binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = line_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(status);
            }
            match line_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let local = |a: &str| a.trim().replace("0.0.0.0", "127.0.0.1");
                    if let Some(addr) = line.strip_prefix("kairos udp listening on ") {
                        self.udp_addr = Some(local(addr));
                    }
                    if let Some(addr) = line.strip_prefix("kairos quic listening on ") {
                        self.quic_addr = Some(local(addr));
                    }
                    if let Some(addr) = line.strip_prefix("kairos metrics listening on ") {
                        self.metrics_addr = Some(local(addr));
                    }
                    if let Some(addr) = line.strip_prefix("kairos listening on ") {
                        self.addr = addr.trim().to_string();
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                // Its stdout closed before it listened: it is exiting.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(child.wait().expect("kairos exit status"));
                }
                Err(_) => panic!("kairos did not start in time; log:\n{}", self.log()),
            }
        }
        self.child = Some(child);
        Ok(())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The server's resident memory now, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        self.proc_status_kib("VmRSS:")
    }

    /// The server's peak resident memory so far, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM:")
    }

    fn proc_status_kib(&self, field: &str) -> u64 {
        let pid = self.pid().expect("server running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Open file descriptors of the server process.
    pub fn open_fds(&self) -> usize {
        let pid = self.pid().expect("server running");
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn http(&self) -> crate::Http {
        crate::Http::new(&self.addr)
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit code.
    pub fn terminate(&mut self, within: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server (SIGTERM) and starts it again on the same data.
    pub fn restart(&mut self) {
        let code = self.terminate(Duration::from_secs(20));
        assert_eq!(code, Some(0), "clean exit; log:\n{}", self.log());
        self.spawn();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A port that was free a moment ago (bound to 0, then closed).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

type SpawnRequest = (
    Vec<String>,
    std::fs::File,
    mpsc::Sender<std::io::Result<Child>>,
);

fn spawner() -> mpsc::Sender<SpawnRequest> {
    use std::os::unix::process::CommandExt;
    use std::sync::{Mutex, OnceLock};
    static TX: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::spawn(move || {
            for (args, stderr, reply) in rx {
                let mut cmd = Command::new(binary());
                cmd.args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(stderr);
                unsafe {
                    cmd.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    })
    .lock()
    .unwrap()
    .clone()
}
