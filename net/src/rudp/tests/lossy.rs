//! Delivery guarantees over a lossy, duplicating, reordering link.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;

use super::harness::{World, numbered};
use crate::rudp::Channel;
use crate::sim::LinkConfig;

const CLIENTS: u64 = 4;

/// Connects `CLIENTS` clients over a perfect link, then switches both
/// directions to `link`.
fn world_over(link: LinkConfig, seed: u64) -> World {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(10)), seed);
    for id in 0..CLIENTS {
        world.add_client(id);
    }
    world.connect_all();
    world.up.set_config(link);
    world.down.set_config(link);
    world
}

/// Sends `messages` from every client and to every client on `channel`, one
/// of each per `every` steps, then lets the link drain for `drain`.
fn exchange(
    world: &mut World,
    channel: Channel,
    messages: &[Bytes],
    every: usize,
    drain: Duration,
) {
    for message in messages {
        for node in &mut world.nodes {
            node.client.send(channel, message.clone()).unwrap();
        }
        for id in 0..CLIENTS {
            world.server.send(id, channel, message.clone()).unwrap();
        }
        for _ in 0..every {
            world.step();
        }
    }
    world.run_for(drain);
    assert!(
        world.server_disconnects().is_empty(),
        "{:?}",
        world.server_disconnects()
    );
}

/// The counter of each `numbered` message (one-letter prefixes here).
fn counters(messages: &[Bytes]) -> Vec<u32> {
    messages
        .iter()
        .map(|m| std::str::from_utf8(&m[1..7]).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn reliable_ordered_delivers_everything_once_in_order_despite_loss_dup_reorder() {
    let link = LinkConfig {
        delay: Duration::from_millis(15),
        jitter: Duration::from_millis(25),
        loss: 0.2,
        duplicate: 0.1,
        reorder: 0.1,
        reorder_delay: Duration::from_millis(60),
    };
    let mut world = world_over(link, 40);
    // Every tenth message spans three fragments.
    let messages = numbered("r", 300, 10, 3000);
    exchange(
        &mut world,
        Channel::ReliableOrdered,
        &messages,
        2,
        Duration::from_secs(10),
    );

    let (up, down) = (world.up.stats(), world.down.stats());
    assert!(
        up.lost > 100 && up.duplicated > 50 && up.reordered > 50,
        "{up:?}"
    );
    assert!(
        down.lost > 100 && down.duplicated > 50 && down.reordered > 50,
        "{down:?}"
    );
    for id in 0..CLIENTS {
        assert_eq!(
            world.server_messages(id, Channel::ReliableOrdered),
            messages,
            "client {id} to server"
        );
    }
    for node in &world.nodes {
        assert_eq!(
            node.messages(Channel::ReliableOrdered),
            messages,
            "server to {}",
            node.addr
        );
    }
}

#[test]
fn sequenced_never_goes_back_and_delivers_most_under_mild_loss() {
    let link = LinkConfig {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(4),
        loss: 0.05,
        duplicate: 0.05,
        reorder: 0.02,
        reorder_delay: Duration::from_millis(30),
    };
    let mut world = world_over(link, 41);
    let messages = numbered("s", 1000, 0, 0);
    exchange(
        &mut world,
        Channel::UnreliableSequenced,
        &messages,
        5,
        Duration::from_millis(500),
    );

    let mut received: Vec<Vec<Bytes>> = (0..CLIENTS)
        .map(|id| world.server_messages(id, Channel::UnreliableSequenced))
        .collect();
    received.extend(
        world
            .nodes
            .iter()
            .map(|n| n.messages(Channel::UnreliableSequenced)),
    );
    for got in &received {
        let seen = counters(got);
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "never older than delivered"
        );
        assert!(seen.len() >= 850, "delivered {} of 1000", seen.len());
    }
}

#[test]
fn sequenced_drops_what_reordering_made_stale() {
    let link = LinkConfig {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(30),
        loss: 0.1,
        duplicate: 0.1,
        reorder: 0.1,
        reorder_delay: Duration::from_millis(40),
    };
    let mut world = world_over(link, 42);
    let messages = numbered("s", 500, 0, 0);
    exchange(
        &mut world,
        Channel::UnreliableSequenced,
        &messages,
        2,
        Duration::from_millis(500),
    );

    for id in 0..CLIENTS {
        let seen = counters(&world.server_messages(id, Channel::UnreliableSequenced));
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert!(seen.len() > 100, "{}", seen.len());
    }
    for node in &world.nodes {
        let seen = counters(&node.messages(Channel::UnreliableSequenced));
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    }
    assert!(
        world.server.stats().stale_sequenced > 100,
        "{:?}",
        world.server.stats()
    );
    assert!(world.nodes[0].client.stats().stale_sequenced > 25);
}

#[test]
fn unreliable_may_drop_and_reorder_but_never_duplicates() {
    let link = LinkConfig {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(20),
        loss: 0.2,
        duplicate: 0.2,
        reorder: 0.1,
        reorder_delay: Duration::from_millis(40),
    };
    let mut world = world_over(link, 43);
    let messages = numbered("u", 500, 0, 0);
    exchange(
        &mut world,
        Channel::Unreliable,
        &messages,
        2,
        Duration::from_millis(500),
    );

    let mut received: Vec<Vec<Bytes>> = (0..CLIENTS)
        .map(|id| world.server_messages(id, Channel::Unreliable))
        .collect();
    received.extend(world.nodes.iter().map(|n| n.messages(Channel::Unreliable)));
    let mut reordered = false;
    for got in &received {
        let seen = counters(got);
        let unique: HashSet<u32> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates");
        assert!(
            (300..500).contains(&seen.len()),
            "some lost, most arrive: {}",
            seen.len()
        );
        reordered |= seen.windows(2).any(|w| w[0] > w[1]);
    }
    assert!(reordered);
}

#[test]
fn lossy_runs_are_reproducible() {
    let link = LinkConfig {
        delay: Duration::from_millis(15),
        jitter: Duration::from_millis(25),
        loss: 0.2,
        duplicate: 0.1,
        reorder: 0.1,
        reorder_delay: Duration::from_millis(60),
    };
    let run = || {
        let mut world = world_over(link, 44);
        for channel in Channel::ALL {
            exchange(
                &mut world,
                channel,
                &numbered(
                    "x",
                    50,
                    7,
                    2500.min(channel.max_message_bytes(&Default::default())),
                ),
                2,
                Duration::from_secs(3),
            );
        }
        let client_events: Vec<_> = world.nodes.iter().map(|n| n.events.clone()).collect();
        (
            world.up.stats(),
            world.down.stats(),
            world.server_events,
            client_events,
        )
    };
    // Keys and nonces differ between runs (renetcode draws them from the
    // operating system); sizes, timing, and so every loss decision, do not.
    assert!(run() == run());
}
