//! The keepalive sweep of one shard's WebSocket sessions: one task per
//! shard, not per session, so an idle session costs no task and no timer.
//!
//! Every tick it pings each socket whose `socket.ping_period_ms` is up, and
//! ends a session when the client has sent nothing (not even a pong) for
//! `socket.pong_wait_ms`, or when a write has made no progress for
//! `socket.write_timeout_ms` (a client that stopped reading). Shutting the
//! socket down wakes the session's reader and writer, which then clean up.
//! (The runtimes' own socket timeouts are not used: glommio's never fired
//! in our tests, and a timer per socket is what this sweep avoids.)

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use kairos_net::ws;

use super::session::Conn;
use crate::rt;
use crate::shard::Shard;

/// The sessions one shard watches.
#[derive(Default)]
pub struct Keepalive {
    conns: RefCell<Vec<Weak<Conn>>>,
}

impl Keepalive {
    /// Watches a new session's socket until it is dropped.
    pub(super) fn watch(&self, conn: &Rc<Conn>) {
        self.conns.borrow_mut().push(Rc::downgrade(conn));
    }

    pub fn is_empty(&self) -> bool {
        self.conns.borrow().is_empty()
    }

    /// One pass over every socket: drops ended ones, pings, enforces the
    /// deadlines.
    fn sweep(&self, now: Instant, ping_every: Duration, pong_wait: Duration, write_wait: Duration) {
        let mut conns = self.conns.borrow_mut();
        conns.retain(|weak| {
            let Some(conn) = weak.upgrade() else {
                return false;
            };
            let session = &conn.session;
            if session.finished.is_set() {
                return false;
            }
            if now.saturating_duration_since(conn.heard_at(now)) >= pong_wait {
                tracing::debug!(session = %session.id, "client silent past pong_wait; closing");
                session.close(ws::close::NORMAL, "ping timeout");
                conn.shutdown_socket();
                return false;
            }
            if conn
                .writing_since
                .get()
                .is_some_and(|t| now.duration_since(t) >= write_wait)
            {
                tracing::info!(session = %session.id, user = %session.user_id, "write stalled past write_timeout; closing session");
                session.close(ws::close::NORMAL, "");
                conn.shutdown_socket();
                return false;
            }
            if now >= conn.next_ping.get() && !session.is_closing() {
                conn.send_ping();
                conn.next_ping.set(now + ping_every);
            }
            true
        });
    }
}

/// Runs the sweep of `shard` until the shard ends. Its tick is a quarter of
/// the shortest deadline (at least 5 ms), so a deadline is enforced within
/// a quarter of its length.
pub async fn run(shard: Rc<Shard>) {
    let cfg = &shard.config().socket;
    let ping_every = Duration::from_millis(cfg.ping_period_ms);
    let pong_wait = Duration::from_millis(cfg.pong_wait_ms);
    let write_wait = Duration::from_millis(cfg.write_timeout_ms);
    let tick = ping_every
        .min(pong_wait / 4)
        .min(write_wait / 4)
        .max(Duration::from_millis(5));
    loop {
        rt::sleep(tick).await;
        if !shard.ws_keepalive.is_empty() {
            shard
                .ws_keepalive
                .sweep(Instant::now(), ping_every, pong_wait, write_wait);
        }
    }
}
