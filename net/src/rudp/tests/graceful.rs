//! Closing without losing reliable messages: `reliable_in_flight` counts
//! what the client has not acknowledged, and a server that waits for it to
//! reach zero before `disconnect` has delivered everything.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{World, numbered};
use crate::rudp::{Channel, ClientEvent, DisconnectReason};
use crate::sim::LinkConfig;

const MS: Duration = Duration::from_millis(1);
const CLIENT: u64 = 7;

fn lossy_link() -> LinkConfig {
    LinkConfig {
        delay: 15 * MS,
        jitter: 25 * MS,
        loss: 0.2,
        duplicate: 0.1,
        reorder: 0.1,
        reorder_delay: 60 * MS,
    }
}

/// One client, connected over a clean link that then turns into `link`.
fn connected(link: LinkConfig, seed: u64) -> World {
    let mut world = World::new(LinkConfig::with_delay(10 * MS), seed);
    world.add_client(CLIENT);
    world.connect_all();
    world.up.set_config(link);
    world.down.set_config(link);
    world
}

#[test]
fn reliable_in_flight_counts_unacknowledged_bytes_sent_or_not() {
    let mut world = connected(LinkConfig::with_delay(10 * MS), 60);
    assert_eq!(world.server.reliable_in_flight(CLIENT), Some(0));
    assert_eq!(world.server.reliable_in_flight(CLIENT + 1), None);

    // Queued, not flushed yet: counted. A fragmented message counts whole.
    for len in [10, 3000, 5] {
        world
            .server
            .send(
                CLIENT,
                Channel::ReliableOrdered,
                Bytes::from(vec![1u8; len]),
            )
            .unwrap();
    }
    assert_eq!(world.server.reliable_in_flight(CLIENT), Some(3015));
    // Unreliable messages are never waited for.
    world
        .server
        .send(CLIENT, Channel::Unreliable, Bytes::from_static(b"u"))
        .unwrap();
    world
        .server
        .send(
            CLIENT,
            Channel::UnreliableSequenced,
            Bytes::from_static(b"s"),
        )
        .unwrap();
    assert_eq!(world.server.reliable_in_flight(CLIENT), Some(3015));

    // Sent, but the acknowledgements need a round trip (20 ms) and the
    // client's tick.
    world.step();
    assert_eq!(world.nodes[0].messages(Channel::ReliableOrdered).len(), 0);
    assert_eq!(world.server.reliable_in_flight(CLIENT), Some(3015));
    assert!(world.run_until(Duration::from_secs(1), |w| {
        w.server.reliable_in_flight(CLIENT) == Some(0)
    }));
    assert_eq!(world.nodes[0].messages(Channel::ReliableOrdered).len(), 3);

    assert!(world.server.disconnect(CLIENT));
    assert_eq!(world.server.reliable_in_flight(CLIENT), None);
}

/// Sends `messages` on the reliable channel, ten per step; then, with
/// `wait`, steps until none is in flight (at most 10 s); then disconnects
/// and lets the link drain. Returns the reliable messages the client got
/// and how it was disconnected.
fn send_then_disconnect(
    messages: &[Bytes],
    wait: bool,
    seed: u64,
) -> (Vec<Bytes>, Option<DisconnectReason>) {
    let mut world = connected(lossy_link(), seed);
    for batch in messages.chunks(10) {
        for message in batch {
            world
                .server
                .send(CLIENT, Channel::ReliableOrdered, message.clone())
                .unwrap();
        }
        world.step();
    }
    assert!(world.server.reliable_in_flight(CLIENT).unwrap() > 0);
    if wait {
        let drained = world.run_until(Duration::from_secs(10), |w| {
            w.server.reliable_in_flight(CLIENT) == Some(0)
        });
        assert!(drained, "still in flight after 10 s");
    }
    assert!(world.server.disconnect(CLIENT));
    world.collect();
    world.run_for(Duration::from_secs(3));
    assert!(!world.nodes[0].client.is_connected());
    let node = &world.nodes[0];
    let reason = node.events.iter().find_map(|e| match e {
        ClientEvent::Disconnected { reason } => Some(*reason),
        _ => None,
    });
    assert!(world.down.stats().lost > 10, "{:?}", world.down.stats());
    (node.messages(Channel::ReliableOrdered), reason)
}

#[test]
fn waiting_for_zero_in_flight_before_disconnect_delivers_every_message() {
    let messages = numbered("g", 300, 10, 3000);
    let (got, reason) = send_then_disconnect(&messages, true, 65);
    assert_eq!(got, messages);
    assert_eq!(reason, Some(DisconnectReason::Peer));
}

#[test]
fn disconnecting_without_waiting_loses_reliable_messages() {
    // The same traffic over the same link as above, but no wait: what was
    // lost is never resent, and reliable-ordered delivery stops at the
    // first gap.
    let messages = numbered("g", 300, 10, 3000);
    let (got, reason) = send_then_disconnect(&messages, false, 65);
    assert!(got.len() < messages.len(), "{} delivered", got.len());
    assert!(!got.is_empty(), "some made it before the disconnect");
    assert_eq!(got[..], messages[..got.len()], "a prefix, in order");
    assert_eq!(reason, Some(DisconnectReason::Peer));
}
