//! Read back-pressure: a server that pauses reading a connection holds at
//! most its receive window of the client's data, the rest waits on the
//! client, and resuming delivers everything in order.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{Decide, World, numbered};
use crate::quic::{ConnId, FRAME_HEADER_BYTES, SendError, ServerEvent};
use crate::sim::LinkConfig;

const MS: Duration = Duration::from_millis(1);
const WINDOW: u32 = 16 * 1024;
/// Each message's payload, and its frame on the stream.
const PAYLOAD: usize = 16;
const FRAME: usize = PAYLOAD + FRAME_HEADER_BYTES;
/// The most the server may hold of the client's stream: the window in
/// quinn-proto, plus the start of one frame in its frame reader.
const BOUND: usize = WINDOW as usize + FRAME - 1;

/// Counts the client's stream bytes: those its `send` took, and those the
/// server has delivered as reliable messages.
#[derive(Debug)]
struct Ledger {
    conn: ConnId,
    sent: usize,
    read: usize,
    /// How far into the server's event log `read` has counted.
    seen: usize,
    /// The most the server has held unread at any check.
    max_unread: usize,
}

impl Ledger {
    fn new(conn: ConnId) -> Self {
        Self {
            conn,
            sent: 0,
            read: 0,
            seen: 0,
            max_unread: 0,
        }
    }

    /// Tries to send `message` from the client; false on back-pressure.
    fn send(&mut self, world: &mut World, message: &Bytes) -> bool {
        match world.nodes[0].client.send(true, message.clone()) {
            Ok(()) => {
                self.sent += message.len() + FRAME_HEADER_BYTES;
                true
            }
            Err(SendError::Backpressure { queued }) => {
                assert_eq!(queued, world.nodes[0].client.queued_bytes());
                false
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Checks that what the client's quinn-proto has taken and the server
    /// has not delivered fits in [`BOUND`]. That bounds what the server
    /// holds: quinn-proto takes no more than the server's credit, which is
    /// what the server has read plus the window, and of what it has read
    /// the server keeps at most a partial frame.
    fn check(&mut self, world: &World) -> usize {
        for event in &world.server_events[0][self.seen..] {
            if let ServerEvent::Message {
                conn,
                reliable: true,
                payload,
            } = event
            {
                assert_eq!(*conn, self.conn);
                self.read += payload.len() + FRAME_HEADER_BYTES;
            }
        }
        self.seen = world.server_events[0].len();
        let taken = self.sent - world.nodes[0].client.queued_bytes();
        let unread = taken - self.read;
        assert!(unread <= BOUND, "{unread} bytes held unread");
        self.max_unread = self.max_unread.max(unread);
        unread
    }
}

/// One client, with 16 KiB receive windows both ways and an 80 KiB send
/// queue (the smallest above the 64 KiB frame limit, with some room).
fn connected(seed: u64, decide: Decide) -> World {
    let mut world = World::build(1, LinkConfig::with_delay(10 * MS), seed, |c| {
        c.transport.receive_window = WINDOW;
    });
    world.decide = decide;
    world.client_config.receive_window = WINDOW;
    world.client_config.max_queued_reliable_bytes = 80 * 1024;
    world.add_client("good-pausable");
    world
}

#[test]
fn a_paused_server_holds_at_most_its_window_and_resuming_delivers_all_in_order() {
    let mut world = connected(80, Decide::Auto);
    world.connect_all();
    let (_, conn) = world.conn_of("good-pausable").unwrap();
    let messages = numbered("p", 10_000, 1, PAYLOAD);
    let total: usize = messages.iter().map(|m| m.len() + FRAME_HEADER_BYTES).sum();
    assert!(total > 2 * (80 * 1024 + WINDOW as usize));
    assert!(world.servers[0].pause_reading(conn));
    assert!(!world.servers[0].pause_reading(conn), "already paused");

    // Back to back, until the client's queue is full: the server's window
    // is in quinn-proto's hands, the rest in the client's queue.
    let mut ledger = Ledger::new(conn);
    let mut next = 0;
    while ledger.send(&mut world, &messages[next]) {
        next += 1;
    }
    let pushed_back_at = next;
    assert!(pushed_back_at < messages.len());
    world.collect();

    // A second of virtual time: the client keeps trying, nothing moves.
    for _ in 0..1000 {
        assert!(!ledger.send(&mut world, &messages[next]));
        world.step();
        ledger.check(&world);
    }
    assert_eq!(next, pushed_back_at, "no credit while paused");
    assert!(world.server_messages(0, conn, true).is_empty());
    // The window was used up (less the token frame before it).
    assert!(ledger.check(&world) > WINDOW as usize - 100, "{ledger:?}");
    // Datagrams still flow.
    world.nodes[0]
        .client
        .send(false, Bytes::from_static(b"datagram"))
        .unwrap();
    world.collect();
    world.run_for(20 * MS);
    assert_eq!(
        world.server_messages(0, conn, false),
        [Bytes::from_static(b"datagram")]
    );

    // Resuming delivers at once what accumulated, then the rest flows.
    assert!(world.servers[0].resume_reading(conn));
    assert!(!world.servers[0].resume_reading(conn), "already reading");
    world.collect();
    assert!(ledger.check(&world) < 100, "read on resume");
    assert!(!world.server_messages(0, conn, true).is_empty());
    while next < messages.len() {
        if ledger.send(&mut world, &messages[next]) {
            next += 1;
        } else {
            world.step();
            ledger.check(&world);
        }
    }
    assert!(world.run_until(Duration::from_secs(10), |w| {
        w.server_messages(0, conn, true).len() == messages.len()
    }));
    ledger.check(&world);
    assert_eq!(world.server_messages(0, conn, true), messages);
    assert!(ledger.max_unread <= BOUND);
    assert!(world.server_closes().is_empty());
}

#[test]
fn pausing_before_accept_and_after_close() {
    let mut world = connected(81, Decide::Hold);
    assert!(world.run_until(Duration::from_secs(1), |w| {
        w.conn_of("good-pausable").is_some()
    }));
    let (_, conn) = world.conn_of("good-pausable").unwrap();
    // Paused before `accept`: the client's first messages wait.
    assert!(world.servers[0].pause_reading(conn));
    assert!(world.servers[0].accept(world.now, conn));
    world.connect_all();
    for message in [&b"one"[..], b"two"] {
        world.nodes[0]
            .client
            .send(true, Bytes::from_static(message))
            .unwrap();
    }
    world.collect();
    world.run_for(100 * MS);
    assert!(world.server_messages(0, conn, true).is_empty());
    assert!(world.servers[0].resume_reading(conn));
    world.collect();
    assert_eq!(
        world.server_messages(0, conn, true),
        [Bytes::from_static(b"one"), Bytes::from_static(b"two")]
    );

    // Paused during a graceful close: it still closes, on our data alone.
    assert!(world.servers[0].pause_reading(conn));
    world.nodes[0]
        .client
        .send(true, Bytes::from_static(b"unread"))
        .unwrap();
    world.collect();
    assert!(world.servers[0].close_when_delivered(
        world.now,
        conn,
        4000,
        "bye",
        Duration::from_secs(5)
    ));
    assert!(world.run_until(Duration::from_secs(1), |w| {
        !w.server_closes().is_empty()
    }));
    assert_eq!(world.server_messages(0, conn, true).len(), 2, "never read");

    // Closed and unknown connections.
    assert!(!world.servers[0].pause_reading(conn));
    assert!(!world.servers[0].resume_reading(conn));
    assert!(!world.servers[0].pause_reading(ConnId(u64::MAX)));
    assert!(!world.servers[0].resume_reading(ConnId(u64::MAX)));
}
