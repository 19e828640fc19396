//! Delivery guarantees: reliable ordered messages and datagrams, over
//! lossy, duplicating, reordering links.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;

use super::harness::{World, numbered};
use crate::quic::{ConnId, SendError};
use crate::sim::LinkConfig;

const MS: Duration = Duration::from_millis(1);
const CLIENTS: usize = 4;

fn hostile_link() -> LinkConfig {
    LinkConfig {
        delay: 15 * MS,
        jitter: 10 * MS,
        loss: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
        reorder_delay: 40 * MS,
    }
}

/// `CLIENTS` clients connected over a clean link, which then turns into
/// `link`. Returns the world and each client's connection id.
fn world_over(link: LinkConfig, seed: u64) -> (World, Vec<ConnId>) {
    let mut world = World::new(LinkConfig::with_delay(10 * MS), seed);
    for i in 0..CLIENTS {
        world.add_client(&format!("good-{i}"));
    }
    world.connect_all();
    let conns = (0..CLIENTS)
        .map(|i| world.conn_of(&format!("good-{i}")).unwrap().1)
        .collect();
    world.up.set_config(link);
    world.down.set_config(link);
    (world, conns)
}

#[test]
fn reliable_messages_arrive_in_order_exactly_once_under_loss() {
    let (mut world, conns) = world_over(hostile_link(), 10);
    let messages = numbered("m", 400, 25, 3000);
    for message in &messages {
        for node in &mut world.nodes {
            node.client.send(true, message.clone()).unwrap();
        }
        for &conn in &conns {
            world.servers[0].send(conn, true, message.clone()).unwrap();
        }
        world.step();
        world.step();
    }
    let done = world.run_until(Duration::from_secs(20), |w| {
        w.nodes
            .iter()
            .all(|n| n.messages(true).len() == messages.len())
            && conns
                .iter()
                .all(|&c| w.server_messages(0, c, true).len() == messages.len())
    });
    assert!(done, "not everything arrived");
    for (node, &conn) in world.nodes.iter().zip(&conns) {
        assert_eq!(node.messages(true), messages, "server to client");
        assert_eq!(
            world.server_messages(0, conn, true),
            messages,
            "client to server"
        );
    }
    assert!(
        world.server_closes().is_empty(),
        "{:?}",
        world.server_closes()
    );
    let (up, down) = (world.up.stats(), world.down.stats());
    assert!(up.lost > 50 && down.lost > 50, "{up:?} {down:?}");
    assert!(up.duplicated > 10 && up.reordered > 10, "{up:?}");
}

#[test]
fn datagrams_flow_both_ways_at_most_once() {
    let (mut world, conns) = world_over(LinkConfig::with_delay(10 * MS), 11);
    let max = world.nodes[0].client.max_datagram_size().unwrap();
    assert!(max > 1000, "{max}");
    assert_eq!(world.servers[0].max_datagram_size(conns[0]), Some(max));
    let messages = numbered("d", 100, 10, max);
    let send_all = |world: &mut World, messages: &[Bytes]| {
        for message in messages {
            for node in &mut world.nodes {
                node.client.send(false, message.clone()).unwrap();
            }
            for &conn in &conns {
                world.servers[0].send(conn, false, message.clone()).unwrap();
            }
            world.step();
        }
        world.run_for(Duration::from_secs(1));
    };

    // Clean link: all of them, in order.
    send_all(&mut world, &messages);
    for (node, &conn) in world.nodes.iter().zip(&conns) {
        assert_eq!(node.messages(false), messages);
        assert_eq!(world.server_messages(0, conn, false), messages);
    }

    // Lossy, duplicating link: a subset, never a message twice, none made up.
    world.up.set_config(hostile_link());
    world.down.set_config(hostile_link());
    let lossy = numbered("e", 300, 0, 0);
    send_all(&mut world, &lossy);
    let sent: HashSet<Bytes> = lossy.iter().cloned().collect();
    for (node, &conn) in world.nodes.iter().zip(&conns) {
        for got in [
            node.messages(false)[messages.len()..].to_vec(),
            world.server_messages(0, conn, false)[messages.len()..].to_vec(),
        ] {
            let unique: HashSet<Bytes> = got.iter().cloned().collect();
            assert_eq!(unique.len(), got.len(), "no duplicates");
            assert!(unique.is_subset(&sent));
            assert!(got.len() > 200 && got.len() < 300, "{}", got.len());
        }
    }
    assert!(world.server_closes().is_empty());
}

#[test]
fn oversized_datagrams_are_refused_with_the_limit() {
    let (mut world, conns) = world_over(LinkConfig::with_delay(5 * MS), 12);
    let max = world.nodes[0].client.max_datagram_size().unwrap();
    let too_big = Bytes::from(vec![7u8; max + 1]);
    assert_eq!(
        world.nodes[0].client.send(false, too_big.clone()),
        Err(SendError::TooLarge { len: max + 1, max })
    );
    assert_eq!(
        world.servers[0].send(conns[0], false, too_big),
        Err(SendError::TooLarge { len: max + 1, max })
    );
    // Datagrams of exactly the limit fit in one packet of at most 1200 bytes.
    world.nodes[0]
        .client
        .send(false, Bytes::from(vec![1u8; max]))
        .unwrap();
    world.run_for(50 * MS);
    assert_eq!(world.server_messages(0, conns[0], false).len(), 1);
    assert!(world.longest_datagram <= 1200, "{}", world.longest_datagram);
}

#[test]
fn a_large_reliable_message_spans_many_packets() {
    let (mut world, conns) = world_over(hostile_link(), 13);
    let max = world.client_config.max_frame_bytes;
    let big: Bytes = (0..max)
        .map(|i| (i * 7 % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    let small = Bytes::from_static(b"after");
    world.nodes[0].client.send(true, big.clone()).unwrap();
    world.nodes[0].client.send(true, small.clone()).unwrap();
    world.servers[0].send(conns[0], true, big.clone()).unwrap();
    world.servers[0]
        .send(conns[0], true, small.clone())
        .unwrap();
    let done = world.run_until(Duration::from_secs(20), |w| {
        w.nodes[0].messages(true).len() == 2 && w.server_messages(0, conns[0], true).len() == 2
    });
    assert!(done);
    assert_eq!(world.nodes[0].messages(true), [big.clone(), small.clone()]);
    assert_eq!(world.server_messages(0, conns[0], true), [big, small]);
    assert!(world.up.stats().sent > 60, "{:?}", world.up.stats());
}
