//! `baseline-udp-blast`: the raw one-way loopback datagram rate. Each of
//! `--concurrency` pairs is a sender thread that sends `--payload`-byte
//! datagrams (send time and sequence number first) as fast as it can, with
//! a blocking std socket, to a receiver thread on its own socket. The
//! receivers count datagrams stamped inside the window; what the kernel
//! dropped (full receive buffer) is the difference. The denominator for
//! delivered match messages per second over reliable UDP.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::Outcome;
use crate::report::{Kind, Outcome as Sample};
use crate::runner::{Fleet, Run};

/// Smallest `--payload`: send time and sequence number.
pub const MIN_PAYLOAD: usize = 16;
/// Default `--payload`: the size of `match-relay`'s default data.
pub const DEFAULT_PAYLOAD: usize = 64;
/// How long receivers may take, after the window, to read what is still
/// queued in their sockets.
const DRAIN: Duration = Duration::from_millis(250);
/// Counters are published every this many datagrams (and at the end).
const PUBLISH_EVERY: u64 = 1024;

/// A counter on a cache line of its own: one thread writes it.
#[derive(Default)]
#[repr(align(128))]
struct Counter(AtomicU64);

#[derive(Default)]
struct Pair {
    sent: Counter,
    received: Counter,
    send_errors: Counter,
}

/// The datagram header: send time (ns since the run's origin) and
/// sequence number, little endian.
pub fn encode(buf: &mut [u8], sent_ns: u64, seq: u64) {
    buf[..8].copy_from_slice(&sent_ns.to_le_bytes());
    buf[8..16].copy_from_slice(&seq.to_le_bytes());
}

/// The send time of a datagram, if it is long enough to carry one.
pub fn decode(buf: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(buf.get(..8)?.try_into().ok()?))
}

fn send_loop(run: &Run, socket: &UdpSocket, pair: &Pair, payload: usize) {
    let mut buf = vec![0u8; payload];
    let (mut seq, mut sent, mut errors) = (0u64, 0u64, 0u64);
    while !run.window_closed() {
        seq += 1;
        let now = Instant::now();
        encode(&mut buf, run.ns_since_origin(now), seq);
        match socket.send(&buf) {
            Ok(_) if run.in_window(now) => {
                sent += 1;
                if sent.is_multiple_of(PUBLISH_EVERY) {
                    pair.sent.0.store(sent, Ordering::Relaxed);
                }
            }
            Ok(_) => {}
            // ENOBUFS and the like: the kernel refused it; count and go on.
            Err(_) => errors += 1,
        }
    }
    pair.sent.0.store(sent, Ordering::Release);
    pair.send_errors.0.store(errors, Ordering::Release);
}

fn receive_loop(run: &Run, socket: &UdpSocket, pair: &Pair) {
    let mut buf = vec![0u8; 65536];
    let mut received = 0u64;
    while !run.is_stopped() {
        match socket.recv(&mut buf) {
            Ok(n) => {
                let Some(ns) = decode(&buf[..n]) else {
                    continue;
                };
                if run.in_window(run.at_ns(ns)) {
                    received += 1;
                    if received.is_multiple_of(PUBLISH_EVERY) {
                        pair.received.0.store(received, Ordering::Relaxed);
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                pair.received.0.store(received, Ordering::Relaxed);
            }
            Err(_) => {}
        }
    }
    pair.received.0.store(received, Ordering::Release);
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let pairs = run.opts.concurrency;
    let payload = run.opts.payload.unwrap_or(DEFAULT_PAYLOAD);
    let bind = run.stats.register("udp_bind", Kind::Setup);
    let datagram = run.stats.register("datagram", Kind::Measured);

    // Sockets first: worker 2p receives on sockets[2p], worker 2p + 1
    // sends from sockets[2p + 1], connected to it.
    let mut sockets = Vec::with_capacity(2 * pairs);
    for _ in 0..pairs {
        let start = Instant::now();
        let pair = (|| {
            let rx = UdpSocket::bind("127.0.0.1:0")?;
            // Wake up regularly to notice the end.
            rx.set_read_timeout(Some(Duration::from_millis(50)))?;
            let tx = UdpSocket::bind("127.0.0.1:0")?;
            tx.connect(rx.local_addr()?)?;
            Ok::<_, io::Error>((rx, tx))
        })();
        match pair {
            Ok((rx, tx)) => {
                run.record(bind, start, None, Sample::Ok);
                sockets.push(Mutex::new(Some(rx)));
                sockets.push(Mutex::new(Some(tx)));
            }
            Err(e) => {
                run.record(
                    bind,
                    start,
                    None,
                    Sample::Error(format!("io:{:?}", e.kind())),
                );
                return Err(format!("cannot bind loopback UDP sockets: {e}"));
            }
        }
    }
    let sockets = Arc::new(sockets);
    let counters: Arc<Vec<Pair>> = Arc::new((0..pairs).map(|_| Pair::default()).collect());
    let senders_active = Arc::new(AtomicUsize::new(pairs));

    let fleet = {
        let (sockets, counters, senders_active) =
            (sockets.clone(), counters.clone(), senders_active.clone());
        Fleet::spawn_threads(run, 2 * pairs, move |mut w| {
            let run = w.run.clone();
            let socket = sockets[w.id].lock().expect("socket lock").take();
            w.ready();
            let pair = &counters[w.id / 2];
            match socket {
                Some(s) if w.id % 2 == 1 => {
                    send_loop(&run, &s, pair, payload);
                    senders_active.fetch_sub(1, Ordering::AcqRel);
                }
                Some(s) => receive_loop(&run, &s, pair),
                None if w.id % 2 == 1 => {
                    senders_active.fetch_sub(1, Ordering::AcqRel);
                }
                None => {}
            }
        })
    };
    fleet.wait_ready().await;
    let (c, a) = (counters.clone(), senders_active.clone());
    fleet
        .measure_and_drain(DRAIN, move || {
            a.load(Ordering::Acquire) == 0
                && c.iter().all(|p| {
                    p.received.0.load(Ordering::Relaxed) >= p.sent.0.load(Ordering::Acquire)
                })
        })
        .await;

    let total = |f: fn(&Pair) -> &Counter| -> u64 {
        counters
            .iter()
            .map(|p| f(p).0.load(Ordering::Acquire))
            .sum()
    };
    let sent = total(|p| &p.sent);
    let received = total(|p| &p.received);
    let send_errors = total(|p| &p.send_errors);
    let dropped = sent.saturating_sub(received);
    run.stats.add_counts(datagram, received, dropped, "dropped");
    for (name, n) in [
        ("sent", sent),
        ("received", received),
        ("dropped", dropped),
        ("send_errors", send_errors),
    ] {
        run.stats.count(name, n);
    }
    let secs = run.measured().as_secs_f64();
    let per_sec = |n: u64| {
        if secs > 0.0 {
            (n as f64 / secs).round()
        } else {
            0.0
        }
    };
    let drop_ratio = if sent > 0 {
        ((dropped as f64 / sent as f64) * 1e6).round() / 1e6
    } else {
        0.0
    };
    Ok(Outcome {
        target: format!("in-process loopback UDP, {pairs} sender/receiver thread pair(s)"),
        extra: vec![
            ("payload_bytes".into(), json!(payload)),
            ("received_per_sec".into(), json!(per_sec(received))),
            ("sent_per_sec".into(), json!(per_sec(sent))),
            ("drop_ratio".into(), json!(drop_ratio)),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        let mut b = [0u8; MIN_PAYLOAD];
        encode(&mut b, 0xdead_beef, 7);
        assert_eq!(decode(&b), Some(0xdead_beef));
        assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 7);
        assert_eq!(decode(&b[..7]), None);
    }
}
