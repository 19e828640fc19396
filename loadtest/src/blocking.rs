//! The `kairos-client` transports (`ws-protobuf`, `ws-flatbuffers`, `udp`,
//! `quic`; Kairos only): sessions opened and driven on the OS thread of
//! their worker ([`Fleet::spawn_threads`](crate::runner::Fleet::spawn_threads)),
//! since the client blocks.
//!
//! Receiving goes through [`Realtime::poll`] with a timeout (the thread
//! sleeps in the socket read, and wakes as soon as a datagram or frame
//! arrives), then [`Realtime::drain`] for the rest of the batch: no sleep,
//! no spinning in the generator's own code.

use std::time::{Duration, Instant};

use kairos_client::{Client, ConnectOptions, Error, Realtime, ServerMessage, Transport};
use tokio::runtime::Handle;

use crate::report::{OpId, Outcome};
use crate::rng::Rng;
use crate::runner::Run;
use crate::scenarios::SessionOps;
use crate::traffic::SEND_GRAIN;

/// Longest a receive waits before the loop looks at the run's state again.
pub const MAX_WAIT: Duration = Duration::from_millis(50);

/// The setup operation name of connecting with `transport`.
pub fn connect_op(transport: Transport) -> &'static str {
    match transport {
        Transport::ReliableUdp => "udp_connect",
        Transport::Quic => "quic_connect",
        _ => "ws_connect",
    }
}

/// A REST client of `--target` (HTTP host and port), with `--server-key`
/// and `--timeout`.
pub fn client(run: &Run) -> Result<Client, String> {
    let target = &run.opts.target;
    let (host, port) = target
        .rsplit_once(':')
        .ok_or_else(|| format!("--target: expected HOST:PORT, got {target:?}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--target: bad port in {target:?}"))?;
    Ok(Client::new(host, port, run.opts.server_key.clone()).with_timeout(run.opts.timeout))
}

/// The HTTP status (if any) and the outcome of a failed client call.
pub fn failure(e: &Error) -> (Option<u16>, Outcome) {
    let label = match e {
        Error::Timeout => return (None, Outcome::Timeout),
        Error::Api { status, .. } => {
            return (Some(*status), Outcome::Error(format!("http:{status}")));
        }
        Error::Realtime { code, .. } => format!("rt-error:{code}"),
        Error::Closed { code: Some(c), .. } => format!("closed:{c}"),
        Error::Closed { code: None, .. } => "closed".to_string(),
        Error::Io(io) => format!("io:{:?}", io.kind()),
        Error::Transport(m) if m.contains("Connection refused") => {
            "io:ConnectionRefused".to_string()
        }
        Error::Transport(m) if m.contains("timed out") => return (None, Outcome::Timeout),
        Error::Transport(_) => "transport".to_string(),
        Error::Decode(_) => "decode".to_string(),
        Error::Unavailable(_) => "unavailable".to_string(),
        Error::InvalidInput(_) => "invalid-input".to_string(),
    };
    (None, Outcome::Error(label))
}

/// The short label of a failed client call (`timeout` for a timeout).
pub fn label(e: &Error) -> String {
    match failure(e).1 {
        Outcome::Error(l) => l,
        _ => "timeout".to_string(),
    }
}

/// Records the result of a blocking call of `op` that started at `start`.
pub fn record<T>(run: &Run, op: OpId, start: Instant, result: &Result<T, Error>) {
    match result {
        Ok(_) => run.record(op, start, None, Outcome::Ok),
        Err(e) => {
            let (status, outcome) = failure(e);
            run.record(op, start, status, outcome);
        }
    }
}

/// Sets up one session for worker `id` on this thread: authenticates a
/// fresh device (`ops.auth`), then connects with `transport`
/// (`ops.connect`; for `udp` this includes fetching a connect token, for
/// `quic` the transports document, both over HTTP). Both bounded by
/// `--timeout`, at most `--setup-concurrency` at once. `None` on failure or
/// stop.
pub fn open_session(
    run: &Run,
    handle: &Handle,
    client: &Client,
    id: usize,
    ops: SessionOps,
    transport: Transport,
) -> Option<Realtime> {
    // The semaphore needs no I/O driver: waiting on it from a thread is fine.
    let _permit = handle
        .block_on(run.until_stopped(run.setup_permits.acquire()))?
        .ok()?;
    let mut rng = Rng::from_entropy(id as u64);
    let start = Instant::now();
    let session = client.authenticate_device(&rng.device_id(), true, None);
    record(run, ops.auth, start, &session);
    let session = session.ok()?;
    if run.is_stopped() {
        return None;
    }
    let start = Instant::now();
    let options = ConnectOptions {
        timeout: run.opts.timeout,
        ..ConnectOptions::default()
    };
    let rt = client.connect(&session, transport, options);
    match &rt {
        Ok(_) => {
            // The WebSocket upgrade's status, as the ws-json path reports it.
            let status = (!transport.is_datagram()).then_some(101);
            run.record(ops.connect, start, status, Outcome::Ok);
        }
        Err(e) => {
            let (status, outcome) = failure(e);
            run.record(ops.connect, start, status, outcome);
        }
    }
    let mut rt = rt.ok()?;
    rt.set_timeout(run.opts.timeout);
    Some(rt)
}

/// Waits up to `wait` for messages and hands each to `on`, stamped with
/// the time the batch arrived; returns how many came. `wait` under the
/// timer grain only takes what is ready (no spinning).
pub fn receive(
    rt: &mut Realtime,
    wait: Duration,
    batch: &mut Vec<ServerMessage>,
    mut on: impl FnMut(ServerMessage, Instant),
) -> Result<usize, Error> {
    let first = if wait < SEND_GRAIN {
        rt.pump()?;
        None
    } else {
        rt.poll(wait)?
    };
    let at = Instant::now();
    let mut n = 0;
    if let Some(m) = first {
        on(m, at);
        n += 1;
    }
    rt.drain(batch);
    for m in batch.drain(..) {
        on(m, at);
        n += 1;
    }
    Ok(n)
}
