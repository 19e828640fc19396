//! `Nk::http_request`: an outgoing HTTP(S) request from game code, as
//! Nakama's `nk.http_request` makes it, without ever blocking a shard.
//!
//! The request runs on a thread of its own (at most [`MAX_IN_FLIGHT`] at
//! once, node-wide) with a blocking client, and the shard awaits its
//! reply. Its timeout is the caller's, cut to
//! `kairos.runtime.http_request_timeout_max_ms`; the body read is capped
//! at `kairos.runtime.http_request_max_response_bytes`. Unless
//! `kairos.runtime.http_request_allow_private` is set, the host is
//! resolved here, every address it resolves to is checked against the
//! internal ranges of [`is_internal`], and the client connects only to the
//! checked addresses (so a name that resolves differently the second time
//! cannot reach an internal address). Redirects, as Go's client follows
//! them (up to 10), go through the same check. The name lookup itself is
//! the system's and is not bounded by the timeout; it holds only the
//! request's own thread.

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::Nk;

/// Nakama's timeout when game code gives none (or one not above 0).
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// Requests in flight at once on this node; one more fails at once
/// rather than queue behind slow servers.
pub const MAX_IN_FLIGHT: usize = 256;

/// Redirects followed, as Go's `http.Client`.
const MAX_REDIRECTS: u32 = 10;

/// One request as game code describes it.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub url: String,
    /// Upper case: GET, POST, PUT, PATCH, DELETE or HEAD.
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// Sent when not empty.
    pub body: Vec<u8>,
    pub timeout: Duration,
    /// Accept any TLS certificate (Nakama's `insecure` argument).
    pub insecure: bool,
}

/// What the server answered, whatever its status.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Each header once, its name in Go's canonical form
    /// (`Content-Type`), with its first value, as Nakama returns them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request failed; displays as Nakama's Lua error text.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpError {
    /// No response: a bad URL, a refused address, a connection or TLS
    /// failure, a timeout, too many requests in flight.
    Request(String),
    /// The response's body could not be read, or was too long.
    Body(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Request(e) => write!(f, "HTTP request error: {e}"),
            HttpError::Body(e) => write!(f, "HTTP response body error: {e}"),
        }
    }
}

/// The node's limits on requests, from `kairos.runtime.*`.
#[derive(Clone, Copy, Debug)]
pub struct HttpPolicy {
    pub allow_private: bool,
    pub max_timeout: Duration,
    pub max_response_bytes: usize,
}

impl Nk {
    /// Sends `req` on a thread of its own and awaits the response.
    pub async fn http_request(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let opts = &self.shard.shared.config.kairos.runtime;
        let policy = HttpPolicy {
            allow_private: opts.http_request_allow_private,
            max_timeout: Duration::from_millis(opts.http_request_timeout_max_ms),
            max_response_bytes: opts.http_request_max_response_bytes,
        };
        let slot = Slot::take()
            .ok_or_else(|| HttpError::Request("too many HTTP requests in flight".into()))?;
        let (tx, rx) = futures_channel::oneshot::channel();
        std::thread::Builder::new()
            .name("kairos-http".into())
            .spawn(move || {
                let _slot = slot;
                let _ = tx.send(send(&req, policy));
            })
            .map_err(|e| HttpError::Request(format!("starting the request: {e}")))?;
        rx.await
            .unwrap_or_else(|_| Err(HttpError::Request("the request was abandoned".into())))
    }
}

/// A place among the [`MAX_IN_FLIGHT`] requests, given back on drop.
struct Slot;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

impl Slot {
    fn take() -> Option<Slot> {
        IN_FLIGHT
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_IN_FLIGHT).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sends `req` and reads the whole response, blocking the calling thread
/// for at most the request's timeout (cut to the policy's).
pub fn send(req: &HttpRequest, policy: HttpPolicy) -> Result<HttpResponse, HttpError> {
    let allow_private = policy.allow_private;
    let mut builder = ureq::AgentBuilder::new()
        .timeout(req.timeout.min(policy.max_timeout))
        .redirects(MAX_REDIRECTS)
        .max_idle_connections(0)
        .user_agent("Kairos")
        .resolver(move |netloc: &str| resolve(netloc, allow_private));
    if req.insecure {
        builder = builder.tls_config(insecure_tls());
    }
    let agent = builder.build();
    let mut call = agent.request(&req.method, &req.url);
    for (name, value) in &req.headers {
        call = call.set(name, value);
    }
    let sent = if req.body.is_empty() {
        call.call()
    } else {
        call.send_bytes(&req.body)
    };
    let response = match sent {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return Err(HttpError::Request(t.to_string())),
    };
    let status = response.status();
    let mut headers: Vec<(String, String)> = Vec::new();
    for name in response.headers_names() {
        let key = canonical_header(&name);
        if headers.iter().any(|(k, _)| *k == key) {
            continue;
        }
        if let Some(value) = response.header(&name) {
            headers.push((key, value.to_string()));
        }
    }
    let cap = policy.max_response_bytes;
    let mut body = Vec::new();
    response
        .into_reader()
        .take(cap as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| HttpError::Body(e.to_string()))?;
    if body.len() > cap {
        return Err(HttpError::Body(format!(
            "longer than {cap} bytes (kairos.runtime.http_request_max_response_bytes)"
        )));
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// The addresses of `host:port`, every one of them checked unless
/// internal addresses are allowed: the client connects to these and
/// resolves nothing itself.
pub fn resolve(netloc: &str, allow_private: bool) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = netloc.to_socket_addrs()?.collect();
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "address {} is not allowed (kairos.runtime.http_request_allow_private)",
                bad.ip()
            ),
        ));
    }
    Ok(addrs)
}

/// Whether `ip` is one game code may not reach by default: unspecified
/// (0.0.0.0/8, `::`), loopback (127/8, `::1`), private (10/8,
/// 172.16/12, 192.168/16, unique-local fc00::/7), shared (100.64/10),
/// link-local (169.254/16, fe80::/10), site-local (fec0::/10) or the
/// broadcast address; an IPv4 address inside IPv6 (mapped
/// `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`)
/// is judged as that IPv4 address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if v6.is_unspecified() || v6.is_loopback() {
                return true;
            }
            if let Some(v4) = embedded_v4(v6) {
                return internal_v4(v4);
            }
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || (a == 100 && (b & 0xc0) == 64)
}

/// The IPv4 address an IPv6 address carries, if it is one of the forms
/// that reach IPv4 hosts.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32);
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    let compatible = s[..6] == [0; 6];
    (nat64 || compatible).then_some(low)
}

/// A header name as Go's `CanonicalMIMEHeaderKey` writes it: each word
/// capitalised (`content-type` → `Content-Type`); a name with a byte
/// that cannot be in a token is left as it is.
pub fn canonical_header(name: &str) -> String {
    const TOKEN: &[u8] = b"!#$%&'*+-.^_`|~";
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || TOKEN.contains(&b))
    {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// A TLS configuration that accepts any server certificate (its
/// signatures still checked), for `insecure` requests.
fn insecure_tls() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(s: &str) -> bool {
        is_internal(s.parse().unwrap())
    }

    #[test]
    fn internal_ranges_are_refused_and_public_ones_are_not() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.9.9.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::10.1.2.3",
            "64:ff9b::c0a8:101",
        ] {
            assert!(internal(ip), "{ip} must be internal");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!internal(ip), "{ip} must not be internal");
        }
    }

    #[test]
    fn resolve_refuses_every_internal_address_before_any_connection() {
        for netloc in [
            "127.0.0.1:80",
            "10.0.0.1:80",
            "192.168.0.1:443",
            "[::1]:80",
            "localhost:80",
        ] {
            let e = resolve(netloc, false).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{netloc}");
            assert!(e.to_string().contains("is not allowed"), "{e}");
        }
        let allowed = resolve("127.0.0.1:80", true).unwrap();
        assert_eq!(allowed, vec!["127.0.0.1:80".parse().unwrap()]);
    }

    /// A one-thread HTTPS server on loopback with a self-signed
    /// certificate, answering each of its first `n` connections with 200
    /// and `secure`.
    fn tls_server(n: usize) -> SocketAddr {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::io::Write;
        let (cert, key) = kairos_net::quic::tls::self_signed(&["localhost".into()]).unwrap();
        let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for tcp in listener.incoming().take(n) {
                let Ok(tcp) = tcp else { continue };
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                if head.ends_with(b"\r\n\r\n") {
                    let _ = tls.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure",
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        addr
    }

    #[test]
    fn an_unknown_certificate_is_refused_unless_insecure() {
        let addr = tls_server(2);
        let policy = HttpPolicy {
            allow_private: true,
            max_timeout: Duration::from_secs(10),
            max_response_bytes: 1 << 20,
        };
        let mut req = HttpRequest {
            url: format!("https://localhost:{}/", addr.port()),
            method: "GET".into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(10),
            insecure: false,
        };
        let Err(HttpError::Request(e)) = send(&req, policy) else {
            panic!("a self-signed certificate was accepted");
        };
        assert!(e.to_lowercase().contains("certificate"), "{e}");
        req.insecure = true;
        let r = send(&req, policy).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"secure"[..]));
    }

    #[test]
    fn header_names_are_written_as_go_writes_them() {
        assert_eq!(canonical_header("content-type"), "Content-Type");
        assert_eq!(canonical_header("X-CUSTOM-id"), "X-Custom-Id");
        assert_eq!(canonical_header("bad name"), "bad name");
    }

    #[test]
    fn errors_read_as_nakama_words_them() {
        assert_eq!(
            HttpError::Request("x".into()).to_string(),
            "HTTP request error: x"
        );
        assert_eq!(
            HttpError::Body("y".into()).to_string(),
            "HTTP response body error: y"
        );
    }
}
