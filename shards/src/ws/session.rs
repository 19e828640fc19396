//! The WebSocket driver of a session: the socket on the shard that
//! accepted it.
//!
//! Two tasks share the socket. The reader decodes frames and hands each
//! envelope to [`dispatch::handle`] in order; the writer drains the
//! session's bounded outgoing queue in batches. The shard's keepalive
//! sweep ([`super::keepalive`]) pings every socket and watches two
//! deadlines, so an idle session costs no task or timer of its own. A slow client can only fill its own queue:
//! when it is full the session is closed ("session outgoing queue full")
//! and the shard moves on.
//!
//! Closing: whoever closes first marks the session closing; the writer
//! sends what is queued and the close frame, waits briefly for the peer's
//! close (or EOF), then shuts the socket down, which also ends a reader
//! blocked on a read. Cleanup then removes every trace of the session.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kairos_net::ws::{self, Message, OpCode, Role};

use crate::http::limits::ConnSlot;
use crate::rt::{self, LocalEvent, ShutdownHandle, TcpStream};
use crate::session::{Frame, Session, SessionParams, Wire, dispatch, lifecycle};
use crate::shard::Shard;

/// How long to wait for the peer's close frame after sending ours.
const CLOSE_ACK_WAIT: Duration = Duration::from_secs(2);
/// Envelopes a reader handles before it yields to the shard's other tasks.
const READ_BURST: u64 = 16;
/// Frames written per batch at most.
const WRITE_BATCH: usize = 64;

/// The socket side of a session, which only this driver's tasks and the
/// shard's keepalive sweep touch.
pub(super) struct Conn {
    pub(super) session: Rc<Session>,
    stream: RefCell<TcpStream>,
    shutdown: ShutdownHandle,
    /// Set when the reader is done (peer closed, error, or our close).
    read_done: LocalEvent,
    /// When bytes last arrived from the client.
    pub(super) last_read: Cell<Instant>,
    /// When the write in progress started, if one is.
    pub(super) writing_since: Cell<Option<Instant>>,
    /// When the next keepalive ping is due.
    pub(super) next_ping: Cell<Instant>,
    /// Control frames to write before the next batch: at most one pong and
    /// one keepalive ping, whatever the client sends.
    control: RefCell<Control>,
    /// This connection's place under the shard's connection caps.
    _slot: ConnSlot,
}

/// The control frames waiting for the writer. They bypass the session's
/// queue limit and its wire's framing, so they are bounded here instead:
/// a pong answers only the latest ping (RFC 6455 5.5.3 allows it), and a
/// keepalive ping not yet written is not queued twice. A ping flood
/// therefore costs one frame, not one per ping.
#[derive(Default)]
pub(super) struct Control {
    pong: Option<Bytes>,
    ping: bool,
}

impl Control {
    /// Answers a ping, replacing any pong not yet written.
    pub(super) fn pong(&mut self, payload: &[u8]) {
        self.pong = Some(ws::frame::frame_bytes(OpCode::Pong, payload));
    }

    /// Asks for a keepalive ping.
    pub(super) fn ping(&mut self) {
        self.ping = true;
    }

    /// The frames to write now, in order: the pong, then the ping.
    pub(super) fn take(&mut self) -> impl Iterator<Item = Bytes> + use<> {
        let pong = self.pong.take();
        let ping =
            std::mem::take(&mut self.ping).then(|| ws::frame::frame_bytes(OpCode::Ping, b""));
        pong.into_iter().chain(ping)
    }
}

impl Conn {
    /// Answers a client's ping (only the latest one waiting) and wakes the
    /// writer.
    pub(super) fn send_pong(&self, payload: &[u8]) {
        self.control.borrow_mut().pong(payload);
        self.session.outgoing_notify().notify();
    }

    /// Queues a keepalive ping (at most one waiting) and wakes the writer.
    pub(super) fn send_ping(&self) {
        self.control.borrow_mut().ping();
        self.session.outgoing_notify().notify();
    }

    pub(super) fn shutdown_socket(&self) {
        // The handle's stream is `self.stream`, alive as long as `self`.
        self.shutdown.shutdown();
    }
}

/// Runs a WebSocket session to its end and cleans up after it.
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
    let conn = Rc::new(Conn {
        session: session.clone(),
        shutdown: stream.shutdown_handle(),
        stream: RefCell::new(stream),
        read_done: LocalEvent::default(),
        last_read: Cell::new(Instant::now()),
        writing_since: Cell::new(None),
        next_ping: Cell::new(Instant::now() + Duration::from_millis(cfg.ping_period_ms)),
        control: RefCell::new(Control::default()),
        _slot: slot,
    });
    shard.ws_keepalive.watch(&conn);

    let writer = rt::spawn_task(write_loop(conn.clone()));
    read_loop(&shard, &conn, pre_read, cfg.max_message_size_bytes).await;
    conn.read_done.set();
    lifecycle::reading_ended(&shard, &session);
    // A reader that ends on EOF or error still sends a close if it can.
    session.close(ws::close::NORMAL, "");
    writer.await;
    lifecycle::finish(&shard, &session);
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
fn expected(wire: Wire, msg: &Message) -> Option<Bytes> {
    match (wire, msg) {
        (Wire::Json, Message::Text(b)) => Some(b.clone()),
        (Wire::Protobuf | Wire::Flat, Message::Binary(b)) => Some(b.clone()),
        _ => None,
    }
}

async fn read_loop(shard: &Rc<Shard>, conn: &Conn, mut buf: BytesMut, max: usize) {
    let session = &conn.session;
    let mut decoder = ws::Decoder::new(Role::Server, max);
    let mut read_size = MIN_READ;
    let mut handled: u64 = 0;
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(msg @ (Message::Text(_) | Message::Binary(_)))) => {
                    let Some(payload) = expected(session.wire, &msg) else {
                        session.close(
                            ws::close::UNSUPPORTED_DATA,
                            "received unexpected WebSocket message type",
                        );
                        return;
                    };
                    if !dispatch::handle(shard, session, &payload).await {
                        return;
                    }
                    handled += 1;
                    if handled.is_multiple_of(READ_BURST) {
                        // Let the writers this burst feeds drain first.
                        rt::yield_now().await;
                    }
                }
                Ok(Some(Message::Ping(payload))) => {
                    conn.send_pong(&payload);
                    // A ping flood yields like a burst of envelopes.
                    handled += 1;
                    if handled.is_multiple_of(READ_BURST) {
                        rt::yield_now().await;
                    }
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
            match read_some(conn, &mut buf, &mut read_size).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
        match read_some(conn, &mut buf, &mut read_size).await {
            Ok(0) => return,
            Ok(_) => conn.last_read.set(Instant::now()),
            Err(e) => {
                tracing::debug!(session = %session.id, error = %e, "websocket read ended");
                return;
            }
        }
    }
}

async fn write_all(conn: &Conn, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| conn.stream.borrow_mut().poll_write(cx, data)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    Ok(())
}

/// Appends a queued frame to the write buffer. The WebSocket wires are
/// queued framed; a FlatBuffers payload gets its binary frame header here.
fn append(scratch: &mut BytesMut, wire: Wire, frame: &Frame) {
    if wire == Wire::Flat {
        ws::frame::encode_frame(scratch, OpCode::Binary, true, &frame.bytes, None);
    } else {
        scratch.extend_from_slice(&frame.bytes);
    }
}

/// Writes `data` with the write watchdog armed.
async fn timed_write(conn: &Conn, data: &[u8]) -> std::io::Result<()> {
    conn.writing_since.set(Some(Instant::now()));
    let result = write_all(conn, data).await;
    conn.writing_since.set(None);
    result
}

async fn write_loop(conn: Rc<Conn>) {
    let session = &conn.session;
    let mut batch: Vec<Frame> = Vec::new();
    let mut scratch = BytesMut::new();
    loop {
        let control = conn.control.borrow_mut().take();
        for frame in control {
            if timed_write(&conn, &frame).await.is_err() {
                session.close(ws::close::NORMAL, "");
                conn.shutdown_socket();
                return;
            }
            session.metrics.message_sent_bytes.add(frame.len() as u64);
        }
        session.drain_outgoing(&mut batch, WRITE_BATCH);
        if batch.is_empty() {
            if let Some((code, reason)) = session.close_reason() {
                // Everything queued is out: say goodbye.
                let close = ws::close::close_frame(code, &reason);
                if timed_write(&conn, &close).await.is_ok() {
                    session.metrics.message_sent_bytes.add(close.len() as u64);
                }
                break;
            }
            session.outgoing_notify().wait().await;
            continue;
        }
        let result = if batch.len() == 1 && session.wire != Wire::Flat {
            timed_write(&conn, &batch[0].bytes)
                .await
                .map(|_| batch[0].bytes.len())
        } else {
            scratch.clear();
            for frame in &batch {
                append(&mut scratch, session.wire, frame);
            }
            timed_write(&conn, &scratch).await.map(|_| scratch.len())
        };
        batch.clear();
        match result {
            Ok(bytes) => session.metrics.message_sent_bytes.add(bytes as u64),
            Err(e) => {
                tracing::debug!(session = %session.id, error = %e, "websocket write failed");
                // The socket is gone: nothing more can be written.
                session.close(ws::close::NORMAL, "");
                break;
            }
        }
    }
    // Give the peer a moment to answer our close, then end the socket; this
    // also wakes a reader still waiting for bytes.
    if !conn.read_done.is_set() {
        rt::timeout(CLOSE_ACK_WAIT, conn.read_done.wait()).await;
    }
    conn.shutdown_socket();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_flood_leaves_one_pong_and_one_keepalive_ping() {
        let mut c = Control::default();
        for i in 0..10_000u32 {
            c.pong(&i.to_be_bytes());
            c.ping();
        }
        let frames: Vec<Bytes> = c.take().collect();
        assert_eq!(frames.len(), 2);
        // The pong answers the latest ping.
        assert_eq!(
            frames[0],
            ws::frame::frame_bytes(OpCode::Pong, &9_999u32.to_be_bytes())
        );
        assert_eq!(frames[1], ws::frame::frame_bytes(OpCode::Ping, b""));
        assert_eq!(c.take().count(), 0);
    }
}
