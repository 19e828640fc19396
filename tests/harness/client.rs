//! Minimal clients for tests: HTTP through ureq, WebSocket through
//! tungstenite — independent implementations, so the server is checked
//! against someone else's reading of the protocols.

use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

/// A response: status, JSON body (Null when not JSON) and raw text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Asserts a Nakama error body with this HTTP status and gRPC code.
    pub fn assert_error(&self, status: u16, code: i64) -> &Self {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.body["code"],
            json!(code),
            "grpc code; body: {}",
            self.text
        );
        assert!(
            self.body["message"].is_string(),
            "message; body: {}",
            self.text
        );
        self
    }
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

/// An HTTP client bound to one server.
pub struct Http {
    base: String,
    agent: ureq::Agent,
    pub server_key: String,
}

pub fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

impl Http {
    pub fn new(addr: &str) -> Http {
        Http {
            base: format!("http://{addr}"),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
            server_key: "defaultkey".into(),
        }
    }

    /// Sends a request with an optional Authorization header and raw body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut req = self
            .agent
            .request(method, &format!("{}{}", self.base, path));
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        let result = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: transport error {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
            .collect();
        let text = resp.into_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            body,
            text,
            headers,
        }
    }

    pub fn post_basic(&self, path: &str, body: &Value) -> Reply {
        self.request(
            "POST",
            path,
            Some(&basic(&self.server_key)),
            Some(&body.to_string()),
        )
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.request("GET", path, Some(&bearer(token)), None)
    }

    pub fn send(&self, method: &str, path: &str, token: &str, body: &Value) -> Reply {
        self.request(method, path, Some(&bearer(token)), Some(&body.to_string()))
    }

    /// Authenticates a new (or existing) device and returns the session.
    pub fn device(&self, id: &str) -> Session {
        let r = self.post_basic("/v2/account/authenticate/device", &json!({"id": id}));
        assert_eq!(r.status, 200, "device auth: {}", r.text);
        Session::from(&r)
    }
}

/// Tokens from an authenticate or refresh reply.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub refresh_token: String,
    pub created: bool,
}

impl From<&Reply> for Session {
    fn from(r: &Reply) -> Self {
        Session {
            token: r.body["token"].as_str().expect("token").to_string(),
            refresh_token: r.body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_string(),
            created: r.body["created"].as_bool().unwrap_or(false),
        }
    }
}

impl Session {
    /// The decoded JWT claims of the session token.
    pub fn claims(&self) -> Value {
        let payload = self.token.split('.').nth(1).expect("jwt payload");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("claims json")
    }
    pub fn user_id(&self) -> String {
        self.claims()["uid"].as_str().unwrap().to_string()
    }
    pub fn username(&self) -> String {
        self.claims()["usn"].as_str().unwrap().to_string()
    }
}

/// A realtime socket.
pub struct Ws {
    pub socket: WebSocket<TcpStream>,
    /// The shard that serves this socket (from the upgrade response).
    pub shard: Option<u32>,
    /// Envelopes read past while waiting for a reply, handed out first by
    /// the next reads.
    backlog: std::collections::VecDeque<Value>,
}

/// The outcome of a WebSocket connection attempt.
pub enum Connect {
    Open(Box<Ws>),
    /// Refused before the upgrade: HTTP status and body.
    Refused(u16, String),
}

impl Ws {
    pub fn connect(addr: &str, query: &str) -> Connect {
        let stream = TcpStream::connect(addr).expect("tcp connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let url = format!("ws://{addr}/ws?{query}");
        match tungstenite::client(url.as_str(), stream) {
            Ok((socket, resp)) => {
                let shard = resp
                    .headers()
                    .get("kairos-shard")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                Connect::Open(Box::new(Ws {
                    socket,
                    shard,
                    backlog: Default::default(),
                }))
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Connect::Refused(resp.status().as_u16(), body)
            }
            Err(e) => panic!("websocket handshake failed: {e}"),
        }
    }

    /// Connects with a session token, which must be accepted, and returns
    /// once the server serves the session: the 101 reaches the client
    /// before the server has registered the session (as with Nakama), so a
    /// push sent right after it (a notification, a status event) could
    /// otherwise miss it. One ping round trip closes that window; pushes
    /// that arrive first are kept for the next reads.
    pub fn open(addr: &str, token: &str, extra: &str) -> Ws {
        let mut ws = match Self::connect(addr, &format!("token={token}&format=json{extra}")) {
            Connect::Open(ws) => *ws,
            Connect::Refused(status, body) => panic!("socket refused: {status} {body}"),
        };
        let pong = ws.request("harness-open", "ping", json!({}));
        assert!(pong.get("pong").is_some(), "socket not served: {pong}");
        ws
    }

    pub fn send_json(&mut self, v: &Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .expect("send");
    }

    pub fn send_raw(&mut self, m: Message) {
        self.socket.send(m).expect("send");
    }

    /// The next JSON envelope (skipping control frames).
    pub fn recv_json(&mut self) -> Value {
        if let Some(v) = self.backlog.pop_front() {
            return v;
        }
        self.read_json()
    }

    fn read_json(&mut self) -> Value {
        loop {
            match self.socket.read().expect("read") {
                Message::Text(t) => return serde_json::from_str(&t).expect("json envelope"),
                Message::Binary(b) => panic!("unexpected binary frame {b:?}"),
                Message::Close(c) => panic!("unexpected close {c:?}"),
                _ => continue,
            }
        }
    }

    /// The next JSON envelope that has `key`, skipping others (presence
    /// events, pongs, ...); panics after 100 envelopes without one.
    pub fn next_with(&mut self, key: &str) -> Value {
        for _ in 0..100 {
            let v = self.recv_json();
            if v.get(key).is_some() {
                return v;
            }
        }
        panic!("no {key} envelope");
    }

    /// Reads until the server closes; returns the close code and reason,
    /// and the JSON envelopes received before it.
    pub fn until_close(&mut self) -> (Option<(u16, String)>, Vec<Value>) {
        let mut seen = Vec::new();
        loop {
            match self.socket.read() {
                Ok(Message::Text(t)) => seen.push(serde_json::from_str(&t).unwrap_or(Value::Null)),
                Ok(Message::Close(c)) => {
                    let c = c.map(|f| (u16::from(f.code), f.reason.to_string()));
                    // Finish the close handshake.
                    let _ = self.socket.flush();
                    return (c, seen);
                }
                Ok(_) => continue,
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed) => return (None, seen),
                // A server that closes a socket whose input it has not
                // read resets it, and the reset may overtake the close
                // frame: closed all the same, without a code.
                Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                )) => return (None, seen),
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::ConnectionReset =>
                {
                    return (None, seen);
                }
                Err(e) => panic!("read while waiting for close: {e}"),
            }
        }
    }

    /// Sends `{"cid": cid, <message>}` and returns the reply with that cid.
    /// Pushes that arrive first are kept for the next reads.
    pub fn request(&mut self, cid: &str, message: &str, body: Value) -> Value {
        self.send_json(&json!({ "cid": cid, message: body }));
        for _ in 0..1000 {
            let v = self.read_json();
            if v["cid"] == cid {
                return v;
            }
            self.backlog.push_back(v);
        }
        panic!("no reply to {message} (cid {cid})");
    }

    pub fn close(&mut self) {
        let _ = self.socket.close(Some(tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }));
        let _ = self.until_close();
    }
}
