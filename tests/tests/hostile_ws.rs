//! Hostile WebSocket clients: a raw TCP client speaks hand-built frames
//! after the upgrade (ping floods, absurd frame headers, garbage) and the
//! server must stay within a memory bound and keep serving others.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kairos_tests::{Backend, TestServer, unique};

/// Opens `/ws` with `token` over a raw TCP stream and reads the 101.
fn raw_ws(addr: &str, token: &str) -> TcpStream {
    raw_ws_on(addr, token).0
}

/// As [`raw_ws`], with the shard that serves the socket.
fn raw_ws_on(addr: &str, token: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /ws?token={token}&format=json HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).expect("upgrade response"),
            1,
            "eof in upgrade"
        );
        head.push(byte[0]);
        assert!(head.len() < 4096, "upgrade response too long");
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "not upgraded: {head}");
    let shard = head
        .lines()
        .find_map(|l| l.strip_prefix("kairos-shard: "))
        .unwrap_or("")
        .to_string();
    (s, shard)
}

/// A masked client frame (FIN set).
fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x1b, 0x2c, 0x3d, 0x4e];
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Reads one server frame (unmasked): opcode and payload.
fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h)?;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b)?;
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b)?;
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    assert!(len < 1 << 20, "server frame of {len} bytes");
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload)?;
    Ok((h[0] & 0x0f, payload))
}

/// Reads frames until a close; returns its code (None: the socket ended
/// without one).
fn close_code(s: &mut TcpStream) -> Option<u16> {
    for _ in 0..1000 {
        match read_frame(s) {
            Ok((0x8, p)) if p.len() >= 2 => return Some(u16::from_be_bytes([p[0], p[1]])),
            Ok((0x8, _)) => return None,
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Sends a ping with `payload` and reads until its pong; false if the
/// socket ended first.
fn ping_answered(s: &mut TcpStream, payload: &[u8]) -> bool {
    s.write_all(&masked(0x9, payload)).unwrap();
    for _ in 0..1000 {
        match read_frame(s) {
            Ok((0xA, p)) if p == payload => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
    false
}

/// Writes `count` pings of 125 bytes (the largest a control frame may
/// carry) in batches; returns early if the server ends the socket.
fn flood_pings(s: &mut TcpStream, count: usize) {
    const BATCH: usize = 1000;
    let one = masked(0x9, &[b'p'; 125]);
    let batch: Vec<u8> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * BATCH)
        .collect();
    for _ in 0..count / BATCH {
        if s.write_all(&batch).is_err() {
            return;
        }
    }
}

/// Peak RSS growth, in MiB, that a ping flood may cause. Each queued pong
/// used to cost about 200 bytes, so the flood below grew the server by
/// well over 100 MiB; a bounded control queue costs nothing per ping.
const FLOOD_PEAK_GROWTH_MIB: u64 = 16;
const FLOOD_PINGS: usize = 600_000;

fn flood_case(read_pongs: bool) {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let flooder = http.device(&unique("flooder-"));
    let bystander = http.device(&unique("bystander-"));
    let (mut flood, shard) = raw_ws_on(&s.addr, &flooder.token);
    // The bystander shares the flooder's shard.
    let mut other = (0..50)
        .map(|_| raw_ws_on(&s.addr, &bystander.token))
        .find(|(_, on)| *on == shard)
        .expect("a socket on the flooder's shard")
        .0;
    assert!(ping_answered(&mut other, b"before"));
    let before = s.peak_rss_kib();

    let reader = read_pongs.then(|| {
        let mut r = flood.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            total
        })
    });
    flood_pings(&mut flood, FLOOD_PINGS);
    // Another client's ping is still answered while the flood's tail is
    // being read.
    assert!(
        ping_answered(&mut other, b"during"),
        "a bystander's ping went unanswered"
    );
    // Let the server read what the kernel still buffers of the flood.
    std::thread::sleep(Duration::from_millis(500));
    assert!(ping_answered(&mut other, b"after"));
    let grew_mib = s.peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!(
        "ping flood (reading: {read_pongs}): peak RSS {before} KiB before, grew {grew_mib} MiB"
    );
    assert!(
        grew_mib <= FLOOD_PEAK_GROWTH_MIB,
        "{FLOOD_PINGS} pings grew the server's peak RSS by {grew_mib} MiB"
    );
    let _ = flood.shutdown(std::net::Shutdown::Both);
    if let Some(r) = reader {
        let pong_bytes = r.join().unwrap();
        // The reading client got pongs, but at most one per ping.
        assert!(pong_bytes > 0, "no pong reached the reading flooder");
        assert!(pong_bytes <= (FLOOD_PINGS as u64 + 2) * 127);
    }
}

#[test]
fn ping_flood_from_a_client_that_never_reads_stays_bounded() {
    flood_case(false);
}

#[test]
fn ping_flood_from_a_client_that_reads_stays_bounded() {
    flood_case(true);
}

#[test]
fn frame_header_announcing_an_enormous_payload_closes_with_1009() {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let sess = http.device(&unique("bigframe-"));
    let mut ws = raw_ws(&s.addr, &sess.token);
    let before = s.rss_kib();
    // A text frame (the session's wire is JSON) announcing 2^62 bytes,
    // then some of them.
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(1u64 << 62).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend_from_slice(&[b'x'; 1024]);
    ws.write_all(&frame).unwrap();
    assert_eq!(close_code(&mut ws), Some(1009));
    let grew_kib = s.rss_kib().saturating_sub(before);
    assert!(grew_kib < 8 * 1024, "RSS grew by {grew_kib} KiB");
    // The server goes on serving.
    let again = http.device(&unique("bigframe-"));
    let mut ws = raw_ws(&s.addr, &again.token);
    assert!(ping_answered(&mut ws, b"still here"));
}

#[test]
fn garbage_after_the_upgrade_closes_with_a_protocol_error() {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let sess = http.device(&unique("garbage-"));
    // Reserved bits and an unknown opcode.
    let mut ws = raw_ws(&s.addr, &sess.token);
    ws.write_all(&[0xff; 64]).unwrap();
    assert_eq!(close_code(&mut ws), Some(1002));
    // A second HTTP request where frames belong (unmasked, so refused).
    let mut ws = raw_ws(&s.addr, &sess.token);
    ws.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(close_code(&mut ws), Some(1002));
    // Nothing but the close follows: the socket ends.
    let mut rest = Vec::new();
    let _ = ws.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{} bytes after the close", rest.len());
    let mut ok = raw_ws(&s.addr, &sess.token);
    assert!(ping_answered(&mut ok, b"fine"));
}
