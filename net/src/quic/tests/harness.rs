//! Servers (one per shard, sharing one address) and clients, joined by two
//! lossy [`Link`]s, stepped through virtual time. Datagrams to the servers
//! go through a model of the kernel's SO_REUSEPORT choice (the client's
//! port, modulo the shard count) and then through [`QuicServer::route`],
//! as the real driver will.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::datagram::DatagramServer;
use crate::quic::{
    ClientEvent, ClientTls, CloseReason, ConnId, QuicClient, QuicConfig, QuicServer, ServerConfig,
    ServerEvent, ServerTls, codes,
};
use crate::sim::{Datagram, Link, LinkConfig};

pub(super) const STEP: Duration = Duration::from_millis(1);

pub(super) fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 7350))
}

pub(super) fn client_addr(index: usize, port: u16) -> SocketAddr {
    let index = u16::try_from(index).unwrap();
    SocketAddr::from(([10, 1, (index >> 8) as u8, index as u8], port))
}

/// What the servers do with a `Connected` connection's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decide {
    /// Accept tokens that start with "good", reject the rest with
    /// `codes::UNAUTHORIZED`.
    Auto,
    /// Leave the decision to the test.
    Hold,
}

pub(super) struct Node {
    pub addr: SocketAddr,
    pub client: QuicClient,
    pub events: Vec<ClientEvent>,
    /// A muted client's datagrams are dropped before they reach the link.
    pub muted: bool,
}

impl Node {
    pub fn messages(&self, reliable: bool) -> Vec<Bytes> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message {
                    reliable: r,
                    payload,
                } if *r == reliable => Some(payload.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn closed(&self) -> Option<&CloseReason> {
        self.events.iter().find_map(|e| match e {
            ClientEvent::Closed { reason } => Some(reason),
            _ => None,
        })
    }
}

pub(super) struct World {
    pub t0: Instant,
    pub now: Instant,
    pub servers: Vec<QuicServer>,
    /// Per shard.
    pub server_events: Vec<Vec<ServerEvent>>,
    pub nodes: Vec<Node>,
    pub up: Link,
    pub down: Link,
    pub decide: Decide,
    pub client_tls: ClientTls,
    pub client_config: QuicConfig,
    /// The certificate the servers use, as PEM.
    pub cert_pem: String,
    /// Every datagram the clients and servers sent, when capturing.
    pub captured_up: Option<Vec<Datagram>>,
    pub captured_down: Option<Vec<Datagram>>,
    /// Datagrams a shard handed to another (the kernel picked the wrong one).
    pub forwarded: u64,
    pub longest_datagram: usize,
    buf: Vec<u8>,
}

impl World {
    pub fn new(link: LinkConfig, seed: u64) -> Self {
        Self::build(1, link, seed, |_| {})
    }

    pub fn build(
        shards: usize,
        link: LinkConfig,
        seed: u64,
        configure: impl Fn(&mut ServerConfig),
    ) -> Self {
        let t0 = Instant::now();
        let names = ["localhost".to_string(), "127.0.0.1".to_string()];
        let (tls, cert_pem) = ServerTls::self_signed(&names).unwrap();
        let servers = (0..shards)
            .map(|shard| {
                let mut config = ServerConfig::new(tls.clone(), shard as u16, shards);
                configure(&mut config);
                QuicServer::new(t0, config).unwrap()
            })
            .collect();
        Self {
            t0,
            now: t0,
            servers,
            server_events: vec![Vec::new(); shards],
            nodes: Vec::new(),
            up: Link::new(link, seed),
            down: Link::new(link, seed ^ 0xD0_D0),
            decide: Decide::Auto,
            client_tls: ClientTls::trusting_pem(cert_pem.as_bytes()).unwrap(),
            client_config: QuicConfig::default(),
            cert_pem,
            captured_up: None,
            captured_down: None,
            forwarded: 0,
            longest_datagram: 0,
            buf: Vec::new(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// The shard the kernel's SO_REUSEPORT hash picks for `from`.
    pub fn kernel_shard(&self, from: SocketAddr) -> usize {
        usize::from(from.port()) % self.servers.len()
    }

    /// A client port that the kernel model sends to `shard`.
    pub fn port_for_shard(&self, shard: usize, index: usize) -> u16 {
        let n = self.servers.len();
        let base = 40_000 + index * n;
        (base + (shard + n - base % n) % n) as u16
    }

    /// Adds a client presenting `token`, on a port the kernel sends to shard
    /// `index % shards`; returns its index.
    pub fn add_client(&mut self, token: &str) -> usize {
        let index = self.nodes.len();
        let shard = index % self.servers.len();
        let addr = client_addr(index, self.port_for_shard(shard, index));
        let client = QuicClient::connect(
            self.now,
            server_addr(),
            "localhost",
            token,
            &self.client_tls,
            self.client_config.clone(),
        )
        .unwrap();
        self.add_node(addr, client)
    }

    pub fn add_node(&mut self, addr: SocketAddr, client: QuicClient) -> usize {
        self.nodes.push(Node {
            addr,
            client,
            events: Vec::new(),
            muted: false,
        });
        let index = self.nodes.len() - 1;
        self.collect();
        index
    }

    /// Hands a datagram to the shard the kernel picks, or to the one that
    /// shard's `route` names.
    pub fn deliver_up(&mut self, mut datagram: Datagram) {
        let kernel = self.kernel_shard(datagram.from);
        let target = self.servers[kernel]
            .route(&datagram.payload)
            .map_or(kernel, usize::from);
        if target != kernel {
            self.forwarded += 1;
        }
        self.servers[target].handle_datagram(self.now, datagram.from, &mut datagram.payload);
    }

    /// One millisecond of virtual time: deliveries, timers, events, sends.
    pub fn step(&mut self) {
        self.now += STEP;
        let now = self.now;
        let elapsed = self.elapsed();
        while let Some(datagram) = self.up.poll_deliver(elapsed) {
            self.deliver_up(datagram);
        }
        while let Some(datagram) = self.down.poll_deliver(elapsed) {
            if let Some(node) = self.nodes.iter_mut().find(|n| n.addr == datagram.to) {
                node.client.handle_datagram(
                    now,
                    datagram.from,
                    BytesMut::from(&datagram.payload[..]),
                );
            }
        }
        for server in &mut self.servers {
            if server.poll_timeout().is_some_and(|t| t <= now) {
                server.handle_timeout(now);
            }
        }
        for node in &mut self.nodes {
            if node.client.poll_timeout().is_some_and(|t| t <= now) {
                node.client.handle_timeout(now);
            }
        }
        self.collect();
    }

    /// Moves events into the logs (deciding on tokens) and datagrams onto
    /// the links.
    pub fn collect(&mut self) {
        let now = self.now;
        let elapsed = self.elapsed();
        for (shard, server) in self.servers.iter_mut().enumerate() {
            while let Some(event) = server.poll_event() {
                if let (Decide::Auto, ServerEvent::Connected { conn, token, .. }) =
                    (self.decide, &event)
                {
                    if token.starts_with("good") {
                        assert!(server.accept(now, *conn));
                    } else {
                        assert!(server.reject(now, *conn, codes::UNAUTHORIZED, "bad token"));
                    }
                }
                self.server_events[shard].push(event);
            }
            while let Some(t) = server.poll_transmit(now, &mut self.buf) {
                let bytes = &self.buf[..t.size];
                self.longest_datagram = self.longest_datagram.max(t.size);
                if let Some(captured) = &mut self.captured_down {
                    captured.push(Datagram {
                        from: server_addr(),
                        to: t.destination,
                        payload: bytes.to_vec(),
                    });
                }
                self.down.send(elapsed, server_addr(), t.destination, bytes);
            }
        }
        for node in &mut self.nodes {
            while let Some(event) = node.client.poll_event() {
                node.events.push(event);
            }
            while let Some(t) = node.client.poll_transmit(now, &mut self.buf) {
                if node.muted {
                    continue;
                }
                let bytes = &self.buf[..t.size];
                self.longest_datagram = self.longest_datagram.max(t.size);
                if let Some(captured) = &mut self.captured_up {
                    captured.push(Datagram {
                        from: node.addr,
                        to: t.destination,
                        payload: bytes.to_vec(),
                    });
                }
                self.up.send(elapsed, node.addr, t.destination, bytes);
            }
        }
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
            w.nodes.iter().all(|n| n.client.is_connected())
        });
        assert!(connected, "handshakes did not complete");
    }

    /// Every event of every shard.
    pub fn all_server_events(&self) -> impl Iterator<Item = (usize, &ServerEvent)> {
        self.server_events
            .iter()
            .enumerate()
            .flat_map(|(shard, events)| events.iter().map(move |e| (shard, e)))
    }

    /// The shard and id of the connection that presented `token`.
    pub fn conn_of(&self, token: &str) -> Option<(usize, ConnId)> {
        self.all_server_events().find_map(|(shard, e)| match e {
            ServerEvent::Connected { conn, token: t, .. } if t == token => Some((shard, *conn)),
            _ => None,
        })
    }

    /// Messages a shard received from `conn`, reliable or not.
    pub fn server_messages(&self, shard: usize, conn: ConnId, reliable: bool) -> Vec<Bytes> {
        self.server_events[shard]
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Message {
                    conn: c,
                    reliable: r,
                    payload,
                } if *c == conn && *r == reliable => Some(payload.clone()),
                _ => None,
            })
            .collect()
    }

    /// The close events of all shards.
    pub fn server_closes(&self) -> Vec<(ConnId, CloseReason)> {
        self.all_server_events()
            .filter_map(|(_, e)| match e {
                ServerEvent::Closed { conn, reason } => Some((*conn, reason.clone())),
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
