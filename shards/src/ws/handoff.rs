//! Moving a WebSocket session, socket and all, to the shard that owns the
//! match it joins (`kairos.session.move_to_match`).
//!
//! A match whose members sit on several shards costs every delivered
//! message a share of a mesh hop, and each member's socket is written once
//! per shard its messages come from. A match whose members share its
//! owner's shard costs what one shard costs (BENCHMARKS.md, "Where the
//! second shard's cost goes"). Players do not choose the shard the kernel
//! gives their socket, so the server moves them: a session that asks to
//! join a match another shard owns (`match_join` with its id, a named
//! `match_create`) moves to that shard before the join is served, if it
//! may ([`Session::may_move`]). So does one that makes an unnamed match
//! that packing places on another shard (`crate::placement`).
//!
//! The move, from the old shard's side ([`depart`]):
//! 1. the reader stops short of the join, and the writer stops between
//!    two writes (`super::session::drive`);
//! 2. the socket is detached from the old shard's reactor, the session is
//!    taken out of the shard's table, and the shard records where it went
//!    ([`crate::session::forward`]);
//! 3. one mesh message, [`ShardMsg::Adopt`], carries the socket, the
//!    WebSocket state, the bytes read and not yet decoded, the join, and
//!    the frames queued and not yet written.
//!
//! And from the new shard's side ([`arrive`]): the session is rebuilt with
//! the same id and entered in the shard's table and the registry before
//! anything else is handled, the socket is attached to this shard's
//! reactor, and its driver serves the join first, then reads on.
//!
//! Nothing is lost or reordered: what others sent to the old shard before
//! the registry changed is forwarded behind the `Adopt` on the same FIFO
//! queue; what is queued for the client leaves in order from the new
//! shard. A session closed while it stops ends where it is, as any other.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kairos_net::ws;

use super::session::{Conn, drive};
use crate::realtime::matches;
use crate::rt::{self, DetachedStream, TcpStream};
use crate::session::moving::Packed;
use crate::session::{Session, forward, lifecycle};
use crate::shard::{Shard, ShardMsg};

/// A session on its way to another shard: all it takes along.
#[derive(Debug)]
pub struct Arrival {
    /// The shard it leaves.
    from: usize,
    session: Packed,
    stream: DetachedStream,
    /// The client's address, for the connection caps.
    ip: Option<IpAddr>,
    ws: ws::Connection,
    /// Bytes read and not yet decoded.
    buf: BytesMut,
    /// The envelope it moves to serve, not served yet.
    payload: Bytes,
    last_read: Instant,
    next_ping: Instant,
}

/// Where a session that asks with `payload` should move before it is
/// served: the shard that owns the match it asks to join, or where packing
/// places the match it makes, when that is another and the session may
/// move.
#[inline]
pub(super) fn target(shard: &Shard, session: &Session, payload: &Bytes) -> Option<usize> {
    if !session.may_move() || !shard.moves_sessions() {
        return None;
    }
    // Decoded again where it is served: only a session in no stream pays
    // this, once per message until it joins one.
    let envelope = session.wire.decode(payload).ok()?;
    let to = matches::shard_to_serve(shard, &envelope.message)?;
    (to != shard.id).then_some(to)
}

/// What became of a session that set out to move.
pub(super) enum Departure {
    /// It is on its way; nothing of it is left here but its forwarding.
    Moved,
    /// Its socket could not be detached and is gone: the session ends.
    Lost(Rc<Session>),
    /// It could not go (something still holds its socket): it is served
    /// here.
    Stayed {
        conn: Rc<Conn>,
        buf: BytesMut,
        payload: Bytes,
    },
}

/// Sends the session of `conn`, whose reader and writer have stopped, to
/// shard `to`, to be served `payload` there first.
pub(super) fn depart(
    shard: &Shard,
    conn: Rc<Conn>,
    buf: BytesMut,
    payload: Bytes,
    to: usize,
) -> Departure {
    let conn = match Rc::try_unwrap(conn) {
        Ok(conn) => conn,
        Err(conn) => return Departure::Stayed { conn, buf, payload },
    };
    let session = conn.session.clone();
    let last_read = conn.heard_at(std::time::Instant::now());
    let next_ping = conn.next_ping.get();
    let ws = conn.ws.into_inner();
    let stream = conn.stream.into_inner();
    // Its place under this shard's caps is given back here.
    drop(conn.slot);
    let ip = stream.peer_addr().ok().map(|a| a.ip());
    let stream = match stream.detach() {
        Ok(stream) => stream,
        Err(e) => {
            tracing::warn!(session = %session.id, error = %e, "cannot detach a moving session's socket; it ends");
            return Departure::Lost(session);
        }
    };
    shard.sessions.borrow_mut().remove(&session.id);
    shard.forwards.add(session.id, session.user_id, to);
    shard.metrics.sessions_moved_out.inc();
    tracing::debug!(session = %session.id, from = shard.id, to, "session moves to its match's shard");
    let arrival = Arrival {
        from: shard.id,
        session: session.pack(shard.id),
        stream,
        ip,
        ws,
        buf,
        payload,
        last_read,
        next_ping,
    };
    shard.port.send(to, ShardMsg::Adopt(Box::new(arrival)));
    Departure::Moved
}

/// Takes in a session that moved here. Runs as its `Adopt` message is
/// handled, so that the messages forwarded behind it find it.
pub fn arrive(shard: &Shard, a: Arrival) {
    let packed = a.session;
    let stream = match TcpStream::attach(a.stream) {
        Ok(stream) => stream,
        Err(e) => {
            tracing::warn!(session = %packed.id, error = %e, "cannot attach a moved session's socket; it ends");
            shard.shared.registry.remove(packed.user_id, packed.id);
            forward::end(shard, packed.id, &packed.origins);
            shard.forwards.remove(packed.id);
            shard.metrics.sessions_moved_in.inc();
            shard.metrics.ws_closed.inc();
            return;
        }
    };
    let queue_size = shard.config().socket.outgoing_queue_size;
    let session = Rc::new(Session::unpack(
        packed,
        shard.id,
        queue_size,
        shard.metrics.clone(),
    ));
    // Back where it once was: this shard forwards it no more.
    shard.forwards.remove(session.id);
    shard
        .sessions
        .borrow_mut()
        .insert(session.id, session.clone());
    shard
        .shared
        .registry
        .relocate(session.user_id, session.id, shard.id);
    shard.metrics.sessions_moved_in.inc();
    tracing::debug!(session = %session.id, from = a.from, to = shard.id, "session arrived");
    lifecycle::check_revoked(shard, &session);
    let slot = shard.conn_limits.admit_moved(a.ip);
    let conn = Conn::new(session, stream, a.ws, a.last_read, a.next_ping, slot);
    // Its queued frames and the pong or ping its connection holds go out
    // as soon as its writer starts.
    rt::spawn(drive(shard.rc(), conn, a.buf, Some(a.payload)));
}
