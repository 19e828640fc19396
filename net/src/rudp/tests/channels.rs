//! Traffic on every channel, size limits, datagram sizes and the flushing
//! policy.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{World, numbered};
use crate::datagram::DatagramServer;
use crate::rudp::{
    Channel, MAX_SEQUENCED_MESSAGE_BYTES, MAX_UNRELIABLE_MESSAGE_BYTES, RudpConfig, SendError,
    ServerEvent, Transmits,
};
use crate::sim::LinkConfig;

const DELAY: Duration = Duration::from_millis(5);

fn connected_pair(seed: u64) -> World {
    let mut world = World::new(LinkConfig::with_delay(DELAY), seed);
    world.add_client(1);
    world.connect_all();
    world
}

/// The client sends `messages` and flushes at `world.now`; its datagrams
/// go straight to the server. Returns how many there were.
fn client_flush_to_server(world: &mut World, messages: &[(Channel, &'static [u8])]) -> usize {
    let now = world.now;
    let client = &mut world.nodes[0].client;
    for &(channel, message) in messages {
        client.send(channel, Bytes::from_static(message)).unwrap();
    }
    client.flush(now);
    let mut batch = Transmits::new();
    client.take_transmits(&mut batch);
    let from = world.nodes[0].addr;
    for (_, bytes) in batch.iter() {
        world.server.handle_datagram(now, from, &mut bytes.to_vec());
    }
    batch.len()
}

#[test]
fn messages_flow_both_ways_on_every_channel() {
    let mut world = connected_pair(10);
    let mut sent = Vec::new();
    for channel in Channel::ALL {
        let up = numbered(&format!("up {channel:?} "), 20, 0, 0);
        let down = numbered(&format!("down {channel:?} "), 20, 0, 0);
        for (u, d) in up.iter().zip(&down) {
            world.nodes[0].client.send(channel, u.clone()).unwrap();
            world.server.send(1, channel, d.clone()).unwrap();
        }
        sent.push((channel, up, down));
    }
    world.run_for(Duration::from_millis(100));
    // A perfect link loses and reorders nothing, so every channel delivers
    // everything, in order.
    for (channel, up, down) in sent {
        assert_eq!(world.server_messages(1, channel), up, "{channel:?} up");
        assert_eq!(world.nodes[0].messages(channel), down, "{channel:?} down");
    }
}

#[test]
fn reliable_messages_up_to_the_limit_are_fragmented_and_reassembled() {
    let mut world = connected_pair(11);
    let max = RudpConfig::default().max_reliable_message_bytes;
    let big: Bytes = (0..max)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    world.nodes[0]
        .client
        .send(Channel::ReliableOrdered, big.clone())
        .unwrap();
    world
        .server
        .send(1, Channel::ReliableOrdered, big.clone())
        .unwrap();
    world.run_for(Duration::from_millis(200));
    assert_eq!(
        world.server_messages(1, Channel::ReliableOrdered),
        std::slice::from_ref(&big)
    );
    assert_eq!(world.nodes[0].messages(Channel::ReliableOrdered), [big]);

    let too_big = Bytes::from(vec![0u8; max + 1]);
    assert_eq!(
        world.server.send(1, Channel::ReliableOrdered, too_big),
        Err(SendError::MessageTooLarge { len: max + 1, max })
    );
}

#[test]
fn unreliable_messages_must_fit_one_packet() {
    let mut world = connected_pair(12);
    let unreliable = Bytes::from(vec![7u8; MAX_UNRELIABLE_MESSAGE_BYTES]);
    let sequenced = Bytes::from(vec![8u8; MAX_SEQUENCED_MESSAGE_BYTES]);
    world.nodes[0]
        .client
        .send(Channel::Unreliable, unreliable.clone())
        .unwrap();
    world.nodes[0]
        .client
        .send(Channel::UnreliableSequenced, sequenced.clone())
        .unwrap();
    world
        .server
        .send(1, Channel::Unreliable, unreliable.clone())
        .unwrap();
    world.run_for(Duration::from_millis(50));
    // Had renet sliced them, the receiver's guard would have disconnected
    // the sender with `Violation::UnexpectedSlice`.
    assert_eq!(
        world.server_messages(1, Channel::Unreliable),
        std::slice::from_ref(&unreliable)
    );
    assert_eq!(
        world.server_messages(1, Channel::UnreliableSequenced),
        [sequenced]
    );
    assert_eq!(world.nodes[0].messages(Channel::Unreliable), [unreliable]);
    assert!(world.server_disconnects().is_empty());

    let client = &mut world.nodes[0].client;
    let over = |n: usize| Bytes::from(vec![0u8; n + 1]);
    assert_eq!(
        client.send(Channel::Unreliable, over(MAX_UNRELIABLE_MESSAGE_BYTES)),
        Err(SendError::MessageTooLarge {
            len: 1201,
            max: 1200
        })
    );
    assert_eq!(
        client.send(
            Channel::UnreliableSequenced,
            over(MAX_SEQUENCED_MESSAGE_BYTES)
        ),
        Err(SendError::MessageTooLarge {
            len: 1197,
            max: 1196
        })
    );
}

#[test]
fn datagrams_stay_below_the_ethernet_mtu() {
    let mut world = connected_pair(13);
    let config = RudpConfig::default();
    for i in 0..200usize {
        let len = (i * 37) % 1500;
        let channel = Channel::ALL[i % 3];
        let len = len.min(channel.max_message_bytes(&config));
        let message = Bytes::from(vec![i as u8; len]);
        world.nodes[0]
            .client
            .send(channel, message.clone())
            .unwrap();
        world.server.send(1, channel, message).unwrap();
        world.step();
    }
    world.run_for(Duration::from_millis(200));
    // At most 1325 bytes of UDP payload: 1373 bytes of IPv6 packet.
    assert!(world.longest_datagram <= 1325, "{}", world.longest_datagram);
    assert!(world.longest_datagram > 1200, "the test did fill packets");
}

#[test]
fn flush_only_sends_for_connections_with_new_messages() {
    let mut world = connected_pair(14);
    world.run_for(Duration::from_millis(100));

    // The client sends a message; hand its datagram to the server directly.
    let now = world.now;
    let sent = client_flush_to_server(&mut world, &[(Channel::ReliableOrdered, b"hello")]);
    assert_eq!(sent, 1);
    assert!(matches!(
        world.server.poll_event(),
        Some(ServerEvent::Message { .. })
    ));

    // Flushing sends nothing: the acknowledgement waits for the tick...
    world.server.handle_timeout(now);
    assert!(
        world.take_server_datagrams().is_empty(),
        "no ack-only datagram from a flush"
    );
    let _ = world.tick_server();
    assert_eq!(
        world.take_server_datagrams().len(),
        1,
        "the acknowledgement"
    );

    // ...unless a queued message goes out first and takes it along.
    client_flush_to_server(&mut world, &[(Channel::ReliableOrdered, b"again")]);
    world
        .server
        .send(1, Channel::Unreliable, Bytes::from_static(b"hi"))
        .unwrap();
    world.server.handle_timeout(now);
    assert_eq!(
        world.take_server_datagrams().len(),
        1,
        "the message, and the acknowledgement with it, in one bundle"
    );
    let _ = world.tick_server();
    assert!(
        world.take_server_datagrams().is_empty(),
        "nothing left for the tick"
    );
}

#[test]
fn unreliable_messages_need_no_acknowledgement() {
    let mut world = connected_pair(16);
    world.run_for(Duration::from_millis(100));
    let now = world.now;
    let sent = client_flush_to_server(
        &mut world,
        &[
            (Channel::Unreliable, b"hello"),
            (Channel::UnreliableSequenced, b"hello"),
        ],
    );
    assert_eq!(sent, 1, "both in one datagram");
    for _ in 0..2 {
        assert!(matches!(
            world.server.poll_event(),
            Some(ServerEvent::Message { .. })
        ));
    }
    // They travel on the lane, outside renet: nothing to acknowledge.
    world.server.handle_timeout(now);
    let _ = world.tick_server();
    assert!(world.take_server_datagrams().is_empty());
}

#[test]
fn idle_connections_cost_only_keepalives() {
    let mut world = connected_pair(15);
    let idle_for_10s = |world: &mut World| {
        let (up, down) = (world.up.stats().sent, world.down.stats().sent);
        world.run_for(Duration::from_secs(10));
        (world.up.stats().sent - up, world.down.stats().sent - down)
    };
    assert_eq!(
        idle_for_10s(&mut world),
        (40, 40),
        "never used: one keepalive per 250 ms"
    );

    // After traffic, renet would keep acknowledging acknowledgements on
    // every tick (1000 datagrams per direction here); the tick only flushes
    // connections with real work, so the connection falls quiet again.
    for channel in Channel::ALL {
        world.nodes[0]
            .client
            .send(channel, Bytes::from_static(b"x"))
            .unwrap();
        world
            .server
            .send(1, channel, Bytes::from_static(b"y"))
            .unwrap();
    }
    world.run_for(Duration::from_secs(1));
    assert_eq!(idle_for_10s(&mut world), (40, 40), "after use");
    assert!(world.nodes[0].client.is_connected() && world.server.is_connected(1));
}

#[test]
fn a_full_reliable_channel_refuses_instead_of_disconnecting() {
    let mut world = connected_pair(16);
    // Nothing gets acknowledged: the sender's reliable buffer fills up.
    world.up.set_config(LinkConfig {
        loss: 1.0,
        ..LinkConfig::PERFECT
    });
    let chunk = Bytes::from(vec![1u8; 60_000]);
    let mut refused = None;
    for i in 0..100 {
        if let Err(e) = world
            .server
            .send(1, Channel::ReliableOrdered, chunk.clone())
        {
            refused = Some((i, e));
            break;
        }
        world.step();
    }
    // 1 MiB holds 17 messages of 60,000 bytes.
    assert_eq!(refused, Some((17, SendError::ChannelFull)));
    assert!(world.server.is_connected(1));
}

#[test]
fn a_client_burst_past_one_flush_is_refused_then_sent_whole() {
    let mut world = connected_pair(17);
    let message = Bytes::from(vec![5u8; 500]);
    let wire_len = 500 + 4; // With the sequence prefix.
    let budget = RudpConfig::default().bytes_per_flush as usize;
    let (mut sent, mut since_flush, mut flushes) = (0, 0, 0);
    // 300 messages: more than one flush carries.
    while sent < 300 {
        match world.nodes[0]
            .client
            .send(Channel::UnreliableSequenced, message.clone())
        {
            Ok(()) => (sent, since_flush) = (sent + 1, since_flush + 1),
            Err(SendError::ChannelFull) => {
                // Refused once the flush is full, not before.
                assert_eq!(since_flush, budget / wire_len);
                client_flush_to_server(&mut world, &[]);
                (since_flush, flushes) = (0, flushes + 1);
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    client_flush_to_server(&mut world, &[]);
    world.collect();
    assert_eq!(flushes, 300 / (budget / wire_len));
    let delivered = world.server_messages(1, Channel::UnreliableSequenced);
    assert_eq!(delivered.len(), 300, "nothing dropped at a flush");
    assert_eq!(world.nodes[0].client.stats().unreliable_over_budget, 0);
}
