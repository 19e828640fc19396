//! The flush list of one shard's WebSocket sessions: one task writes every
//! idle session's socket once per turn of the shard, rather than each
//! message waking the session's own writer.
//!
//! A session's writer that has nothing left to write parks here
//! ([`FlushList::park`]). From then on, what is queued to the session
//! (a message, a pong, a close) puts its connection on this list, once
//! until served, and wakes the flush task. That task runs after the tasks
//! already due, the readers of this turn among them, so whatever they
//! queued for the same socket leaves in one write, as the raw relay of
//! `kairos-loadtest baseline-relay` does at the end of each round. It
//! writes with [`TcpStream::try_write`](crate::rt::TcpStream::try_write),
//! never waiting: straight from the session's queue when the connection
//! has nothing of its own to send first ([`serve_direct`]), through the
//! connection otherwise.
//!
//! The parked writer gets its socket back ([`hand_to_writer`]) for
//! whatever a write that cannot wait cannot do: a socket that takes only
//! part of the bytes (the tail goes back to the connection, first out),
//! more queued than one batch, the close handshake, a move to another
//! shard. The write watchdog and the queue limit then work as before.
//!
//! Invariant: a socket has one writer at a time. The flush task writes a
//! socket only while its writer is parked, and the writer runs again only
//! once handed the socket back; neither waits in between.
//!
//! On runtimes whose writes are io_uring operations a task must own
//! ([`crate::rt::DIRECT_WRITES`] false), writers never park here and wait
//! for their session's notify as they always did.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use bytes::BytesMut;

use super::session::{Conn, Outbound, WRITE_BATCH, gather, outbound, queued_framed, take_queued};
use crate::rt::{self, LocalNotify};
use crate::session::Frame;

/// The connections with something to write whose writers are parked; a
/// handle, cloned for the flush task.
#[derive(Clone, Default)]
pub struct FlushList {
    inner: Rc<Inner>,
}

#[derive(Default)]
struct Inner {
    dirty: RefCell<Vec<Weak<Conn>>>,
    wake: LocalNotify,
}

impl FlushList {
    /// Whether writers park here on this runtime.
    pub const ACTIVE: bool = rt::DIRECT_WRITES;

    /// The hook a connection's session notify calls while its writer is
    /// parked: it lists the connection, once until served. Made once per
    /// connection, so that parking allocates nothing.
    pub(super) fn hook(&self, conn: &Rc<Conn>) -> Rc<dyn Fn()> {
        let weak = Rc::downgrade(conn);
        let inner = self.inner.clone();
        Rc::new(move || {
            let Some(conn) = weak.upgrade() else {
                return;
            };
            if !conn.flush_listed.replace(true) {
                inner.dirty.borrow_mut().push(Rc::downgrade(&conn));
                inner.wake.notify();
            }
        })
    }

    /// Parks `conn`'s writer, which has nothing left to write, until the
    /// flush task hands the socket back. Returns at once when something
    /// was queued since the writer last looked.
    pub(super) async fn park(&self, conn: &Conn, hook: &Rc<dyn Fn()>) {
        let notify = conn.session.outgoing_notify();
        if notify.take_pending() {
            return;
        }
        conn.parked.set(true);
        notify.redirect(Some(hook.clone()));
        // Only `hand_to_writer` notifies it, which undoes both.
        conn.writer_wake.wait().await;
    }
}

/// Gives a parked writer its socket back: it writes, closes or hands the
/// session off as it would have, then parks again.
fn hand_to_writer(conn: &Conn) {
    conn.parked.set(false);
    conn.session.outgoing_notify().redirect(None);
    conn.writer_wake.notify();
}

/// Runs a shard's flush task until the shard ends.
pub async fn run(list: FlushList) {
    let inner = &list.inner;
    let mut serving: Vec<Weak<Conn>> = Vec::new();
    let mut batch: Vec<Frame> = Vec::new();
    let mut scratch = BytesMut::new();
    loop {
        inner.wake.wait().await;
        std::mem::swap(&mut serving, &mut *inner.dirty.borrow_mut());
        for weak in serving.drain(..) {
            let Some(conn) = weak.upgrade() else {
                continue;
            };
            conn.flush_listed.set(false);
            if !conn.parked.get() {
                // Its writer runs already and drains the queue itself.
                continue;
            }
            if !serve(&conn, &mut batch, &mut scratch) {
                conn.session.metrics.ws_flush_handbacks.inc();
                hand_to_writer(&conn);
            }
        }
    }
}

/// Writes what `conn`'s session has queued, without waiting; false when
/// its writer must take over (see the module's notes).
fn serve(conn: &Conn, batch: &mut Vec<Frame>, scratch: &mut BytesMut) -> bool {
    let session = &conn.session;
    session.outgoing_notify().take_pending();
    if session.is_closing() || conn.handoff.get() {
        return false;
    }
    let mut ws = conn.ws.borrow_mut();
    if queued_framed(session.wire) && ws.passes_prepared() {
        return serve_direct(conn, &mut ws, scratch);
    }
    // A full batch may leave more queued: the writer drains the rest.
    let more = take_queued(conn, &mut ws, batch) == WRITE_BATCH;
    loop {
        match outbound(&mut ws, scratch) {
            Outbound::None => return !more,
            out => {
                if !write_once(conn, &mut ws, out, scratch) {
                    return false;
                }
            }
        }
    }
}

/// Writes `out` with one write that never waits; false when the socket
/// took only part of it (the tail goes back to the connection `ws`, first
/// out) or failed: either way the writer takes over, and meets the error
/// again if there was one.
fn write_once(
    conn: &Conn,
    ws: &mut kairos_net::ws::Connection,
    out: Outbound,
    scratch: &BytesMut,
) -> bool {
    let data: &[u8] = match &out {
        Outbound::None => return true,
        Outbound::Lone(chunk) => chunk,
        Outbound::Gathered => scratch,
    };
    let written = conn.stream.borrow_mut().try_write(data).unwrap_or_default();
    let session = &conn.session;
    if written > 0 {
        session.metrics.ws_flush_writes.inc();
        session.metrics.message_sent_bytes.add(written as u64);
    }
    if written < data.len() {
        let rest = match out {
            Outbound::Lone(chunk) => chunk.slice(written..),
            _ => bytes::Bytes::copy_from_slice(&scratch[written..]),
        };
        ws.unsend(rest);
        return false;
    }
    true
}

/// [`serve`] when nothing is pending in the connection `ws` and the
/// session's frames are whole WebSocket frames: they go from the session's
/// queue to the socket as they are, a lone frame without a copy, several
/// gathered into `scratch` for one write, rather than passing through the
/// connection's queue first. A tail the socket does not take goes back to
/// the connection, first out, and the writer takes over; so does a full
/// batch, which may leave more queued.
fn serve_direct(conn: &Conn, ws: &mut kairos_net::ws::Connection, scratch: &mut BytesMut) -> bool {
    let session = &conn.session;
    let mut room = WRITE_BATCH;
    let out = gather(
        || {
            room = room.checked_sub(1)?;
            session.pop_outgoing().map(|frame| frame.bytes)
        },
        scratch,
    );
    write_once(conn, ws, out, scratch) && session.outgoing_is_empty()
}
