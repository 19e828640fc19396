//! QUIC input: `kairos_net::quic::QuicServer`, fed datagrams from arbitrary
//! addresses the way the shard's datagram driver feeds it
//! (shards/src/datagram/driver.rs, with shards/src/quic/adapter.rs: `route`
//! first, `handle_datagram` for its own, then events and transmits;
//! `handle_timeout` when due), with a
//! self-signed test certificate (made once per process) and a clock that
//! only the input advances. Two shards share the port, so `route` sends
//! some datagrams to the other one, which is fed them as the mesh would.
//!
//! Input: records. Each starts with an op byte; `op & 1`:
//! * 0: a datagram from address `op >> 1 & 3`: a 2-byte little-endian
//!   length (up to the driver's receive buffer), then the bytes;
//! * 1: one byte of milliseconds (times 8) passes, and due timers fire.

#![no_main]

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use kairos_net::quic::{DatagramServer, MAX_UDP_PAYLOAD, QuicServer, ServerConfig, ServerTls};
use libfuzzer_sys::fuzz_target;

/// The certificate, and the instant every input's clock starts at.
static FIXTURE: LazyLock<(ServerTls, Instant)> = LazyLock::new(|| {
    let names = ["localhost".to_string(), "127.0.0.1".to_string()];
    let (tls, _) = ServerTls::self_signed(&names).expect("test certificate");
    (tls, Instant::now())
});

fn addr(index: u8) -> SocketAddr {
    SocketAddr::from(([10, 1, 0, index], 40_000 + u16::from(index)))
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(input.len());
    let (head, tail) = input.split_at(n);
    *input = tail;
    head
}

/// Sends what `server` queued; nothing reaches a peer.
fn drain(server: &mut QuicServer, now: Instant, buf: &mut Vec<u8>) {
    while server.poll_event().is_some() {}
    while let Some(t) = server.poll_transmit(now, buf) {
        assert!(t.size <= MAX_UDP_PAYLOAD);
    }
}

fuzz_target!(|data: &[u8]| {
    let (tls, t0) = &*FIXTURE;
    let mut servers: Vec<QuicServer> = (0..2u16)
        .map(|shard| {
            QuicServer::new(*t0, ServerConfig::new(tls.clone(), shard, 2)).expect("valid config")
        })
        .collect();
    let mut now = *t0;
    let mut buf = Vec::new();
    let mut input = data;
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        if op & 1 == 0 {
            let len = take(&mut input, 2);
            let n = usize::from(len.first().copied().unwrap_or(0))
                | usize::from(len.get(1).copied().unwrap_or(0)) << 8;
            let datagram = take(&mut input, n % (MAX_UDP_PAYLOAD + 65));
            let shard = servers[0].route(datagram).map_or(0, usize::from);
            servers[shard].handle_datagram(now, addr(op >> 1 & 3), &mut datagram.to_vec());
            drain(&mut servers[shard], now, &mut buf);
        } else {
            let ms = take(&mut input, 1).first().copied().unwrap_or(0);
            now += Duration::from_millis(u64::from(ms) * 8);
            for server in &mut servers {
                if server.poll_timeout().is_some_and(|due| due <= now) {
                    server.handle_timeout(now);
                }
                drain(server, now, &mut buf);
            }
        }
    }
});
