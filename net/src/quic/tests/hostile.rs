//! Garbage, truncated, corrupted, replayed and spoofed datagrams; hostile
//! stream frames; many connections on one endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::harness::{World, client_addr, numbered, server_addr};
use super::limits::{raw_client, raw_write};
use crate::datagram::DatagramServer;
use crate::quic::{
    CloseReason, QuicClient, QuicConfig, RetryPolicy, ServerEvent, Violation, codes,
    shard_of_datagram,
};
use crate::sim::{LinkConfig, SplitMix64};

const MS: Duration = Duration::from_millis(1);

fn random_addr(rng: &mut SplitMix64) -> SocketAddr {
    SocketAddr::from((
        [192, 0, 2, rng.below(256) as u8],
        1024 + rng.below(60_000) as u16,
    ))
}

/// One hostile datagram of one of eight shapes, built from noise and from
/// `real` datagrams captured on live connections.
fn garbage(rng: &mut SplitMix64, shape: u64, real: &[Vec<u8>]) -> Vec<u8> {
    // A noise datagram of `base` plus up to `extra` bytes.
    let noise = |rng: &mut SplitMix64, base: usize, extra: u64| {
        let mut d = vec![0u8; base + rng.below(extra) as usize];
        rng.fill_bytes(&mut d);
        d
    };
    let pick = |rng: &mut SplitMix64| real[rng.below(real.len() as u64) as usize].clone();
    match shape {
        // Pure noise, any length.
        0 => noise(rng, 0, 1500),
        // A short header naming shard 0 (passes the id check): reaches the
        // connection lookup and the stateless-reset logic.
        1 => {
            let mut d = noise(rng, 9, 1400);
            d[0] = 0x40 | (d[0] & 0x3F);
            d[1] = 0;
            d[2] = 0;
            d
        }
        // A v1 Initial of legal size with a random id and body: reaches
        // initial key derivation and header protection.
        2 => {
            let mut d = noise(rng, 1200, 200);
            d[0] = 0xC0 | (d[0] & 0x0F);
            d[1..5].copy_from_slice(&1u32.to_be_bytes());
            d[5] = 8 + rng.below(13) as u8;
            d
        }
        // An Initial with an unsupported version: version negotiation.
        3 => {
            let mut d = noise(rng, 1200, 100);
            d[0] |= 0x80;
            d[1..5].copy_from_slice(&0x1234_5678u32.to_be_bytes());
            d[5] = 8;
            d
        }
        // A real datagram cut short.
        4 => {
            let mut d = pick(rng);
            d.truncate(rng.below(d.len() as u64) as usize);
            d
        }
        // A real datagram with a few bits flipped.
        5 => {
            let mut d = pick(rng);
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(d.len() as u64) as usize;
                d[i] ^= 1 << rng.below(8);
            }
            d
        }
        // A real datagram replayed as is (from a spoofed address).
        6 => pick(rng),
        // A tiny Initial: below the 1200-byte minimum.
        _ => {
            let mut d = noise(rng, 20, 200);
            d[0] = 0xC0;
            d[1..5].copy_from_slice(&1u32.to_be_bytes());
            d[5] = 8;
            d
        }
    }
}

#[test]
fn garbage_never_panics_and_the_server_keeps_serving() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 40);
    world.captured_up = Some(Vec::new());
    for i in 0..3 {
        world.add_client(&format!("good-{i}"));
    }
    world.connect_all();
    for node in &mut world.nodes {
        node.client
            .send(true, Bytes::from_static(b"warm-up"))
            .unwrap();
        node.client
            .send(false, Bytes::from_static(b"warm-up"))
            .unwrap();
    }
    world.run_for(50 * MS);
    let real: Vec<Vec<u8>> = world
        .captured_up
        .take()
        .unwrap()
        .into_iter()
        .map(|d| d.payload)
        .collect();
    assert!(real.len() > 10);
    world.captured_down = Some(Vec::new());

    let mut rng = SplitMix64::new(40);
    let mut garbage_bytes = 0usize;
    for i in 0..20_000u64 {
        let datagram = garbage(&mut rng, i % 8, &real);
        garbage_bytes += datagram.len();
        let from = random_addr(&mut rng);
        let now = world.now;
        world.servers[0].handle_datagram(now, from, &mut datagram.to_vec());
        if i % 100 == 0 {
            world.step();
        }
    }
    world.run_for(100 * MS);

    // Nothing the garbage did reached the application.
    let connected = world
        .all_server_events()
        .filter(|(_, e)| matches!(e, ServerEvent::Connected { .. }))
        .count();
    assert_eq!(connected, 3);
    assert!(
        world.server_closes().is_empty(),
        "{:?}",
        world.server_closes()
    );
    // Answers to spoofed addresses are few and small: no amplification.
    let to_spoofed: usize = world
        .captured_down
        .as_ref()
        .unwrap()
        .iter()
        .filter(|d| {
            d.to.ip() != world.nodes[0].addr.ip() && d.to.ip().to_string().starts_with("192.0.2.")
        })
        .map(|d| d.payload.len())
        .sum();
    assert!(
        to_spoofed * 10 < garbage_bytes,
        "{to_spoofed} of {garbage_bytes}"
    );
    let stats = world.servers[0].stats();
    assert!(
        stats.endpoint_responses > 0,
        "resets and negotiation happen: {stats:?}"
    );

    // The live connections still work both ways, and a new client connects.
    let (_, conn) = world.conn_of("good-0").unwrap();
    world.nodes[0]
        .client
        .send(true, Bytes::from_static(b"still here"))
        .unwrap();
    world.servers[0]
        .send(conn, true, Bytes::from_static(b"me too"))
        .unwrap();
    world.add_client("good-late");
    world.connect_all();
    world.run_for(100 * MS);
    assert_eq!(
        world.server_messages(0, conn, true).last().unwrap(),
        &Bytes::from_static(b"still here")
    );
    assert_eq!(
        world.nodes[0].messages(true),
        [Bytes::from_static(b"me too")]
    );
}

#[test]
fn garbage_from_the_servers_address_does_not_break_a_client() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 41);
    world.captured_down = Some(Vec::new());
    world.add_client("good-0");
    world.connect_all();
    let (_, conn) = world.conn_of("good-0").unwrap();
    world.servers[0]
        .send(conn, true, Bytes::from_static(b"hi"))
        .unwrap();
    world.run_for(50 * MS);
    let real: Vec<Vec<u8>> = world
        .captured_down
        .take()
        .unwrap()
        .into_iter()
        .map(|d| d.payload)
        .collect();
    let mut rng = SplitMix64::new(41);
    for i in 0..5_000u64 {
        let datagram = garbage(&mut rng, i % 8, &real);
        let now = world.now;
        world.nodes[0]
            .client
            .handle_datagram(now, server_addr(), BytesMut::from(&datagram[..]));
        if i % 100 == 0 {
            world.step();
        }
    }
    world.nodes[0]
        .client
        .send(true, Bytes::from_static(b"alive"))
        .unwrap();
    world.run_for(100 * MS);
    assert!(
        world.nodes[0].client.is_connected(),
        "{:?}",
        world.nodes[0].events
    );
    assert_eq!(
        world.server_messages(0, conn, true),
        [Bytes::from_static(b"alive")]
    );
}

#[test]
fn hostile_stream_frames_close_only_their_sender() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 42);
    world.add_client("good-honest");
    world.connect_all();
    let config = QuicConfig::default();
    let mut cases: Vec<(usize, Option<&str>, CloseReason)> = Vec::new();
    let header = |len: u32| len.to_be_bytes().to_vec();
    let frame = |payload: &[u8]| {
        let mut v = (payload.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    };

    // A token header above max_token_bytes: refused before the token.
    let (raw, stream) = raw_client(&mut world, 42_000);
    raw_write(
        &mut world,
        raw,
        stream,
        &header(config.max_token_bytes as u32 + 1),
    );
    cases.push((
        raw,
        None,
        CloseReason::Protocol(Violation::FrameTooLarge {
            len: config.max_token_bytes + 1,
            max: config.max_token_bytes,
        }),
    ));
    // An empty token, and one that is not UTF-8.
    let (raw, stream) = raw_client(&mut world, 42_001);
    raw_write(&mut world, raw, stream, &frame(b""));
    cases.push((raw, None, CloseReason::Protocol(Violation::BadToken)));
    let (raw, stream) = raw_client(&mut world, 42_002);
    raw_write(&mut world, raw, stream, &frame(&[0xFF, 0xFE, 0x80]));
    cases.push((raw, None, CloseReason::Protocol(Violation::BadToken)));
    // A good token, then the stream finished (seen once accepted).
    let (raw, stream) = raw_client(&mut world, 42_003);
    raw_write(&mut world, raw, stream, &frame(b"good-fin"));
    world.nodes[raw]
        .client
        .raw()
        .unwrap()
        .send_stream(stream)
        .finish()
        .unwrap();
    cases.push((
        raw,
        Some("good-fin"),
        CloseReason::Protocol(Violation::StreamFinished),
    ));
    // A good token and half a frame, then the stream reset.
    let (raw, stream) = raw_client(&mut world, 42_004);
    let mut bytes = frame(b"good-reset");
    bytes.extend_from_slice(&header(100));
    bytes.extend_from_slice(b"partial");
    raw_write(&mut world, raw, stream, &bytes);
    world.run_for(50 * MS);
    world.nodes[raw]
        .client
        .raw()
        .unwrap()
        .send_stream(stream)
        .reset(7u32.into())
        .unwrap();
    cases.push((
        raw,
        Some("good-reset"),
        CloseReason::Protocol(Violation::StreamReset),
    ));
    // A good token, then the client stops reading the server's side.
    let (raw, stream) = raw_client(&mut world, 42_005);
    raw_write(&mut world, raw, stream, &frame(b"good-stop"));
    world.run_for(50 * MS);
    world.nodes[raw]
        .client
        .raw()
        .unwrap()
        .recv_stream(stream)
        .stop(9u32.into())
        .unwrap();
    cases.push((
        raw,
        Some("good-stop"),
        CloseReason::Protocol(Violation::StreamStopped),
    ));
    // Frames pipelined behind the token, one of them too large: the good
    // ones are delivered after `accept`, then the connection is closed.
    let (raw, stream) = raw_client(&mut world, 42_006);
    let mut bytes = frame(b"good-pipelined");
    bytes.extend_from_slice(&frame(b"one"));
    bytes.extend_from_slice(&frame(b"two"));
    bytes.extend_from_slice(&header(config.max_frame_bytes as u32 + 1));
    raw_write(&mut world, raw, stream, &bytes);
    cases.push((
        raw,
        Some("good-pipelined"),
        CloseReason::Protocol(Violation::FrameTooLarge {
            len: config.max_frame_bytes + 1,
            max: config.max_frame_bytes,
        }),
    ));
    world.run_for(Duration::from_millis(300));

    // A client may not open more streams than the server grants.
    let (raw, _) = raw_client(&mut world, 42_007);
    let conn = world.nodes[raw].client.raw().unwrap();
    assert!(conn.streams().open(quinn_proto::Dir::Bi).is_none());
    assert!(conn.streams().open(quinn_proto::Dir::Uni).is_none());

    let closes = world.server_closes();
    for (node, token, reason) in &cases {
        let violation = match reason {
            CloseReason::Protocol(v) => v.to_string(),
            _ => unreachable!(),
        };
        assert_eq!(
            world.nodes[*node].closed(),
            Some(&CloseReason::Peer {
                code: u64::from(codes::PROTOCOL),
                reason: violation
            }),
            "{token:?}"
        );
        // Reported, then closed with the violation.
        if let Some(token) = token {
            let (_, conn) = world.conn_of(token).unwrap();
            assert!(
                closes.contains(&(conn, reason.clone())),
                "{token}: {closes:?}"
            );
        }
    }
    let (_, pipelined) = world.conn_of("good-pipelined").unwrap();
    assert_eq!(
        world.server_messages(0, pipelined, true),
        [Bytes::from_static(b"one"), Bytes::from_static(b"two")]
    );
    assert_eq!(
        closes.len(),
        4,
        "only reported connections report closes: {closes:?}"
    );
    assert_eq!(world.servers[0].stats().ended_unannounced, 3);
    // The honest client never noticed.
    assert!(world.nodes[0].client.is_connected());
    let (_, honest) = world.conn_of("good-honest").unwrap();
    assert!(world.servers[0].is_accepted(honest));
}

#[test]
fn an_initial_flood_from_spoofed_addresses_is_bounded() {
    const THRESHOLD: usize = 8;
    let mut world = World::build(1, LinkConfig::with_delay(5 * MS), 43, |c| {
        c.retry = RetryPolicy::WhenHandshakesExceed(THRESHOLD);
    });
    world.captured_down = Some(Vec::new());
    let mut rng = SplitMix64::new(43);
    let mut received: HashMap<SocketAddr, usize> = HashMap::new();
    for _ in 0..200 {
        // A genuine first flight, from an address that will never answer.
        let mut client = QuicClient::connect(
            world.now,
            server_addr(),
            "localhost",
            "good-spoofed",
            &world.client_tls,
            QuicConfig::default(),
        )
        .unwrap();
        let mut buf = Vec::new();
        let t = client.poll_transmit(world.now, &mut buf).unwrap();
        let from = random_addr(&mut rng);
        *received.entry(from).or_default() += t.size;
        let now = world.now;
        world.servers[0].handle_datagram(now, from, &mut buf[..t.size]);
        world.collect();
    }
    let stats = world.servers[0].stats();
    assert_eq!(stats.handshakes_started as usize, THRESHOLD, "{stats:?}");
    assert_eq!(stats.retries_sent as usize, 200 - THRESHOLD);
    assert_eq!(world.servers[0].connections(), THRESHOLD);

    // A real client still gets in, through a retry.
    world.add_client("good-real");
    world.connect_all();

    // Let the abandoned handshakes retransmit until they give up; no
    // spoofed address ever gets more than three times what it "sent".
    world.run_for(Duration::from_secs(16));
    let mut sent: HashMap<SocketAddr, usize> = HashMap::new();
    for d in world.captured_down.as_ref().unwrap() {
        *sent.entry(d.to).or_default() += d.payload.len();
    }
    for (addr, bytes) in &received {
        let answered = sent.get(addr).copied().unwrap_or(0);
        assert!(answered <= 3 * bytes, "{addr}: {answered} for {bytes}");
    }
    assert_eq!(
        world.servers[0].connections(),
        1,
        "only the real one is left"
    );
    assert!(world.nodes[0].client.is_connected());
    assert_eq!(
        world.servers[0].stats().ended_unannounced as usize,
        THRESHOLD
    );
}

#[test]
fn random_ids_route_to_a_valid_shard_or_nowhere() {
    let mut rng = SplitMix64::new(44);
    for shards in [1usize, 2, 3, 7, 64, 1000, 65_536] {
        for _ in 0..5_000 {
            let mut d = vec![0u8; rng.below(1500) as usize];
            rng.fill_bytes(&mut d);
            if let Some(s) = shard_of_datagram(&d, shards) {
                assert!(usize::from(s) < shards);
            }
        }
    }
}

#[test]
fn many_connections_share_one_endpoint() {
    const CLIENTS: usize = 64;
    let mut world = World::new(
        LinkConfig {
            loss: 0.02,
            ..LinkConfig::with_delay(5 * MS)
        },
        45,
    );
    for i in 0..CLIENTS {
        world.add_client(&format!("good-{i}"));
    }
    world.connect_all();
    assert_eq!(world.servers[0].connections(), CLIENTS);
    let conns: Vec<_> = (0..CLIENTS)
        .map(|i| world.conn_of(&format!("good-{i}")).unwrap().1)
        .collect();
    let messages = numbered("c", 20, 5, 2000);
    for message in &messages {
        for (node, &conn) in world.nodes.iter_mut().zip(&conns) {
            node.client.send(true, message.clone()).unwrap();
            world.servers[0].send(conn, true, message.clone()).unwrap();
        }
        world.step();
    }
    // Both directions: a client-to-server packet lost near the end may
    // still be awaiting its resend when every client has all it needs.
    let done = world.run_until(Duration::from_secs(10), |w| {
        w.nodes
            .iter()
            .all(|n| n.messages(true).len() == messages.len())
            && conns
                .iter()
                .all(|&c| w.server_messages(0, c, true).len() == messages.len())
    });
    assert!(done);
    for (node, &conn) in world.nodes.iter().zip(&conns) {
        assert_eq!(node.messages(true), messages);
        assert_eq!(world.server_messages(0, conn, true), messages);
    }
    // Shutdown: every client is told, and the endpoint empties.
    let now = world.now;
    world.servers[0].close_all(now, codes::SHUTDOWN, "bye");
    world.run_for(Duration::from_secs(2));
    assert_eq!(world.servers[0].connections(), 0);
    assert_eq!(world.server_closes().len(), CLIENTS);
    for node in &world.nodes {
        assert_eq!(
            node.closed(),
            Some(&CloseReason::Peer {
                code: u64::from(codes::SHUTDOWN),
                reason: "bye".into()
            })
        );
    }
    let _ = client_addr(0, 0);
}

#[test]
fn an_oversized_datagram_gets_no_reply_above_the_payload_limit() {
    // Found by fuzz/fuzz_targets/quic_datagram.rs: a short-header datagram
    // longer than MAX_UDP_PAYLOAD (the driver reads up to 64 bytes more)
    // drew a stateless reset one byte shorter than itself, 1507 bytes.
    use crate::quic::MAX_UDP_PAYLOAD;
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 47);
    let mut rng = SplitMix64::new(47);
    let mut buf = Vec::new();
    let mut replies = 0;
    for len in [
        MAX_UDP_PAYLOAD + 1,
        MAX_UDP_PAYLOAD + 36,
        MAX_UDP_PAYLOAD + 64,
    ] {
        for _ in 0..8 {
            let mut datagram = vec![0u8; len];
            rng.fill_bytes(&mut datagram);
            datagram[0] = 0x40 | (datagram[0] & 0x3F);
            datagram[1] = 0;
            datagram[2] = 0;
            world.now += 100 * MS;
            let now = world.now;
            let from = random_addr(&mut rng);
            world.servers[0].handle_datagram(now, from, &mut datagram.to_vec());
            while let Some(t) = world.servers[0].poll_transmit(now, &mut buf) {
                replies += 1;
                assert!(
                    t.size <= MAX_UDP_PAYLOAD,
                    "a {len}-byte datagram drew a {}-byte reply",
                    t.size
                );
            }
        }
    }
    assert_eq!(replies, 0, "oversized datagrams are dropped unread");
}
