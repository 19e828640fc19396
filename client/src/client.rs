//! The REST half: authentication, session refresh and Kairos's transport
//! discovery, over HTTP with `ureq`.

use std::time::Duration;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result, grpc};
use crate::realtime::{ConnectOptions, Realtime, Transport};
use crate::session::Session;

/// The server key Nakama and Kairos ship with.
pub const DEFAULT_SERVER_KEY: &str = "defaultkey";

/// The port Kairos's HTTP API and WebSocket listen on by default.
pub const DEFAULT_PORT: u16 = 7350;

/// A handle on one Kairos server: its REST API, and the factory of
/// realtime connections ([`connect`](Self::connect)).
///
/// Cheap to clone (the HTTP connection pool is shared). Every method
/// blocks until the server answers or the timeout passes.
#[derive(Clone, Debug)]
pub struct Client {
    host: String,
    port: u16,
    server_key: String,
    agent: ureq::Agent,
    timeout: Duration,
}

/// Where the server's datagram transports listen:
/// `GET /v2/kairos/transports`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Transports {
    /// Reliable UDP, when enabled.
    pub udp: Option<UdpEndpoint>,
    /// QUIC, when enabled.
    pub quic: Option<QuicEndpoint>,
}

/// The reliable-UDP endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct UdpEndpoint {
    /// `host:port`.
    pub address: String,
}

/// The QUIC endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QuicEndpoint {
    /// `host:port`.
    pub address: String,
    /// The server's certificate chain (PEM), to trust when connecting.
    pub certificate: String,
}

/// A reliable-UDP connect token: `POST /v2/kairos/udp/token`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpToken {
    /// The netcode.io connect token, sealed by the server: what
    /// [`kairos_net::rudp::RudpClient::new`] takes.
    pub connect_token: Vec<u8>,
    /// The addresses the token is good for (`host:port`).
    pub addresses: Vec<String>,
    /// How long the token can be used to connect, from when it was minted.
    pub expires_in: Duration,
}

#[derive(Deserialize)]
struct SessionBody {
    #[serde(default)]
    token: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    created: bool,
}

#[derive(Deserialize)]
struct UdpTokenBody {
    connect_token: String,
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    expires_in_sec: u64,
}

impl Client {
    /// A client for the server at `host:port` (HTTP, e.g.
    /// `Client::new("127.0.0.1", 7350, "defaultkey")`), authenticating
    /// with `server_key`. Requests time out after 10 seconds
    /// ([`with_timeout`](Self::with_timeout)).
    pub fn new(host: impl Into<String>, port: u16, server_key: impl Into<String>) -> Client {
        Self::build(
            host.into(),
            port,
            server_key.into(),
            Duration::from_secs(10),
        )
    }

    fn build(host: String, port: u16, server_key: String, timeout: Duration) -> Client {
        Client {
            host,
            port,
            server_key,
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
            timeout,
        }
    }

    /// The same client with another HTTP request timeout.
    pub fn with_timeout(self, timeout: Duration) -> Client {
        Self::build(self.host, self.port, self.server_key, timeout)
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server's HTTP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTP request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `http://host:port`, with IPv6 literals bracketed.
    pub fn base_url(&self) -> String {
        format!("http://{}:{}", bracket(&self.host), self.port)
    }

    /// `POST /v2/account/authenticate/device`: signs in with a device id
    /// (10 to 128 characters), creating the account when `create` is true,
    /// with `username` if given (else the server picks one).
    pub fn authenticate_device(
        &self,
        id: &str,
        create: bool,
        username: Option<&str>,
    ) -> Result<Session> {
        self.authenticate("device", json!({ "id": id }), create, username)
    }

    /// `POST /v2/account/authenticate/custom`: signs in with a custom id
    /// (6 to 128 characters) from your own identity system.
    pub fn authenticate_custom(
        &self,
        id: &str,
        create: bool,
        username: Option<&str>,
    ) -> Result<Session> {
        self.authenticate("custom", json!({ "id": id }), create, username)
    }

    /// `POST /v2/account/authenticate/email`: signs in with an email
    /// address and a password (at least 8 characters).
    pub fn authenticate_email(
        &self,
        email: &str,
        password: &str,
        create: bool,
        username: Option<&str>,
    ) -> Result<Session> {
        let body = json!({ "email": email, "password": password });
        self.authenticate("email", body, create, username)
    }

    fn authenticate(
        &self,
        kind: &str,
        body: Value,
        create: bool,
        username: Option<&str>,
    ) -> Result<Session> {
        let url = format!("{}/v2/account/authenticate/{kind}", self.base_url());
        let mut req = self
            .agent
            .post(&url)
            .set("Authorization", &self.basic())
            .query("create", if create { "true" } else { "false" });
        if let Some(name) = username {
            req = req.query("username", name);
        }
        session_from(send(req, Some(body))?)
    }

    /// `POST /v2/account/session/refresh`: a new session token from the
    /// session's refresh token.
    pub fn session_refresh(&self, session: &Session) -> Result<Session> {
        if session.refresh_token.is_empty() {
            return Err(Error::InvalidInput(
                "the session has no refresh token".into(),
            ));
        }
        let url = format!("{}/v2/account/session/refresh", self.base_url());
        let req = self.agent.post(&url).set("Authorization", &self.basic());
        let body = send(req, Some(json!({ "token": session.refresh_token })))?;
        let mut fresh = session_from(body)?;
        if fresh.refresh_token.is_empty() {
            fresh.refresh_token.clone_from(&session.refresh_token);
            fresh.refresh_expires_at = session.refresh_expires_at;
        }
        Ok(fresh)
    }

    /// `GET /v2/kairos/transports`: where the datagram transports listen,
    /// and the QUIC certificate.
    pub fn transports(&self, session: &Session) -> Result<Transports> {
        let url = format!("{}/v2/kairos/transports", self.base_url());
        let req = self.agent.get(&url).set("Authorization", &bearer(session));
        parse(send(req, None)?)
    }

    /// `POST /v2/kairos/udp/token?status=`: a reliable-UDP connect token
    /// for this session; `status` makes the connection's session appear
    /// online to followers, like `/ws?status=true`.
    pub fn udp_connect_token(&self, session: &Session, status: bool) -> Result<UdpToken> {
        let url = format!("{}/v2/kairos/udp/token", self.base_url());
        let req = self
            .agent
            .post(&url)
            .set("Authorization", &bearer(session))
            .query("status", if status { "true" } else { "false" });
        let body: UdpTokenBody = parse(send(req, Some(json!({})))?)?;
        let connect_token = base64::engine::general_purpose::STANDARD
            .decode(body.connect_token.as_bytes())
            .map_err(|e| Error::Decode(format!("connect_token is not base64: {e}")))?;
        Ok(UdpToken {
            connect_token,
            addresses: body.addresses,
            expires_in: Duration::from_secs(body.expires_in_sec),
        })
    }

    /// Opens a realtime connection for `session` over `transport`; see
    /// [`Realtime`]. Blocks until the server accepted it, or
    /// `options.timeout` passed.
    pub fn connect(
        &self,
        session: &Session,
        transport: Transport,
        options: ConnectOptions,
    ) -> Result<Realtime> {
        Realtime::connect(self, session, transport, options)
    }

    fn basic(&self) -> String {
        let credentials = format!("{}:", self.server_key);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }
}

fn bearer(session: &Session) -> String {
    format!("Bearer {}", session.token)
}

/// `[::1]` for an IPv6 literal, the host as it is otherwise.
pub(crate) fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Sends a request and returns the JSON body of a 2xx answer; any other
/// status becomes [`Error::Api`].
fn send(req: ureq::Request, body: Option<Value>) -> Result<Value> {
    let result = match body {
        Some(body) => req.send_json(body),
        None => req.call(),
    };
    match result {
        Ok(resp) => {
            let text = resp
                .into_string()
                .map_err(|e| Error::Transport(format!("reading the response: {e}")))?;
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(&text)
                .map_err(|e| Error::Decode(format!("response is not JSON: {e}")))
        }
        Err(ureq::Error::Status(status, resp)) => {
            let text = resp.into_string().unwrap_or_default();
            Err(api_error(status, &text))
        }
        Err(ureq::Error::Transport(t)) => Err(Error::Transport(t.to_string())),
    }
}

/// Nakama's error body (`{"code":16,"message":"..."}`), or the plain text
/// of a non-JSON one, as [`Error::Api`].
pub(crate) fn api_error(status: u16, body: &str) -> Error {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let code = json
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok());
    let message = json
        .as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("error")))
        .and_then(Value::as_str)
        .map_or_else(|| body.trim().to_owned(), str::to_owned);
    Error::Api {
        status,
        code: code.unwrap_or_else(|| grpc::from_http_status(status)),
        message,
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: Value) -> Result<T> {
    serde_json::from_value(body).map_err(|e| Error::Decode(format!("unexpected response: {e}")))
}

fn session_from(body: Value) -> Result<Session> {
    let b: SessionBody = parse(body)?;
    Session::from_tokens(&b.token, &b.refresh_token, b.created)
}
