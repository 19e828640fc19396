//! WebSocket client over tokio, driving the sans-IO codec of `kairos-net`
//! in the client role: handshake, masked sends, automatic pong replies to
//! server pings, close handshake.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use kairos_net::ws::{self, Connection, Event, ProtocolError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::{self, HttpError, ResponseParser};

/// Largest message accepted from the server.
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Why a WebSocket operation failed.
#[derive(Debug)]
pub enum WsError {
    /// The TCP connection failed.
    Io(io::Error),
    /// The upgrade response was not valid HTTP.
    Http(HttpError),
    /// The server answered the upgrade with this status instead of 101.
    Rejected(u16),
    /// The 101 response lacked a correct `Sec-WebSocket-Accept`.
    BadAccept,
    /// The server violated RFC 6455.
    Protocol(ProtocolError),
    /// The server closed the connection (close frame code, if any).
    Closed(Option<u16>),
}

impl WsError {
    /// A short, stable label for error summaries.
    pub fn kind(&self) -> String {
        match self {
            Self::Io(e) => format!("io:{:?}", e.kind()),
            Self::Http(e) => e.kind(),
            Self::Rejected(s) => format!("upgrade:{s}"),
            Self::BadAccept => "upgrade:bad-accept".to_string(),
            Self::Protocol(e) => format!("ws-protocol:{}", e.code),
            Self::Closed(Some(c)) => format!("closed:{c}"),
            Self::Closed(None) => "closed".to_string(),
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o error: {e}"),
            Self::Http(e) => write!(f, "upgrade response: {e}"),
            Self::Rejected(s) => write!(f, "upgrade rejected with HTTP {s}"),
            Self::BadAccept => f.write_str("wrong Sec-WebSocket-Accept"),
            Self::Protocol(e) => write!(f, "protocol error {}: {}", e.code, e.reason),
            Self::Closed(c) => write!(f, "closed by server (code {c:?})"),
        }
    }
}

impl std::error::Error for WsError {}

impl From<io::Error> for WsError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A data message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
}

/// An open client WebSocket.
pub struct WsClient {
    stream: TcpStream,
    conn: Connection,
    buf: BytesMut,
    /// Server pings answered so far.
    pub pings_answered: u64,
    /// The shard that took the connection, when the server says (Kairos's
    /// `kairos-shard` upgrade header).
    pub shard: Option<usize>,
}

impl WsClient {
    /// Connects to `addr` and performs the opening handshake for
    /// `path_and_query`, sending `host` as the `Host` header. `seed` seeds
    /// the frame mask source (any value; distinct per connection is nicer).
    pub async fn connect(
        addr: SocketAddr,
        host: &str,
        path_and_query: &str,
        seed: u64,
    ) -> Result<Self, WsError> {
        let mut stream = http::connect(addr).await?;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&seed.to_le_bytes());
        nonce[8..].copy_from_slice(
            &seed
                .rotate_left(29)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .to_le_bytes(),
        );
        let key = ws::handshake::key_from_nonce(nonce);
        let request = ws::handshake::client_request(host, path_and_query, &key);
        stream.write_all(request.as_bytes()).await?;

        let mut buf = BytesMut::with_capacity(8 * 1024);
        let mut parser = ResponseParser::new();
        let resp = http::read_response(&mut stream, &mut buf, &mut parser)
            .await
            .map_err(|e| match e {
                HttpError::Io(io) => WsError::Io(io),
                other => WsError::Http(other),
            })?;
        if resp.status != 101 {
            return Err(WsError::Rejected(resp.status));
        }
        match resp.header("sec-websocket-accept") {
            Some(accept) if ws::handshake::verify_accept(&key, accept) => {}
            _ => return Err(WsError::BadAccept),
        }
        let shard = resp
            .header("kairos-shard")
            .and_then(|s| s.trim().parse().ok());
        // Bytes after the 101 head (an early server frame) stay in `buf`.
        Ok(Self {
            shard,
            stream,
            conn: Connection::client(MAX_MESSAGE, seed),
            buf,
            pings_answered: 0,
        })
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), WsError> {
        self.conn
            .send_text(text)
            .map_err(|_| WsError::Closed(None))?;
        self.flush().await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), WsError> {
        self.conn
            .send_binary(data)
            .map_err(|_| WsError::Closed(None))?;
        self.flush().await
    }

    /// Waits for the next data message, answering server pings on the way.
    pub async fn recv(&mut self) -> Result<Message, WsError> {
        loop {
            match self.conn.recv(&mut self.buf) {
                Ok(Some(Event::Text(b))) => return Ok(Message::Text(b)),
                Ok(Some(Event::Binary(b))) => return Ok(Message::Binary(b)),
                Ok(Some(Event::Ping(_))) => {
                    // The codec queued the pong; send it right away.
                    self.pings_answered += 1;
                    self.flush().await?;
                }
                Ok(Some(Event::Pong(_))) => {}
                Ok(Some(Event::Closed(frame))) => {
                    // Best effort: echo the close frame, then report.
                    let _ = self.flush().await;
                    return Err(WsError::Closed(frame.map(|f| f.code)));
                }
                Ok(None) => {
                    self.buf.reserve(8 * 1024);
                    if self.stream.read_buf(&mut self.buf).await? == 0 {
                        return Err(WsError::Io(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
                Err(e) => {
                    let _ = self.flush().await;
                    return Err(WsError::Protocol(e));
                }
            }
        }
    }

    /// The next data message already in the receive buffer, without any
    /// I/O. Server pings found on the way get their pongs queued: send them
    /// with [`flush_pending`](Self::flush_pending). Together with
    /// [`read_more`](Self::read_more) this is the cancel-safe way to receive
    /// inside `select!` (used by the open-loop scenarios, which must send on
    /// schedule while waiting for messages).
    pub fn next_buffered(&mut self) -> Result<Option<Message>, WsError> {
        loop {
            match self.conn.recv(&mut self.buf) {
                Ok(Some(Event::Text(b))) => return Ok(Some(Message::Text(b))),
                Ok(Some(Event::Binary(b))) => return Ok(Some(Message::Binary(b))),
                Ok(Some(Event::Ping(_))) => self.pings_answered += 1,
                Ok(Some(Event::Pong(_))) => {}
                Ok(Some(Event::Closed(frame))) => {
                    return Err(WsError::Closed(frame.map(|f| f.code)));
                }
                Ok(None) => return Ok(None),
                Err(e) => return Err(WsError::Protocol(e)),
            }
        }
    }

    /// Reads what the socket has (waiting until something arrives) into the
    /// receive buffer; take the messages with
    /// [`next_buffered`](Self::next_buffered). Cancel-safe.
    pub async fn read_more(&mut self) -> Result<(), WsError> {
        self.buf.reserve(8 * 1024);
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(WsError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }

    /// Sends the control frames the codec queued (pongs, a close reply).
    pub async fn flush_pending(&mut self) -> Result<(), WsError> {
        self.flush().await
    }

    /// Starts the close handshake with 1000 and flushes the close frame. Does
    /// not wait for the server's reply; dropping the client afterwards is
    /// fine.
    pub async fn close(&mut self) {
        self.conn.close(ws::close::NORMAL, "");
        let _ = self.flush().await;
        let _ = self.stream.shutdown().await;
    }

    async fn flush(&mut self) -> Result<(), WsError> {
        while let Some(chunk) = self.conn.take_outbound() {
            self.stream.write_all(&chunk).await?;
        }
        Ok(())
    }
}
