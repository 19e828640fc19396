//! The one error type of the crate.

use std::fmt;
use std::io;

/// gRPC status codes Nakama puts in its error bodies (`code`), for
/// matching on [`Error::Api`].
pub mod grpc {
    /// The request was malformed (HTTP 400).
    pub const INVALID_ARGUMENT: i32 = 3;
    /// No such thing (HTTP 404).
    pub const NOT_FOUND: i32 = 5;
    /// It exists already (HTTP 409).
    pub const ALREADY_EXISTS: i32 = 6;
    /// Not allowed (HTTP 403).
    pub const PERMISSION_DENIED: i32 = 7;
    /// The server failed (HTTP 500).
    pub const INTERNAL: i32 = 13;
    /// The server cannot serve this now (HTTP 503).
    pub const UNAVAILABLE: i32 = 14;
    /// Bad or missing credentials: server key, session token (HTTP 401).
    pub const UNAUTHENTICATED: i32 = 16;

    /// The code grpc-gateway maps to an HTTP status, for error responses
    /// whose body is not JSON (the WebSocket upgrade's plain-text 401).
    pub const fn from_http_status(status: u16) -> i32 {
        match status {
            400 => INVALID_ARGUMENT,
            401 => UNAUTHENTICATED,
            403 => PERMISSION_DENIED,
            404 => NOT_FOUND,
            409 => ALREADY_EXISTS,
            503 => UNAVAILABLE,
            _ => INTERNAL,
        }
    }
}

/// Everything that can go wrong, on every transport.
#[derive(Debug)]
pub enum Error {
    /// The server refused an HTTP request (REST, or the WebSocket upgrade)
    /// with Nakama's error body `{"code", "message"}`. `code` is a gRPC
    /// status code ([`grpc`]); when the body is not JSON it is derived from
    /// the HTTP status and `message` is the body's text.
    Api {
        /// The HTTP status.
        status: u16,
        /// The gRPC status code.
        code: i32,
        /// The server's explanation.
        message: String,
    },
    /// The server answered a realtime request with an `error` envelope.
    /// `code` is Nakama's realtime error code
    /// ([`ErrorCode`](kairos_schema::rtapi::ErrorCode) as `i32`: 3 bad
    /// input, 4 match not found, ...).
    Realtime {
        /// Nakama's realtime error code.
        code: i32,
        /// The server's explanation.
        message: String,
    },
    /// The realtime connection ended, or never opened. On QUIC, `code` is
    /// the application close code the server gave (3: the session token
    /// was refused, see `kairos_net::quic::codes`); on the WebSocket, the
    /// close frame's code.
    Closed {
        /// The peer's close code, when it sent one.
        code: Option<u64>,
        /// Why, in words.
        reason: String,
    },
    /// No answer in time: a realtime request, or a connection handshake.
    Timeout,
    /// The network or a protocol layer below Nakama's failed: DNS, TCP,
    /// TLS, a WebSocket, QUIC or netcode error.
    Transport(String),
    /// An I/O error of a socket.
    Io(io::Error),
    /// The server sent something this client could not read (or a reply
    /// of an unexpected kind).
    Decode(String),
    /// The server does not offer what was asked for (a transport that is
    /// not enabled).
    Unavailable(String),
    /// The caller passed something unusable: a message too large for its
    /// channel, a malformed token or certificate.
    InvalidInput(String),
}

impl Error {
    /// Whether the server refused the credentials: a REST or WebSocket
    /// 401, or a QUIC connection closed because its session token was
    /// refused. Every transport reports a bad session token this way.
    pub fn is_unauthenticated(&self) -> bool {
        match self {
            Error::Api { status, code, .. } => *status == 401 || *code == grpc::UNAUTHENTICATED,
            Error::Closed { code, .. } => *code == Some(u64::from(QUIC_UNAUTHORIZED)),
            _ => false,
        }
    }

    /// The gRPC code of an [`Error::Api`], or the realtime code of an
    /// [`Error::Realtime`].
    pub fn code(&self) -> Option<i32> {
        match self {
            Error::Api { code, .. } | Error::Realtime { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// `kairos_net::quic::codes::UNAUTHORIZED`, the code the server rejects
/// a QUIC connection's token with.
const QUIC_UNAUTHORIZED: u32 = kairos_net::quic::codes::UNAUTHORIZED;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api {
                status,
                code,
                message,
            } => write!(
                f,
                "server refused the request (HTTP {status}, code {code}): {message}"
            ),
            Error::Realtime { code, message } => {
                write!(f, "realtime error (code {code}): {message}")
            }
            Error::Closed {
                code: Some(code),
                reason,
            } => write!(f, "connection closed (code {code}): {reason}"),
            Error::Closed { code: None, reason } => write!(f, "connection closed: {reason}"),
            Error::Timeout => f.write_str("timed out"),
            Error::Transport(e) => write!(f, "transport error: {e}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Decode(e) => write!(f, "undecodable server message: {e}"),
            Error::Unavailable(e) => write!(f, "unavailable: {e}"),
            Error::InvalidInput(e) => write!(f, "invalid input: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
