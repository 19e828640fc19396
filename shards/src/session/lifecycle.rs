//! What every session does when it opens and when it ends, whatever its
//! transport.

use std::rc::Rc;

use super::{SERVER_CLOSE, Session};
use crate::fanout::membership;
use crate::realtime;
use crate::registry::SessionRef;
use crate::shard::{KickReason, Shard};

/// Makes a new session known: in the shard's table and the global
/// registry. With `session.single_socket` it closes the user's older
/// sockets on every shard; with `status=true` it shows the user online.
pub fn open(shard: &Shard, session: &Rc<Session>) {
    let shared = &shard.shared;
    shard.metrics.ws_opened.inc();
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
            wire: session.wire,
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
    // A logout or account deletion between the token check and this
    // registration found no session to close: look again now that the
    // session is registered (deletion revokes before it kicks).
    if check_revoked(shard, session) {
        return;
    }
    realtime::session_opened(shard, session);
    tracing::debug!(shard = shard.id, session = %session.id, user = %session.user_id, transport = ?session.transport, "session opened");
}

/// Closes a session whose token was revoked (a logout, an account
/// deletion, a ban) while nothing could find it: before it was
/// registered, or while it moved between shards. Returns whether it did.
pub fn check_revoked(shard: &Shard, session: &Session) -> bool {
    let revoked = shard.shared.revocations.is_revoked_token(
        session.token_id,
        Some(session.user_id),
        session.issued_ms,
    );
    if revoked {
        session.close(SERVER_CLOSE.0, SERVER_CLOSE.1);
    }
    revoked
}

/// The client will send nothing more: leave every stream now, so the
/// others hear of it at once, and go offline.
pub fn reading_ended(shard: &Shard, session: &Session) {
    membership::leave_all(shard, session);
    realtime::session_ended(shard, session);
}

/// Removes every trace of a session that has ended.
pub fn finish(shard: &Shard, session: &Session) {
    session.finished.set();
    shard.sessions.borrow_mut().remove(&session.id);
    shard.shared.registry.remove(session.user_id, session.id);
    // The shards it moved away from forward to it no more.
    super::forward::end(shard, session.id, &session.origins());
    shard.metrics.ws_closed.inc();
    tracing::debug!(shard = shard.id, session = %session.id, "session closed");
}
