//! Garbage, truncated, spoofed, replayed and crafted datagrams.

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use bytes::Bytes;

use super::harness::{T0, World, client_addr, server_addr};
use crate::datagram::DatagramServer;
use crate::rudp::channel::connection_config;
use crate::rudp::filter::CONNECTION_REQUEST_BYTES;
use crate::rudp::{
    Channel, ClientState, DisconnectReason, RudpClient, RudpConfig, ServerEvent, Transmits,
    Violation,
};
use crate::sim::{LinkConfig, SplitMix64};

fn random_addr(rng: &mut SplitMix64) -> SocketAddr {
    SocketAddr::from((
        [192, 0, 2, rng.below(256) as u8],
        1024 + rng.below(60_000) as u16,
    ))
}

/// A random datagram of one of four shapes: pure noise; noise with a valid
/// packet type and no sequence bytes; a noise "connection request" of the
/// exact size (which reaches renetcode's token decryption); noise with a
/// plausible header that reaches renetcode's key lookup.
fn garbage(rng: &mut SplitMix64, shape: u64) -> Vec<u8> {
    let len = match shape {
        2 => CONNECTION_REQUEST_BYTES,
        3 => 18 + rng.below(300) as usize,
        _ => rng.below(1500) as usize,
    };
    let mut datagram = vec![0u8; len];
    rng.fill_bytes(&mut datagram);
    if let Some(first) = datagram.first_mut() {
        match shape {
            1 => *first = rng.below(7) as u8,
            2 => *first = 0,
            3 => *first = (rng.below(9) as u8) << 4 | (3 + rng.below(4) as u8),
            _ => {}
        }
    }
    datagram
}

#[test]
fn garbage_creates_no_state_and_gets_no_reply() {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), 50);
    let mut rng = SplitMix64::new(50);
    for i in 0..20_000u64 {
        let mut datagram = garbage(&mut rng, i % 4);
        let from = random_addr(&mut rng);
        world.server.handle_datagram(world.now, from, &mut datagram);
        if i % 1000 == 0 {
            world.now += Duration::from_millis(10);
            world.server.handle_timeout(world.now);
        }
    }
    let stats = world.server.stats();
    assert_eq!(stats.datagrams_received, 20_000);
    assert!(stats.datagrams_filtered > 5_000, "{stats:?}");
    assert!(
        stats.datagrams_filtered < 15_000,
        "some reached renetcode: {stats:?}"
    );
    assert_eq!(stats.datagrams_queued, 0, "not a single reply");
    assert!(world.server.poll_event().is_none());
    assert_eq!(world.server.connected_clients(), 0);
    assert!(world.server.no_pending_handshakes(), "no per-address state");

    // The client side shrugs garbage off too, even from the server's address.
    world.add_client(1);
    for i in 0..2_000u64 {
        let mut datagram = garbage(&mut rng, i % 4);
        let now = world.now;
        world.nodes[0]
            .client
            .handle_datagram(now, server_addr(), &mut datagram);
    }
    assert_eq!(world.nodes[0].client.state(), ClientState::Connecting);

    // And an honest client still gets in.
    world.connect_all();
}

#[test]
fn handshake_replies_are_smaller_than_what_they_answer() {
    let mut world = World::with_server(LinkConfig::PERFECT, 51, |c| c.max_clients = 1);
    let now = world.now;
    let from = client_addr(0);
    let mut client = RudpClient::new(now, &world.token(1), RudpConfig::default()).unwrap();
    let mut batch = Transmits::new();
    let exchange = |world: &mut World, client: &mut RudpClient, batch: &mut Transmits| {
        client.flush(now);
        client.take_transmits(batch);
        let (_, request) = batch.iter().next().expect("client sent");
        let mut request = request.to_vec();
        let request_len = request.len();
        world.server.handle_datagram(now, from, &mut request);
        let (_, mut reply) = world
            .take_server_datagrams()
            .into_iter()
            .next()
            .expect("server replied");
        client.handle_datagram(now, server_addr(), &mut reply);
        (request_len, reply.len())
    };

    let (request, challenge) = exchange(&mut world, &mut client, &mut batch);
    assert!(
        !world.server.no_pending_handshakes(),
        "a valid token opened a handshake"
    );
    assert_eq!(request, 1078, "connection request");
    assert!((325..=333).contains(&challenge), "challenge: {challenge}");
    let (response, keepalive) = exchange(&mut world, &mut client, &mut batch);
    assert!(
        (325..=333).contains(&response),
        "challenge response: {response}"
    );
    assert!((25..=33).contains(&keepalive), "keepalive: {keepalive}");
    assert!(client.is_connected());
    assert!(world.server.no_pending_handshakes());

    // The server is now full: a second client's request is denied with a
    // 17 to 25-byte packet.
    let mut second = RudpClient::new(now, &world.token(2), RudpConfig::default()).unwrap();
    second.flush(now);
    second.take_transmits(&mut batch);
    let mut request = batch.iter().next().unwrap().1.to_vec();
    world
        .server
        .handle_datagram(now, client_addr(1), &mut request);
    let denied = world.take_server_datagrams()[0].1.len();
    assert!((17..=25).contains(&denied), "denied: {denied}");
}

#[test]
fn replayed_datagrams_are_ignored() {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), 52);
    world.captured_up = Some(Vec::new());
    world.add_client(1);
    world.connect_all();
    for i in 0..20u8 {
        for channel in Channel::ALL {
            world.nodes[0]
                .client
                .send(channel, Bytes::from(vec![i; 100]))
                .unwrap();
        }
        world.step();
    }
    world.run_for(Duration::from_millis(100));
    let events_before = world.server_events.len();
    let captured = world.captured_up.take().unwrap();
    assert!(captured.len() > 20);

    // Replay every datagram the client ever sent, from its own address and
    // from an attacker's.
    let now = world.now;
    let attacker = SocketAddr::from(([203, 0, 113, 9], 5555));
    for datagram in &captured {
        for from in [datagram.from, attacker] {
            world
                .server
                .handle_datagram(now, from, &mut datagram.payload.clone());
        }
    }
    world.server.handle_timeout(now);
    assert!(
        world.take_server_datagrams().is_empty(),
        "no reply to any replay"
    );
    assert!(
        world.server.poll_event().is_none(),
        "no duplicate message, no second connection"
    );
    assert!(
        world.server.no_pending_handshakes(),
        "the replayed request created nothing"
    );
    assert_eq!(world.server_events.len(), events_before);

    // The real connection carries on.
    world.nodes[0]
        .client
        .send(Channel::ReliableOrdered, Bytes::from_static(b"still here"))
        .unwrap();
    world.run_for(Duration::from_millis(50));
    assert_eq!(
        world.server_messages(1, Channel::ReliableOrdered).last(),
        Some(&Bytes::from_static(b"still here"))
    );
}

/// Headers that panic renetcode 2.0.0 when they reach a decryption with a
/// key: 15 sequence bytes; 8 sequence bytes and too little left for the tag.
fn killer_headers() -> [Vec<u8>; 2] {
    [vec![0xF5; 40], vec![0x85; 24]]
}

#[test]
fn headers_that_crash_renetcode_are_filtered_out() {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), 53);
    world.add_client(1);
    world.connect_all();
    let now = world.now;
    for mut datagram in killer_headers() {
        world
            .server
            .handle_datagram(now, client_addr(0), &mut datagram.clone());
        world.nodes[0]
            .client
            .handle_datagram(now, server_addr(), &mut datagram);
    }
    assert_eq!(world.server.stats().datagrams_filtered, 2);
    assert_eq!(world.nodes[0].client.stats().datagrams_filtered, 2);
    world.run_for(Duration::from_millis(100));
    assert!(world.server.is_connected(1) && world.nodes[0].client.is_connected());
}

/// renetcode's own server, without Kairos's filter, on the world's key.
fn bare_server(world: &World) -> renetcode::NetcodeServer {
    renetcode::NetcodeServer::new(renetcode::ServerConfig {
        current_time: T0,
        max_clients: 4,
        protocol_id: super::harness::PROTOCOL_ID,
        public_addresses: vec![server_addr()],
        authentication: renetcode::ServerAuthentication::Secure {
            private_key: *world.key.as_bytes(),
        },
    })
}

/// A connect token for user 1, for renetcode's own client.
fn bare_authentication(world: &World) -> renetcode::ClientAuthentication {
    let token = renetcode::ConnectToken::read(&mut &world.token(1)[..]).unwrap();
    renetcode::ClientAuthentication::Secure {
        connect_token: token,
    }
}

/// A payload packet from a connected client's address whose sequence is
/// near `u64::MAX`: renetcode's replay check adds 256 to it before it
/// decrypts anything (found by the `rudp_datagram` fuzz target).
fn overflowing_sequence() -> Vec<u8> {
    let mut packet = vec![0x85];
    packet.extend_from_slice(&(u64::MAX - 1).to_le_bytes());
    packet.extend_from_slice(&[0xAB; 40]);
    packet
}

#[test]
fn sequences_that_overflow_renetcode_are_filtered_out() {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), 55);
    world.add_client(1);
    world.connect_all();
    let now = world.now;
    world
        .server
        .handle_datagram(now, client_addr(0), &mut overflowing_sequence());
    world.nodes[0]
        .client
        .handle_datagram(now, server_addr(), &mut overflowing_sequence());
    assert_eq!(world.server.stats().datagrams_filtered, 1);
    assert_eq!(world.nodes[0].client.stats().datagrams_filtered, 1);
    world.run_for(Duration::from_millis(100));
    assert!(world.server.is_connected(1) && world.nodes[0].client.is_connected());
}

#[test]
fn renetcode_alone_overflows_on_that_sequence() {
    // Why the rule exists (where overflow is checked, as in this debug
    // test build). If this test fails, renetcode fixed the bug.
    let world = World::new(LinkConfig::PERFECT, 56);
    let authentication = bare_authentication(&world);
    let mut server = bare_server(&world);
    let mut client = renetcode::NetcodeClient::new(T0, authentication).unwrap();
    let from = client_addr(0);
    // The handshake: request, challenge, response, keep-alive.
    let step = Duration::from_millis(10);
    for _ in 0..50 {
        if let Some((packet, _)) = client.update(step) {
            let mut packet = packet.to_vec();
            if let renetcode::ServerResult::PacketToSend { payload, .. }
            | renetcode::ServerResult::ClientConnected { payload, .. } =
                server.process_packet(from, &mut packet)
            {
                let mut reply = payload.to_vec();
                let _ = client.process_packet(&mut reply);
            }
        }
        server.update(step);
        if client.is_connected() {
            break;
        }
    }
    assert!(client.is_connected(), "handshake");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _ = server.process_packet(from, &mut overflowing_sequence());
    }));
    assert!(outcome.is_err(), "renetcode survived the sequence");
}

#[test]
fn renetcode_alone_panics_on_those_headers() {
    // Why the filter exists. If this test fails, renetcode fixed the bug.
    let world = World::new(LinkConfig::PERFECT, 54);
    let authentication = bare_authentication(&world);
    for datagram in killer_headers() {
        let mut client = renetcode::NetcodeClient::new(T0, authentication.clone()).unwrap();
        let mut datagram = datagram;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            client.process_packet(&mut datagram).map(<[u8]>::len)
        }));
        assert!(
            outcome.is_err(),
            "renetcode client survived {:x?}",
            &datagram[..2]
        );
    }

    // A server panics the same way for an address with a pending handshake.
    let mut server = bare_server(&world);
    let mut client = renetcode::NetcodeClient::new(T0, authentication).unwrap();
    let (request, _) = client.update(Duration::ZERO).unwrap();
    let from = client_addr(0);
    assert!(matches!(
        server.process_packet(from, request),
        renetcode::ServerResult::PacketToSend { .. }
    ));
    let mut datagram = vec![0xF5; 40];
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _ = server.process_packet(from, &mut datagram);
    }));
    assert!(outcome.is_err());
}

/// A renet reliable-slice packet (one-byte varints) with a full 1200-byte
/// slice, so that renet's slice-size checks pass.
fn reliable_slice(message_id: u8, index: u8, count: u8) -> Vec<u8> {
    let mut packet = vec![
        2,
        0,
        Channel::ReliableOrdered.renet_id(),
        message_id,
        index,
        count,
        0x44,
        0xB0,
    ];
    packet.resize(packet.len() + 1200, 0xAB);
    packet
}

#[test]
fn renet_alone_panics_on_inconsistent_slices() {
    // Why the payload guard exists. If this test fails, renet fixed the bug.
    let config = connection_config(&RudpConfig::default());
    let mut renet = renet::RenetClient::new(config.clone());
    renet.set_connected();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        renet.process_packet(&reliable_slice(0, 5, 2))
    }));
    assert!(outcome.is_err(), "index beyond count");

    let mut renet = renet::RenetClient::new(config);
    renet.set_connected();
    renet.process_packet(&reliable_slice(0, 0, 2));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        renet.process_packet(&reliable_slice(0, 4, 5))
    }));
    assert!(outcome.is_err(), "count changed between slices");
}

#[test]
fn a_modified_client_that_breaks_renet_rules_is_disconnected() {
    // Each client plays one kind of cheat: it seals a crafted renet packet
    // with its own connection keys, which every player has.
    // A bundle of packets is checked packet by packet.
    let bundled = |packets: &[Vec<u8>]| {
        let mut out = vec![crate::rudp::bundle::BUNDLE];
        for p in packets {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p);
        }
        out
    };
    let truncated_bundle = vec![crate::rudp::bundle::BUNDLE, 0, 9, 1];
    let hidden_slice = bundled(&[vec![4, 0, 0, 0], reliable_slice(0, 5, 2)]);
    // Lane packets (`rudp::lane`) are checked whole: a good message before
    // a bad one is not delivered either.
    let lane = crate::rudp::lane::LANE;
    let lane_reliable = vec![lane, Channel::ReliableOrdered.renet_id(), 0, 1, 9];
    let lane_truncated = vec![lane, Channel::Unreliable.renet_id(), 0, 9, 1];
    let lane_unprefixed = vec![
        lane,
        Channel::UnreliableSequenced.renet_id(),
        0,
        4,
        0,
        0,
        0,
        1,
        0,
        2,
        0xAA,
        0xBB,
    ];
    let lane_in_bundle = bundled(&[vec![4, 0, 0, 0], lane_truncated.clone()]);
    let cheats: [(&[Vec<u8>], Violation); 12] = [
        (
            std::slice::from_ref(&lane_reliable),
            Violation::UnknownChannel,
        ),
        (std::slice::from_ref(&lane_truncated), Violation::Malformed),
        (
            std::slice::from_ref(&lane_unprefixed),
            Violation::MissingSequence,
        ),
        (std::slice::from_ref(&lane_in_bundle), Violation::Malformed),
        (
            std::slice::from_ref(&truncated_bundle),
            Violation::Malformed,
        ),
        (std::slice::from_ref(&hidden_slice), Violation::InvalidSlice),
        (&[reliable_slice(0, 5, 2)], Violation::InvalidSlice),
        (
            &[reliable_slice(0, 0, 2), reliable_slice(0, 4, 5)],
            Violation::InvalidSlice,
        ),
        (
            &[vec![3, 0, Channel::Unreliable.renet_id(), 0, 0, 2, 1, 0]],
            Violation::UnexpectedSlice,
        ),
        (&[vec![9, 9, 9]], Violation::Malformed),
        (&[vec![0, 0, 7, 0, 0]], Violation::UnknownChannel),
        (
            &[vec![
                1,
                0,
                Channel::UnreliableSequenced.renet_id(),
                0,
                1,
                2,
                0xAA,
                0xBB,
            ]],
            Violation::MissingSequence,
        ),
    ];
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), 55);
    for id in 0..cheats.len() as u64 {
        world.add_client(id);
    }
    world.connect_all();

    let now = world.now;
    for (index, (packets, _)) in cheats.iter().enumerate() {
        for packet in packets.iter() {
            let mut datagram = world.nodes[index].client.seal_raw_payload(packet).unwrap();
            world
                .server
                .handle_datagram(now, client_addr(index), &mut datagram);
        }
    }
    world.collect();
    let expected: Vec<_> = cheats
        .iter()
        .enumerate()
        .map(|(id, (_, violation))| (id as u64, DisconnectReason::Protocol(*violation)))
        .collect();
    assert_eq!(world.server_disconnects(), expected);
    assert!(
        !world
            .server_events
            .iter()
            .any(|e| matches!(e, ServerEvent::Message { .. })),
        "nothing from a cheat reached the application"
    );

    world.run_for(Duration::from_millis(20));
    for node in &world.nodes {
        assert_eq!(
            node.client.state(),
            ClientState::Disconnected(DisconnectReason::Peer)
        );
    }
}

#[test]
fn clients_ignore_datagrams_from_other_addresses() {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), 56);
    world.add_client(1);
    world.connect_all();
    // Replay the server's own traffic from a spoofed source: dropped unread.
    world
        .server
        .send(1, Channel::ReliableOrdered, Bytes::from_static(b"x"))
        .unwrap();
    world.server.handle_timeout(world.now);
    let batch = world.take_server_datagrams();
    let spoofer = SocketAddr::from(([198, 51, 100, 1], 7350));
    let now = world.now;
    for (_, bytes) in &batch {
        world.nodes[0]
            .client
            .handle_datagram(now, spoofer, &mut bytes.to_vec());
    }
    assert_eq!(
        world.nodes[0].client.stats().datagrams_filtered,
        batch.len() as u64
    );
    world.collect();
    assert!(world.nodes[0].messages(Channel::ReliableOrdered).is_empty());
}

#[test]
fn spoofed_connection_requests_do_not_keep_a_dead_client_alive() {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), 57);
    world.add_client(1);
    world.connect_all();
    world.nodes[0].muted = true;
    // An attacker who knows the client's address keeps sending it
    // request-shaped noise, which renetcode reads without any key.
    let mut rng = SplitMix64::new(57);
    for _ in 0..500 {
        let mut noise = garbage(&mut rng, 2);
        let now = world.now;
        world
            .server
            .handle_datagram(now, client_addr(0), &mut noise);
        world.run_for(Duration::from_millis(10));
        if !world.server.is_connected(1) {
            break;
        }
    }
    assert_eq!(
        world.server_disconnects(),
        [(1, DisconnectReason::TimedOut)]
    );
}
