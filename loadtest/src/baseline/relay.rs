//! The raw relay: the floor of TCP fan-out on this machine. One thread, one
//! `epoll` instance (through `mio`), no runtime, no envelope, no JSON:
//! WebSocket connections (`kairos-net`'s codec in the server role) join the
//! group named in their upgrade request, `GET /relay?group=N`, and every
//! data frame one member sends is forwarded verbatim (same opcode, same
//! payload) to the group's other members.
//!
//! A frame to forward is encoded once into a scratch buffer and appended to
//! each recipient's output buffer; the output buffers of every connection
//! that got something are written once per `epoll` round, so frames that
//! arrive together leave together. A write the kernel takes only in part
//! keeps the rest in the buffer until the socket is writable again.
//!
//! Every input is bounded: the request head ([`upgrade::MAX_REQUEST`]),
//! messages ([`Limits::max_message`], refused with close code 1009), the
//! connections ([`Limits::max_connections`]; more are closed on accept),
//! the members of a group ([`MAX_GROUP`], refused with 409) and each
//! connection's pending output ([`Limits::max_output`]: a recipient that
//! falls that far behind is disconnected). A refused upgrade or a protocol
//! error closes that connection only.
//!
//! It runs as a process of its own (`kairos-loadtest raw-relay-server`, see
//! [`main`]), so that its CPU time can be read from `/proc` like a real
//! server's; [`RelayProcess`](super::relay_process::RelayProcess) starts
//! one.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};

use bytes::BytesMut;
use kairos_net::ws::{self, Connection, Event, OpCode};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::upgrade;

/// The request path of an upgrade (`/relay?group=N`).
pub const PATH: &str = "/relay";
/// Most members of one group.
pub const MAX_GROUP: usize = 1024;
/// Default [`Limits::max_message`]: room for the largest `--payload`
/// (1 MiB) in base64 inside an envelope.
pub const DEFAULT_MAX_MESSAGE: usize = 2 << 20;
/// Default [`Limits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 65_536;

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Readiness events taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// The listener's token; connections use their slot index.
const LISTENER: Token = Token(usize::MAX);

/// The server's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted (bytes of payload); a larger one closes
    /// its connection with 1009.
    pub max_message: usize,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: DEFAULT_MAX_MESSAGE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl Limits {
    /// Most bytes waiting to be written to one connection: 1 MiB, or two
    /// of the largest frames if more.
    pub fn max_output(&self) -> usize {
        (1 << 20).max(2 * (self.max_message + 14))
    }
}

/// The group named by a request target: `/relay?group=N` (N a `u64`;
/// other query parameters are ignored).
pub fn group_of(target: &str) -> Option<u64> {
    let (path, query) = target.split_once('?')?;
    if path != PATH {
        return None;
    }
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("group="))?
        .parse()
        .ok()
}

/// One connection.
struct Peer {
    stream: TcpStream,
    /// Received bytes not yet decoded.
    inbuf: BytesMut,
    /// Bytes to write; `out[sent..]` is still pending.
    out: Vec<u8>,
    sent: usize,
    /// Set once the upgrade is accepted.
    ws: Option<Connection>,
    /// The group joined (with `ws`).
    group: Option<u64>,
    /// Close once `out` is written.
    closing: bool,
    /// Listed in the server's `dirty` list.
    dirty: bool,
}

impl Peer {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            inbuf: BytesMut::with_capacity(4 * 1024),
            out: Vec::new(),
            sent: 0,
            ws: None,
            group: None,
            closing: false,
            dirty: false,
        }
    }

    fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Writes what the socket takes; `Ok(true)` once nothing is pending.
    fn flush(&mut self) -> io::Result<bool> {
        while self.sent < self.out.len() {
            match self.stream.write(&self.out[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
            return Ok(true);
        }
        // Partly written: drop the written front once it is most of the
        // buffer, so appends do not grow it without end.
        if self.sent > self.out.len() / 2 {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
        Ok(false)
    }
}

/// What the upgrade request of a connection led to.
enum Upgraded {
    /// Still incomplete.
    Waiting,
    /// Accepted into a group: answer with this accept key.
    Joined(u64, String),
    /// Refused: send this response and close.
    Refused(String),
}

/// The relay server: a listener, its connections and their groups.
pub struct RelayServer {
    poll: Poll,
    listener: TcpListener,
    limits: Limits,
    /// Connections by slot (token) index.
    peers: Vec<Option<Peer>>,
    /// Slots free for new connections.
    free: Vec<usize>,
    /// Slots freed in the current round: reused only after it, so that a
    /// stale event of this round cannot reach a new connection.
    released: Vec<usize>,
    open: usize,
    /// Members (slots) of each group.
    groups: HashMap<u64, Vec<usize>>,
    /// Connections with output to write at the end of the round.
    dirty: Vec<usize>,
    /// The frame being forwarded, encoded once.
    frame: BytesMut,
    /// The read buffer.
    chunk: Box<[u8]>,
    /// Recipients found too far behind while forwarding.
    slow: Vec<usize>,
}

impl RelayServer {
    /// Binds `addr` (the first address it resolves to).
    pub fn bind(addr: impl ToSocketAddrs, limits: Limits) -> io::Result<Self> {
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(std_listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Self {
            poll,
            listener,
            limits,
            peers: Vec::new(),
            free: Vec::new(),
            released: Vec::new(),
            open: 0,
            groups: HashMap::new(),
            dirty: Vec::new(),
            frame: BytesMut::with_capacity(4 * 1024),
            chunk: vec![0u8; READ_CHUNK].into_boxed_slice(),
            slow: Vec::new(),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `epoll` fails (never, in practice).
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        loop {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_all(),
                    Token(i) => {
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.read(i);
                        }
                        if ev.is_writable() {
                            self.mark_dirty(i);
                        }
                    }
                }
            }
            self.flush_dirty();
            self.free.append(&mut self.released);
        }
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    if self.open >= self.limits.max_connections {
                        continue; // Dropped: closed at once.
                    }
                    let _ = stream.set_nodelay(true);
                    let i = self.free.pop().unwrap_or_else(|| {
                        self.peers.push(None);
                        self.peers.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, Token(i), interest)
                        .is_err()
                    {
                        self.free.push(i);
                        continue;
                    }
                    self.peers[i] = Some(Peer::new(stream));
                    self.open += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: all taken. Anything else (out of
                // descriptors): the next connection retries.
                Err(_) => return,
            }
        }
    }

    /// Reads everything the socket has (the readiness is edge-triggered),
    /// handling it chunk by chunk so that the input buffer stays bounded.
    fn read(&mut self, i: usize) {
        loop {
            let Some(p) = self.peers.get_mut(i).and_then(Option::as_mut) else {
                return;
            };
            if p.closing {
                return;
            }
            match p.stream.read(&mut self.chunk) {
                Ok(0) => return self.close(i),
                Ok(n) => {
                    p.inbuf.extend_from_slice(&self.chunk[..n]);
                    self.handle_input(i);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.close(i),
            }
        }
    }

    /// Handles the buffered input of connection `i`: its upgrade request,
    /// then its frames.
    fn handle_input(&mut self, i: usize) {
        let Some(p) = self.peers[i].as_mut() else {
            return;
        };
        if p.ws.is_none() {
            match self.upgrade(i) {
                Upgraded::Waiting => return,
                Upgraded::Refused(response) => return self.refuse(i, &response),
                Upgraded::Joined(group, accept) => {
                    let Some(p) = self.peers[i].as_mut() else {
                        return;
                    };
                    p.out
                        .extend_from_slice(ws::handshake::server_response(&accept).as_bytes());
                    p.ws = Some(Connection::server(self.limits.max_message));
                    p.group = Some(group);
                    self.groups.entry(group).or_default().push(i);
                    self.mark_dirty(i);
                }
            }
        }
        loop {
            let Some(p) = self.peers[i].as_mut() else {
                return;
            };
            let Some(conn) = p.ws.as_mut() else {
                return;
            };
            match conn.recv(&mut p.inbuf) {
                Ok(Some(Event::Text(b))) => self.forward(i, OpCode::Text, &b),
                Ok(Some(Event::Binary(b))) => self.forward(i, OpCode::Binary, &b),
                // Pongs and close replies are queued by the codec.
                Ok(Some(Event::Ping(_) | Event::Pong(_) | Event::Closed(_))) => {}
                // Need more input, or failed (a close frame with the
                // error's code is queued).
                Ok(None) | Err(_) => break,
            }
        }
        let Some(p) = self.peers[i].as_mut() else {
            return;
        };
        let Some(conn) = p.ws.as_mut() else {
            return;
        };
        let mut queued = false;
        while let Some(chunk) = conn.take_outbound() {
            p.out.extend_from_slice(&chunk);
            queued = true;
        }
        if !conn.is_open() {
            p.closing = true;
            self.leave_group(i);
            queued = true;
        }
        if queued {
            self.mark_dirty(i);
        }
    }

    /// Reads the upgrade request of connection `i` once its head is in.
    fn upgrade(&mut self, i: usize) -> Upgraded {
        let Some(p) = self.peers[i].as_mut() else {
            return Upgraded::Waiting;
        };
        let Some(n) = upgrade::head_len(&p.inbuf) else {
            return if p.inbuf.len() > upgrade::MAX_REQUEST {
                Upgraded::Refused(upgrade::rejection(431, "Request Header Fields Too Large"))
            } else {
                Upgraded::Waiting
            };
        };
        if n > upgrade::MAX_REQUEST {
            return Upgraded::Refused(upgrade::rejection(431, "Request Header Fields Too Large"));
        }
        // Bytes after the head (frames sent before the 101) stay.
        let head = p.inbuf.split_to(n);
        let Ok(head) = std::str::from_utf8(&head) else {
            return Upgraded::Refused(upgrade::rejection(400, "Bad Request"));
        };
        let u = match upgrade::parse(head) {
            Ok(u) => u,
            Err(response) => return Upgraded::Refused(response),
        };
        let Some(group) = group_of(u.target) else {
            return Upgraded::Refused(upgrade::rejection(400, "Bad Request"));
        };
        if self
            .groups
            .get(&group)
            .is_some_and(|m| m.len() >= MAX_GROUP)
        {
            return Upgraded::Refused(upgrade::rejection(409, "Conflict"));
        }
        Upgraded::Joined(group, u.accept)
    }

    /// Sends `response` to connection `i` and closes it.
    fn refuse(&mut self, i: usize, response: &str) {
        if let Some(p) = self.peers[i].as_mut() {
            p.out.extend_from_slice(response.as_bytes());
            p.closing = true;
            self.mark_dirty(i);
        }
    }

    /// Appends the frame of `payload` to the output of every other member
    /// of `from`'s group.
    fn forward(&mut self, from: usize, opcode: OpCode, payload: &[u8]) {
        let Some(group) = self.peers[from].as_ref().and_then(|p| p.group) else {
            return;
        };
        let Some(members) = self.groups.get(&group) else {
            return;
        };
        self.frame.clear();
        ws::encode_frame(&mut self.frame, opcode, true, payload, None);
        let limit = self.limits.max_output();
        for &j in members {
            if j == from {
                continue;
            }
            let Some(p) = self.peers[j].as_mut() else {
                continue;
            };
            if p.pending() + self.frame.len() > limit {
                self.slow.push(j);
                continue;
            }
            p.out.extend_from_slice(&self.frame);
            if !p.dirty {
                p.dirty = true;
                self.dirty.push(j);
            }
        }
        let mut slow = std::mem::take(&mut self.slow);
        for j in slow.drain(..) {
            self.close(j);
        }
        self.slow = slow;
    }

    fn mark_dirty(&mut self, i: usize) {
        if let Some(p) = self.peers[i].as_mut()
            && !p.dirty
        {
            p.dirty = true;
            self.dirty.push(i);
        }
    }

    /// Writes the output of every connection that got some this round.
    fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &i in &dirty {
            let Some(p) = self.peers[i].as_mut() else {
                continue;
            };
            p.dirty = false;
            match p.flush() {
                Ok(true) if p.closing => self.close(i),
                Ok(_) => {}
                Err(_) => self.close(i),
            }
        }
        dirty.clear();
        self.dirty = dirty;
    }

    fn leave_group(&mut self, i: usize) {
        let Some(group) = self.peers[i].as_mut().and_then(|p| p.group.take()) else {
            return;
        };
        if let Some(members) = self.groups.get_mut(&group) {
            if let Some(k) = members.iter().position(|&m| m == i) {
                members.swap_remove(k);
            }
            if members.is_empty() {
                self.groups.remove(&group);
            }
        }
    }

    fn close(&mut self, i: usize) {
        self.leave_group(i);
        let Some(mut p) = self.peers[i].take() else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut p.stream);
        self.released.push(i);
        self.open -= 1;
    }
}

/// `kairos-loadtest raw-relay-server [--listen ADDR] [--max-message BYTES]
/// [--max-connections N]`: binds (default `127.0.0.1:0`), prints the bound
/// address alone on the first line of stdout, and serves until killed.
/// Returns the exit code: 2 for usage errors, 1 when it cannot bind.
pub fn main(args: &[String]) -> i32 {
    let mut listen = "127.0.0.1:0".to_string();
    let mut limits = Limits::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let Some(value) = inline.or_else(|| it.next().cloned()) else {
            eprintln!("raw-relay-server: {name} needs a value");
            return 2;
        };
        let number = || match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name}: expected a positive number, got {value:?}")),
        };
        let parsed = match name {
            "--listen" => {
                listen.clone_from(&value);
                Ok(())
            }
            "--max-message" => number().map(|n| limits.max_message = n),
            "--max-connections" => number().map(|n| limits.max_connections = n),
            _ => Err(format!("unknown option {name}")),
        };
        if let Err(e) = parsed {
            eprintln!(
                "raw-relay-server: {e}\nusage: kairos-loadtest raw-relay-server [--listen ADDR] [--max-message BYTES] [--max-connections N]"
            );
            return 2;
        }
    }
    let _ = crate::proc::raise_nofile_limit();
    let mut server = match RelayServer::bind(listen.as_str(), limits) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("raw-relay-server: cannot listen on {listen}: {e}");
            return 1;
        }
    };
    let addr = match server.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("raw-relay-server: {e}");
            return 1;
        }
    };
    {
        let mut out = io::stdout().lock();
        if writeln!(out, "{addr}").and_then(|()| out.flush()).is_err() {
            return 1;
        }
    }
    match server.run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("raw-relay-server: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_from_targets() {
        assert_eq!(group_of("/relay?group=7"), Some(7));
        assert_eq!(
            group_of("/relay?x=1&group=18446744073709551615"),
            Some(u64::MAX)
        );
        for bad in [
            "/relay",
            "/relay?",
            "/relay?group=",
            "/relay?group=-1",
            "/relay?group=1x",
            "/other?group=1",
            "/relay/?group=1",
        ] {
            assert_eq!(group_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn output_bound_holds_two_frames() {
        let l = Limits {
            max_message: 10 << 20,
            max_connections: 1,
        };
        assert!(l.max_output() >= 2 * l.max_message);
        assert_eq!(
            Limits::default().max_output(),
            2 * (DEFAULT_MAX_MESSAGE + 14)
        );
        let small = Limits {
            max_message: 16,
            max_connections: 1,
        };
        assert_eq!(small.max_output(), 1 << 20);
    }
}
