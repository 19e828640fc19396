//! Graceful close: `close_when_delivered` delivers every queued reliable
//! message, then closes with the application's code; `close` does not.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{Decide, World, numbered};
use crate::datagram::DatagramServer;
use crate::quic::{ClientEvent, CloseReason, ConnId, SendError};
use crate::sim::LinkConfig;

const MS: Duration = Duration::from_millis(1);
const BYE: u32 = 4000;

fn lossy_link() -> LinkConfig {
    LinkConfig {
        delay: 15 * MS,
        jitter: 10 * MS,
        loss: 0.1,
        duplicate: 0.05,
        reorder: 0.1,
        reorder_delay: 40 * MS,
    }
}

/// One client, connected over a clean link that then turns into `link`.
/// The server's send window is small (64 KiB), so that a burst of sends
/// queues up in the server's own frame queue, not only in quinn-proto.
///
/// The client pings every 20 ms when idle. A closing endpoint repeats its
/// `CONNECTION_CLOSE` only in answer to packets from the peer (RFC 9000,
/// section 10.2.1): with a 10% loss rate and a client that stays silent,
/// one close in ten would reach the client only as a stateless reset,
/// seconds later. (quinn-proto makes some choices at random, such as the
/// packet numbers it skips and when it updates keys, so which datagrams the
/// link drops varies from run to run.)
fn connected(link: LinkConfig, seed: u64) -> (World, ConnId) {
    let mut world = World::build(1, LinkConfig::with_delay(10 * MS), seed, |c| {
        c.transport.send_window = 64 * 1024;
    });
    world.client_config.keep_alive_interval = Some(20 * MS);
    world.add_client("good-graceful");
    world.connect_all();
    let (_, conn) = world.conn_of("good-graceful").unwrap();
    world.up.set_config(link);
    world.down.set_config(link);
    (world, conn)
}

/// Where the client's `Closed` event is in its log, and the index of its
/// last reliable message.
fn close_after_last_message(world: &World) -> (Option<usize>, Option<usize>) {
    let events = &world.nodes[0].events;
    let closed = events
        .iter()
        .position(|e| matches!(e, ClientEvent::Closed { .. }));
    let last = events
        .iter()
        .rposition(|e| matches!(e, ClientEvent::Message { reliable: true, .. }));
    (closed, last)
}

/// Queues `messages` back to back, far more than one congestion window.
fn queue_all(world: &mut World, conn: ConnId, messages: &[Bytes]) {
    for message in messages {
        world.servers[0].send(conn, true, message.clone()).unwrap();
    }
}

#[test]
fn close_when_delivered_delivers_every_message_then_closes_with_the_code() {
    let (mut world, conn) = connected(lossy_link(), 70);
    let messages = numbered("c", 300, 5, 3000);
    queue_all(&mut world, conn, &messages);
    let within = Duration::from_secs(30);
    let start = world.now;
    assert!(world.servers[0].close_when_delivered(start, conn, BYE, "see you", within));
    assert!(
        world.servers[0].queued_bytes(conn).unwrap() > 100_000,
        "most of it still in the server's own queue"
    );

    // Closing: no more sends, no second graceful close.
    assert!(!world.servers[0].is_accepted(conn));
    for reliable in [true, false] {
        assert_eq!(
            world.servers[0].send(conn, reliable, Bytes::from_static(b"late")),
            Err(SendError::NotConnected)
        );
    }
    assert!(!world.servers[0].close_when_delivered(start, conn, 1, "again", within));

    let closed = world.run_until(Duration::from_secs(20), |w| !w.server_closes().is_empty());
    assert!(closed, "never closed");
    assert!(
        world.now - start < within,
        "closed on delivery, not the deadline"
    );
    assert_eq!(world.server_closes(), [(conn, CloseReason::Local)]);
    world.run_for(Duration::from_secs(1));

    assert_eq!(world.nodes[0].messages(true), messages);
    assert_eq!(
        world.nodes[0].closed(),
        Some(&CloseReason::Peer {
            code: u64::from(BYE),
            reason: "see you".to_string()
        })
    );
    let (closed_at, last_message) = close_after_last_message(&world);
    assert!(closed_at > last_message, "{closed_at:?} {last_message:?}");
    let (up, down) = (world.up.stats(), world.down.stats());
    assert!(down.lost > 10 && up.lost > 0, "{up:?} {down:?}");
    assert!(world.nodes[0].client.is_drained());
}

#[test]
fn plain_close_right_after_sending_loses_messages() {
    // The same traffic over the same link as above, closed at once.
    let (mut world, conn) = connected(lossy_link(), 70);
    let messages = numbered("c", 300, 5, 3000);
    queue_all(&mut world, conn, &messages);
    world.step();
    assert!(world.servers[0].close(world.now, conn, BYE, "see you"));
    world.run_for(Duration::from_secs(3));

    let got = world.nodes[0].messages(true);
    assert!(got.len() < messages.len(), "{} delivered", got.len());
    assert_eq!(got[..], messages[..got.len()], "a prefix, in order");
    assert_eq!(world.server_closes(), [(conn, CloseReason::Local)]);
}

#[test]
fn close_when_delivered_gives_up_at_the_deadline() {
    let (mut world, conn) = connected(LinkConfig::with_delay(10 * MS), 71);
    // The client's acknowledgements never arrive.
    world.nodes[0].muted = true;
    queue_all(&mut world, conn, &numbered("d", 20, 0, 0));
    let within = 500 * MS;
    let deadline = world.now + within;
    assert!(world.servers[0].close_when_delivered(world.now, conn, BYE, "bye", within));
    assert!(
        world.servers[0]
            .poll_timeout()
            .is_some_and(|t| t <= deadline)
    );

    world.run_for(within - MS);
    assert!(world.server_closes().is_empty(), "not before the deadline");
    world.step();
    assert_eq!(world.now, deadline);
    assert_eq!(world.server_closes(), [(conn, CloseReason::Local)]);
    world.run_for(100 * MS);
    assert_eq!(
        world.nodes[0].closed(),
        Some(&CloseReason::Peer {
            code: u64::from(BYE),
            reason: "bye".to_string()
        })
    );
}

#[test]
fn graceful_close_edge_cases() {
    let (mut world, conn) = connected(LinkConfig::with_delay(10 * MS), 72);
    let now = world.now;

    // The client's messages are still delivered while the server finishes,
    // and a plain close cuts the graceful one short.
    world.servers[0]
        .send(conn, true, Bytes::from_static(b"last"))
        .unwrap();
    assert!(world.servers[0].close_when_delivered(now, conn, BYE, "bye", Duration::from_secs(5)));
    world.nodes[0]
        .client
        .send(true, Bytes::from_static(b"from the client"))
        .unwrap();
    world.collect();
    world.run_for(15 * MS);
    assert_eq!(
        world.server_messages(0, conn, true),
        [Bytes::from_static(b"from the client")]
    );
    assert!(world.server_closes().is_empty());
    assert!(world.servers[0].close(world.now, conn, 9, "now"));
    assert!(!world.servers[0].close(world.now, conn, 9, "now"));
    assert!(!world.servers[0].close_when_delivered(world.now, conn, BYE, "bye", MS));
    world.run_for(100 * MS);
    assert_eq!(world.server_closes(), [(conn, CloseReason::Local)]);
    assert_eq!(
        world.nodes[0].closed(),
        Some(&CloseReason::Peer {
            code: 9,
            reason: "now".to_string()
        })
    );

    // A connection not accepted yet is closed at once: nothing to deliver.
    world.decide = Decide::Hold;
    world.add_client("good-pending");
    assert!(world.run_until(Duration::from_secs(1), |w| {
        w.conn_of("good-pending").is_some()
    }));
    let (_, pending) = world.conn_of("good-pending").unwrap();
    assert!(world.servers[0].close_when_delivered(
        world.now,
        pending,
        BYE,
        "no",
        Duration::from_secs(5)
    ));
    world.collect();
    assert_eq!(world.server_closes()[1], (pending, CloseReason::Local));
    world.run_for(100 * MS);
    assert_eq!(
        world.nodes[1].closed(),
        Some(&CloseReason::Peer {
            code: u64::from(BYE),
            reason: "no".to_string()
        })
    );

    // Unknown and stale ids.
    assert!(!world.servers[0].close_when_delivered(world.now, pending, BYE, "", MS));
    assert!(!world.servers[0].close_when_delivered(world.now, ConnId(u64::MAX), BYE, "", MS));
}
