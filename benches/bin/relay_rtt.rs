//! Relay round trip through a Kairos relayed match, against a raw WebSocket
//! echo measured in the same run with the same client code.
//!
//! `relay-rtt [--target 127.0.0.1:7350] [--iters 20000] [--warmup 2000]`
//!
//! Player A sends `match_data` (op 1); player B, on another connection,
//! echoes it back (op 2); A times A → server → B → server → A. That crosses
//! the network four times and the server's relay twice, so the fair floor is
//! two raw echo round trips; both ratios are printed. One client thread
//! drives both players, blocking sockets, the sans-IO `kairos-net` codec.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hdrhistogram::Histogram;
use kairos_net::ws::{Connection, Event, handshake};

struct Client {
    stream: TcpStream,
    conn: Connection,
    buf: BytesMut,
}

impl Client {
    fn connect(addr: &str, path: &str, seed: u64) -> Client {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        let key = handshake::key_from_nonce(seed.to_le_bytes().repeat(2).try_into().unwrap());
        stream
            .write_all(handshake::client_request(addr, path, &key).as_bytes())
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("handshake response");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        Client {
            stream,
            conn: Connection::client(1 << 20, seed),
            buf: BytesMut::new(),
        }
    }

    fn flush(&mut self) {
        while let Some(b) = self.conn.take_outbound() {
            self.stream.write_all(&b).unwrap();
        }
    }

    fn send(&mut self, text: &str) {
        self.conn.send_text(text).unwrap();
        self.flush();
    }

    fn recv(&mut self) -> String {
        loop {
            match self.conn.recv(&mut self.buf).expect("protocol") {
                Some(Event::Text(t)) => return String::from_utf8(t.to_vec()).unwrap(),
                Some(Event::Ping(_)) => self.flush(),
                Some(Event::Closed(c)) => panic!("closed: {c:?}"),
                Some(_) => {}
                None => {
                    let mut chunk = [0u8; 8192];
                    let n = self.stream.read(&mut chunk).expect("read");
                    assert!(n > 0, "connection closed");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }

    /// The next text message containing `needle`.
    fn recv_with(&mut self, needle: &str) -> String {
        loop {
            let m = self.recv();
            if m.contains(needle) {
                return m;
            }
        }
    }
}

fn authenticate(addr: &str, device: &str) -> String {
    let body = format!(r#"{{"id":"{device}"}}"#);
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /v2/account/authenticate/device HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic ZGVmYXVsdGtleTo=\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let json = resp.split("\r\n\r\n").nth(1).expect("body");
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    v["token"].as_str().expect("token").to_string()
}

/// A raw WebSocket echo on its own thread: the floor.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim()
            .to_string();
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            handshake::accept_key(&key)
        )
        .unwrap();
        let mut conn = Connection::server(1 << 20);
        let mut buf = BytesMut::new();
        let mut chunk = [0u8; 8192];
        loop {
            match conn.recv(&mut buf) {
                Ok(Some(Event::Text(t))) => {
                    let _ = conn.send_text(std::str::from_utf8(&t).unwrap());
                    while let Some(b) = conn.take_outbound() {
                        if s.write_all(&b).is_err() {
                            return;
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => match s.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                },
                Err(_) => return,
            }
        }
    });
    addr
}

fn summary(name: &str, h: &Histogram<u64>) {
    println!(
        "{name:<28} p50 {:>7.1} µs  p90 {:>7.1}  p99 {:>7.1}  p99.9 {:>7.1}  max {:>8.1}  (n={})",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.9) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.value_at_quantile(0.999) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        h.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or(default.to_string())
    };
    let target = arg("--target", "127.0.0.1:7350");
    let iters: usize = arg("--iters", "20000").parse().expect("--iters");
    let warmup: usize = arg("--warmup", "2000").parse().expect("--warmup");
    // 32 payload bytes, as base64 in the envelope.
    let data = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    // Baseline: the same message size through a raw echo.
    let echo_addr = echo_server();
    let mut echo = Client::connect(&echo_addr, "/", 1);
    let probe = format!(
        r#"{{"match_data_send":{{"match_id":"00000000-0000-0000-0000-000000000000.","op_code":"1","data":"{data}"}}}}"#
    );
    let mut base = Histogram::<u64>::new(3).unwrap();
    for i in 0..warmup + iters {
        let t = Instant::now();
        echo.send(&probe);
        echo.recv();
        if i >= warmup {
            base.record(t.elapsed().as_nanos() as u64).unwrap();
        }
    }

    // Relay through a match.
    let stamp = std::process::id();
    let ta = authenticate(&target, &format!("relay-rtt-a-{stamp}"));
    let tb = authenticate(&target, &format!("relay-rtt-b-{stamp}"));
    let mut a = Client::connect(&target, &format!("/ws?token={ta}&format=json"), 2);
    let mut b = Client::connect(&target, &format!("/ws?token={tb}&format=json"), 3);
    a.send(r#"{"cid":"1","match_create":{}}"#);
    let created: serde_json::Value = serde_json::from_str(&a.recv_with("\"match\"")).unwrap();
    let match_id = created["match"]["match_id"].as_str().unwrap().to_string();
    b.send(&format!(
        r#"{{"cid":"1","match_join":{{"match_id":"{match_id}"}}}}"#
    ));
    b.recv_with("\"match\"");
    a.recv_with("match_presence_event");
    let ping = format!(
        r#"{{"match_data_send":{{"match_id":"{match_id}","op_code":"1","data":"{data}"}}}}"#
    );
    let pong = format!(
        r#"{{"match_data_send":{{"match_id":"{match_id}","op_code":"2","data":"{data}"}}}}"#
    );
    let mut relay = Histogram::<u64>::new(3).unwrap();
    for i in 0..warmup + iters {
        let t = Instant::now();
        a.send(&ping);
        b.recv_with("match_data");
        b.send(&pong);
        a.recv_with("match_data");
        if i >= warmup {
            relay.record(t.elapsed().as_nanos() as u64).unwrap();
        }
    }
    let _ = Duration::ZERO;

    println!(
        "relay round trip through {target}, {iters} samples after {warmup} warm-up, 32-byte payload"
    );
    summary("raw WebSocket echo RTT", &base);
    summary("relay RTT (A->B->A)", &relay);
    let r = |q: f64| relay.value_at_quantile(q) as f64 / base.value_at_quantile(q) as f64;
    println!(
        "ratio to one echo RTT:   p50 {:.2}x  p99 {:.2}x",
        r(0.5),
        r(0.99)
    );
    println!(
        "ratio to two echo RTTs:  p50 {:.2}x  p99 {:.2}x   (same number of network crossings)",
        r(0.5) / 2.0,
        r(0.99) / 2.0
    );
}
