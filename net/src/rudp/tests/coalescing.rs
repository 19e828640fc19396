//! Several messages, channels and acknowledgements in one datagram
//! (`rudp::bundle`), unreliable ones packed to fill it (`rudp::lane`), in
//! both directions, within the datagram budget, and still reliable and
//! ordered under loss.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{World, numbered, server_addr};
use crate::rudp::{Channel, ClientEvent, DatagramServer, MAX_BUNDLE_BYTES, ServerEvent, Transmits};
use crate::sim::LinkConfig;

/// renetcode's payload packet around a payload: a 9-byte header at most
/// (prefix byte and sequence number) and a 16-byte tag.
const NETCODE_OVERHEAD: usize = 25;

fn connected(link: LinkConfig, clients: u64, seed: u64) -> World {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(5)), seed);
    for id in 0..clients {
        world.add_client(id);
    }
    world.connect_all();
    world.run_for(Duration::from_millis(100));
    world.up.set_config(link);
    world.down.set_config(link);
    world
}

/// `count` small messages on each of the reliable and sequenced channels.
fn burst(prefix: &str, count: usize) -> Vec<(Channel, Bytes)> {
    let reliable = numbered(&format!("{prefix}r"), count, 0, 0);
    let sequenced = numbered(&format!("{prefix}s"), count, 0, 0);
    reliable
        .into_iter()
        .map(|m| (Channel::ReliableOrdered, m))
        .chain(
            sequenced
                .into_iter()
                .map(|m| (Channel::UnreliableSequenced, m)),
        )
        .collect()
}

fn on(channel: Channel, messages: &[(Channel, Bytes)]) -> Vec<Bytes> {
    messages
        .iter()
        .filter(|(c, _)| *c == channel)
        .map(|(_, m)| m.clone())
        .collect()
}

#[test]
fn one_flush_is_one_datagram_in_both_directions() {
    let mut world = connected(LinkConfig::with_delay(Duration::from_millis(5)), 1, 50);
    let now = world.now;
    let from = world.nodes[0].addr;

    // Client to server: two channels' packets and the acknowledgement of
    // what the server sent during the handshake, in one datagram.
    let up = burst("up", 20);
    let client = &mut world.nodes[0].client;
    for (channel, message) in &up {
        client.send(*channel, message.clone()).unwrap();
    }
    client.flush(now);
    let mut batch = Transmits::new();
    client.take_transmits(&mut batch);
    assert_eq!(batch.len(), 1, "40 messages on two channels, one datagram");
    for (_, bytes) in batch.iter() {
        world.server.handle_datagram(now, from, &mut bytes.to_vec());
    }
    while let Some(event) = world.server.poll_event() {
        world.server_events.push(event);
    }
    for channel in [Channel::ReliableOrdered, Channel::UnreliableSequenced] {
        assert_eq!(world.server_messages(0, channel), on(channel, &up));
    }

    // Server to client: the same, plus the acknowledgement of what it just
    // received.
    let down = burst("down", 20);
    for (channel, message) in &down {
        world.server.send(0, *channel, message.clone()).unwrap();
    }
    world.server.handle_timeout(now);
    let datagrams = world.take_server_datagrams();
    assert_eq!(datagrams.len(), 1, "40 messages and an ack, one datagram");
    let node = &mut world.nodes[0];
    for (_, mut bytes) in datagrams {
        node.client.handle_datagram(now, server_addr(), &mut bytes);
    }
    while let Some(event) = node.client.poll_event() {
        node.events.push(event);
    }
    for channel in [Channel::ReliableOrdered, Channel::UnreliableSequenced] {
        assert_eq!(node.messages(channel), on(channel, &down));
    }
    assert!(
        world.server_disconnects().is_empty() && world.nodes[0].client.is_connected(),
        "bundles are not violations"
    );
}

#[test]
fn unreliable_messages_fill_the_datagram_past_renets_packet() {
    // A relayed match_data of a typical match is 305 bytes: renet's
    // 1,200-byte packets held three, the lane holds four a datagram.
    let mut world = connected(LinkConfig::with_delay(Duration::from_millis(5)), 1, 51);
    let now = world.now;
    let sent: Vec<Bytes> = (0..12u8).map(|i| Bytes::from(vec![i; 305])).collect();
    for message in &sent {
        world
            .server
            .send(0, Channel::UnreliableSequenced, message.clone())
            .unwrap();
    }
    world.server.handle_timeout(now);
    let datagrams = world.take_server_datagrams();
    assert_eq!(datagrams.len(), 3, "12 messages of 305 bytes, 4 a datagram");
    assert!(
        datagrams
            .iter()
            .all(|(_, d)| d.len() <= MAX_BUNDLE_BYTES + NETCODE_OVERHEAD)
    );
    let node = &mut world.nodes[0];
    for (_, mut bytes) in datagrams {
        node.client.handle_datagram(now, server_addr(), &mut bytes);
    }
    while let Some(event) = node.client.poll_event() {
        node.events.push(event);
    }
    assert_eq!(node.messages(Channel::UnreliableSequenced), sent);
}

#[test]
fn no_datagram_exceeds_the_budget_however_full_the_flush() {
    let mut world = connected(LinkConfig::with_delay(Duration::from_millis(5)), 2, 51);
    // Sizes from 1 byte to a full unreliable message, on every channel, in
    // both directions, many per flush.
    let sizes = [1, 17, 64, 300, 599, 650, 1100, 1196, 700, 2];
    for round in 0..30 {
        for (i, &len) in sizes.iter().enumerate() {
            let channel = Channel::ALL[(round + i) % 3];
            let message = Bytes::from(vec![b'x'; len]);
            for id in 0..2 {
                world.server.send(id, channel, message.clone()).unwrap();
            }
            for node in &mut world.nodes {
                node.client.send(channel, message.clone()).unwrap();
            }
        }
        world.step();
    }
    world.run_for(Duration::from_secs(1));
    assert!(world.longest_datagram <= MAX_BUNDLE_BYTES + NETCODE_OVERHEAD);
    assert!(
        world.longest_datagram > 1200,
        "flushes were full: {}",
        world.longest_datagram
    );
    let received = world
        .server_events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Message { .. }))
        .count()
        + world
            .nodes
            .iter()
            .map(|n| {
                n.events
                    .iter()
                    .filter(|e| matches!(e, ClientEvent::Message { .. }))
                    .count()
            })
            .sum::<usize>();
    // 30 rounds of 10 messages, from the server to each of 2 clients and
    // from each client; a perfect link loses none.
    assert_eq!(received, 30 * 10 * 4);
    assert!(world.server_disconnects().is_empty());
}

#[test]
fn bundles_stay_reliable_and_ordered_under_loss() {
    let link = LinkConfig {
        delay: Duration::from_millis(15),
        jitter: Duration::from_millis(20),
        loss: 0.15,
        duplicate: 0.1,
        reorder: 0.1,
        reorder_delay: Duration::from_millis(50),
    };
    let mut world = connected(link, 3, 52);
    let before = world.server.stats().datagrams_queued;
    // Five messages per channel per step from every end: each flush
    // bundles the two channels' packets and the acknowledgements.
    let messages = burst("m", 400);
    let (reliable, sequenced) = (
        on(Channel::ReliableOrdered, &messages),
        on(Channel::UnreliableSequenced, &messages),
    );
    for step in 0..80 {
        for i in step * 5..step * 5 + 5 {
            for id in 0..3 {
                world
                    .server
                    .send(id, Channel::ReliableOrdered, reliable[i].clone())
                    .unwrap();
                world
                    .server
                    .send(id, Channel::UnreliableSequenced, sequenced[i].clone())
                    .unwrap();
            }
            for node in &mut world.nodes {
                node.client
                    .send(Channel::ReliableOrdered, reliable[i].clone())
                    .unwrap();
                node.client
                    .send(Channel::UnreliableSequenced, sequenced[i].clone())
                    .unwrap();
            }
        }
        world.step();
    }
    world.run_for(Duration::from_secs(10));
    assert!(world.down.stats().lost > 20 && world.up.stats().lost > 20);
    let queued = world.server.stats().datagrams_queued - before;
    assert!(
        queued < 3 * 800 / 2,
        "the server's 2,400 messages went in {queued} datagrams"
    );
    // Sequenced: never an older message after a newer one (jitter and
    // reordering make the receiver drop many as stale, as it should).
    let in_order = |got: &[Bytes]| {
        got.windows(2).all(|w| w[0] < w[1]) && got.iter().all(|m| sequenced.contains(m))
    };
    for id in 0..3 {
        assert_eq!(
            world.server_messages(id, Channel::ReliableOrdered),
            reliable
        );
        let got = world.server_messages(id, Channel::UnreliableSequenced);
        assert!(in_order(&got) && got.len() > 50, "{} sequenced", got.len());
    }
    for node in &world.nodes {
        assert_eq!(node.messages(Channel::ReliableOrdered), reliable);
        let got = node.messages(Channel::UnreliableSequenced);
        assert!(in_order(&got) && got.len() > 50, "{} sequenced", got.len());
    }
    assert!(world.server_disconnects().is_empty());
    assert!(
        world
            .server_events
            .iter()
            .all(|e| !matches!(e, ServerEvent::Disconnected { .. }))
    );
}
