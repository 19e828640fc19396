//! Routing, limits and CORS: bad requests get clear errors and the server
//! keeps serving.

use kairos_tests::{TestServer, basic, unique};
use std::io::{Read, Write};

#[test]
fn unknown_routes_methods_and_limits() {
    let s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--socket.max_request_size_bytes", "1024"],
    );
    let http = s.http();
    let sess = http.device(&unique("device-"));

    let r = http.get("/v2/nope", &sess.token);
    r.assert_error(404, 5);
    assert_eq!(r.message(), "Not Found");
    let r = http.request(
        "PATCH",
        "/v2/account",
        Some(&kairos_tests::bearer(&sess.token)),
        Some("{}"),
    );
    r.assert_error(501, 12);
    assert_eq!(r.message(), "Method Not Allowed");
    http.request("GET", "/v2/account/authenticate/device", None, None)
        .assert_error(501, 12);

    // Oversized bodies, with and without a Content-Length that says so.
    let big = format!(r#"{{"id":"{}"}}"#, "x".repeat(4000));
    let r = http.request(
        "POST",
        "/v2/account/authenticate/device",
        Some(&basic("defaultkey")),
        Some(&big),
    );
    r.assert_error(400, 3);
    assert!(r.message().contains("too large"), "{}", r.text);
    let chunked = raw(
        &s.addr,
        &format!(
            "POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n",
            basic("defaultkey"),
            big.len(),
            big
        ),
    );
    assert!(chunked.starts_with("HTTP/1.1 400"), "{chunked}");

    // Garbage that is not HTTP at all.
    let garbage = raw(&s.addr, "\x16\x03\x01\x02\x00garbage\r\n\r\n");
    assert!(
        garbage.is_empty() || garbage.starts_with("HTTP/1.1 400"),
        "{garbage}"
    );

    // Health and root.
    assert_eq!(http.request("GET", "/healthcheck", None, None).status, 200);
    let root = http.request("GET", "/", None, None);
    assert_eq!((root.status, root.text.as_str()), (200, ""));

    // Still serving.
    assert_eq!(http.get("/v2/account", &sess.token).status, 200);
}

#[test]
fn cors_preflight_and_headers() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let resp = raw(
        &s.addr,
        "OPTIONS /v2/account HTTP/1.1\r\nHost: x\r\nOrigin: http://game.example\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: authorization, content-type\r\nConnection: close\r\n\r\n",
    );
    let lower = resp.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{resp}");
    assert!(lower.contains("access-control-allow-origin: *"), "{resp}");
    assert!(
        lower.contains("access-control-allow-methods:") && lower.contains("put"),
        "{resp}"
    );
    assert!(
        lower.contains("access-control-allow-headers:") && lower.contains("authorization"),
        "{resp}"
    );

    let r = s.http().request("GET", "/healthcheck", None, None);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

/// Sends raw bytes and returns whatever comes back before the server closes.
fn raw(addr: &str, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn slow_and_idle_connections_are_closed() {
    let s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--socket.read_timeout_ms", "300"],
    );
    // Half a request, then nothing: the server gives up on it.
    let mut slow = std::net::TcpStream::connect(&s.addr).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"POST /v2/account/authenticate/device HTTP/1.1\r\nHost: x\r\nContent-Le")
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(slow.read(&mut buf).expect("closed, not timed out"), 0);
    // An idle keep-alive connection is closed too.
    let mut idle = std::net::TcpStream::connect(&s.addr).unwrap();
    idle.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    idle.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = idle.read_to_end(&mut out);
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    // Meanwhile the server serves others.
    assert_eq!(
        s.http().request("GET", "/healthcheck", None, None).status,
        200
    );
}
