//! Sessions on datagram transports (reliable UDP, QUIC), whose driver owns
//! the connection and the socket: the driver pushes each inbound message
//! into the session's [`Inbox`]; a reader task handles them in order
//! through [`dispatch::handle`]; a writer task moves the outgoing queue
//! onto the connection through the transport's [`Link`].

use std::future::Future;
use std::rc::Rc;

use bytes::Bytes;
use kairos_net::ws::close;

use super::{Frame, Inbox, Session, dispatch, lifecycle};
use crate::rt;
use crate::shard::Shard;

/// Envelopes a reader handles before it yields to the shard's other tasks.
const READ_BURST: usize = 16;
/// Frames a writer moves per pass.
const WRITE_BATCH: usize = 64;

/// Hands one inbound message to its session, enforcing what the WebSocket
/// enforces: `socket.max_message_size_bytes` (a larger message closes the
/// session, as 1009 does on a WebSocket), and a bounded backlog. A full
/// backlog drops an unreliable message (it may be lost anyway) and closes
/// the session for a reliable one (a client that sends faster than its
/// session is served, past the transport's own flow control).
pub fn deliver_inbound(
    shard: &Shard,
    session: &Session,
    inbox: &Inbox,
    payload: Bytes,
    reliable: bool,
) {
    let max = shard.config().socket.max_message_size_bytes;
    if payload.len() > max {
        tracing::info!(session = %session.id, len = payload.len(), max, "message too big; closing");
        session.close(close::MESSAGE_TOO_BIG, "message too big");
        return;
    }
    if !inbox.push(payload) && reliable {
        tracing::info!(session = %session.id, "client floods its session; closing");
        session.close(close::POLICY_VIOLATION, "too many messages in flight");
    }
}

/// One session's connection, as its reader and writer see it.
pub trait Link: 'static {
    /// Moves `frames` onto the connection (draining the vector). False
    /// when the connection can take no more; the session is then closed.
    fn send(&self, session: &Session, frames: &mut Vec<Frame>) -> bool;
    /// The reader has handled everything in the inbox: a driver that
    /// stopped reading the connection (back-pressure) may resume.
    fn drained(&self);
    /// Ends the connection once what was sent is delivered (or a deadline
    /// passes).
    fn end(&self, session: &Session) -> impl Future<Output = ()>;
}

/// Runs a session to its end: reader here, writer in its own task.
pub async fn run<L: Link>(shard: Rc<Shard>, session: Rc<Session>, inbox: Rc<Inbox>, link: L) {
    lifecycle::open(&shard, &session);
    let link = Rc::new(link);
    let writer = rt::spawn_task(write_loop(session.clone(), inbox.clone(), link.clone()));
    'read: loop {
        let mut handled = 0;
        while let Some(msg) = inbox.pop() {
            if !dispatch::handle(&shard, &session, &msg).await {
                break 'read;
            }
            handled += 1;
            if handled % READ_BURST == 0 {
                rt::yield_now().await;
            }
        }
        if inbox.is_closed() || session.is_closing() {
            break;
        }
        link.drained();
        inbox.notify.wait().await;
    }
    lifecycle::reading_ended(&shard, &session);
    session.close(close::NORMAL, "");
    writer.await;
    lifecycle::finish(&shard, &session);
}

async fn write_loop<L: Link>(session: Rc<Session>, inbox: Rc<Inbox>, link: Rc<L>) {
    let mut batch: Vec<Frame> = Vec::new();
    loop {
        session.drain_outgoing(&mut batch, WRITE_BATCH);
        if batch.is_empty() {
            if session.is_closing() {
                break;
            }
            session.outgoing_notify().wait().await;
            continue;
        }
        let bytes: usize = batch.iter().map(|f| f.bytes.len()).sum();
        if !link.send(&session, &mut batch) {
            break;
        }
        session.metrics.message_sent_bytes.add(bytes as u64);
    }
    // Wake the reader (it may be waiting for input), then end the
    // connection.
    inbox.close();
    link.end(&session).await;
}
