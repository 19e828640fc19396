//! The WebSocket link: `/ws?token=&format=&status=` over TCP, with
//! tungstenite.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tungstenite::Message;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocket;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;

use crate::client::{api_error, bracket};
use crate::codec::Wire;
use crate::error::{Error, Result};

/// How long [`WsLink::close`] waits for the server's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct WsLink {
    ws: WebSocket<TcpStream>,
    /// Text frames (JSON) or binary frames.
    text: bool,
    nonblocking: bool,
    read_timeout: Option<Duration>,
    /// Set once the connection ended.
    closed: Option<Error>,
    /// Whether our close frame went out.
    sent_close: bool,
}

/// Opens the socket and completes the upgrade.
pub(crate) fn connect(
    host: &str,
    port: u16,
    token: &str,
    wire: Wire,
    status: bool,
    timeout: Duration,
) -> Result<WsLink> {
    let deadline = Instant::now() + timeout;
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::Transport(format!("resolving {host}: {e}")))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout);
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let stream = stream.ok_or_else(|| match last {
        Some(e) if e.kind() == io::ErrorKind::TimedOut => Error::Timeout,
        Some(e) => Error::Transport(format!("connecting to {host}:{port}: {e}")),
        None => Error::Transport(format!("{host} has no address")),
    })?;
    stream.set_nodelay(true)?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    stream.set_read_timeout(Some(left))?;
    stream.set_write_timeout(Some(timeout))?;
    let url = format!(
        "ws://{}:{port}/ws?token={token}&format={}&status={status}",
        bracket(host),
        wire.ws_format()
    );
    let ws = match tungstenite::client(url, stream) {
        Ok((ws, _response)) => ws,
        Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            return Err(api_error(response.status().as_u16(), &body));
        }
        Err(HandshakeError::Failure(tungstenite::Error::Io(e)))
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            return Err(Error::Timeout);
        }
        Err(HandshakeError::Failure(e)) => {
            return Err(Error::Transport(format!("WebSocket upgrade failed: {e}")));
        }
        Err(HandshakeError::Interrupted(_)) => return Err(Error::Timeout),
    };
    Ok(WsLink {
        ws,
        text: wire == Wire::Json,
        nonblocking: false,
        read_timeout: Some(left),
        closed: None,
        sent_close: false,
    })
}

impl WsLink {
    /// Writes a frame; with `flush`, sends it and whatever was written
    /// before, else leaves it in the write buffer for [`flush`](Self::flush).
    pub(crate) fn send(&mut self, payload: Vec<u8>, flush: bool) -> Result<()> {
        if let Some(e) = &self.closed {
            return Err(closed_again(e));
        }
        self.blocking(None)?;
        let message = if self.text {
            let text = String::from_utf8(payload)
                .map_err(|_| Error::InvalidInput("JSON envelope is not UTF-8".into()))?;
            Message::text(text)
        } else {
            Message::binary(payload)
        };
        let result = if flush {
            self.ws.send(message)
        } else {
            self.ws.write(message)
        };
        result.map_err(|e| self.failed(e))
    }

    /// Sends what [`send`](Self::send) left in the write buffer.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some(e) = &self.closed {
            return Err(closed_again(e));
        }
        self.blocking(None)?;
        self.ws.flush().map_err(|e| self.failed(e))
    }

    /// Reads what arrives until `deadline` (`None`: only what is ready),
    /// returning as soon as at least one message was read and nothing more
    /// is ready.
    pub(crate) fn drive(&mut self, deadline: Option<Instant>, out: &mut Vec<Bytes>) -> Result<()> {
        if let Some(e) = &self.closed {
            return Err(closed_again(e));
        }
        let start = out.len();
        let mut wait = deadline;
        loop {
            let left = wait.map(|d| d.saturating_duration_since(Instant::now()));
            match left {
                Some(l) if l >= Duration::from_millis(1) => self.blocking(Some(l))?,
                _ => self.nonblocking()?,
            }
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    out.push(Bytes::from(t));
                    wait = None;
                }
                Ok(Message::Binary(b)) => {
                    out.push(b);
                    wait = None;
                }
                // tungstenite queues the pong itself; it leaves with the
                // next write or flush (below).
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Ok(Message::Close(frame)) => {
                    let (code, reason) = frame.map_or((None, String::new()), |f| {
                        (Some(u64::from(u16::from(f.code))), f.reason.to_string())
                    });
                    self.closed = Some(Error::Closed {
                        code,
                        reason: if reason.is_empty() {
                            "closed by the server".into()
                        } else {
                            reason
                        },
                    });
                    // Answer the close frame (tungstenite queued the reply).
                    let _ = self.ws.flush();
                    break;
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) => {
                    let e = self.failed(e);
                    if out.len() == start {
                        return Err(e);
                    }
                    break;
                }
            }
        }
        // Pongs (and close replies) queued while reading. In non-blocking
        // mode (a pump) what the socket cannot take now stays queued in
        // tungstenite for the next write or flush.
        match self.ws.flush() {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if self.closed.is_none() => {
                let e = self.failed(e);
                if out.len() == start {
                    return Err(e);
                }
            }
            Err(_) => {}
        }
        match &self.closed {
            Some(e) if out.len() == start => Err(closed_again(e)),
            _ => Ok(()),
        }
    }

    /// Sends a close frame and waits briefly (`wait`) for the server's.
    pub(crate) fn close(&mut self, wait: bool) {
        if self.closed.is_some() {
            return;
        }
        if !self.sent_close {
            self.sent_close = true;
            let _ = self.blocking(None);
            let _ = self.ws.close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }));
            let _ = self.ws.flush();
        }
        if wait {
            let deadline = Instant::now() + CLOSE_WAIT;
            let mut sink = Vec::new();
            while Instant::now() < deadline && self.closed.is_none() {
                if self.drive(Some(deadline), &mut sink).is_err() {
                    break;
                }
            }
        }
        self.closed = Some(Error::Closed {
            code: Some(u64::from(u16::from(CloseCode::Normal))),
            reason: "closed locally".into(),
        });
        let _ = self.ws.get_mut().shutdown(std::net::Shutdown::Both);
    }

    /// Blocking mode, with a read timeout of `timeout` (`None`: keep the
    /// last one; writes use the connect timeout).
    fn blocking(&mut self, timeout: Option<Duration>) -> Result<()> {
        let stream = self.ws.get_mut();
        if self.nonblocking {
            stream.set_nonblocking(false)?;
            self.nonblocking = false;
        }
        if let Some(t) = timeout
            && self.read_timeout != Some(t)
        {
            stream.set_read_timeout(Some(t))?;
            self.read_timeout = Some(t);
        }
        Ok(())
    }

    fn nonblocking(&mut self) -> Result<()> {
        if !self.nonblocking {
            self.ws.get_mut().set_nonblocking(true)?;
            self.nonblocking = true;
        }
        Ok(())
    }

    /// Records a fatal error and returns it.
    fn failed(&mut self, e: tungstenite::Error) -> Error {
        let error = match e {
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                Error::Closed {
                    code: None,
                    reason: "connection closed".into(),
                }
            }
            tungstenite::Error::Io(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Error::Timeout;
            }
            tungstenite::Error::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionAborted
                ) =>
            {
                Error::Closed {
                    code: None,
                    reason: format!("connection lost: {e}"),
                }
            }
            e => Error::Transport(format!("WebSocket: {e}")),
        };
        let again = closed_again(&error);
        self.closed = Some(error);
        again
    }
}

/// A copy of the error that ended the connection, to report again.
pub(crate) fn closed_again(e: &Error) -> Error {
    match e {
        Error::Closed { code, reason } => Error::Closed {
            code: *code,
            reason: reason.clone(),
        },
        other => Error::Closed {
            code: None,
            reason: other.to_string(),
        },
    }
}
