//! The QUIC handshake, the token frame, and the application's decision.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{Decide, World};
use crate::quic::{
    ClientEvent, ClientState, ClientTls, CloseReason, QuicClient, QuicConfig, RetryPolicy,
    SendError, ServerEvent, ServerTls, codes,
};
use crate::sim::LinkConfig;

const MS: Duration = Duration::from_millis(1);

#[test]
fn accepted_token_connects_both_ends() {
    let mut world = World::new(LinkConfig::with_delay(10 * MS), 1);
    world.decide = Decide::Hold;
    let client = world.add_client("good-token-1");
    assert_eq!(world.nodes[client].client.state(), &ClientState::Connecting);
    assert_eq!(
        world.nodes[client]
            .client
            .send(true, Bytes::from_static(b"x")),
        Err(SendError::NotConnected)
    );

    assert!(world.run_until(Duration::from_secs(2), |w| {
        w.conn_of("good-token-1").is_some()
    }));
    let (shard, conn) = world.conn_of("good-token-1").unwrap();
    let ServerEvent::Connected { addr, .. } = &world.server_events[shard][0] else {
        panic!("{:?}", world.server_events);
    };
    assert_eq!(*addr, world.nodes[client].addr);
    // Handshake (1 RTT) plus the token frame (half an RTT): about 30 ms.
    assert!(
        world.now - world.t0 <= 60 * MS,
        "{:?}",
        world.now - world.t0
    );

    // Nothing flows before the decision, and the client is not told yet.
    assert!(!world.servers[0].is_accepted(conn));
    assert_eq!(
        world.servers[0].send(conn, true, Bytes::from_static(b"early")),
        Err(SendError::NotConnected)
    );
    world.run_for(200 * MS);
    assert!(!world.nodes[client].client.is_connected());

    assert!(world.servers[0].accept(world.now, conn));
    assert!(!world.servers[0].accept(world.now, conn), "once");
    world.connect_all();
    assert_eq!(world.nodes[client].events, [ClientEvent::Connected]);
    assert!(world.servers[0].is_accepted(conn));

    world.nodes[client]
        .client
        .send(true, Bytes::from_static(b"hello server"))
        .unwrap();
    world.servers[0]
        .send(conn, true, Bytes::from_static(b"hello client"))
        .unwrap();
    world.run_for(50 * MS);
    assert_eq!(
        world.server_messages(0, conn, true),
        [Bytes::from_static(b"hello server")]
    );
    assert_eq!(
        world.nodes[client].messages(true),
        [Bytes::from_static(b"hello client")]
    );
}

#[test]
fn rejected_token_closes_with_the_servers_code() {
    let mut world = World::new(LinkConfig::with_delay(10 * MS), 2);
    let client = world.add_client("forged");
    assert!(world.run_until(Duration::from_secs(2), |w| {
        w.nodes[client].closed().is_some()
    }));
    assert_eq!(
        world.nodes[client].closed(),
        Some(&CloseReason::Peer {
            code: u64::from(codes::UNAUTHORIZED),
            reason: "bad token".to_string()
        })
    );
    assert!(!world.nodes[client].events.contains(&ClientEvent::Connected));
    let (_, conn) = world.conn_of("forged").unwrap();
    assert_eq!(world.server_closes(), [(conn, CloseReason::Local)]);
    // Both ends drain and forget the connection.
    world.run_for(Duration::from_secs(2));
    assert!(world.nodes[client].client.is_drained());
    assert_eq!(world.servers[0].connections(), 0);
    assert!(
        !world.servers[0].reject(world.now, conn, 1, "again"),
        "stale id"
    );
}

#[test]
fn retry_policy_always_costs_one_round_trip() {
    let run = |retry| {
        let mut world = World::build(1, LinkConfig::with_delay(10 * MS), 3, |c| c.retry = retry);
        world.add_client("good-1");
        world.connect_all();
        (world.now - world.t0, world.servers[0].stats())
    };
    let (direct, stats) = run(RetryPolicy::Never);
    assert_eq!(stats.retries_sent, 0);
    let (retried, stats) = run(RetryPolicy::Always);
    assert_eq!(stats.retries_sent, 1);
    assert_eq!(stats.handshakes_started, 1);
    assert_eq!(retried - direct, 20 * MS, "one 20 ms round trip more");
}

#[test]
fn retry_under_load_kicks_in_past_the_threshold() {
    let mut world = World::build(1, LinkConfig::with_delay(10 * MS), 4, |c| {
        c.retry = RetryPolicy::WhenHandshakesExceed(2);
    });
    for i in 0..5 {
        world.add_client(&format!("good-{i}"));
    }
    world.connect_all();
    let stats = world.servers[0].stats();
    assert_eq!(stats.retries_sent, 3, "{stats:?}");
    assert_eq!(stats.handshakes_started, 5);
}

#[test]
fn untrusted_certificate_fails_and_skipping_verification_connects() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 5);
    let (_, other_cert) = ServerTls::self_signed(&["localhost".to_string()]).unwrap();
    world.client_tls = ClientTls::trusting_pem(other_cert.as_bytes()).unwrap();
    let wrong = world.add_client("good-wrong-cert");
    // The right certificate, but for another name.
    world.client_tls = ClientTls::trusting_pem(world.cert_pem.as_bytes()).unwrap();
    let now = world.now;
    let client = QuicClient::connect(
        now,
        super::harness::server_addr(),
        "other.example",
        "good-wrong-name",
        &world.client_tls,
        QuicConfig::default(),
    )
    .unwrap();
    let addr = super::harness::client_addr(1, 40_001);
    let wrong_name = world.add_node(addr, client);
    world.client_tls = ClientTls::dangerously_skip_verification();
    let skipping = world.add_client("good-skip");
    world.run_for(Duration::from_secs(1));

    for node in [wrong, wrong_name] {
        assert!(
            matches!(world.nodes[node].closed(), Some(CloseReason::Transport(_))),
            "{:?}",
            world.nodes[node].events
        );
    }
    assert!(world.nodes[skipping].client.is_connected());
    assert!(world.conn_of("good-wrong-cert").is_none());
    assert!(world.conn_of("good-wrong-name").is_none());
    assert!(world.conn_of("good-skip").is_some());
}

#[test]
fn certificates_can_name_ip_addresses() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 6);
    let now = world.now;
    let connect = |name: &str, token: &str| {
        QuicClient::connect(
            now,
            super::harness::server_addr(),
            name,
            token,
            &world.client_tls,
            QuicConfig::default(),
        )
        .unwrap()
    };
    let by_ip = connect("127.0.0.1", "good-ip");
    let wrong_ip = connect("127.0.0.2", "good-wrong-ip");
    world.add_node(super::harness::client_addr(0, 40_000), by_ip);
    world.add_node(super::harness::client_addr(1, 40_001), wrong_ip);
    world.run_for(Duration::from_millis(500));
    assert!(world.nodes[0].client.is_connected());
    assert!(matches!(
        world.nodes[1].closed(),
        Some(CloseReason::Transport(_))
    ));
}

#[test]
fn another_alpn_protocol_is_refused_in_the_handshake() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 7);
    world.client_tls = ClientTls::with_alpn_for_tests(b"h3");
    let client = world.add_client("good-h3");
    world.run_for(Duration::from_millis(500));
    let reason = world.nodes[client].closed().cloned();
    assert!(
        matches!(&reason, Some(CloseReason::Transport(e)) if e.contains("120")),
        "no_application_protocol alert (120): {reason:?}"
    );
    assert!(world.conn_of("good-h3").is_none());
    assert_eq!(world.servers[0].stats().ended_unannounced, 1);
}

#[test]
fn connect_refuses_unusable_arguments() {
    let tls = ClientTls::dangerously_skip_verification();
    let t = std::time::Instant::now();
    let addr = super::harness::server_addr();
    let connect = |name: &str, token: &str, config: QuicConfig| {
        QuicClient::connect(t, addr, name, token, &tls, config).map(|_| ())
    };
    use crate::quic::ClientError;
    assert_eq!(
        connect("localhost", "", QuicConfig::default()),
        Err(ClientError::Token)
    );
    let long = "x".repeat(QuicConfig::default().max_token_bytes + 1);
    assert_eq!(
        connect("localhost", &long, QuicConfig::default()),
        Err(ClientError::Token)
    );
    assert!(matches!(
        connect("not a name!", "t", QuicConfig::default()),
        Err(ClientError::Connect(_))
    ));
    let bad = QuicConfig {
        max_frame_bytes: 0,
        ..QuicConfig::default()
    };
    assert!(matches!(
        connect("localhost", "t", bad),
        Err(ClientError::Config(_))
    ));
    let zero_port = std::net::SocketAddr::from(([10, 0, 0, 1], 0));
    assert!(matches!(
        QuicClient::connect(t, zero_port, "localhost", "t", &tls, QuicConfig::default()),
        Err(ClientError::Connect(_))
    ));
}
