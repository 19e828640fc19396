//! The WebSocket driver of a session: the socket on the shard that
//! accepted it.
//!
//! Two tasks share the socket. The reader decodes frames and hands each
//! envelope to [`dispatch::handle`] in order; the writer drains the
//! session's bounded outgoing queue in batches. An idle writer parks on
//! the shard's flush list ([`super::flush`]), which writes the socket for
//! it once per turn and hands it back whenever a write would wait, so a
//! message costs no wake of this session's task. The shard's keepalive
//! sweep ([`super::keepalive`]) pings every socket and watches two
//! deadlines, so an idle session costs no task or timer of its own. A slow client can only fill its own queue:
//! when it is full the session is closed ("session outgoing queue full")
//! and the shard moves on.
//!
//! Closing: whoever closes first marks the session closing; the writer
//! sends what is queued and the close frame, waits briefly for the peer's
//! close (or EOF), then shuts the socket down, which also ends a reader
//! blocked on a read. Cleanup then removes every trace of the session.
//!
//! Moving: a session that asks to join a match another shard owns may
//! move there before the join is served ([`super::handoff`]). The reader
//! stops short of the join, the writer stops between two writes, and the
//! socket, the connection's state and what is still queued go to the
//! match's shard, which goes on from the join.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kairos_net::ws::{self, Event};

use super::flush::FlushList;
use super::handoff::{self, Departure};
use crate::http::limits::ConnSlot;
use crate::rt::{self, LocalEvent, LocalNotify, ShutdownHandle, Task, TcpStream};
use crate::session::{Frame, Session, SessionParams, Wire, dispatch, lifecycle};
use crate::shard::Shard;

/// How long to wait for the peer's close frame after sending ours.
const CLOSE_ACK_WAIT: Duration = Duration::from_secs(2);
/// Envelopes a reader handles before it yields to the shard's other tasks.
const READ_BURST: u64 = 16;
/// Frames written per batch at most.
pub(super) const WRITE_BATCH: usize = 64;

/// The socket side of a session, which only this driver's tasks and the
/// shard's keepalive sweep touch.
pub(super) struct Conn {
    pub(super) session: Rc<Session>,
    pub(super) stream: RefCell<TcpStream>,
    shutdown: ShutdownHandle,
    /// Set when the reader is done (peer closed, error, or our close).
    read_done: LocalEvent,
    /// Set while the session is moving to another shard: the writer stops
    /// between two writes.
    pub(super) handoff: Cell<bool>,
    /// Set while the writer is parked on the shard's flush list
    /// ([`super::flush`]), which then writes this socket for it.
    pub(super) parked: Cell<bool>,
    /// Set while this connection is on the flush list, so that it is
    /// listed once however much is queued.
    pub(super) flush_listed: Cell<bool>,
    /// Wakes the parked writer: the flush list hands the socket back.
    pub(super) writer_wake: LocalNotify,
    /// When bytes last arrived from the client, as of the keepalive
    /// sweep's last look ([`Conn::heard_at`] is exact).
    last_read: Cell<Instant>,
    /// Bytes arrived since the sweep last looked. The reader sets a flag
    /// rather than read the clock on every read; the sweep turns it into
    /// `last_read` at its own tick, within which it enforces deadlines
    /// anyway.
    heard: Cell<bool>,
    /// Since when a write has been waiting for the socket, if one is. Set
    /// only once a write finds the socket full: a write the kernel takes
    /// at once never needs the watchdog, nor a clock read.
    pub(super) writing_since: Cell<Option<Instant>>,
    /// When the next keepalive ping is due.
    pub(super) next_ping: Cell<Instant>,
    /// The WebSocket state machine (`kairos_net::ws::Connection`): the
    /// reader feeds it bytes, the writer takes its outbound frames. It
    /// answers pings itself, keeping only the pong for the latest one, so a
    /// ping flood costs one frame; it owns the close handshake.
    pub(super) ws: RefCell<ws::Connection>,
    /// This connection's place under the shard's connection caps.
    pub(super) slot: ConnSlot,
}

impl Conn {
    /// A session's socket, its WebSocket state and keepalive clocks.
    pub(super) fn new(
        session: Rc<Session>,
        stream: TcpStream,
        ws: ws::Connection,
        last_read: Instant,
        next_ping: Instant,
        slot: ConnSlot,
    ) -> Rc<Conn> {
        Rc::new(Conn {
            session,
            shutdown: stream.shutdown_handle(),
            stream: RefCell::new(stream),
            read_done: LocalEvent::default(),
            handoff: Cell::new(false),
            parked: Cell::new(false),
            flush_listed: Cell::new(false),
            writer_wake: LocalNotify::default(),
            last_read: Cell::new(last_read),
            heard: Cell::new(false),
            writing_since: Cell::new(None),
            next_ping: Cell::new(next_ping),
            ws: RefCell::new(ws),
            slot,
        })
    }

    /// Queues a keepalive ping and wakes the writer. (One per ping period
    /// at most; a writer stuck that long is closed by the keepalive sweep's
    /// write deadline.)
    pub(super) fn send_ping(&self) {
        // Not open: the close handshake has begun, and a ping is moot.
        let _ = self.ws.borrow_mut().send_ping(b"");
        self.session.outgoing_notify().notify();
    }

    /// When bytes last arrived from the client, as of `now` (the sweep's
    /// time): notes what arrived since the sweep last looked.
    pub(super) fn heard_at(&self, now: Instant) -> Instant {
        if self.heard.replace(false) {
            self.last_read.set(now);
        }
        self.last_read.get()
    }

    pub(super) fn shutdown_socket(&self) {
        // The handle's stream is `self.stream`, alive as long as `self`.
        self.shutdown.shutdown();
    }
}

/// Runs a WebSocket session to its end (or until it moves to another
/// shard) and cleans up after it.
pub async fn run(
    shard: Rc<Shard>,
    stream: TcpStream,
    slot: ConnSlot,
    pre_read: BytesMut,
    p: SessionParams,
) {
    let cfg = shard.config().socket.clone();
    let session = Rc::new(Session::new(
        p,
        cfg.outgoing_queue_size,
        shard.metrics.clone(),
    ));
    lifecycle::open(&shard, &session);
    let conn = Conn::new(
        session,
        stream,
        ws::Connection::server(cfg.max_message_size_bytes),
        Instant::now(),
        Instant::now() + Duration::from_millis(cfg.ping_period_ms),
        slot,
    );
    drive(shard, conn, pre_read, None).await;
}

/// How a reader stopped.
enum ReadEnd {
    /// The session is over.
    Closed,
    /// The session asks to join a match shard `to` owns with `payload`,
    /// which is not served yet: it moves there first.
    Move { to: usize, payload: Bytes },
}

/// How a writer stopped.
#[derive(PartialEq)]
enum WriteEnd {
    /// The socket is closed (or failed).
    Closed,
    /// Between two writes, for the session to move.
    HandedOff,
}

/// Serves a session's socket: reads and writes until the session ends,
/// then cleans up; or hands it to another shard. `first`, when given, is
/// an envelope to serve before anything in `buf` (the one a session moved
/// with).
pub(super) async fn drive(
    shard: Rc<Shard>,
    mut conn: Rc<Conn>,
    mut buf: BytesMut,
    mut first: Option<Bytes>,
) {
    shard.ws_keepalive.watch(&conn);
    loop {
        let writer = rt::spawn_task(write_loop(shard.clone(), conn.clone()));
        let ReadEnd::Move { to, payload } = read_loop(&shard, &conn, &mut buf, first.take()).await
        else {
            end(&shard, &conn, writer).await;
            return;
        };
        conn.handoff.set(true);
        conn.session.outgoing_notify().notify();
        let stopped = writer.await;
        if stopped == WriteEnd::Closed || conn.session.is_closing() {
            // Closed while stopping: end as any session does (a new writer
            // sends the close frame, if the old one had not).
            conn.handoff.set(false);
            let writer = rt::spawn_task(write_loop(shard.clone(), conn.clone()));
            end(&shard, &conn, writer).await;
            return;
        }
        match handoff::depart(&shard, conn, buf, payload, to) {
            Departure::Moved => return,
            Departure::Lost(session) => {
                lifecycle::reading_ended(&shard, &session);
                lifecycle::finish(&shard, &session);
                return;
            }
            Departure::Stayed {
                conn: c,
                buf: b,
                payload,
            } => {
                // Served here after all.
                c.handoff.set(false);
                (conn, buf, first) = (c, b, Some(payload));
            }
        }
    }
}

/// The end of a session whose reader is done: it leaves everything, its
/// writer sends what is queued and closes, then it is forgotten.
async fn end(shard: &Shard, conn: &Conn, writer: Task<WriteEnd>) {
    let session = &conn.session;
    conn.read_done.set();
    lifecycle::reading_ended(shard, session);
    // A reader that ends on EOF or error still sends a close if it can.
    session.close(ws::close::NORMAL, "");
    writer.await;
    lifecycle::finish(shard, session);
}

/// Smallest and largest read sizes. An idle session waits with a small
/// buffer (most realtime messages are small); a read that fills its buffer
/// doubles the next one.
const MIN_READ: usize = 512;
const MAX_READ: usize = 64 * 1024;

/// Reads once, appending to `buf`; `size` adapts to the traffic.
async fn read_some(conn: &Conn, buf: &mut BytesMut, size: &mut usize) -> std::io::Result<usize> {
    if buf.is_empty() && buf.capacity() > 4 * MIN_READ.max(*size) {
        // Give back what a burst grew; an idle session keeps little.
        *buf = BytesMut::new();
    }
    let len = buf.len();
    buf.resize(len + *size, 0);
    let result = poll_fn(|cx| conn.stream.borrow_mut().poll_read(cx, &mut buf[len..])).await;
    let n = *result.as_ref().unwrap_or(&0);
    buf.truncate(len + n);
    *size = if n == *size {
        (*size * 2).min(MAX_READ)
    } else {
        MIN_READ
    };
    result
}

/// Whether a data frame of this kind carries envelopes on `wire`: text for
/// JSON, binary for protobuf and FlatBuffers.
fn expected(wire: Wire, event: &Event) -> Option<Bytes> {
    match (wire, event) {
        (Wire::Json, Event::Text(b)) => Some(b.clone()),
        (Wire::Protobuf | Wire::Flat, Event::Binary(b)) => Some(b.clone()),
        _ => None,
    }
}

async fn read_loop(
    shard: &Rc<Shard>,
    conn: &Conn,
    buf: &mut BytesMut,
    first: Option<Bytes>,
) -> ReadEnd {
    let session = &conn.session;
    let mut read_size = MIN_READ;
    let mut handled: u64 = 0;
    if let Some(payload) = first
        && !dispatch::handle(shard, session, &payload).await
    {
        return ReadEnd::Closed;
    }
    loop {
        loop {
            let event = conn.ws.borrow_mut().recv(buf);
            match event {
                Ok(Some(event @ (Event::Text(_) | Event::Binary(_)))) => {
                    let Some(payload) = expected(session.wire, &event) else {
                        session.close(
                            ws::close::UNSUPPORTED_DATA,
                            "received unexpected WebSocket message type",
                        );
                        return ReadEnd::Closed;
                    };
                    if let Some(to) = handoff::target(shard, session, &payload) {
                        return ReadEnd::Move { to, payload };
                    }
                    if !dispatch::handle(shard, session, &payload).await {
                        return ReadEnd::Closed;
                    }
                    handled += 1;
                    if handled.is_multiple_of(READ_BURST) {
                        // Let the writers this burst feeds drain first.
                        rt::yield_now().await;
                    }
                }
                Ok(Some(Event::Ping(_))) => {
                    // The connection queued the pong; the writer sends it.
                    session.outgoing_notify().notify();
                    // A ping flood yields like a burst of envelopes.
                    handled += 1;
                    if handled.is_multiple_of(READ_BURST) {
                        rt::yield_now().await;
                    }
                }
                Ok(Some(Event::Pong(_))) => {}
                Ok(Some(Event::Closed(frame))) => {
                    // The connection queued its reply, echoing the peer's
                    // code as Nakama does; the session closes with it.
                    session.close(frame.map(|f| f.code).unwrap_or(ws::close::NORMAL), "");
                    return ReadEnd::Closed;
                }
                Ok(None) => break,
                Err(e) => {
                    // The connection queued a close frame with the error's code.
                    tracing::debug!(session = %session.id, error = %e, "websocket protocol error");
                    session.close(e.code, e.reason);
                    return ReadEnd::Closed;
                }
            }
        }
        if session.is_closing() {
            // Kicked or too slow; keep reading only to see the peer's close.
            match read_some(conn, buf, &mut read_size).await {
                Ok(0) | Err(_) => return ReadEnd::Closed,
                Ok(_) => continue,
            }
        }
        match read_some(conn, buf, &mut read_size).await {
            Ok(0) => return ReadEnd::Closed,
            Ok(_) => conn.heard.set(true),
            Err(e) => {
                tracing::debug!(session = %session.id, error = %e, "websocket read ended");
                return ReadEnd::Closed;
            }
        }
    }
}

/// Writes all of `data`. The write watchdog (`writing_since`, which the
/// keepalive sweep enforces) is armed only while the socket is full.
async fn write_all(conn: &Conn, mut data: &[u8]) -> std::io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut armed = false;
    let result = poll_fn(|cx| {
        loop {
            match conn.stream.borrow_mut().poll_write(cx, data) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    data = &data[n..];
                    if data.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    if !armed {
                        armed = true;
                        conn.writing_since.set(Some(Instant::now()));
                    }
                    return Poll::Pending;
                }
            }
        }
    })
    .await;
    if armed {
        conn.writing_since.set(None);
    }
    result
}

/// Moves up to one batch ([`WRITE_BATCH`]) of the session's queued frames
/// into its connection `ws` (borrowed from `conn`), through `batch`, a
/// buffer the caller keeps; returns how many.
pub(super) fn take_queued(conn: &Conn, ws: &mut ws::Connection, batch: &mut Vec<Frame>) -> usize {
    let session = &conn.session;
    session.drain_outgoing(batch, WRITE_BATCH);
    let n = batch.len();
    for frame in batch.drain(..) {
        send(ws, session.wire, frame);
    }
    n
}

/// Hands a queued frame to the connection. The WebSocket wires are queued
/// framed and shared by reference (the queue's reference moves in); a
/// FlatBuffers payload gets its binary frame header as it is copied in.
fn send(ws: &mut ws::Connection, wire: Wire, frame: Frame) {
    // Not open: the close handshake has begun, and data may not follow.
    let _ = if queued_framed(wire) {
        ws.send_prepared(frame.bytes)
    } else {
        ws.send_binary(&frame.bytes)
    };
}

/// Whether `wire`'s frames are queued as whole WebSocket frames (JSON and
/// protobuf), which can be written as they are; FlatBuffers payloads get
/// their frame header as they leave.
pub(super) fn queued_framed(wire: Wire) -> bool {
    wire != Wire::Flat
}

/// What the connection has to send, ready for one write.
pub(super) enum Outbound {
    /// Nothing.
    None,
    /// A lone chunk, written as it is (a shared broadcast frame goes out
    /// without a copy).
    Lone(Bytes),
    /// Several chunks, gathered into the writer's scratch buffer, whose
    /// capacity is kept from one write to the next.
    Gathered,
}

/// Takes what the connection has to send: a lone chunk as it is, several
/// gathered into `scratch` so that they go out in one write.
pub(super) fn outbound(ws: &mut ws::Connection, scratch: &mut BytesMut) -> Outbound {
    gather(|| ws.take_outbound(), scratch)
}

/// Takes the chunks `next` gives until it gives none: a lone chunk as it
/// is, several gathered into `scratch`.
pub(super) fn gather(mut next: impl FnMut() -> Option<Bytes>, scratch: &mut BytesMut) -> Outbound {
    let Some(first) = next() else {
        return Outbound::None;
    };
    let Some(second) = next() else {
        return Outbound::Lone(first);
    };
    scratch.clear();
    scratch.extend_from_slice(&first);
    scratch.extend_from_slice(&second);
    while let Some(more) = next() {
        scratch.extend_from_slice(&more);
    }
    Outbound::Gathered
}

/// Writes everything the connection has to send; false when the socket
/// failed.
async fn flush(conn: &Conn, scratch: &mut BytesMut) -> bool {
    loop {
        let out = outbound(&mut conn.ws.borrow_mut(), scratch);
        let data: &[u8] = match &out {
            Outbound::None => return true,
            Outbound::Lone(chunk) => chunk,
            Outbound::Gathered => scratch,
        };
        match write_all(conn, data).await {
            Ok(()) => {
                let session = &conn.session;
                session.metrics.message_sent_bytes.add(data.len() as u64);
            }
            Err(e) => {
                tracing::debug!(session = %conn.session.id, error = %e, "websocket write failed");
                return false;
            }
        }
    }
}

async fn write_loop(shard: Rc<Shard>, conn: Rc<Conn>) -> WriteEnd {
    let session = &conn.session;
    let mut batch: Vec<Frame> = Vec::new();
    let mut scratch = BytesMut::new();
    let flush_list = &shard.ws_flush;
    let hook = FlushList::ACTIVE.then(|| flush_list.hook(&conn));
    loop {
        if conn.handoff.get() && !session.is_closing() {
            // The session moves: what is queued goes with it.
            return WriteEnd::HandedOff;
        }
        let drained = take_queued(&conn, &mut conn.ws.borrow_mut(), &mut batch) == 0;
        if drained && let Some((code, reason)) = session.close_reason() {
            // Everything queued is out: say goodbye (unless the
            // connection already answered the peer's close).
            conn.ws.borrow_mut().close(code, &reason);
            flush(&conn, &mut scratch).await;
            break;
        }
        if !flush(&conn, &mut scratch).await {
            // The socket is gone: nothing more can be written.
            session.close(ws::close::NORMAL, "");
            break;
        }
        if drained {
            match &hook {
                // Idle: the shard's flush list writes for it until it
                // needs this task again.
                Some(hook) => flush_list.park(&conn, hook).await,
                None => session.outgoing_notify().wait().await,
            }
        }
    }
    // Give the peer a moment to answer our close, then end the socket; this
    // also wakes a reader still waiting for bytes.
    if !conn.read_done.is_set() {
        rt::timeout(CLOSE_ACK_WAIT, conn.read_done.wait()).await;
    }
    conn.shutdown_socket();
    WriteEnd::Closed
}
