//! The datagram transports' HTTP side (discovery and connect tokens), and
//! hostile datagrams: garbage at the reliable-UDP and QUIC ports leaves
//! every shard serving.

use std::net::UdpSocket;
use std::time::Duration;

use base64::Engine;
use kairos_tests::{TestServer, Ws, bearer, unique};
use serde_json::json;

/// A deterministic generator of junk.
struct Junk(u64);

impl Junk {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn datagram(&mut self, template: &[u8]) -> Vec<u8> {
        let len = (self.next() % 1400) as usize + 1;
        let mut d: Vec<u8> = (0..len).map(|_| self.next() as u8).collect();
        // Some look like the real thing at first: a real first byte or a
        // mangled copy of a real packet.
        match self.next() % 4 {
            0 if !template.is_empty() => {
                d = template.to_vec();
                let i = (self.next() as usize) % d.len();
                d[i] ^= 1 << (self.next() % 8);
            }
            1 => d[0] = 0x01,
            2 => d[0] = 0xC0 | (d[0] & 0x3F),
            _ => {}
        }
        d
    }
}

#[test]
fn discovery_and_connect_tokens() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let sess = http.device(&unique("device-"));
    let t = http.get("/v2/kairos/transports", &sess.token);
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["udp"]["address"], json!(s.udp_addr.clone().unwrap()));
    assert_eq!(
        t.body["quic"]["address"],
        json!(s.quic_addr.clone().unwrap())
    );
    assert!(
        t.body["quic"]["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let r = http.request(
        "POST",
        "/v2/kairos/udp/token?status=true",
        Some(&bearer(&sess.token)),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let token = base64::engine::general_purpose::STANDARD
        .decode(r.body["connect_token"].as_str().unwrap())
        .unwrap();
    assert!(token.len() > 1000, "a netcode connect token");
    assert_eq!(r.body["addresses"][0], json!(s.udp_addr.clone().unwrap()));
    assert_eq!(r.body["expires_in_sec"], 30);
    // Both need a session.
    http.request("POST", "/v2/kairos/udp/token", None, None)
        .assert_error(401, 16);
    http.request("GET", "/v2/kairos/transports", None, None)
        .assert_error(401, 16);
    http.request(
        "POST",
        "/v2/kairos/udp/token?status=maybe",
        Some(&bearer(&sess.token)),
        None,
    )
    .assert_error(400, 3);
}

#[test]
fn garbage_datagrams_leave_every_shard_serving() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let targets = [s.udp_addr.clone().unwrap(), s.quic_addr.clone().unwrap()];
    let rss_before = s.rss_kib();
    let mut junk = Junk(7);
    // Many source ports, so the kernel spreads them over both shards.
    let sockets: Vec<UdpSocket> = (0..16)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let mut template = Vec::new();
    for round in 0..4000 {
        let sock = &sockets[round % sockets.len()];
        for target in &targets {
            let d = junk.datagram(&template);
            let _ = sock.send_to(&d, target);
        }
        if round % 500 == 0 {
            // Whatever the server answers becomes material for more junk.
            sock.set_read_timeout(Some(Duration::from_millis(5))).ok();
            let mut buf = [0u8; 2048];
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                template = buf[..n].to_vec();
            }
        }
    }
    // No reply may be larger than what provoked it; at most a few replies
    // at all (version negotiation, stateless resets).
    let mut replies = 0;
    for sock in &sockets {
        sock.set_read_timeout(Some(Duration::from_millis(20))).ok();
        let mut buf = [0u8; 2048];
        while sock.recv_from(&mut buf).is_ok() {
            replies += 1;
        }
    }
    assert!(replies < 400, "{replies} replies to 8000 junk datagrams");
    // Junk leaves no per-address state behind: 8000 datagrams of up to
    // 1400 bytes (about 5.6 MB in all) cost the server no lasting memory.
    let grown = s.rss_kib().saturating_sub(rss_before);
    eprintln!("rss grew by {grown} KiB over {rss_before} KiB under the junk");
    assert!(grown < 4 * 1024, "resident memory grew by {grown} KiB");

    // Real datagram clients still connect and are served on both ports.
    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = kairos_client::Client::new("127.0.0.1", port, "defaultkey");
    for transport in [
        kairos_client::Transport::ReliableUdp,
        kairos_client::Transport::Quic,
    ] {
        let sess = client
            .authenticate_device(&unique("device-"), true, None)
            .expect("authenticates");
        let mut rt = client
            .connect(&sess, transport, kairos_client::ConnectOptions::default())
            .unwrap_or_else(|e| panic!("{transport} connects after the junk: {e}"));
        rt.ping()
            .unwrap_or_else(|e| panic!("{transport} ping after the junk: {e}"));
    }

    // Both shards still serve HTTP and sockets.
    let http = s.http();
    let mut shards = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let sess = http.device(&unique("device-"));
        let mut ws = Ws::open(&s.addr, &sess.token, "");
        let r = ws.request("p", "ping", json!({}));
        assert_eq!(r, json!({"cid": "p", "pong": {}}));
        shards.extend(ws.shard);
        if shards.len() == 2 {
            break;
        }
    }
    assert_eq!(shards.len(), 2, "both shards answer");
    let log = s.log();
    assert!(!log.contains("panicked"), "server log:\n{log}");
}
