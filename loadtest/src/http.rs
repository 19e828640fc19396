//! A minimal HTTP/1.1 client: a request writer, an incremental response
//! parser (`Content-Length`, chunked and read-until-close bodies) and a
//! keep-alive connection over a tokio `TcpStream`.
//!
//! Deliberately small (no hyper/reqwest): the load generator only needs JSON
//! requests against one target, and a hand-written client keeps its own
//! overhead visible and its build fast.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest accepted response head (status line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest accepted response body.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Largest accepted chunk-size or trailer line.
const MAX_LINE: usize = 4096;

/// Why a request failed.
#[derive(Debug)]
pub enum HttpError {
    /// Connecting, reading or writing failed.
    Io(io::Error),
    /// The peer closed the connection before a complete response.
    Closed,
    /// The response is not valid HTTP/1.x (or exceeds a size limit).
    Malformed(&'static str),
}

impl HttpError {
    /// A short, stable label for error summaries (e.g. `io:ConnectionRefused`).
    pub fn kind(&self) -> String {
        match self {
            Self::Io(e) => format!("io:{:?}", e.kind()),
            Self::Closed => "closed".to_string(),
            Self::Malformed(m) => format!("malformed:{m}"),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o error: {e}"),
            Self::Closed => f.write_str("connection closed before a complete response"),
            Self::Malformed(m) => write!(f, "malformed response: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names and values in order received (names as sent).
    pub headers: Vec<(String, String)>,
    /// The decoded body (chunked framing removed).
    pub body: Bytes,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Appends a complete HTTP/1.1 request to `out`. `Host`, `Content-Length`
/// (when there is a body or the method usually has one) and `User-Agent`
/// are added; `headers` must not repeat them.
pub fn write_request(
    out: &mut Vec<u8>,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: kairos-loadtest\r\n"
    );
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// How the body of the response being parsed is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Exactly this many bytes remain.
    Length(usize),
    /// Chunked transfer coding, in the given state.
    Chunked(Chunk),
    /// Everything until the peer closes the connection.
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// This many bytes of chunk data remain.
    Data(usize),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
}

#[derive(Debug)]
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    keep_alive: bool,
}

/// Incremental parser for one response at a time. Feed it the receive buffer
/// after every read; it consumes exactly the bytes of the complete response
/// (anything after it, e.g. a pipelined response or upgraded-protocol data,
/// stays in the buffer).
#[derive(Debug, Default)]
pub struct ResponseParser {
    head: Option<Head>,
    framing: Option<Framing>,
    body: BytesMut,
    /// Where to resume looking for the end of the head.
    scanned: usize,
}

impl ResponseParser {
    /// A parser waiting for a response head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no byte of a response has been consumed yet.
    pub fn is_idle(&self) -> bool {
        self.head.is_none() && self.scanned == 0
    }

    /// Parses what `buf` holds. `Ok(None)` means more input is needed.
    /// Interim `1xx` responses (other than `101`) are skipped.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, HttpError> {
        loop {
            if self.head.is_none() {
                let Some(end) = find_head_end(buf, self.scanned) else {
                    if buf.len() > MAX_HEAD {
                        return Err(HttpError::Malformed("response head too large"));
                    }
                    // Resume a little before the end: the terminator may
                    // straddle two reads.
                    self.scanned = buf.len().saturating_sub(3);
                    return Ok(None);
                };
                let raw = buf.split_to(end + 4);
                self.scanned = 0;
                let (head, framing) = parse_head(&raw[..end])?;
                if (100..200).contains(&head.status) && head.status != 101 {
                    continue;
                }
                self.head = Some(head);
                self.framing = Some(framing);
            }
            return match self.framing {
                Some(Framing::Length(n)) => {
                    if buf.len() < n {
                        return Ok(None);
                    }
                    let body = buf.split_to(n).freeze();
                    Ok(Some(self.finish(body)))
                }
                Some(Framing::Chunked(_)) => self.parse_chunked(buf),
                Some(Framing::UntilClose) => {
                    if buf.len() + self.body.len() > MAX_BODY {
                        return Err(HttpError::Malformed("response body too large"));
                    }
                    self.body.extend_from_slice(buf);
                    buf.clear();
                    Ok(None)
                }
                None => unreachable!("framing is set with the head"),
            };
        }
    }

    /// Called when the peer closed the connection: completes a
    /// read-until-close body, fails anything else that is unfinished.
    pub fn finish_eof(&mut self, buf: &mut BytesMut) -> Result<Response, HttpError> {
        if let Some(r) = self.parse(buf)? {
            return Ok(r);
        }
        if self.framing == Some(Framing::UntilClose) {
            let body = std::mem::take(&mut self.body).freeze();
            return Ok(self.finish(body));
        }
        Err(HttpError::Closed)
    }

    fn finish(&mut self, body: Bytes) -> Response {
        let head = self.head.take().expect("head parsed");
        let until_close = self.framing == Some(Framing::UntilClose);
        self.framing = None;
        self.body.clear();
        Response {
            status: head.status,
            headers: head.headers,
            body,
            keep_alive: head.keep_alive && !until_close,
        }
    }

    fn parse_chunked(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, HttpError> {
        let Some(Framing::Chunked(mut state)) = self.framing else {
            unreachable!()
        };
        let result = loop {
            match state {
                Chunk::Size => {
                    let Some(eol) = find_crlf(buf) else {
                        if buf.len() > MAX_LINE {
                            break Err(HttpError::Malformed("chunk size line too long"));
                        }
                        break Ok(None);
                    };
                    let line = buf.split_to(eol + 2);
                    let size = match parse_chunk_size(&line[..eol]) {
                        Some(s) => s,
                        None => break Err(HttpError::Malformed("invalid chunk size")),
                    };
                    if self.body.len().saturating_add(size) > MAX_BODY {
                        break Err(HttpError::Malformed("response body too large"));
                    }
                    state = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(rem) => {
                    if buf.is_empty() {
                        break Ok(None);
                    }
                    let n = rem.min(buf.len());
                    self.body.extend_from_slice(&buf[..n]);
                    buf.advance(n);
                    state = if n == rem {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(rem - n)
                    };
                }
                Chunk::DataEnd => {
                    if buf.len() < 2 {
                        break Ok(None);
                    }
                    if &buf[..2] != b"\r\n" {
                        break Err(HttpError::Malformed("missing CRLF after chunk data"));
                    }
                    buf.advance(2);
                    state = Chunk::Size;
                }
                Chunk::Trailers => {
                    let Some(eol) = find_crlf(buf) else {
                        if buf.len() > MAX_LINE {
                            break Err(HttpError::Malformed("trailer line too long"));
                        }
                        break Ok(None);
                    };
                    buf.advance(eol + 2);
                    if eol == 0 {
                        let body = std::mem::take(&mut self.body).freeze();
                        break Ok(Some(self.finish(body)));
                    }
                }
            }
        };
        if self.framing.is_some() {
            self.framing = Some(Framing::Chunked(state));
        }
        result
    }
}

fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + from)
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

fn parse_chunk_size(line: &[u8]) -> Option<usize> {
    let line = std::str::from_utf8(line).ok()?;
    // Chunk extensions (`;name=value`) are ignored.
    let hex = line.split(';').next()?.trim();
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    usize::from_str_radix(hex, 16).ok()
}

fn parse_head(raw: &[u8]) -> Result<(Head, Framing), HttpError> {
    let text = std::str::from_utf8(raw).map_err(|_| HttpError::Malformed("head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(HttpError::Malformed("bad status line")),
    };
    let status = parts
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or(HttpError::Malformed("bad status code"))?;

    let mut headers = Vec::new();
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut conn_close = http10;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header line without colon"))?;
        if name.is_empty() || name.ends_with(' ') || name.ends_with('\t') {
            return Err(HttpError::Malformed("bad header name"));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<usize>()
                .map_err(|_| HttpError::Malformed("bad content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::Malformed("conflicting content-length"));
            }
            if n > MAX_BODY {
                return Err(HttpError::Malformed("response body too large"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    conn_close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    conn_close = false;
                }
            }
        }
        headers.push((name.to_string(), value.to_string()));
    }
    // RFC 9112 §6.3: no body for 1xx, 204 and 304; chunked wins over length.
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked(Chunk::Size)
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok((
        Head {
            status,
            headers,
            keep_alive: !conn_close,
        },
        framing,
    ))
}

/// Reads from `stream` into `buf` until `parser` yields a response.
pub async fn read_response(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    parser: &mut ResponseParser,
) -> Result<Response, HttpError> {
    loop {
        if let Some(r) = parser.parse(buf)? {
            return Ok(r);
        }
        buf.reserve(8 * 1024);
        if stream.read_buf(buf).await? == 0 {
            return parser.finish_eof(buf);
        }
    }
}

/// Opens a TCP connection with `TCP_NODELAY` set (latency matters more than
/// segment count for a load generator).
pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    parser: ResponseParser,
    /// Whether a response was already received on this connection.
    used: bool,
}

/// One keep-alive HTTP/1.1 connection to a target, reopened when the server
/// closes it. Not pipelined: one request in flight at a time.
pub struct HttpClient {
    addr: SocketAddr,
    host: String,
    conn: Option<Conn>,
    out: Vec<u8>,
}

impl HttpClient {
    /// A client for `addr`, sending `host` as the `Host` header. Nothing is
    /// connected until [`connect_if_needed`](Self::connect_if_needed) or the
    /// first request.
    pub fn new(addr: SocketAddr, host: impl Into<String>) -> Self {
        Self {
            addr,
            host: host.into(),
            conn: None,
            out: Vec::with_capacity(1024),
        }
    }

    /// Opens the connection if there is none; returns how long connecting
    /// took when it did, so callers can account connects separately from
    /// request latency.
    pub async fn connect_if_needed(&mut self) -> Result<Option<Duration>, HttpError> {
        if self.conn.is_some() {
            return Ok(None);
        }
        let start = Instant::now();
        let stream = connect(self.addr).await?;
        self.conn = Some(Conn {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
            parser: ResponseParser::new(),
            used: false,
        });
        Ok(Some(start.elapsed()))
    }

    /// Drops the connection (e.g. after a timeout left it in an unknown
    /// state).
    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    /// Sends one request and reads its response. A request on a reused
    /// connection that the server had already closed (no response byte
    /// received) is retried once on a fresh connection, as browsers do.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        self.out.clear();
        write_request(&mut self.out, method, &self.host, path, headers, body);
        let mut retried = false;
        loop {
            self.connect_if_needed().await?;
            let conn = self.conn.as_mut().expect("connected");
            let result = async {
                conn.stream.write_all(&self.out).await?;
                read_response(&mut conn.stream, &mut conn.buf, &mut conn.parser).await
            }
            .await;
            match result {
                Ok(resp) => {
                    conn.used = true;
                    if !resp.keep_alive {
                        self.conn = None;
                    }
                    return Ok(resp);
                }
                Err(e) => {
                    let stale = conn.used
                        && conn.parser.is_idle()
                        && conn.buf.is_empty()
                        && matches!(&e, HttpError::Closed | HttpError::Io(_));
                    self.conn = None;
                    if stale && !retried {
                        retried = true;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Option<Response>, HttpError> {
        let mut p = ResponseParser::new();
        let mut buf = BytesMut::from(input);
        p.parse(&mut buf)
    }

    /// Feeds `input` split at every position (two reads), and one byte at a
    /// time, checking each yields `want` and leaves `rest`.
    fn check_splits(input: &[u8], want: &Response, rest: &[u8]) {
        for cut in 0..=input.len() {
            let mut p = ResponseParser::new();
            let mut buf = BytesMut::from(&input[..cut]);
            let mut got = p.parse(&mut buf).unwrap();
            if got.is_none() {
                buf.extend_from_slice(&input[cut..]);
                got = p.parse(&mut buf).unwrap();
            } else {
                buf.extend_from_slice(&input[cut..]);
            }
            assert_eq!(got.as_ref(), Some(want), "cut at {cut}");
            assert_eq!(&buf[..], rest, "leftover, cut at {cut}");
        }
        let mut p = ResponseParser::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for &b in input {
            buf.extend_from_slice(&[b]);
            if let Some(r) = p.parse(&mut buf).unwrap() {
                assert!(got.is_none(), "two responses");
                got = Some(r);
            }
        }
        assert_eq!(got.as_ref(), Some(want), "byte by byte");
    }

    #[test]
    fn content_length_whole_and_split() {
        let input = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"token\":\"x\"}";
        let want = Response {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Content-Length".into(), "13".into()),
            ],
            body: Bytes::from_static(b"{\"token\":\"x\"}"),
            keep_alive: true,
        };
        check_splits(input, &want, b"");
        assert_eq!(want.header("content-type"), Some("application/json"));
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let input = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n";
        let want = Response {
            status: 201,
            headers: vec![("Transfer-Encoding".into(), "gzip, chunked".into())],
            body: Bytes::from_static(b"hello, world"),
            keep_alive: true,
        };
        check_splits(input, &want, b"");
    }

    #[test]
    fn chunked_uppercase_hex_sizes() {
        let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1A\r\n".to_vec();
        input.extend_from_slice(&[b'z'; 26]);
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        let r = parse_all(&input).unwrap().unwrap();
        assert_eq!(r.body.len(), 26);
    }

    #[test]
    fn pipelined_responses_leave_the_rest() {
        let first = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        let second = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let mut buf = BytesMut::new();
        buf.extend_from_slice(first);
        buf.extend_from_slice(second);
        let mut p = ResponseParser::new();
        let a = p.parse(&mut buf).unwrap().unwrap();
        assert_eq!(a.status, 204);
        assert!(a.body.is_empty());
        let b = p.parse(&mut buf).unwrap().unwrap();
        assert_eq!((b.status, &b.body[..]), (200, &b"ok"[..]));
        assert!(buf.is_empty());
    }

    #[test]
    fn interim_continue_is_skipped_and_upgrade_keeps_data() {
        let r = parse_all(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        )
        .unwrap()
        .unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"x"[..]));

        let mut buf = BytesMut::from(
            &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"[..],
        );
        let r = ResponseParser::new().parse(&mut buf).unwrap().unwrap();
        assert_eq!(r.status, 101);
        assert_eq!(&buf[..], b"\x81\x02hi");
    }

    #[test]
    fn body_until_close() {
        let mut p = ResponseParser::new();
        let mut buf = BytesMut::from(&b"HTTP/1.0 200 OK\r\n\r\npart one"[..]);
        assert!(p.parse(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b", part two");
        let r = p.finish_eof(&mut buf).unwrap();
        assert_eq!(&r.body[..], b"part one, part two");
        assert!(!r.keep_alive);
    }

    #[test]
    fn connection_close_and_http10_keep_alive() {
        let r = parse_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!r.keep_alive);
        let r =
            parse_all(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .unwrap();
        assert!(r.keep_alive);
    }

    #[test]
    fn truncated_response_is_an_error_at_eof() {
        let mut p = ResponseParser::new();
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..]);
        assert!(p.parse(&mut buf).unwrap().is_none());
        assert!(matches!(p.finish_eof(&mut buf), Err(HttpError::Closed)));
    }

    #[test]
    fn malformed_responses() {
        for bad in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX",
        ] {
            assert!(
                matches!(parse_all(bad), Err(HttpError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let huge = vec![b'a'; MAX_HEAD + 10];
        assert!(parse_all(&huge).is_err());
    }

    #[test]
    fn request_writer() {
        let mut out = Vec::new();
        write_request(
            &mut out,
            "POST",
            "127.0.0.1:7350",
            "/v2/account/authenticate/device",
            &[("Authorization", "Basic ZGVmYXVsdGtleTo=")],
            b"{\"id\":\"x\"}",
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "POST /v2/account/authenticate/device HTTP/1.1\r\nHost: 127.0.0.1:7350\r\n"
        ));
        assert!(text.contains("\r\nAuthorization: Basic ZGVmYXVsdGtleTo=\r\n"));
        assert!(text.ends_with("Content-Length: 10\r\n\r\n{\"id\":\"x\"}"));

        let mut out = Vec::new();
        write_request(&mut out, "GET", "h", "/", &[], b"");
        assert!(!String::from_utf8(out).unwrap().contains("Content-Length"));
    }
}
