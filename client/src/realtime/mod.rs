//! Realtime connections: one API over every transport Kairos speaks.

mod datagram;
mod quic;
mod rudp;
mod udp;
mod ws;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kairos_net::quic::ClientTls;
use kairos_schema::rtapi::{
    ChannelJoin, ChannelLeave, ChannelMessageAck, ChannelMessageRemove, ChannelMessageSend,
    ChannelMessageUpdate, ChannelOut, Incoming, MatchCreate, MatchDataSend, MatchJoin, MatchLeave,
    MatchOut, Outgoing, Rpc, RpcOut, StatusFollow, StatusOut, StatusUnfollow, StatusUpdate,
    UserPresence,
};

use self::datagram::DatagramLink;
use crate::client::Client;
use crate::codec::{Decoded, ServerMessage, Wire};
use crate::error::{Error, Result};
use crate::session::Session;

/// How a [`Realtime`] connection reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// WebSocket, Nakama's JSON envelope in text frames: what every Nakama
    /// client speaks; readable in a proxy or the browser's tools.
    WsJson,
    /// WebSocket, Nakama's protobuf envelope in binary frames.
    WsProtobuf,
    /// WebSocket, Kairos's FlatBuffers envelope in binary frames.
    WsFlatBuffers,
    /// Reliable UDP (netcode.io + renet), FlatBuffers. Reliable messages
    /// on the reliable-ordered channel; `match_data_send` with
    /// `reliable: false` on the unreliable sequenced channel.
    ReliableUdp,
    /// QUIC (TLS 1.3, ALPN `kairos`), FlatBuffers. Reliable messages on
    /// one stream; `match_data_send` with `reliable: false` as QUIC
    /// datagrams.
    Quic,
}

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 5] = [
        Transport::WsJson,
        Transport::WsProtobuf,
        Transport::WsFlatBuffers,
        Transport::ReliableUdp,
        Transport::Quic,
    ];

    /// The envelope encoding it carries.
    pub const fn wire(self) -> Wire {
        match self {
            Transport::WsJson => Wire::Json,
            Transport::WsProtobuf => Wire::Protobuf,
            Transport::WsFlatBuffers | Transport::ReliableUdp | Transport::Quic => {
                Wire::FlatBuffers
            }
        }
    }

    /// Whether it runs over UDP, with an unreliable path for
    /// `match_data_send { reliable: false }`. On the WebSocket every
    /// message is reliable.
    pub const fn is_datagram(self) -> bool {
        matches!(self, Transport::ReliableUdp | Transport::Quic)
    }

    /// A short name (`ws-json`, `ws-protobuf`, `ws-flatbuffers`, `udp`,
    /// `quic`).
    pub const fn name(self) -> &'static str {
        match self {
            Transport::WsJson => "ws-json",
            Transport::WsProtobuf => "ws-protobuf",
            Transport::WsFlatBuffers => "ws-flatbuffers",
            Transport::ReliableUdp => "udp",
            Transport::Quic => "quic",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whom a QUIC connection trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum QuicTrust {
    /// The certificate the server advertises at `GET /v2/kairos/transports`
    /// (its self-signed one, unless it was given another). Fetched over
    /// the same HTTP connection as the session, so only as trustworthy as
    /// that: fine for development and for servers behind TLS-terminating
    /// HTTP, but pin a certificate ([`QuicTrust::Pem`]) in a release.
    #[default]
    ServerCertificate,
    /// These certificates (PEM) as roots: a CA, or the server's own
    /// certificate.
    Pem(String),
    /// **Development only.** Accept any certificate: anyone on the path
    /// can read the session token. See
    /// [`ClientTls::dangerously_skip_verification`].
    DangerouslySkipVerification,
}

/// How to open a [`Realtime`] connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Appear online to the users following this one (`/ws?status=true`;
    /// for reliable UDP it goes into the connect token). QUIC has no such
    /// flag on the wire yet: there, `true` sends a `status_update` with an
    /// empty status right after connecting.
    pub status: bool,
    /// How long connecting may take; also the default timeout of the
    /// typed requests ([`Realtime::set_timeout`]).
    pub timeout: Duration,
    /// Whom a QUIC connection trusts.
    pub quic_trust: QuicTrust,
    /// The name a QUIC connection verifies the certificate for; `None`:
    /// the client's host (the self-signed certificate is valid for
    /// `localhost` and `127.0.0.1`).
    pub quic_server_name: Option<String>,
}

impl Default for ConnectOptions {
    /// Not appearing online, a 10-second timeout, trusting the server's
    /// advertised QUIC certificate.
    fn default() -> Self {
        ConnectOptions {
            status: false,
            timeout: Duration::from_secs(10),
            quic_trust: QuicTrust::ServerCertificate,
            quic_server_name: None,
        }
    }
}

/// Where a connection is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Open: messages flow both ways.
    Connected,
    /// Finished, by [`Realtime::close`] or from the other side. A new
    /// connection needs a new [`Client::connect`].
    Closed {
        /// The peer's close code, when it sent one (QUIC application
        /// code, WebSocket close code).
        code: Option<u64>,
        /// Why, in words.
        reason: String,
    },
}

/// Traffic counters of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Envelopes sent.
    pub sent: u64,
    /// Envelopes received and decoded.
    pub received: u64,
    /// Envelopes received and skipped: server messages this client does
    /// not model, or that did not decode.
    pub skipped: u64,
}

enum Link {
    Ws(Box<ws::WsLink>),
    Rudp(Box<rudp::RudpLink>),
    Quic(Box<quic::QuicLink>),
}

impl Link {
    /// Queues a message; with `flush`, sends it (and whatever was queued
    /// before) at once.
    fn send(&mut self, payload: Vec<u8>, reliable: bool, flush: bool) -> Result<()> {
        match self {
            Link::Ws(l) => l.send(payload, flush),
            Link::Rudp(l) => l.send(payload, reliable, flush),
            Link::Quic(l) => l.send(payload, reliable, flush),
        }
    }

    /// Sends what [`send`](Self::send) queued without flushing.
    fn flush(&mut self) -> Result<()> {
        match self {
            Link::Ws(l) => l.flush(),
            Link::Rudp(l) => l.flush(),
            Link::Quic(l) => l.flush(),
        }
    }

    fn drive(&mut self, deadline: Option<Instant>, out: &mut Vec<Bytes>) -> Result<()> {
        match self {
            Link::Ws(l) => l.drive(deadline, out),
            Link::Rudp(l) => l.drive(deadline, out),
            Link::Quic(l) => l.drive(deadline, out),
        }
    }

    fn close(&mut self, wait: bool) {
        match self {
            Link::Ws(l) => l.close(wait),
            Link::Rudp(l) => l.close(),
            Link::Quic(l) => l.close(),
        }
    }
}

/// A realtime connection to Kairos, on any [`Transport`], speaking
/// Nakama's realtime protocol.
///
/// * Requests: [`send`](Self::send) fires one off and returns its `cid`;
///   [`request`](Self::request) waits for the reply with that `cid`; the
///   typed helpers ([`match_create`](Self::match_create),
///   [`channel_join`](Self::channel_join), ...) wait and pick the reply
///   apart. An `error` reply becomes [`Error::Realtime`].
/// * Pushes (match data, presence events, chat messages, ...) and replies
///   to requests made with `send` are buffered in arrival order, and come
///   out of [`poll`](Self::poll) (blocking, with a timeout) or
///   [`pump`](Self::pump) + [`drain`](Self::drain) (never blocking, for
///   game loops).
/// * The connection only makes progress (reads the socket, answers
///   WebSocket pings, runs UDP and QUIC timers: resends, acknowledgements,
///   keepalives) inside these calls: call `pump` or `poll` regularly, at
///   least every few hundred milliseconds, or the server times the
///   connection out.
///
/// Every method but `pump` and `drain` may block, up to its timeout. The
/// connection is `Send` and `Sync`: use it from one thread at a time
/// (it takes `&mut self`), or share it behind a `Mutex`.
pub struct Realtime {
    link: Link,
    transport: Transport,
    wire: Wire,
    next_cid: u64,
    inbox: VecDeque<ServerMessage>,
    frames: Vec<Bytes>,
    state: ConnectionState,
    timeout: Duration,
    stats: Stats,
    user_id: String,
    last_ping_rtt: Option<Duration>,
    /// Whether something was sent since the last reply to a `request`
    /// (which, on an ordered channel, confirms everything before it).
    unconfirmed: bool,
    /// Inside [`batch`](Realtime::batch): sends are queued, not flushed.
    batching: bool,
    /// Messages were queued and not flushed yet.
    held: bool,
}

impl fmt::Debug for Realtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Realtime")
            .field("transport", &self.transport)
            .field("state", &self.state)
            .field("buffered", &self.inbox.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Realtime {
    /// Opens a connection; [`Client::connect`] is the usual way in.
    ///
    /// * WebSocket: `GET /ws?token=&format=&status=` on the client's host
    ///   and port; a refused token is [`Error::Api`] with status 401.
    /// * Reliable UDP: a connect token from
    ///   [`Client::udp_connect_token`], then the netcode handshake with
    ///   the address in it.
    /// * QUIC: the address and certificate from
    ///   [`Client::transports`], then the QUIC handshake and the session
    ///   token; a refused token is [`Error::Closed`] with code 3.
    ///
    /// A server that does not offer the transport is
    /// [`Error::Unavailable`].
    pub fn connect(
        client: &Client,
        session: &Session,
        transport: Transport,
        options: ConnectOptions,
    ) -> Result<Realtime> {
        let deadline = Instant::now() + options.timeout;
        let link = match transport {
            Transport::WsJson | Transport::WsProtobuf | Transport::WsFlatBuffers => {
                Link::Ws(Box::new(ws::connect(
                    client.host(),
                    client.port(),
                    &session.token,
                    transport.wire(),
                    options.status,
                    options.timeout,
                )?))
            }
            Transport::ReliableUdp => {
                let token =
                    client
                        .udp_connect_token(session, options.status)
                        .map_err(|e| match e {
                            Error::Api {
                                status: 404,
                                message,
                                ..
                            } => Error::Unavailable(message),
                            e => e,
                        })?;
                Link::Rudp(Box::new(rudp::RudpLink::connect(
                    &token.connect_token,
                    deadline,
                )?))
            }
            Transport::Quic => {
                let transports = client.transports(session)?;
                let endpoint = transports
                    .quic
                    .ok_or_else(|| Error::Unavailable("the server does not offer QUIC".into()))?;
                let server = quic_address(client.host(), &endpoint.address)?;
                let tls = match &options.quic_trust {
                    QuicTrust::ServerCertificate if endpoint.certificate.is_empty() => {
                        return Err(Error::Unavailable(
                            "the server advertises no QUIC certificate; pass QuicTrust::Pem".into(),
                        ));
                    }
                    QuicTrust::ServerCertificate => trust_pem(&endpoint.certificate)?,
                    QuicTrust::Pem(pem) => trust_pem(pem)?,
                    QuicTrust::DangerouslySkipVerification => {
                        ClientTls::dangerously_skip_verification()
                    }
                };
                let name = options
                    .quic_server_name
                    .clone()
                    .unwrap_or_else(|| client.host().to_owned());
                Link::Quic(Box::new(quic::QuicLink::connect(
                    server,
                    &name,
                    &session.token,
                    &tls,
                    deadline,
                )?))
            }
        };
        let mut rt = Self::from_link(link, transport, &options);
        rt.user_id.clone_from(&session.user_id);
        if transport == Transport::Quic && options.status {
            rt.status_update(Some(""))?;
        }
        Ok(rt)
    }

    /// Connects over reliable UDP with a connect token obtained elsewhere
    /// (for example by a launcher, from [`Client::udp_connect_token`]).
    /// The token's addresses are used, in order.
    pub fn connect_udp_token(connect_token: &[u8], options: ConnectOptions) -> Result<Realtime> {
        let deadline = Instant::now() + options.timeout;
        let link = rudp::RudpLink::connect(connect_token, deadline)?;
        Ok(Self::from_link(
            Link::Rudp(Box::new(link)),
            Transport::ReliableUdp,
            &options,
        ))
    }

    /// Connects over QUIC to `server`, verifying its certificate for
    /// `server_name` with `tls`, presenting the session token `token`.
    pub fn connect_quic(
        server: SocketAddr,
        server_name: &str,
        token: &str,
        tls: &ClientTls,
        options: ConnectOptions,
    ) -> Result<Realtime> {
        let deadline = Instant::now() + options.timeout;
        let link = quic::QuicLink::connect(server, server_name, token, tls, deadline)?;
        let mut rt = Self::from_link(Link::Quic(Box::new(link)), Transport::Quic, &options);
        if options.status {
            rt.status_update(Some(""))?;
        }
        Ok(rt)
    }

    fn from_link(link: Link, transport: Transport, options: &ConnectOptions) -> Realtime {
        Realtime {
            link,
            transport,
            wire: transport.wire(),
            next_cid: 1,
            inbox: VecDeque::new(),
            frames: Vec::new(),
            state: ConnectionState::Connected,
            timeout: options.timeout,
            stats: Stats::default(),
            user_id: String::new(),
            last_ping_rtt: None,
            unconfirmed: false,
            batching: false,
            held: false,
        }
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// Whether the connection is open.
    pub fn is_connected(&self) -> bool {
        self.state == ConnectionState::Connected
    }

    /// Traffic counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The round-trip time: measured by renet (on reliable messages) or
    /// QUIC on the datagram transports, else by the last
    /// [`ping`](Self::ping).
    pub fn rtt(&self) -> Option<Duration> {
        match &self.link {
            Link::Rudp(l) => l.rtt().or(self.last_ping_rtt),
            Link::Quic(l) => l.rtt().or(self.last_ping_rtt),
            Link::Ws(_) => self.last_ping_rtt,
        }
    }

    /// The timeout of the typed requests.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sets the timeout of the typed requests.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The user this connection's session belongs to (empty for
    /// connections opened from a bare token).
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The address of the reliable-UDP server, on that transport.
    pub fn udp_server_addr(&self) -> Option<SocketAddr> {
        match &self.link {
            Link::Rudp(l) => Some(l.server_addr()),
            _ => None,
        }
    }

    /// Sends a message and returns the `cid` its reply will carry. The
    /// message is queued and sent at once as far as the transport allows;
    /// the rest (UDP and QUIC pace large messages) leaves while the
    /// connection is driven ([`pump`](Self::pump), [`poll`](Self::poll)).
    /// Messages
    /// the server never answers (`match_data_send`, `pong`) go without a
    /// `cid`, and the empty string is returned. The reply (or an `error`)
    /// comes out of [`poll`](Self::poll) or [`drain`](Self::drain) like a
    /// push.
    pub fn send(&mut self, message: &Incoming) -> Result<String> {
        let cid = match message {
            Incoming::MatchDataSend(_) | Incoming::Pong => String::new(),
            _ => self.next_cid(),
        };
        self.send_with_cid(&cid, message)?;
        Ok(cid)
    }

    /// Sends a message with the `cid` given (empty: none). Useful to
    /// replay a protocol exactly; [`send`](Self::send) picks cids itself.
    pub fn send_with_cid(&mut self, cid: &str, message: &Incoming) -> Result<()> {
        self.check_open()?;
        let reliable = match message {
            Incoming::MatchDataSend(m) => m.reliable,
            _ => true,
        };
        let payload = self.wire.encode_request(cid, message);
        let result = self.link.send(payload, reliable, !self.batching);
        self.held |= self.batching && result.is_ok();
        self.note(result)?;
        self.stats.sent += 1;
        self.unconfirmed = true;
        Ok(())
    }

    /// Runs `f`, sending every message it sends together when it returns:
    /// on reliable UDP and QUIC as few datagrams as they fit in (several
    /// small messages share one, as a game loop sending once per tick
    /// wants), on a WebSocket with one write. Without a batch each message
    /// leaves at once, in a datagram of its own. A batch larger than one
    /// reliable-UDP flush carries (`bytes_per_flush`, 60,000 bytes) leaves
    /// in several flushes, none of its messages dropped.
    ///
    /// A call inside `f` that waits for the server (a `request`, `poll`,
    /// `pump`) sends what is queued first. The queued messages are sent
    /// even when `f` fails; `f`'s error comes first, then the flush's.
    pub fn batch<R>(&mut self, f: impl FnOnce(&mut Realtime) -> Result<R>) -> Result<R> {
        let outer = std::mem::replace(&mut self.batching, true);
        let result = f(self);
        self.batching = outer;
        if outer {
            return result;
        }
        let flushed = self.flush_held();
        let value = result?;
        flushed.map(|()| value)
    }

    /// Sends a request and waits up to `timeout` for its reply, buffering
    /// whatever else arrives meanwhile. Returns the reply's message
    /// (`None`: the empty reply); an `error` reply is
    /// [`Error::Realtime`], no reply in time [`Error::Timeout`] (a reply
    /// arriving later is then delivered by `poll`/`drain`).
    pub fn request(&mut self, message: &Incoming, timeout: Duration) -> Result<Option<Outgoing>> {
        let cid = self.next_cid();
        self.send_with_cid(&cid, message)?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.inbox.iter().position(|m| m.cid == cid) {
                let reply = self.inbox.remove(i).expect("index from position");
                self.unconfirmed = false;
                return match reply.message {
                    Some(Outgoing::Error(e)) => Err(Error::Realtime {
                        code: e.code,
                        message: e.message,
                    }),
                    other => Ok(other),
                };
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout);
            }
            self.receive(Some(deadline))?;
        }
    }

    /// Waits up to `timeout` for the next message (push or reply), driving
    /// the connection meanwhile. `Ok(None)` when nothing came in time.
    /// Messages received before the connection ended are still returned;
    /// after them, the end is [`Error::Closed`].
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<ServerMessage>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.inbox.pop_front() {
                return Ok(Some(m));
            }
            self.receive(Some(deadline))?;
            if self.inbox.is_empty() && Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Drives the connection without blocking: reads what the socket has,
    /// runs the timers that are due and sends what they produce. Received
    /// messages wait for [`drain`](Self::drain). Call it once per frame.
    ///
    /// Returns [`Error::Closed`] (every call, once it happened) when the
    /// connection has ended; the messages that came before stay
    /// drainable.
    pub fn pump(&mut self) -> Result<()> {
        self.receive(None)
    }

    /// Moves every buffered message into `out`, oldest first, and returns
    /// how many. Never blocks, never touches the socket.
    pub fn drain(&mut self, out: &mut Vec<ServerMessage>) -> usize {
        let n = self.inbox.len();
        out.extend(self.inbox.drain(..));
        n
    }

    /// How many received messages are waiting.
    pub fn buffered(&self) -> usize {
        self.inbox.len()
    }

    /// Closes the connection politely (a WebSocket close handshake, a
    /// netcode disconnect, a QUIC `CONNECTION_CLOSE`). Buffered messages
    /// stay drainable. Closing twice does nothing.
    ///
    /// Neither netcode nor QUIC delivers what is still in flight once the
    /// connection is closed, so on reliable UDP and QUIC, when messages
    /// were sent since the last reply, `close` first waits (up to 2
    /// seconds) for the answer to a `ping`: on the ordered channel, that
    /// means the server has every reliable message sent before.
    pub fn close(&mut self) {
        // Does nothing unless connected; may find the connection closed.
        let _ = self.flush_held();
        if self.state == ConnectionState::Connected {
            if self.transport.is_datagram() && self.unconfirmed {
                let linger = self.timeout.min(Duration::from_secs(2));
                let _ = self.request(&Incoming::Ping, linger);
            }
            if self.state != ConnectionState::Connected {
                return;
            }
            self.link.close(true);
            self.state = ConnectionState::Closed {
                code: None,
                reason: "closed locally".into(),
            };
        }
    }

    // ---- typed helpers -----------------------------------------------------

    /// `ping` → `pong`: returns the round-trip time.
    pub fn ping(&mut self) -> Result<Duration> {
        let start = Instant::now();
        let reply = self.request(&Incoming::Ping, self.timeout)?;
        expect(reply, "pong", |o| match o {
            Outgoing::Pong {} => Some(()),
            _ => None,
        })?;
        let rtt = start.elapsed();
        self.last_ping_rtt = Some(rtt);
        Ok(rtt)
    }

    /// `match_create`: a new relayed match, joined by this session. With a
    /// `name`, the match id is derived from it, so everyone creating
    /// `name` meets in the same match.
    pub fn match_create(&mut self, name: Option<&str>) -> Result<MatchOut> {
        let message = Incoming::MatchCreate(MatchCreate {
            name: name.unwrap_or_default().to_owned(),
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "match", |o| match o {
            Outgoing::Match(m) => Some(m),
            _ => None,
        })
    }

    /// `match_join` by match id.
    pub fn match_join(&mut self, match_id: &str) -> Result<MatchOut> {
        self.match_join_with(match_id, BTreeMap::new())
    }

    /// `match_join` by match id, with join metadata.
    pub fn match_join_with(
        &mut self,
        match_id: &str,
        metadata: BTreeMap<String, String>,
    ) -> Result<MatchOut> {
        let message = Incoming::MatchJoin(MatchJoin {
            match_id: match_id.to_owned(),
            token: String::new(),
            metadata,
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "match", |o| match o {
            Outgoing::Match(m) => Some(m),
            _ => None,
        })
    }

    /// `match_leave`.
    pub fn match_leave(&mut self, match_id: &str) -> Result<()> {
        let message = Incoming::MatchLeave(MatchLeave {
            match_id: match_id.to_owned(),
        });
        self.request(&message, self.timeout).map(drop)
    }

    /// `match_data_send`: relays `data` to the match's other members (or
    /// only to `presences`, when not empty), fire-and-forget: on UDP and
    /// QUIC, what the protocol cannot send at once (a large reliable
    /// message) leaves during later [`pump`](Self::pump)s. With
    /// `reliable: false`, the datagram transports send it unreliably
    /// (sequenced on reliable UDP, a QUIC datagram): it may be lost, never
    /// arrives after a newer one on reliable UDP, and goes reliably after
    /// all when too large for one datagram. The WebSocket ignores the flag.
    pub fn match_data_send(
        &mut self,
        match_id: &str,
        op_code: i64,
        data: impl Into<Bytes>,
        reliable: bool,
        presences: &[UserPresence],
    ) -> Result<()> {
        let message = Incoming::MatchDataSend(MatchDataSend {
            match_id: match_id.to_owned(),
            op_code,
            data: data.into(),
            presences: presences.to_vec(),
            reliable,
        });
        self.send_with_cid("", &message)
    }

    /// `channel_join`: a chat channel. `target` is a room name
    /// ([`ChannelType::Room`]), a user id ([`ChannelType::DirectMessage`])
    /// or a group id ([`ChannelType::Group`]); `persistence` keeps this
    /// session's messages in history, `hidden` leaves it out of presence
    /// lists.
    pub fn channel_join(
        &mut self,
        target: &str,
        kind: ChannelType,
        persistence: bool,
        hidden: bool,
    ) -> Result<ChannelOut> {
        let message = Incoming::ChannelJoin(ChannelJoin {
            target: target.to_owned(),
            kind: kind as i32,
            persistence: Some(persistence),
            hidden: Some(hidden),
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "channel", |o| match o {
            Outgoing::Channel(c) => Some(c),
            _ => None,
        })
    }

    /// `channel_leave`.
    pub fn channel_leave(&mut self, channel_id: &str) -> Result<()> {
        let message = Incoming::ChannelLeave(ChannelLeave {
            channel_id: channel_id.to_owned(),
        });
        self.request(&message, self.timeout).map(drop)
    }

    /// `channel_message_send`: `content` must be a JSON object, as text
    /// (`r#"{"text":"hi"}"#`).
    pub fn channel_message_send(
        &mut self,
        channel_id: &str,
        content: &str,
    ) -> Result<ChannelMessageAck> {
        let message = Incoming::ChannelMessageSend(ChannelMessageSend {
            channel_id: channel_id.to_owned(),
            content: content.to_owned(),
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "channel_message_ack", |o| match o {
            Outgoing::ChannelMessageAck(a) => Some(a),
            _ => None,
        })
    }

    /// `channel_message_update`: replaces one of this user's messages.
    pub fn channel_message_update(
        &mut self,
        channel_id: &str,
        message_id: &str,
        content: &str,
    ) -> Result<ChannelMessageAck> {
        let message = Incoming::ChannelMessageUpdate(ChannelMessageUpdate {
            channel_id: channel_id.to_owned(),
            message_id: message_id.to_owned(),
            content: content.to_owned(),
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "channel_message_ack", |o| match o {
            Outgoing::ChannelMessageAck(a) => Some(a),
            _ => None,
        })
    }

    /// `channel_message_remove`: deletes one of this user's messages.
    pub fn channel_message_remove(
        &mut self,
        channel_id: &str,
        message_id: &str,
    ) -> Result<ChannelMessageAck> {
        let message = Incoming::ChannelMessageRemove(ChannelMessageRemove {
            channel_id: channel_id.to_owned(),
            message_id: message_id.to_owned(),
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "channel_message_ack", |o| match o {
            Outgoing::ChannelMessageAck(a) => Some(a),
            _ => None,
        })
    }

    /// `status_follow`: the current status presences of these users (by
    /// id and by username); their changes then arrive as
    /// `status_presence_event` pushes.
    pub fn status_follow(&mut self, user_ids: &[&str], usernames: &[&str]) -> Result<StatusOut> {
        let message = Incoming::StatusFollow(StatusFollow {
            user_ids: user_ids.iter().map(|s| (*s).to_owned()).collect(),
            usernames: usernames.iter().map(|s| (*s).to_owned()).collect(),
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "status", |o| match o {
            Outgoing::Status(s) => Some(s),
            _ => None,
        })
    }

    /// `status_unfollow`.
    pub fn status_unfollow(&mut self, user_ids: &[&str]) -> Result<()> {
        let message = Incoming::StatusUnfollow(StatusUnfollow {
            user_ids: user_ids.iter().map(|s| (*s).to_owned()).collect(),
        });
        self.request(&message, self.timeout).map(drop)
    }

    /// `status_update`: appear online with `status` (`Some`), or offline
    /// (`None`).
    pub fn status_update(&mut self, status: Option<&str>) -> Result<()> {
        let message = Incoming::StatusUpdate(StatusUpdate {
            status: status.map(str::to_owned),
        });
        self.request(&message, self.timeout).map(drop)
    }

    /// `rpc`: calls the server function `id` with `payload` and returns
    /// its result. A refusal is `Error::Realtime` with Nakama's code: 6
    /// for an unknown function, 7 (RUNTIME_FUNCTION_EXCEPTION) for the
    /// function's own error.
    pub fn rpc(&mut self, id: &str, payload: &str) -> Result<RpcOut> {
        let message = Incoming::Rpc(Rpc {
            id: id.to_owned(),
            payload: payload.to_owned(),
            http_key: String::new(),
        });
        let reply = self.request(&message, self.timeout)?;
        expect(reply, "rpc", |o| match o {
            Outgoing::Rpc(r) => Some(r),
            _ => None,
        })
    }

    // ---- internals ---------------------------------------------------------

    fn next_cid(&mut self) -> String {
        let cid = self.next_cid.to_string();
        self.next_cid += 1;
        cid
    }

    fn check_open(&self) -> Result<()> {
        match &self.state {
            ConnectionState::Connected => Ok(()),
            ConnectionState::Closed { code, reason } => Err(Error::Closed {
                code: *code,
                reason: reason.clone(),
            }),
        }
    }

    /// Records the end of the connection when `result` says so.
    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(Error::Closed { code, reason }) = &result {
            self.state = ConnectionState::Closed {
                code: *code,
                reason: reason.clone(),
            };
        }
        result
    }

    /// Sends what a [`batch`](Self::batch) queued, if anything.
    fn flush_held(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.held) || self.state != ConnectionState::Connected {
            return Ok(());
        }
        let result = self.link.flush();
        self.note(result)
    }

    /// Drives the link until a message arrived or `deadline` (`None`: only
    /// what is ready now), decoding into the inbox. What a batch queued
    /// leaves first.
    fn receive(&mut self, deadline: Option<Instant>) -> Result<()> {
        self.check_open()?;
        self.flush_held()?;
        let mut frames = std::mem::take(&mut self.frames);
        frames.clear();
        let result = self.link.drive(deadline, &mut frames);
        for frame in frames.drain(..) {
            match self.wire.decode(&frame) {
                Ok(Decoded::Message(m)) => {
                    self.stats.received += 1;
                    self.inbox.push_back(m);
                }
                Ok(Decoded::Unknown { .. }) | Err(_) => self.stats.skipped += 1,
            }
        }
        self.frames = frames;
        self.note(result)
    }
}

impl Drop for Realtime {
    /// Closes the connection without waiting for the server's answer.
    fn drop(&mut self) {
        if self.state == ConnectionState::Connected {
            self.link.close(false);
        }
    }
}

/// The kind of a chat channel ([`Realtime::channel_join`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelType {
    /// A named room anyone can join.
    Room = 1,
    /// A direct conversation with one user, by user id.
    DirectMessage = 2,
    /// A group's channel, by group id.
    Group = 3,
}

/// Picks the expected message out of a reply.
fn expect<T>(
    reply: Option<Outgoing>,
    want: &str,
    pick: impl FnOnce(Outgoing) -> Option<T>,
) -> Result<T> {
    let Some(message) = reply else {
        return Err(Error::Decode(format!(
            "expected `{want}`, got the empty reply"
        )));
    };
    let got = message.name();
    pick(message).ok_or_else(|| Error::Decode(format!("expected `{want}`, got `{got}`")))
}

fn trust_pem(pem: &str) -> Result<ClientTls> {
    ClientTls::trusting_pem(pem.as_bytes())
        .map_err(|e| Error::InvalidInput(format!("QUIC certificate: {e}")))
}

/// The address to reach QUIC at: the advertised one, except that a
/// loopback address advertised to a client of a remote host (a server
/// bound to all interfaces without a public address) is replaced by that
/// host, on the advertised port.
fn quic_address(client_host: &str, advertised: &str) -> Result<SocketAddr> {
    let addr: SocketAddr = match advertised.parse() {
        Ok(a) => a,
        Err(_) => advertised
            .to_socket_addrs()
            .map_err(|e| Error::Transport(format!("resolving {advertised}: {e}")))?
            .next()
            .ok_or_else(|| Error::Transport(format!("{advertised} has no address")))?,
    };
    if !addr.ip().is_loopback() {
        return Ok(addr);
    }
    let host_addr = (client_host, addr.port())
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next());
    match host_addr {
        Some(h) if !h.ip().is_loopback() => Ok(h),
        _ => Ok(addr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn realtime_is_send_and_sync() {
        assert_send_sync::<Realtime>();
        assert_send_sync::<Client>();
    }

    #[test]
    fn quic_address_keeps_remote_and_loopback() {
        assert_eq!(
            quic_address("127.0.0.1", "127.0.0.1:7353").unwrap(),
            "127.0.0.1:7353".parse().unwrap()
        );
        assert_eq!(
            quic_address("localhost", "10.0.0.5:7353").unwrap(),
            "10.0.0.5:7353".parse().unwrap()
        );
        assert_eq!(
            quic_address("10.1.2.3", "127.0.0.1:7353").unwrap(),
            "10.1.2.3:7353".parse().unwrap()
        );
    }
}
