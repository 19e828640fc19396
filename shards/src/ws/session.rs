//! One realtime session: a WebSocket on the shard that accepted it.
//!
//! Two tasks share the socket. The reader decodes frames and handles each
//! envelope in order; the writer drains the session's bounded outgoing queue
//! in batches and sends keepalive pings. Everything a session sends goes
//! through that queue, so a slow client can only fill its own queue: when it
//! is full the session is closed ("session outgoing queue full") and the
//! shard moves on.
//!
//! Closing: whoever closes first queues a close frame; the writer sends it,
//! waits briefly for the peer's close (or EOF), then shuts the socket down,
//! which also ends a reader blocked on a read. Cleanup then removes every
//! trace of the session from the shard and the global registry.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncWrite};
use kairos_net::ws::{self, Message, OpCode, Role};
use kairos_schema::rtapi::{Envelope, ErrorCode, Incoming, Outgoing};
use uuid::Uuid;

use crate::metrics::ShardCells;
use crate::realtime::{chat, matches, membership, notifications, status};
use crate::registry::SessionRef;
use crate::rt::{self, LocalEvent, LocalQueue, TcpStream};
use crate::shard::{KickReason, Shard};
use crate::streams::StreamId;

/// How a session joined a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JoinFlags {
    /// Its chat messages are kept in the channel's history.
    pub persistence: bool,
    /// It is left out of presence lists and events.
    pub hidden: bool,
}

/// Wire format of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
}

/// What the upgrade learned about a session.
pub struct SessionParams {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub vars: BTreeMap<String, String>,
    pub expiry: i64,
    pub format: Format,
    pub status: bool,
    pub lang: String,
    pub peer: Option<SocketAddr>,
}

/// Close code and reason Nakama uses when the server ends a session.
const SERVER_CLOSE: (u16, &str) = (ws::close::NORMAL, "server-side session disconnect");
/// How long to wait for the peer's close frame after sending ours.
const CLOSE_ACK_WAIT: Duration = Duration::from_secs(2);
/// Envelopes a reader handles before it yields to the shard's other tasks.
const READ_BURST: u64 = 16;
/// Frames written per batch at most.
const WRITE_BATCH: usize = 64;

pub struct WsSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub vars: BTreeMap<String, String>,
    pub expiry: i64,
    pub format: Format,
    pub status: bool,
    pub lang: String,
    pub peer: Option<SocketAddr>,
    out: LocalQueue<Bytes>,
    closing: Cell<bool>,
    read_done: LocalEvent,
    /// Streams this session joined, with how it joined them (their owners
    /// hold the membership).
    streams: RefCell<Vec<(StreamId, JoinFlags)>>,
    /// Whether this session shows its user online (status presence).
    pub status_tracked: Cell<bool>,
    /// Users whose status this session follows.
    pub follows: RefCell<Vec<Uuid>>,
    finished: LocalEvent,
    /// When bytes last arrived from the client.
    last_read: Cell<Instant>,
    /// When the write in progress started, if one is.
    writing_since: Cell<Option<Instant>>,
    fd: RawFd,
    /// The owning shard's metric cells.
    metrics: ShardCells,
}

impl WsSession {
    /// Queues an encoded frame. Returns false (and closes the session) when
    /// the client is too slow to keep its queue under the limit.
    pub fn send(&self, frame: Bytes) -> bool {
        if self.closing.get() {
            return false;
        }
        if self.out.push(frame).is_err() {
            tracing::info!(session = %self.id, user = %self.user_id, "outgoing queue full; closing session");
            self.close(ws::close::POLICY_VIOLATION, "session outgoing queue full");
            return false;
        }
        true
    }

    /// Encodes and queues an envelope.
    pub fn send_envelope(&self, cid: &str, msg: &Outgoing) -> bool {
        let json = msg.to_json(cid);
        self.send(ws::frame::frame_bytes(OpCode::Text, &json))
    }

    /// Starts closing: queues a close frame past any limit. Idempotent.
    pub fn close(&self, code: u16, reason: &str) {
        if self.closing.replace(true) {
            return;
        }
        self.out.push_urgent(ws::close::close_frame(code, reason));
    }

    /// This session's presence in a stream, as the owner records it.
    pub fn presence(&self, shard: usize, status: Option<String>) -> crate::streams::Presence {
        self.presence_with(shard, status, JoinFlags::default())
    }

    /// The same, joined with `flags`.
    pub fn presence_with(
        &self,
        shard: usize,
        status: Option<String>,
        flags: JoinFlags,
    ) -> crate::streams::Presence {
        crate::streams::Presence {
            session_id: self.id,
            user_id: self.user_id,
            username: self.username.clone(),
            shard,
            persistence: flags.persistence,
            hidden: flags.hidden,
            status,
        }
    }

    /// Remembers a stream joined, so that closing leaves it. Joining again
    /// keeps the first flags, as the owner keeps the first presence.
    pub fn track_stream(&self, stream: StreamId, flags: JoinFlags) {
        let mut streams = self.streams.borrow_mut();
        if !streams.iter().any(|(s, _)| *s == stream) {
            streams.push((stream, flags));
        }
    }

    pub fn untrack_stream(&self, stream: &StreamId) {
        self.streams.borrow_mut().retain(|(s, _)| s != stream);
    }

    /// How this session joined `stream`, if it did.
    pub fn joined(&self, stream: &StreamId) -> Option<JoinFlags> {
        self.streams
            .borrow()
            .iter()
            .find(|(s, _)| s == stream)
            .map(|(_, f)| *f)
    }

    pub fn take_streams(&self) -> Vec<StreamId> {
        std::mem::take(&mut *self.streams.borrow_mut())
            .into_iter()
            .map(|(s, _)| s)
            .collect()
    }

    pub fn is_closing(&self) -> bool {
        self.closing.get()
    }

    /// Closes the session on the server's initiative.
    pub fn kick(&self, reason: KickReason) {
        if reason == KickReason::SingleSocket && !self.closing.get() {
            let note = kairos_core::notification::Notification {
                id: Uuid::new_v4(),
                user_id: self.user_id,
                subject: "single_socket".into(),
                content: "{}".into(),
                code: kairos_core::notification::code::SINGLE_SOCKET,
                sender_id: None,
                create_time: kairos_core::time::now_micros(),
                persistent: false,
            };
            self.out.push_urgent(notifications::frame(&[note]));
        }
        self.close(SERVER_CLOSE.0, SERVER_CLOSE.1);
    }

    /// Frames waiting to be written.
    pub fn queued(&self) -> usize {
        self.out.len()
    }

    fn shutdown_socket(&self) {
        // SAFETY: `fd` belongs to the stream this session owns until cleanup.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
    }
}

type SharedStream = Rc<RefCell<TcpStream>>;

/// Runs a session to its end and cleans up after it.
pub async fn run(shard: Rc<Shard>, stream: TcpStream, pre_read: BytesMut, p: SessionParams) {
    let cfg = shard.config().socket.clone();
    // A client that sends nothing, not even a pong, for `pong_wait_ms` is gone.
    let session = Rc::new(WsSession {
        id: p.id,
        user_id: p.user_id,
        username: p.username,
        vars: p.vars,
        expiry: p.expiry,
        format: p.format,
        status: p.status,
        lang: p.lang,
        peer: p.peer,
        out: LocalQueue::new(cfg.outgoing_queue_size),
        closing: Cell::new(false),
        read_done: LocalEvent::default(),
        streams: RefCell::new(Vec::new()),
        status_tracked: Cell::new(false),
        follows: RefCell::new(Vec::new()),
        finished: LocalEvent::default(),
        last_read: Cell::new(Instant::now()),
        writing_since: Cell::new(None),
        fd: stream.as_raw_fd(),
        metrics: shard.metrics.clone(),
    });
    shard.metrics.ws_opened.inc();
    let shared = shard.shared.clone();
    shard
        .sessions
        .borrow_mut()
        .insert(session.id, session.clone());
    shared.registry.add(
        session.user_id,
        SessionRef {
            shard: shard.id,
            session_id: session.id,
            status: session.status,
        },
    );
    if shared.config.session.single_socket {
        // Session ids are UUIDv7, ordered by start: close every older socket
        // of this user. Two sockets connecting at once on two shards thus
        // agree on which survives.
        for r in shared.registry.sessions_of(session.user_id) {
            if r.session_id < session.id {
                shard.kick(r.shard, r.session_id, KickReason::SingleSocket);
            }
        }
    }
    if session.status {
        status::track(&shard, &session, None);
    }
    tracing::debug!(shard = shard.id, session = %session.id, user = %session.user_id, "session opened");

    let stream: SharedStream = Rc::new(RefCell::new(stream));
    let writer = rt::spawn_task(write_loop(session.clone(), stream.clone()));
    rt::spawn(keepalive(shard.clone(), session.clone()));
    read_loop(
        &shard,
        &session,
        &stream,
        pre_read,
        cfg.max_message_size_bytes,
    )
    .await;
    session.read_done.set();
    // Leave every stream now, so the others hear of it at once.
    membership::leave_all(&shard, &session);
    status::on_close(&shard, &session);
    // A reader that ends on EOF or error still sends a close if it can.
    session.close(ws::close::NORMAL, "");
    session.out.notify.notify();
    writer.await;

    session.finished.set();
    shard.sessions.borrow_mut().remove(&session.id);
    shared.registry.remove(session.user_id, session.id);
    shard.metrics.ws_closed.inc();
    tracing::debug!(shard = shard.id, session = %session.id, "session closed");
}

/// Smallest and largest read sizes. An idle session waits with a small
/// buffer (most realtime messages are small); a read that fills its buffer
/// doubles the next one.
const MIN_READ: usize = 512;
const MAX_READ: usize = 64 * 1024;

/// Reads once, appending to `buf`; `size` adapts to the traffic.
async fn read_some(
    stream: &SharedStream,
    buf: &mut BytesMut,
    size: &mut usize,
) -> std::io::Result<usize> {
    if buf.is_empty() && buf.capacity() > 4 * MIN_READ.max(*size) {
        // Give back what a burst grew; an idle session keeps little.
        *buf = BytesMut::new();
    }
    let len = buf.len();
    buf.resize(len + *size, 0);
    let result =
        poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_read(cx, &mut buf[len..])).await;
    let n = *result.as_ref().unwrap_or(&0);
    buf.truncate(len + n);
    *size = if n == *size {
        (*size * 2).min(MAX_READ)
    } else {
        MIN_READ
    };
    result
}

async fn read_loop(
    shard: &Rc<Shard>,
    session: &Rc<WsSession>,
    stream: &SharedStream,
    mut buf: BytesMut,
    max: usize,
) {
    let mut decoder = ws::Decoder::new(Role::Server, max);
    let mut read_size = MIN_READ;
    let mut handled: u64 = 0;
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Message::Text(text))) => {
                    if !handle_envelope(shard, session, &text).await {
                        return;
                    }
                    handled += 1;
                    if handled.is_multiple_of(READ_BURST) {
                        // Let the writers this burst feeds drain first.
                        rt::yield_now().await;
                    }
                }
                Ok(Some(Message::Binary(_))) => {
                    session.close(
                        ws::close::UNSUPPORTED_DATA,
                        "received unexpected WebSocket message type",
                    );
                    return;
                }
                Ok(Some(Message::Ping(payload))) => {
                    session.send(ws::frame::frame_bytes(OpCode::Pong, &payload));
                }
                Ok(Some(Message::Pong(_))) => {}
                Ok(Some(Message::Close(frame))) => {
                    // Echo the peer's code, as Nakama does.
                    session.close(frame.map(|f| f.code).unwrap_or(ws::close::NORMAL), "");
                    return;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(session = %session.id, error = %e, "websocket protocol error");
                    session.close(e.code, e.reason);
                    return;
                }
            }
        }
        if session.is_closing() {
            // Kicked or too slow; keep reading only to see the peer's close.
            match read_some(stream, &mut buf, &mut read_size).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
        match read_some(stream, &mut buf, &mut read_size).await {
            Ok(0) => return,
            Ok(_) => session.last_read.set(Instant::now()),
            Err(e) => {
                tracing::debug!(session = %session.id, error = %e, "websocket read ended");
                return;
            }
        }
    }
}

/// Handles one envelope and records it; false ends the session.
async fn handle_envelope(shard: &Rc<Shard>, session: &Rc<WsSession>, text: &[u8]) -> bool {
    let started = Instant::now();
    let (keep, ok) = dispatch_envelope(shard, session, text).await;
    shard
        .metrics
        .message(text.len() as u64, started.elapsed(), !ok);
    keep
}

/// Decodes and answers one envelope. Returns whether the session goes on,
/// and whether the message was served without an error.
async fn dispatch_envelope(
    shard: &Rc<Shard>,
    session: &Rc<WsSession>,
    text: &[u8],
) -> (bool, bool) {
    let envelope = match Envelope::from_json(text) {
        Ok(e) => e,
        Err(e) if e.code == ErrorCode::MissingPayload => {
            session.send_envelope("", &Outgoing::error(e.code, e.message));
            session.close(ws::close::NORMAL, "error processing message");
            return (false, false);
        }
        Err(e) => {
            tracing::debug!(session = %session.id, error = %e.message, "malformed realtime payload");
            session.send_envelope("", &Outgoing::error(e.code, e.message));
            session.close(ws::close::NORMAL, "received malformed payload");
            return (false, false);
        }
    };
    match envelope.message {
        Incoming::Ping => {
            session.send_envelope(&envelope.cid, &Outgoing::Pong {});
        }
        Incoming::Pong => {}
        Incoming::MatchCreate(m) => matches::create(shard, session, &envelope.cid, &m.name),
        Incoming::MatchJoin(m) => {
            matches::join(shard, session, &envelope.cid, &m.match_id, &m.token)
        }
        Incoming::MatchLeave(m) => matches::leave(shard, session, &envelope.cid, &m.match_id),
        Incoming::ChannelJoin(m) => {
            return (true, chat::join(shard, session, &envelope.cid, m).await);
        }
        Incoming::ChannelLeave(m) => {
            return (
                true,
                chat::leave(shard, session, &envelope.cid, &m.channel_id),
            );
        }
        Incoming::ChannelMessageSend(m) => {
            return (true, chat::send(shard, session, &envelope.cid, m).await);
        }
        Incoming::ChannelMessageUpdate(m) => {
            return (true, chat::update(shard, session, &envelope.cid, m).await);
        }
        Incoming::ChannelMessageRemove(m) => {
            return (true, chat::remove(shard, session, &envelope.cid, m).await);
        }
        Incoming::MatchDataSend(m) => matches::send_data(shard, session, m),
        Incoming::StatusUpdate(m) => status::update(shard, session, &envelope.cid, m.status),
        Incoming::StatusUnfollow(m) => match parse_user_ids(&m.user_ids) {
            Ok(ids) => status::unfollow(shard, session, &envelope.cid, ids),
            Err(e) => {
                session.send_envelope(&envelope.cid, &e);
                return (true, false);
            }
        },
        Incoming::StatusFollow(m) => {
            let mut ids = match parse_user_ids(&m.user_ids) {
                Ok(ids) => ids,
                Err(e) => {
                    session.send_envelope(&envelope.cid, &e);
                    return (true, false);
                }
            };
            let usernames: Vec<String> =
                m.usernames.into_iter().filter(|u| !u.is_empty()).collect();
            if !usernames.is_empty() {
                let found = shard
                    .shared
                    .persist
                    .run(move |store| async move { store.get_users(Vec::new(), usernames).await })
                    .await;
                match found {
                    Ok(users) => ids.extend(users.into_iter().map(|u| u.id)),
                    Err(e) => {
                        session.send_envelope(
                            &envelope.cid,
                            &Outgoing::error(ErrorCode::RuntimeException, e.message),
                        );
                        return (true, false);
                    }
                }
            }
            status::follow(shard, session, &envelope.cid, ids);
        }
        Incoming::Unhandled(name) => {
            session.send_envelope(
                &envelope.cid,
                &Outgoing::error(
                    ErrorCode::UnrecognizedPayload,
                    format!("Unrecognized message: {name} is not supported by this server yet."),
                ),
            );
            return (true, false);
        }
    }
    (true, true)
}

/// User ids of a status request; a malformed one is BAD_INPUT.
fn parse_user_ids(ids: &[String]) -> Result<Vec<Uuid>, Box<Outgoing>> {
    ids.iter()
        .map(|id| {
            Uuid::parse_str(id).map_err(|_| {
                Box::new(Outgoing::error(
                    ErrorCode::BadInput,
                    format!("Invalid user ID: {id}"),
                ))
            })
        })
        .collect()
}

async fn write_all(stream: &SharedStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_write(cx, data)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    Ok(())
}

async fn write_loop(session: Rc<WsSession>, stream: SharedStream) {
    let mut batch: Vec<Bytes> = Vec::new();
    let mut scratch = BytesMut::new();
    loop {
        session.out.drain_into(&mut batch, WRITE_BATCH);
        if batch.is_empty() {
            if session.is_closing() {
                // Everything up to and including our close frame is out.
                break;
            }
            session.out.notify.wait().await;
            continue;
        }
        session.writing_since.set(Some(Instant::now()));
        let (result, bytes) = if batch.len() == 1 {
            (write_all(&stream, &batch[0]).await, batch[0].len())
        } else {
            scratch.clear();
            for frame in &batch {
                scratch.extend_from_slice(frame);
            }
            (write_all(&stream, &scratch).await, scratch.len())
        };
        if result.is_ok() {
            session.metrics.message_sent_bytes.add(bytes as u64);
        }
        session.writing_since.set(None);
        batch.clear();
        if let Err(e) = result {
            tracing::debug!(session = %session.id, error = %e, "websocket write failed");
            session.closing.set(true);
            break;
        }
    }
    // Give the peer a moment to answer our close, then end the socket; this
    // also wakes a reader still waiting for bytes.
    if !session.read_done.is_set() {
        rt::timeout(CLOSE_ACK_WAIT, session.read_done.wait()).await;
    }
    session.shutdown_socket();
}

/// Pings the client every `ping_period_ms`, and ends the session when the
/// client has sent nothing (not even a pong) for `pong_wait_ms`, or when a
/// write has made no progress for `write_timeout_ms` (a client that stopped
/// reading). Shutting the socket down wakes the reader and the writer.
async fn keepalive(shard: Rc<Shard>, session: Rc<WsSession>) {
    let cfg = &shard.config().socket;
    let ping_every = Duration::from_millis(cfg.ping_period_ms);
    let pong_wait = Duration::from_millis(cfg.pong_wait_ms);
    let write_wait = Duration::from_millis(cfg.write_timeout_ms);
    let tick = ping_every
        .min(pong_wait / 4)
        .min(write_wait / 4)
        .max(Duration::from_millis(5));
    let mut next_ping = Instant::now() + ping_every;
    while rt::timeout(tick, session.finished.wait()).await.is_none() {
        let now = Instant::now();
        if now.duration_since(session.last_read.get()) >= pong_wait {
            tracing::debug!(session = %session.id, "client silent past pong_wait; closing");
            session.close(ws::close::NORMAL, "ping timeout");
            session.shutdown_socket();
            return;
        }
        if session
            .writing_since
            .get()
            .is_some_and(|t| now.duration_since(t) >= write_wait)
        {
            tracing::debug!(session = %session.id, "write stalled past write_timeout; closing");
            session.closing.set(true);
            session.shutdown_socket();
            return;
        }
        if now >= next_ping && !session.is_closing() {
            session
                .out
                .push_urgent(ws::frame::frame_bytes(OpCode::Ping, b""));
            next_ping = now + ping_every;
        }
    }
}
