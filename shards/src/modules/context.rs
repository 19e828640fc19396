//! What game code is told about the call it serves: who made it, from
//! where, and how; and the [`Nk`] handle to the server API.

use std::collections::BTreeMap;
use std::net::IpAddr;

use uuid::Uuid;

use super::Nk;

/// How the call reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallMode {
    /// `GET` or `POST /v2/rpc/{id}`.
    Http,
    /// The realtime `rpc` message, on any transport.
    Socket,
    /// The matchmaker-matched hook: no caller.
    Matchmaker,
    /// The leaderboard-reset hook: no caller.
    LeaderboardReset,
    /// The tournament-end hook: no caller.
    TournamentEnd,
    /// The tournament-reset hook: no caller.
    TournamentReset,
    /// The shutdown hook: no caller.
    Shutdown,
    /// A storage index filter: no caller.
    StorageIndexFilter,
}

/// The context of one call of game code, as Nakama's runtime context
/// gives it: the caller's identity (none for a server-to-server call made
/// with the HTTP key), the session's variables, and for HTTP calls the
/// request's headers and query parameters.
#[derive(Clone)]
pub struct Context {
    pub mode: CallMode,
    /// The authenticated user, if the call was made with a session.
    pub user_id: Option<Uuid>,
    pub username: String,
    /// The session token's `vrs` variables.
    pub vars: BTreeMap<String, String>,
    /// The session token's expiry, Unix seconds (0 without a session).
    pub expiry: i64,
    /// The realtime session, for socket calls.
    pub session_id: Option<Uuid>,
    /// HTTP calls: the request's headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// HTTP calls: the query parameters, `http_key` left out.
    pub query: Vec<(String, String)>,
    /// The client's address, when known.
    pub client_ip: Option<IpAddr>,
    /// Socket calls: the session's language tag.
    pub lang: String,
    /// The server API.
    pub nk: Nk,
}

impl Context {
    /// The context of a call made on `session`'s socket.
    pub(crate) fn for_session(
        shard: std::rc::Rc<crate::shard::Shard>,
        session: &crate::session::Session,
    ) -> Context {
        Context {
            mode: CallMode::Socket,
            user_id: Some(session.user_id),
            username: session.username.clone(),
            vars: session.vars.clone(),
            expiry: session.expiry,
            session_id: Some(session.id),
            headers: Vec::new(),
            query: Vec::new(),
            client_ip: None,
            lang: String::new(),
            nk: Nk::new(shard),
        }
    }

    /// The context of a call the server makes itself (the matchmaker's
    /// hook): no user, no session.
    pub(crate) fn for_server(shard: std::rc::Rc<crate::shard::Shard>, mode: CallMode) -> Context {
        Context {
            mode,
            user_id: None,
            username: String::new(),
            vars: BTreeMap::new(),
            expiry: 0,
            session_id: None,
            headers: Vec::new(),
            query: Vec::new(),
            client_ip: None,
            lang: String::new(),
            nk: Nk::new(shard),
        }
    }

    /// The first value of a query parameter of an HTTP call.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a request header of an HTTP call (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
