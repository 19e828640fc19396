//! Connecting, and disconnecting from either side.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{T0, World, client_addr, user_data_for};
use crate::rudp::{Channel, ClientEvent, ClientState, DisconnectReason, SendError, ServerEvent};
use crate::sim::LinkConfig;

const DELAY: Duration = Duration::from_millis(5);

#[test]
fn handshake_connects_both_sides_and_delivers_user_data() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 1);
    world.add_client(42);
    world.connect_all();

    // Request, challenge, response, keepalive: two round trips, plus at most
    // a tick before the first request leaves.
    assert!(
        world.now - T0 <= Duration::from_millis(40),
        "took {:?}",
        world.now - T0
    );
    assert_eq!(
        world.server_events,
        [ServerEvent::Connected {
            client_id: 42,
            addr: client_addr(0),
            user_data: Box::new(user_data_for(42)),
        }]
    );
    assert_eq!(world.nodes[0].events, [ClientEvent::Connected]);
    assert_eq!(world.nodes[0].client.client_id(), 42);
    assert!(world.server.is_connected(42));
    assert_eq!(world.server.client_addr(42), Some(client_addr(0)));
    assert_eq!(world.server.client_ids().collect::<Vec<_>>(), [42]);

    // renet measures the round trip on acknowledged packets, so an idle
    // connection has none yet.
    assert_eq!(world.server.rtt(42), None);
    world.nodes[0]
        .client
        .send(Channel::ReliableOrdered, Bytes::from_static(b"ping"))
        .unwrap();
    world
        .server
        .send(42, Channel::ReliableOrdered, Bytes::from_static(b"pong"))
        .unwrap();
    world.run_for(Duration::from_millis(100));
    let rtt = world.server.rtt(42).expect("measured");
    assert!(
        rtt >= 2 * DELAY && rtt <= Duration::from_millis(40),
        "{rtt:?}"
    );
    assert!(world.nodes[0].client.rtt().is_some());
}

#[test]
fn many_clients_connect_and_each_gets_its_own_replies() {
    const CLIENTS: u64 = 64;
    let mut world = World::new(LinkConfig::with_delay(DELAY), 2);
    for id in 0..CLIENTS {
        world.add_client(1000 + id);
    }
    world.connect_all();
    assert_eq!(world.server.connected_clients(), CLIENTS as usize);

    for node in &mut world.nodes {
        let id = node.client.client_id();
        node.client
            .send(Channel::ReliableOrdered, Bytes::from(id.to_string()))
            .unwrap();
    }
    world.run_for(Duration::from_millis(50));
    for id in 1000..1000 + CLIENTS {
        let got = world.server_messages(id, Channel::ReliableOrdered);
        assert_eq!(got, [Bytes::from(id.to_string())]);
        world
            .server
            .send(
                id,
                Channel::ReliableOrdered,
                Bytes::from(format!("ack {id}")),
            )
            .unwrap();
    }
    world.run_for(Duration::from_millis(50));
    for node in &world.nodes {
        let id = node.client.client_id();
        assert_eq!(
            node.messages(Channel::ReliableOrdered),
            [Bytes::from(format!("ack {id}"))]
        );
    }
}

#[test]
fn client_disconnect_is_reported_on_both_sides() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 3);
    world.add_client(7);
    world.connect_all();

    world.nodes[0].client.disconnect();
    world.collect();
    assert_eq!(
        world.nodes[0].client.state(),
        ClientState::Disconnected(DisconnectReason::Local)
    );
    assert_eq!(
        world.nodes[0].events.last(),
        Some(&ClientEvent::Disconnected {
            reason: DisconnectReason::Local
        })
    );
    assert_eq!(
        world.nodes[0]
            .client
            .send(Channel::Unreliable, Bytes::new()),
        Err(SendError::NotConnected)
    );

    world.run_for(Duration::from_millis(20));
    assert_eq!(world.server_disconnects(), [(7, DisconnectReason::Peer)]);
    assert!(!world.server.is_connected(7));
    assert_eq!(
        world.server.send(7, Channel::Unreliable, Bytes::new()),
        Err(SendError::NotConnected)
    );
}

#[test]
fn server_disconnect_is_reported_on_both_sides() {
    let mut world = World::new(LinkConfig::with_delay(DELAY), 4);
    world.add_client(7);
    world.add_client(8);
    world.connect_all();

    assert!(world.server.disconnect(7));
    assert!(!world.server.disconnect(7), "already gone");
    world.collect();
    assert_eq!(world.server_disconnects(), [(7, DisconnectReason::Local)]);

    world.run_for(Duration::from_millis(20));
    assert_eq!(
        world.nodes[0].client.state(),
        ClientState::Disconnected(DisconnectReason::Peer)
    );
    assert_eq!(world.nodes[1].client.state(), ClientState::Connected);

    world.server.disconnect_all();
    world.run_for(Duration::from_millis(20));
    assert_eq!(
        world.nodes[1].client.state(),
        ClientState::Disconnected(DisconnectReason::Peer)
    );
    assert_eq!(world.server.connected_clients(), 0);
}

#[test]
fn disconnect_packet_is_repeated_against_loss() {
    // Over a link that loses half the datagrams, one disconnect packet would
    // reach the client half of the time; three copies reach it 87.5% of the
    // time. Clients that miss all three time out instead.
    let lossy = LinkConfig {
        loss: 0.5,
        ..LinkConfig::with_delay(DELAY)
    };
    let mut heard = 0;
    for seed in 0..32 {
        let mut world = World::new(LinkConfig::with_delay(DELAY), 100 + seed);
        world.add_client(9);
        world.connect_all();
        world.down.set_config(lossy);
        world.server.disconnect(9);
        world.run_for(Duration::from_millis(20));
        if world.nodes[0].client.state() == ClientState::Disconnected(DisconnectReason::Peer) {
            heard += 1;
        } else {
            world.run_for(Duration::from_secs(3));
            assert_eq!(
                world.nodes[0].client.state(),
                ClientState::Disconnected(DisconnectReason::TimedOut)
            );
        }
    }
    assert!(heard >= 24, "{heard} of 32 clients heard the disconnect");
}
