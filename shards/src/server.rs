//! Starting and stopping a Kairos node: the persistence pool, one pinned
//! shard per core, and graceful shutdown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kairos_core::config::{Config, MonoioDriver};
use kairos_core::session::SessionIssuer;
use kairos_core::time::now_secs;
use kairos_store::{Persist, StoreConfig};

use crate::http::accept;
use crate::http::limits::auto_max_per_shard;
use crate::mesh::Mesh;
use crate::metrics::Registry;
use crate::registry::SessionRegistry;
use crate::revocation::RevocationCache;
use crate::rt::{self, ShardThread};
use crate::shard::{Shard, Shared};
use crate::stop::StopSignal;

/// How often each shard sends every other one a latency probe (the mesh
/// hop histogram). A probe wakes a parked shard, which is what a real
/// message would cost too; ten a second cost nothing measurable.
pub const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Messages drained from the mesh per pass. Small enough that one pass
/// cannot fill a session's outgoing queue before its writer runs.
const MESH_BATCH: usize = 32;

/// A running node.
pub struct Server {
    pub shared: Arc<Shared>,
    /// HTTP and WebSocket.
    pub addr: SocketAddr,
    /// Reliable UDP, when enabled.
    pub udp_addr: Option<SocketAddr>,
    /// QUIC, when enabled.
    pub quic_addr: Option<SocketAddr>,
    /// The Prometheus scrape endpoint, when `metrics.prometheus_port` is set.
    pub metrics_addr: Option<SocketAddr>,
    threads: Vec<ShardThread>,
    listing: std::thread::JoinHandle<()>,
    storage_index: std::thread::JoinHandle<()>,
    matchmaker: std::thread::JoinHandle<()>,
    leaderboards: std::thread::JoinHandle<()>,
}

/// The addresses a shard listens on. Shard 0 binds first; the others bind
/// the ports it resolved (SO_REUSEPORT), so port 0 means one port for all.
#[derive(Clone, Copy, Debug)]
struct Bound {
    tcp: SocketAddr,
    udp: Option<SocketAddr>,
    quic: Option<SocketAddr>,
    /// The Prometheus endpoint, served by shard 0 alone.
    metrics: Option<SocketAddr>,
}

impl Bound {
    /// Refuses a fixed port that something already listens on. The shards
    /// bind theirs with SO_REUSEPORT, which would silently join another
    /// process's listeners of the same user (a second Kairos started by
    /// mistake, say) and split connections and datagrams between the two.
    /// So each fixed port is first bound without it, and let go: that bind
    /// fails while anything holds the port. (Port 0 needs no check: the
    /// kernel never resolves it to a port in use.)
    fn refuse_taken(&self) -> Result<(), String> {
        let fixed = |a: Option<SocketAddr>| a.filter(|a| a.port() != 0);
        if let Some(at) = fixed(Some(self.tcp)) {
            std::net::TcpListener::bind(at).map_err(|e| format!("cannot listen on {at}: {e}"))?;
        }
        if let Some(at) = fixed(self.udp) {
            std::net::UdpSocket::bind(at)
                .map_err(|e| format!("cannot listen for udp on {at}: {e}"))?;
        }
        if let Some(at) = fixed(self.quic) {
            std::net::UdpSocket::bind(at)
                .map_err(|e| format!("cannot listen for quic on {at}: {e}"))?;
        }
        Ok(())
    }
}

/// Opens the store the configuration names (without migrating).
pub fn open_store(config: &Config) -> Result<Persist, String> {
    let cfg = StoreConfig {
        address: config.database.address.first().cloned(),
        data_dir: config.data_dir.clone().into(),
        threads: config.database.pool_threads,
        max_open_conns: config.database.max_open_conns,
        password_hash_cost: config.database.password_hash_cost,
        pg_schema: None,
    };
    Persist::open(&cfg).map_err(|e| format!("cannot open the database: {}", e.message))
}

impl Server {
    /// Opens the store, applies migrations, loads revocations and starts
    /// every shard listening. Returns once all shards accept connections.
    /// `modules` is the game code the shards serve.
    pub fn start_with(
        mut config: Config,
        modules: Arc<crate::modules::Modules>,
    ) -> Result<Server, String> {
        let unknown: Vec<&str> = modules
            .api_hook_routes()
            .into_iter()
            .filter(|name| !crate::http::route_names().contains(name))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "game code hooks REST methods that do not exist: {unknown:?} (names are Nakama's, e.g. AuthenticateDevice)"
            ));
        }
        let open_files = raise_open_files_limit();
        if config.kairos.net.max_connections_per_shard == 0 {
            config.kairos.net.max_connections_per_shard =
                auto_max_per_shard(open_files, config.shard_count(rt::available_cores()));
        }
        tracing::info!(
            open_files,
            max_connections_per_shard = config.kairos.net.max_connections_per_shard,
            max_connections_per_ip = config.kairos.net.max_connections_per_ip,
            "connection caps"
        );
        let persist = open_store(&config)?;
        let applied = persist
            .block_on(persist.run(|store| async move { store.migrate_up().await }))
            .map_err(|e| format!("database migration failed: {}", e.message))?;
        tracing::info!(
            backend = persist.backend(),
            migrations = applied.len(),
            "database ready"
        );
        let stored = persist
            .block_on(persist.run(|store| async move { store.load_revocations(now_secs()).await }))
            .map_err(|e| format!("cannot load session revocations: {}", e.message))?;

        let shards = config.shard_count(rt::available_cores());
        tracing::info!(shards, runtime = rt::NAME, "starting shards");
        let quic = if config.quic.enabled {
            Some(crate::quic::QuicShared::load(&config)?)
        } else {
            None
        };
        let (listing, listing_thread) = crate::listing::Listing::start()
            .map_err(|e| format!("cannot start the match listing: {e}"))?;
        let (storage_index, storage_index_thread) =
            crate::storage_index::StorageIndexes::start(modules.storage_indexes().to_vec())
                .map_err(|e| format!("cannot start the storage indexes: {e}"))?;
        let (matchmaker, inboxes, matchmaker_thread) =
            crate::matchmaker::Matchmaker::start(&config, shards)
                .map_err(|e| format!("cannot start the matchmaker: {e}"))?;
        let loaded = crate::leaderboards::load(&persist, now_secs())
            .map_err(|e| format!("cannot load leaderboards: {}", e.message))?;
        let (leaderboards, deadlines, leaderboards_thread) =
            crate::leaderboards::Leaderboards::start(loaded, now_secs)
                .map_err(|e| format!("cannot start the leaderboards: {e}"))?;
        let shared = Arc::new(Shared {
            leaderboards,
            leaderboard_deadlines: std::sync::Mutex::new(Some(deadlines)),
            listing,
            storage_index,
            matchmaker,
            placement: crate::placement::Placement::new(
                shards,
                config.kairos.session.pack_matches_below,
                config.kairos.session.pack_matches_per_sec,
            ),
            matchmaker_inboxes: std::sync::Mutex::new(inboxes.into_iter().map(Some).collect()),
            issuer: SessionIssuer::new(&config.session),
            revocations: RevocationCache::from_stored(stored),
            registry: SessionRegistry::default(),
            mesh: Mesh::new(shards, config.mesh.queue_size),
            stop: StopSignal::new(shards),
            metrics: Registry::new(shards),
            udp: config
                .udp
                .enabled
                .then(|| crate::udp::grants::UdpGrants::new(&config.udp)),
            quic,
            persist,
            modules,
            config,
        });

        let ip: IpAddr = if shared.config.socket.address.is_empty() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            shared.config.socket.address.parse().map_err(|_| {
                format!(
                    "socket.address: not an IP address: {}",
                    shared.config.socket.address
                )
            })?
        };
        let mut at = Bound {
            tcp: SocketAddr::new(ip, shared.config.socket.port),
            udp: shared
                .config
                .udp
                .enabled
                .then(|| SocketAddr::new(ip, shared.config.udp.port)),
            quic: shared
                .config
                .quic
                .enabled
                .then(|| SocketAddr::new(ip, shared.config.quic.port)),
            metrics: (shared.config.metrics.prometheus_port > 0)
                .then(|| SocketAddr::new(ip, shared.config.metrics.prometheus_port)),
        };
        at.refuse_taken()?;
        let cpus = rt::available_cores();
        let knobs = &shared.config.kairos.reactor;
        let tuning = rt::Tuning {
            spin_before_park: Duration::from_micros(shared.config.mesh.spin_before_park_us),
            ring_depth: knobs.ring_depth,
            force_epoll: knobs.monoio_driver == MonoioDriver::Legacy,
        };
        let mut threads = Vec::with_capacity(shards);
        for id in 0..shards {
            // Shard 0 binds first so that port 0 resolves to one real port
            // that the other shards then share through SO_REUSEPORT.
            let (ready_tx, ready_rx) = mpsc::channel::<Result<Bound, String>>();
            let shared2 = shared.clone();
            let cpu = if shards <= cpus { Some(id) } else { None };
            let thread = rt::start_pinned(
                &format!("kairos-shard-{id}"),
                cpu,
                tuning,
                move || async move {
                    shard_main(id, shared2, at, ready_tx).await;
                },
            )
            .map_err(|e| e.to_string())?;
            match ready_rx.recv() {
                Ok(Ok(bound)) => at = bound,
                Ok(Err(e)) => {
                    shared.stop.stop();
                    return Err(e);
                }
                Err(_) => return Err(format!("shard {id} failed to start")),
            }
            threads.push(thread);
        }
        Ok(Server {
            shared,
            addr: at.tcp,
            udp_addr: at.udp,
            quic_addr: at.quic,
            metrics_addr: at.metrics,
            threads,
            listing: listing_thread,
            storage_index: storage_index_thread,
            matchmaker: matchmaker_thread,
            leaderboards: leaderboards_thread,
        })
    }

    /// Waits for every shard to finish, then stops the persistence pool.
    pub fn join(self) {
        for t in self.threads {
            if let Err(e) = t.join() {
                tracing::error!(error = %e, "shard ended badly");
            }
        }
        self.shared.listing.stop();
        if self.listing.join().is_err() {
            tracing::error!("the match listing thread panicked");
        }
        self.shared.storage_index.stop();
        if self.storage_index.join().is_err() {
            tracing::error!("the storage index thread panicked");
        }
        self.shared.leaderboards.stop();
        if self.leaderboards.join().is_err() {
            tracing::error!("the leaderboards thread panicked");
        }
        self.shared.matchmaker.stop();
        if self.matchmaker.join().is_err() {
            tracing::error!("the matchmaker thread panicked");
        }
        self.shared.persist.shutdown();
    }
}

async fn shard_main(
    id: usize,
    shared: Arc<Shared>,
    at: Bound,
    ready: mpsc::Sender<Result<Bound, String>>,
) {
    // Shard 0 serves the Prometheus scrape endpoint when it is configured.
    // It binds before the API so that the API's port 0 cannot resolve to
    // the metrics port, and without SO_REUSEPORT so that a port another
    // listener holds is an error rather than a share.
    let metrics = match at.metrics.filter(|_| id == 0) {
        None => None,
        Some(at) => match rt::bind_exclusive(at) {
            Ok(l) => Some(l),
            Err(e) => {
                let _ = ready.send(Err(format!("cannot listen for metrics on {at}: {e}")));
                return;
            }
        },
    };
    // What shard 0 bound, passed on to the others as the rest of `Bound` is.
    let bound_metrics = metrics
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .or(at.metrics);
    let addr = at.tcp;
    let listener = match rt::bind_reuseport(addr) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot listen on {addr}: {e}")));
            return;
        }
    };
    let bound_tcp = listener.local_addr().unwrap_or(addr);
    let shard = Shard::new(id, shared.clone());
    let inbox = shared
        .matchmaker_inboxes
        .lock()
        .ok()
        .and_then(|mut inboxes| inboxes.get_mut(id).and_then(Option::take));
    if let Some(inbox) = inbox {
        rt::spawn(crate::realtime::matchmaker::deliver::drain(
            shard.clone(),
            inbox,
        ));
    }
    if id == 0 {
        let deadlines = shared
            .leaderboard_deadlines
            .lock()
            .ok()
            .and_then(|mut inbox| inbox.take());
        if let Some(deadlines) = deadlines {
            rt::spawn(crate::leaderboards::deadlines::drain(
                shard.clone(),
                deadlines,
            ));
        }
        // Storage indexes load once, from shard 0, whose Lua states can
        // run their filters.
        rt::spawn(crate::storage_index::load(shard.clone()));
    }
    let udp = match at.udp.map(|a| start_udp(&shard, a)).transpose() {
        Ok(udp) => udp,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let quic = match at.quic.map(|a| start_quic(&shard, a)).transpose() {
        Ok(quic) => quic,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let bound = Bound {
        tcp: bound_tcp,
        udp,
        quic,
        metrics: bound_metrics,
    };
    if let Some(l) = metrics {
        rt::spawn(crate::metrics::endpoint::serve(shard.clone(), l));
    }

    // Mesh: drain inbound queues in batches; park when idle.
    let mesh_shard = shard.clone();
    rt::spawn(async move {
        let mut batch = Vec::with_capacity(MESH_BATCH);
        loop {
            mesh_shard.port.recv_batch(&mut batch, MESH_BATCH).await;
            mesh_shard.handle_mesh(&mut batch);
            mesh_shard.port.flush();
            rt::yield_now().await;
        }
    });
    // How busy this shard is, for packing new matches (`placement`).
    if shard.moves_sessions() && shared.placement.packs() {
        rt::spawn(crate::placement::meter(shard.clone()));
    }
    // WebSocket pings and deadlines, for every session of this shard.
    rt::spawn(crate::ws::keepalive::run(shard.clone()));
    if crate::ws::flush::FlushList::ACTIVE {
        rt::spawn(crate::ws::flush::run(shard.ws_flush.clone()));
    }
    // Latency probes to every other shard.
    let probe_shard = shard.clone();
    rt::spawn(async move {
        loop {
            rt::sleep(PROBE_EVERY).await;
            for to in (0..probe_shard.port.shards()).filter(|&s| s != probe_shard.id) {
                probe_shard.port.send(
                    to,
                    crate::shard::ShardMsg::Probe {
                        sent: Instant::now(),
                    },
                );
            }
        }
    });
    // Overflowed mesh sends are retried every millisecond until delivered;
    // an idle shard sleeps until a queue overflows.
    let flush_shard = shard.clone();
    rt::spawn(async move {
        loop {
            flush_shard.port.overflow_started.wait().await;
            while flush_shard.port.flush() > 0 {
                rt::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    if id == 0 {
        // Housekeeping: forget revocations that no token can match any more.
        let hk = shard.clone();
        rt::spawn(async move {
            loop {
                rt::sleep(Duration::from_secs(60)).await;
                hk.shared.revocations.prune(now_secs());
            }
        });
    }

    let _ = ready.send(Ok(bound));
    tracing::info!(shard = id, tcp = %bound.tcp, udp = ?bound.udp, quic = ?bound.quic, "shard accepting");

    // Accept until the stop signal, under this shard's connection caps.
    // The accept loop is a task of its own: this future, the shard's main
    // one, is polled on every turn of tokio's `LocalSet`, so it waits on
    // the stop signal alone rather than polling the listener each turn.
    let limits = shard.conn_limits.clone();
    let accepting = rt::spawn_task(accept::run(
        shard.clone(),
        listener,
        limits,
        |shard, stream, slot| rt::spawn(crate::http::serve_connection(shard, stream, slot)),
    ));
    shared.stop.wait(id).await;
    // Dropping the task cancels it, and the listener goes with it: no new
    // connections.
    drop(accepting);
    drain(&shard).await;
}

/// Raises the soft limit on open files to the hard limit, as servers that
/// hold many sockets should; returns the soft limit in force.
fn raise_open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `lim`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

/// Binds this shard's reliable-UDP socket and starts its driver; returns
/// the bound address.
fn start_udp(shard: &Rc<Shard>, at: SocketAddr) -> Result<SocketAddr, String> {
    let socket = rt::bind_udp(at).map_err(|e| format!("cannot listen for udp on {at}: {e}"))?;
    let bound = socket
        .local_addr()
        .map_err(|e| format!("udp socket address: {e}"))?;
    let grants = shard
        .shared
        .udp
        .as_ref()
        .ok_or("reliable UDP is not configured")?;
    let public = grants.set_bound(bound)?;
    crate::udp::adapter::driver(shard.clone(), socket, public)?.start();
    Ok(bound)
}

/// Binds this shard's QUIC socket and starts its endpoint; returns the
/// bound address.
fn start_quic(shard: &Rc<Shard>, at: SocketAddr) -> Result<SocketAddr, String> {
    let socket = rt::bind_udp(at).map_err(|e| format!("cannot listen for quic on {at}: {e}"))?;
    let bound = socket
        .local_addr()
        .map_err(|e| format!("quic socket address: {e}"))?;
    if let Some(q) = &shard.shared.quic {
        q.set_bound(bound);
    }
    let driver = crate::quic::adapter::driver(shard.clone(), socket)?;
    driver.start();
    *shard.quic.borrow_mut() = Some(driver);
    Ok(bound)
}

/// Graceful shutdown of one shard: close sessions with "going away", let
/// in-flight HTTP requests finish, and give up at `shutdown_grace_sec`.
async fn drain(shard: &Rc<Shard>) {
    let grace = Duration::from_secs(shard.config().shutdown_grace_sec);
    let deadline = Instant::now() + grace.max(Duration::from_millis(200));
    tracing::info!(
        shard = shard.id,
        sessions = shard.sessions.borrow().len(),
        "shard stopping"
    );
    shard.stopping.set();
    // Matches hear it first, while their members can still be reached.
    crate::realtime::matches::authoritative::terminate_all(
        shard,
        u32::try_from(grace.as_secs()).unwrap_or(u32::MAX),
    );
    // The shutdown hook, as Nakama's: once per node (on the first shard),
    // only with a grace period, and waited for at most that long while
    // this shard's sessions are still open.
    if shard.id == 0
        && !grace.is_zero()
        && let Some(hook) = shard.shared.modules.shutdown().cloned()
    {
        let ctx =
            crate::modules::Context::for_server(shard.clone(), crate::modules::CallMode::Shutdown);
        let grace_seconds = grace.as_secs();
        match crate::modules::guard::run(hook.call(ctx, grace_seconds), grace).await {
            Ok(()) => tracing::info!("shutdown hook finished"),
            Err(failure) => tracing::warn!(?failure, "shutdown hook did not finish"),
        }
    }
    let sessions: Vec<_> = shard.sessions.borrow().values().cloned().collect();
    for s in sessions {
        s.close(kairos_net::ws::close::GOING_AWAY, "server shutting down");
    }
    while (shard.http_conns.get() > 0 || !shard.sessions.borrow().is_empty())
        && Instant::now() < deadline
    {
        rt::sleep(Duration::from_millis(5)).await;
    }
    tracing::info!(
        shard = shard.id,
        open_connections = shard.http_conns.get(),
        open_sessions = shard.sessions.borrow().len(),
        "shard stopped"
    );
}
