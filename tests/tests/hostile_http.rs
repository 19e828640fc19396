//! Hostile HTTP clients: withheld bodies, trickled headers and connection
//! hoarding must not deny service to other clients.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use kairos_tests::{Backend, TestServer, basic};

/// Connects from `local` (an address in 127.0.0.0/8) to the server.
fn connect_from(local: Ipv4Addr, server: &str) -> TcpStream {
    let server: SocketAddr = server.parse().expect("server address");
    let SocketAddr::V4(server) = server else {
        panic!("the test server listens on IPv4")
    };
    let sockaddr = |a: SocketAddrV4| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*a.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns; it is
    // handed to a TcpStream, which closes it, whatever happens next.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = TcpStream::from_raw_fd(fd);
        let local = sockaddr(SocketAddrV4::new(local, 0));
        let r = libc::bind(fd, &local as *const _ as *const libc::sockaddr, len);
        assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
        let remote = sockaddr(server);
        let r = libc::connect(fd, &remote as *const _ as *const libc::sockaddr, len);
        assert_eq!(r, 0, "connect: {}", std::io::Error::last_os_error());
        stream
    }
}

/// The head of a request that announces a body of `len` bytes.
fn head(path: &str, auth: Option<&str>, len: usize) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: kairos\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {len}\r\n\r\n"
    )
}

/// Reads a whole response (the server closes or the reply is complete),
/// returning its status line and body; None if the socket ended first.
fn read_response(s: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
                return Some((head.lines().next().unwrap_or("").to_string(), body));
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Whether the server ended the connection: a read sees EOF or a reset.
/// Waits at most `within` (a bound on the test, not an assertion).
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut b = [0u8; 256];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// Connections waiting in the kernel's accept queues of the server's
/// listening sockets (the `rx_queue` of a LISTEN row in /proc/net/tcp).
fn accept_backlog(server: &str) -> u64 {
    let port: u16 = server.rsplit(':').next().unwrap().parse().unwrap();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
            let listening = *f.get(3)? == "0A";
            let rx = u64::from_str_radix(f.get(4)?.split(':').nth(1)?, 16).ok()?;
            (local_port == port && listening).then_some(rx)
        })
        .sum()
}

/// Polls `cond` every 50 ms for at most `within`.
fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_withheld_body_without_credentials_is_refused_before_it_is_read() {
    let s = TestServer::start(&Backend::Sqlite);
    let cases = [
        ("/v2/account/authenticate/device", None),
        ("/v2/account/authenticate/device", Some(basic("wrongkey"))),
        ("/v2/account/link/device", None),
        (
            "/v2/account/link/device",
            Some("Bearer not-a-token".to_string()),
        ),
    ];
    for (path, auth) in cases {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        // Long enough for any answer; the body deadline is 30 s by default.
        c.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
        c.write_all(head(path, auth.as_deref(), 100).as_bytes())
            .unwrap();
        let (status, body) = read_response(&mut c)
            .unwrap_or_else(|| panic!("{path} {auth:?}: no answer while the body is withheld"));
        assert!(status.contains(" 401 "), "{path}: {status} {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json error");
        assert_eq!(v["code"], 16, "{body}");
    }
}

#[test]
fn trickled_headers_hit_the_header_deadline() {
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &["--kairos.net.header_timeout_ms", "1000"],
    );
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // One byte every 200 ms, never finishing the head: 40 bytes at most.
    let request = b"GET /healthcheck HTTP/1.1\r\nX-Trickle: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    let mut buf = [0u8; 64];
    for b in request.iter().take(40) {
        if c.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        match c.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "a trickling client kept its connection");
    // A client that sends its head at once is served.
    assert_eq!(
        s.http().request("GET", "/healthcheck", None, None).status,
        200
    );
}

#[test]
fn withheld_bodies_cannot_deny_service_to_new_clients() {
    const PER_IP: usize = 4;
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &[
            "--kairos.net.max_connections_per_ip",
            "4",
            "--kairos.net.body_timeout_ms",
            "3000",
        ],
    );
    // Warm up (the store, the first connections), then count.
    assert_eq!(
        s.http().request("GET", "/healthcheck", None, None).status,
        200
    );
    let baseline = s.open_fds();

    // Three times the cap of both shards, each holding a valid request
    // whose body never comes.
    let mut withheld: Vec<TcpStream> = (0..3 * 2 * PER_IP)
        .map(|_| {
            let mut c = connect_from(Ipv4Addr::LOCALHOST, &s.addr);
            let _ = c.write_all(
                head(
                    "/v2/account/authenticate/device",
                    Some(&basic("defaultkey")),
                    100,
                )
                .as_bytes(),
            );
            c
        })
        .collect();
    // Those past the cap are closed at once, long before the body's
    // deadline: the server holds at most the cap on each of its shards.
    let refused_now = |conns: &[TcpStream]| {
        conns
            .iter()
            .filter(|c| {
                c.set_nonblocking(true).unwrap();
                let r = c.peek(&mut [0u8; 1]);
                c.set_nonblocking(false).unwrap();
                match r {
                    Ok(0) => true,
                    Ok(_) => false,
                    Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
                }
            })
            .count()
    };
    assert!(
        eventually(Duration::from_millis(1500), || accept_backlog(&s.addr) == 0
            && refused_now(&withheld) >= withheld.len() - 2 * PER_IP
            && s.open_fds() <= baseline + 2 * PER_IP),
        "{} of {} refused; {} descriptors open, {baseline} before",
        refused_now(&withheld),
        withheld.len(),
        s.open_fds()
    );

    // Another address is served meanwhile.
    let mut fresh = connect_from(Ipv4Addr::new(127, 0, 0, 2), &s.addr);
    fresh
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = r#"{"id":"withheld-bodies-bystander"}"#;
    fresh
        .write_all(
            format!(
                "{}{body}",
                head(
                    "/v2/account/authenticate/device",
                    Some(&basic("defaultkey")),
                    body.len()
                )
            )
            .as_bytes(),
        )
        .unwrap();
    let (status, reply) = read_response(&mut fresh).expect("an answer");
    assert!(status.contains(" 200 "), "{status} {reply}");
    assert!(reply.contains("\"token\""), "{reply}");
    drop(fresh);

    // After the body deadline every withheld connection is closed.
    for c in &mut withheld {
        assert!(
            closed_by_server(c, Duration::from_secs(10)),
            "a withheld body kept its connection"
        );
    }
    assert!(
        eventually(Duration::from_secs(5), || s.open_fds() <= baseline + 1),
        "{} descriptors open, {baseline} before",
        s.open_fds()
    );
}

#[test]
fn a_shard_holds_at_most_its_connection_cap() {
    const PER_SHARD: usize = 3;
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &["--kairos.net.max_connections_per_shard", "3"],
    );
    // Each connection asks for the health check and keeps its connection
    // (keep-alive): those past the cap are closed instead of answered.
    let mut answered = Vec::new();
    let mut refused = 0;
    for _ in 0..4 * 2 * PER_SHARD {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = c.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: kairos\r\n\r\n");
        match read_response(&mut c) {
            Some((status, _)) => {
                assert!(status.contains(" 200 "), "{status}");
                answered.push(c);
            }
            None => refused += 1,
        }
    }
    assert!(
        answered.len() <= 2 * PER_SHARD,
        "{} connections held on 2 shards with a cap of {PER_SHARD} each",
        answered.len()
    );
    assert!(!answered.is_empty());
    assert_eq!(answered.len() + refused, 4 * 2 * PER_SHARD);
    // Once they are gone the server serves again.
    drop(answered);
    assert!(eventually(Duration::from_secs(5), || {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = c.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: kairos\r\n\r\n");
        read_response(&mut c).is_some()
    }));
}

#[test]
fn accept_backs_off_when_out_of_descriptors() {
    let s = TestServer::start(&Backend::Sqlite);
    assert_eq!(
        s.http().request("GET", "/healthcheck", None, None).status,
        200
    );
    let pid = s.pid().unwrap() as libc::pid_t;
    // Leave the server a few descriptors more than it holds now (the soft
    // limit only: raising a hard limit back needs a privilege).
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit only writes `old`.
    let r = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    assert_eq!(r, 0, "prlimit: {}", std::io::Error::last_os_error());
    let tight = libc::rlimit {
        rlim_cur: s.open_fds() as libc::rlim_t + 4,
        rlim_max: old.rlim_max,
    };
    // SAFETY: prlimit only reads `tight`.
    let r = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &tight, std::ptr::null_mut()) };
    assert_eq!(r, 0, "prlimit: {}", std::io::Error::last_os_error());
    let before = s.log().matches("accept failed").count();

    // More connections than descriptors: the kernel queues them, and the
    // server's accepts fail with EMFILE for a while.
    let waiting: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(2000));
    let failures_logged = s.log().matches("accept failed").count() - before;

    // SAFETY: as above, restoring the limit the server had.
    let r = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &old, std::ptr::null_mut()) };
    assert_eq!(r, 0, "prlimit: {}", std::io::Error::last_os_error());
    drop(waiting);
    // Each shard logs at most once a second (2 shards, about 2 s): a loop
    // that retried every 10 ms logged about a hundred lines a second.
    assert!(
        (1..=8).contains(&failures_logged),
        "{failures_logged} accept failures logged in 2 s"
    );
    // With descriptors back, the server serves again.
    assert!(eventually(Duration::from_secs(5), || {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = c.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: kairos\r\n\r\n");
        read_response(&mut c).is_some_and(|(status, _)| status.contains(" 200 "))
    }));
}
