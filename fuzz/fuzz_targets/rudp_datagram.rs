//! Netcode packets: `kairos_net::rudp::RudpServer`, fed datagrams from
//! arbitrary addresses the way the shard's datagram driver feeds it
//! (shards/src/datagram/driver.rs: `handle_datagram`, then drain the events
//! and the transmits; `handle_timeout` for the flush after writes and for
//! the tick), with a fixed key and a fixed clock. Every datagram passes the stateless filter
//! (`rudp/filter.rs`) and the server's own checks first.
//!
//! Encryption keeps random bytes from ever reaching renet, so each input
//! also connects one real netcode client (renetcode, with a token minted
//! for the server's key) and can have it seal arbitrary bytes as its
//! payload packets: a modified client, which every player can be. Those
//! reach the payload guard (`rudp/guard.rs`) and renet behind it.
//!
//! Input: records. Each starts with an op byte; `op & 3`:
//! * 0: a raw datagram from address `op >> 2 & 3` (0 is the connected
//!   client's): a 2-byte little-endian length (up to 2048, the driver's
//!   receive buffer), then the bytes;
//! * 1: a payload the client seals: a 2-byte length, then the bytes;
//! * 2: the tick: one byte of milliseconds (times 4) passes, the server
//!   runs its timers (a tick of 1 ns: any time passed makes it due), and
//!   its datagrams reach the client, which answers;
//! * 3: the server's due timers at the same time: the flush.

#![no_main]

use std::net::SocketAddr;
use std::time::Duration;

use kairos_net::rudp::{
    ConnectTokenParams, DatagramServer, MAX_DATAGRAM_BYTES, PrivateKey, RudpServer, ServerConfig,
    ServerEvent, USER_DATA_BYTES, mint_connect_token,
};
use libfuzzer_sys::fuzz_target;
use renetcode::{ClientAuthentication, ConnectToken, NetcodeClient};

const PROTOCOL_ID: u64 = 7;
const KEY: [u8; 32] = [0x5A; 32];
/// A fixed clock: the UNIX time the input starts at.
const T0: Duration = Duration::from_secs(1_760_000_000);
const CLIENT_ID: u64 = 1;

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 7352))
}

fn addr(index: u8) -> SocketAddr {
    SocketAddr::from(([10, 1, 0, index], 40_000 + u16::from(index)))
}

struct Harness {
    now: Duration,
    server: RudpServer,
    client: NetcodeClient,
    buf: Vec<u8>,
}

impl Harness {
    /// The server, and one client through the netcode handshake.
    fn connected() -> Self {
        let key = PrivateKey::from_bytes(KEY);
        let mut config = ServerConfig::new(key.clone(), PROTOCOL_ID, vec![server_addr()]);
        // `udp.max_clients` (the driver's setting) set low: the server
        // allocates every slot up front, per input here.
        config.max_clients = 4;
        config.tick = Duration::from_nanos(1);
        config.idle_tick = Duration::from_nanos(1);
        let server = RudpServer::new(T0, config).expect("valid config");
        let user_data = [0u8; USER_DATA_BYTES];
        let token = mint_connect_token(
            &key,
            &ConnectTokenParams {
                protocol_id: PROTOCOL_ID,
                client_id: CLIENT_ID,
                user_data: &user_data,
                server_addresses: &[server_addr()],
                expire_seconds: 30,
                timeout_seconds: 5,
                now: T0,
            },
        )
        .expect("token");
        let connect_token = ConnectToken::read(&mut &token[..]).expect("token reads");
        let client =
            NetcodeClient::new(T0, ClientAuthentication::Secure { connect_token }).expect("client");
        let mut h = Harness {
            now: T0,
            server,
            client,
            buf: Vec::new(),
        };
        for _ in 0..4 {
            if let Some((packet, _)) = h.client.update(Duration::ZERO) {
                let mut packet = packet.to_vec();
                h.server.handle_datagram(h.now, addr(0), &mut packet);
            }
            h.drain();
            h.deliver();
        }
        assert!(h.client.is_connected(), "the handshake completes");
        h
    }

    /// What the driver does after every call: drain events and transmits.
    fn drain(&mut self) {
        while let Some(event) = self.server.poll_event() {
            if let ServerEvent::Message { payload, .. } = event {
                assert!(payload.len() <= 64 * 1024 + 1200);
            }
        }
    }

    /// Sends the server's datagrams; those to the client reach it.
    fn deliver(&mut self) {
        while let Some(t) = self.server.poll_transmit(self.now, &mut self.buf) {
            assert!(t.size <= MAX_DATAGRAM_BYTES);
            if t.destination == addr(0) {
                let _ = self.client.process_packet(&mut self.buf[..t.size]);
            }
        }
    }
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let n = n.min(input.len());
    let (head, tail) = input.split_at(n);
    *input = tail;
    head
}

fn length(input: &mut &[u8], max: usize) -> usize {
    let b = take(input, 2);
    let n = usize::from(b.first().copied().unwrap_or(0))
        | usize::from(b.get(1).copied().unwrap_or(0)) << 8;
    n % (max + 1)
}

fuzz_target!(|data: &[u8]| {
    let mut h = Harness::connected();
    let mut input = data;
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        match op & 3 {
            0 => {
                let n = length(&mut input, 2048);
                let mut datagram = take(&mut input, n).to_vec();
                h.server
                    .handle_datagram(h.now, addr(op >> 2 & 3), &mut datagram);
            }
            1 => {
                let n = length(&mut input, 2048);
                let payload = take(&mut input, n);
                if let Ok((_, packet)) = h.client.generate_payload_packet(payload) {
                    let mut packet = packet.to_vec();
                    h.server.handle_datagram(h.now, addr(0), &mut packet);
                }
            }
            2 => {
                let ms = take(&mut input, 1).first().copied().unwrap_or(0);
                let dt = Duration::from_millis(u64::from(ms) * 4);
                h.now += dt;
                h.server.handle_timeout(h.now);
                h.drain();
                h.deliver();
                if let Some((packet, _)) = h.client.update(dt) {
                    let mut packet = packet.to_vec();
                    h.server.handle_datagram(h.now, addr(0), &mut packet);
                }
            }
            _ => h.server.handle_timeout(h.now),
        }
        h.drain();
        h.deliver();
    }
    h.now += Duration::from_millis(1);
    h.server.handle_timeout(h.now);
    h.drain();
    h.deliver();
});
