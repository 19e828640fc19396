//! One server and any number of clients, joined by two lossy [`Link`]s,
//! stepped through virtual time.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use crate::rudp::{
    Channel, ClientEvent, ClientState, ConnectTokenParams, DatagramServer, PrivateKey, RudpClient,
    RudpConfig, RudpServer, ServerConfig, ServerEvent, Transmits, USER_DATA_BYTES,
    mint_connect_token,
};
use crate::sim::{Datagram, Link, LinkConfig};

/// The virtual start time: a plausible UNIX time, since tokens carry one.
pub(super) const T0: Duration = Duration::from_secs(1_700_000_000);
pub(super) const PROTOCOL_ID: u64 = 0x4B41_4952_4F53;
pub(super) const STEP: Duration = Duration::from_millis(1);
pub(super) const TICK: Duration = Duration::from_millis(10);
pub(super) const TIMEOUT_SECONDS: i32 = 2;

pub(super) fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 7350))
}

pub(super) fn client_addr(index: usize) -> SocketAddr {
    let index = u16::try_from(index).unwrap();
    SocketAddr::from(([10, 1, (index >> 8) as u8, index as u8], 40_000 + index))
}

/// The user data a test client's token carries: its id, repeated.
pub(super) fn user_data_for(client_id: u64) -> [u8; USER_DATA_BYTES] {
    let mut data = [0u8; USER_DATA_BYTES];
    for chunk in data.chunks_mut(8) {
        chunk.copy_from_slice(&client_id.to_le_bytes());
    }
    data
}

/// One client and what it reported.
pub(super) struct Node {
    pub addr: SocketAddr,
    pub client: RudpClient,
    pub events: Vec<ClientEvent>,
    /// A muted client's datagrams are dropped before they reach the link.
    pub muted: bool,
}

impl Node {
    pub fn messages(&self, channel: Channel) -> Vec<Bytes> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message {
                    channel: c,
                    payload,
                } if *c == channel => Some(payload.clone()),
                _ => None,
            })
            .collect()
    }
}

pub(super) struct World {
    pub now: Duration,
    pub key: PrivateKey,
    pub server: RudpServer,
    pub nodes: Vec<Node>,
    /// Clients to server.
    pub up: Link,
    /// Server to clients.
    pub down: Link,
    pub server_events: Vec<ServerEvent>,
    /// Every datagram the clients sent, when capturing.
    pub captured_up: Option<Vec<Datagram>>,
    /// The longest datagram either side queued.
    pub longest_datagram: usize,
    next_tick: Duration,
    batch: Transmits,
    buf: Vec<u8>,
}

impl World {
    pub fn new(link: LinkConfig, seed: u64) -> Self {
        Self::with_server(link, seed, |_| {})
    }

    pub fn with_server(
        link: LinkConfig,
        seed: u64,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let key = PrivateKey::from_bytes([0x5A; 32]);
        let mut config = ServerConfig::new(key.clone(), PROTOCOL_ID, vec![server_addr()]);
        config.tick = TICK;
        configure(&mut config);
        Self {
            now: T0,
            key,
            server: RudpServer::new(T0, config).unwrap(),
            nodes: Vec::new(),
            up: Link::new(link, seed),
            down: Link::new(link, seed ^ 0xD0_D0),
            server_events: Vec::new(),
            captured_up: None,
            longest_datagram: 0,
            next_tick: T0,
            batch: Transmits::new(),
            buf: Vec::new(),
        }
    }

    pub fn token_params<'a>(
        &self,
        client_id: u64,
        user_data: &'a [u8; USER_DATA_BYTES],
        addrs: &'a [SocketAddr],
    ) -> ConnectTokenParams<'a> {
        ConnectTokenParams {
            protocol_id: PROTOCOL_ID,
            client_id,
            user_data,
            server_addresses: addrs,
            expire_seconds: 30,
            timeout_seconds: TIMEOUT_SECONDS,
            now: self.now,
        }
    }

    pub fn token(&self, client_id: u64) -> Vec<u8> {
        let user_data = user_data_for(client_id);
        let addrs = [server_addr()];
        mint_connect_token(&self.key, &self.token_params(client_id, &user_data, &addrs)).unwrap()
    }

    /// Adds a client with a valid token for `client_id`; returns its index.
    pub fn add_client(&mut self, client_id: u64) -> usize {
        let token = self.token(client_id);
        self.add_client_with_token(&token)
    }

    pub fn add_client_with_token(&mut self, token: &[u8]) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node {
            addr: client_addr(index),
            client: RudpClient::new(self.now, token, RudpConfig::default()).unwrap(),
            events: Vec::new(),
            muted: false,
        });
        index
    }

    /// One millisecond of virtual time: deliveries, then the server's due
    /// timers (its flush and, every [`TICK`], its tick), and the clients'
    /// flushes and, on every tenth millisecond, their ticks.
    pub fn step(&mut self) {
        self.now += STEP;
        let now = self.now;
        while let Some(mut datagram) = self.up.poll_deliver(now) {
            self.server
                .handle_datagram(now, datagram.from, &mut datagram.payload);
        }
        self.server.handle_timeout(now);
        while let Some(mut datagram) = self.down.poll_deliver(now) {
            if let Some(node) = self.nodes.iter_mut().find(|n| n.addr == datagram.to) {
                node.client
                    .handle_datagram(now, datagram.from, &mut datagram.payload);
            }
        }
        for node in &mut self.nodes {
            node.client.flush(now);
        }
        if now >= self.next_tick {
            for node in &mut self.nodes {
                node.client.update(now);
            }
            self.next_tick += TICK;
        }
        self.collect();
    }

    /// Moves events into the logs and datagrams onto the links.
    pub fn collect(&mut self) {
        let now = self.now;
        while let Some(event) = self.server.poll_event() {
            self.server_events.push(event);
        }
        while let Some(t) = self.server.poll_transmit(now, &mut self.buf) {
            self.longest_datagram = self.longest_datagram.max(t.size);
            self.down
                .send(now, server_addr(), t.destination, &self.buf[..t.size]);
        }
        for node in &mut self.nodes {
            while let Some(event) = node.client.poll_event() {
                node.events.push(event);
            }
            node.client.take_transmits(&mut self.batch);
            if node.muted {
                continue;
            }
            for (to, bytes) in self.batch.iter() {
                self.longest_datagram = self.longest_datagram.max(bytes.len());
                if let Some(captured) = &mut self.captured_up {
                    captured.push(Datagram {
                        from: node.addr,
                        to,
                        payload: bytes.to_vec(),
                    });
                }
                self.up.send(now, node.addr, to, bytes);
            }
        }
    }

    /// Takes every datagram the server queued, without sending any.
    pub fn take_server_datagrams(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(t) = self.server.poll_transmit(self.now, &mut self.buf) {
            out.push((t.destination, self.buf[..t.size].to_vec()));
        }
        out
    }

    /// Runs the server's next tick, at its due time (which may be ahead of
    /// the world's), and returns that time.
    pub fn tick_server(&mut self) -> Duration {
        let due = self.server.poll_timeout().expect("the tick never stops");
        let at = due.max(self.now);
        self.server.handle_timeout(at);
        at
    }

    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.step();
        }
    }

    /// Steps until `done` holds (true) or `limit` passes (false).
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Steps until every client is connected; panics after 5 virtual seconds.
    pub fn connect_all(&mut self) {
        let connected = self.run_until(Duration::from_secs(5), |w| {
            w.nodes
                .iter()
                .all(|n| n.client.state() == ClientState::Connected)
                && w.server.connected_clients() == w.nodes.len()
        });
        assert!(connected, "handshakes did not complete");
    }

    /// Messages the server received on `channel` from `client_id`.
    pub fn server_messages(&self, client_id: u64, channel: Channel) -> Vec<Bytes> {
        self.server_events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Message {
                    client_id: id,
                    channel: c,
                    payload,
                } if *id == client_id && *c == channel => Some(payload.clone()),
                _ => None,
            })
            .collect()
    }

    /// The disconnect events the server reported.
    pub fn server_disconnects(&self) -> Vec<(u64, crate::rudp::DisconnectReason)> {
        self.server_events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Disconnected { client_id, reason } => Some((*client_id, *reason)),
                _ => None,
            })
            .collect()
    }
}

/// `count` numbered messages, `prefix` then the number; every `big_every`-th
/// one padded to `big_len` bytes (0 disables).
pub(super) fn numbered(prefix: &str, count: usize, big_every: usize, big_len: usize) -> Vec<Bytes> {
    (0..count)
        .map(|i| {
            let mut message = format!("{prefix}{i:06}").into_bytes();
            if big_every != 0 && i % big_every == 0 {
                message.resize(big_len, b'.');
            }
            Bytes::from(message)
        })
        .collect()
}
