//! Frame-size caps, back-pressure, idle and auth timeouts.

use std::time::Duration;

use bytes::Bytes;
use quinn_proto::Dir;

use super::harness::{Decide, World, client_addr};
use crate::quic::{CloseReason, QuicClient, QuicConfig, SendError, Violation, codes};
use crate::sim::LinkConfig;

const MS: Duration = Duration::from_millis(1);

fn frame(len: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = len.to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

/// A raw client (see `QuicClient::connect_raw`) that has completed the QUIC
/// handshake and opened the stream; returns its index and stream.
pub(super) fn raw_client(world: &mut World, port: u16) -> (usize, quinn_proto::StreamId) {
    let now = world.now;
    let client = QuicClient::connect_raw(
        now,
        super::harness::server_addr(),
        &world.client_tls,
        world.client_config.clone(),
    );
    let index = world.nodes.len();
    let node = world.add_node(client_addr(index, port), client);
    assert!(world.run_until(Duration::from_secs(2), |w| {
        w.nodes[node].client.is_connected()
    }));
    let conn = world.nodes[node].client.raw().unwrap();
    let stream = conn.streams().open(Dir::Bi).unwrap();
    (node, stream)
}

pub(super) fn raw_write(
    world: &mut World,
    node: usize,
    stream: quinn_proto::StreamId,
    bytes: &[u8],
) {
    let conn = world.nodes[node].client.raw().unwrap();
    assert_eq!(conn.send_stream(stream).write(bytes).unwrap(), bytes.len());
    world.collect();
}

#[test]
fn reliable_messages_above_the_cap_are_refused_by_senders_and_receivers() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 30);
    let max = world.client_config.max_frame_bytes;
    world.add_client("good-honest");
    world.connect_all();
    let (_, conn) = world.conn_of("good-honest").unwrap();
    let too_big = Bytes::from(vec![0u8; max + 1]);
    assert_eq!(
        world.nodes[0].client.send(true, too_big.clone()),
        Err(SendError::TooLarge { len: max + 1, max })
    );
    assert_eq!(
        world.servers[0].send(conn, true, too_big),
        Err(SendError::TooLarge { len: max + 1, max })
    );

    // A client that announces a frame above the cap after being accepted:
    // closed as soon as the header arrives, before any payload.
    let (raw, stream) = raw_client(&mut world, 41_000);
    raw_write(&mut world, raw, stream, &frame(9, b"good-raw1"));
    world.run_for(50 * MS);
    let (_, raw_conn) = world.conn_of("good-raw1").unwrap();
    assert!(world.servers[0].is_accepted(raw_conn));
    raw_write(&mut world, raw, stream, &frame(max as u32 + 1, b"xx"));
    world.run_for(100 * MS);
    let violation = Violation::FrameTooLarge { len: max + 1, max };
    assert_eq!(
        world.server_closes(),
        [(raw_conn, CloseReason::Protocol(violation))]
    );
    assert_eq!(
        world.nodes[raw].closed(),
        Some(&CloseReason::Peer {
            code: u64::from(codes::PROTOCOL),
            reason: violation.to_string()
        })
    );

    // A client with a smaller cap closes a server that sends above it.
    world.client_config.max_frame_bytes = 1000;
    let small = world.add_client("good-small");
    assert!(world.run_until(Duration::from_secs(2), |w| {
        w.nodes[small].client.is_connected()
    }));
    let (_, small_conn) = world.conn_of("good-small").unwrap();
    world.servers[0]
        .send(small_conn, true, Bytes::from(vec![1u8; 1001]))
        .unwrap();
    world.run_for(100 * MS);
    assert_eq!(
        world.nodes[small].closed(),
        Some(&CloseReason::Protocol(Violation::FrameTooLarge {
            len: 1001,
            max: 1000
        }))
    );
    assert!(world.server_closes().contains(&(
        small_conn,
        CloseReason::Peer {
            code: u64::from(codes::PROTOCOL),
            reason: "frame of 1001 bytes exceeds the limit of 1000".to_string()
        }
    )));
    // The honest client was never disturbed.
    assert!(world.nodes[0].client.is_connected());
}

#[test]
fn a_client_that_stops_reading_hits_backpressure() {
    let mut world = World::new(LinkConfig::with_delay(10 * MS), 31);
    world.add_client("good-slow");
    world.connect_all();
    let (_, conn) = world.conn_of("good-slow").unwrap();
    // The client goes silent: no acknowledgements, no flow-control credit.
    world.nodes[0].muted = true;
    let message = Bytes::from(vec![9u8; 10_000]);
    let config = QuicConfig::default();
    let mut sent = 0usize;
    let error = loop {
        match world.servers[0].send(conn, true, message.clone()) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        if sent.is_multiple_of(10) {
            world.step();
        }
        assert!(sent < 1000, "never pushed back");
    };
    let queued = world.servers[0].queued_bytes(conn).unwrap();
    assert_eq!(error, SendError::Backpressure { queued });
    assert!(queued <= config.max_queued_reliable_bytes);
    assert!(queued + message.len() + 4 > config.max_queued_reliable_bytes);
    // Everything quinn-proto took is within its window or the receiver's
    // credit; the rest is queued: bounded memory either way.
    let taken = sent * (message.len() + 4) - queued;
    assert!(
        taken as u64 <= config.send_window.max(u64::from(config.receive_window)),
        "{taken}"
    );

    // The caller closes the slow client; its queue is dropped.
    assert!(world.servers[0].close(world.now, conn, codes::SLOW_CONSUMER, "too slow"));
    assert_eq!(
        world.servers[0].send(conn, true, message),
        Err(SendError::NotConnected)
    );
    world.collect();
    assert_eq!(world.server_closes(), [(conn, CloseReason::Local)]);
}

#[test]
fn silent_peers_time_out_and_live_idle_ones_do_not() {
    let mut world = World::new(LinkConfig::with_delay(10 * MS), 32);
    world.client_config.idle_timeout = Duration::from_secs(3);
    world.client_config.keep_alive_interval = Some(Duration::from_secs(1));
    let mut silent_config = world.client_config.clone();
    silent_config.keep_alive_interval = None;
    world.add_client("good-live");
    world.client_config = silent_config;
    world.add_client("good-silent");
    world.add_client("good-vanishing");
    world.connect_all();
    let (_, live) = world.conn_of("good-live").unwrap();
    let (_, silent) = world.conn_of("good-silent").unwrap();
    let (_, vanishing) = world.conn_of("good-vanishing").unwrap();
    world.nodes[2].muted = true;
    let start = world.now;
    let closed = |w: &World, conn| w.server_closes().iter().any(|(c, _)| *c == conn);
    assert!(
        world.run_until(Duration::from_secs(5), |w| closed(w, silent)
            && closed(w, vanishing))
    );
    // The last packets of the handshake's end came within a few ms of
    // `start`; the idle timeout is 3 s.
    let took = world.now - start;
    assert!(
        took >= Duration::from_millis(2900) && took <= Duration::from_millis(3100),
        "{took:?}"
    );
    world.run_for(Duration::from_secs(7));

    let closes = world.server_closes();
    assert!(
        closes.contains(&(silent, CloseReason::TimedOut)),
        "{closes:?}"
    );
    assert!(
        closes.contains(&(vanishing, CloseReason::TimedOut)),
        "{closes:?}"
    );
    assert!(
        !closes.iter().any(|(c, _)| *c == live),
        "keep-alives: {closes:?}"
    );
    assert!(world.servers[0].is_accepted(live));
    assert_eq!(world.nodes[1].closed(), Some(&CloseReason::TimedOut));
    assert_eq!(world.nodes[2].closed(), Some(&CloseReason::TimedOut));
    assert!(world.nodes[0].client.is_connected());
    assert_eq!(
        world.servers[0].connections(),
        1,
        "timed-out ones are forgotten"
    );
}

#[test]
fn undecided_and_tokenless_connections_hit_the_auth_timeout() {
    let mut world = World::build(1, LinkConfig::with_delay(10 * MS), 33, |c| {
        c.transport.auth_timeout = Duration::from_secs(2);
    });
    world.decide = Decide::Hold;
    world.add_client("good-undecided");
    // A client that completes the QUIC handshake and never sends a token.
    let (tokenless, _) = raw_client(&mut world, 41_001);
    assert!(world.run_until(Duration::from_secs(1), |w| {
        w.conn_of("good-undecided").is_some()
    }));
    let (_, undecided) = world.conn_of("good-undecided").unwrap();
    world.run_for(Duration::from_secs(3));
    assert_eq!(
        world.server_closes(),
        [(undecided, CloseReason::AuthTimeout)]
    );
    let auth_timeout = CloseReason::Peer {
        code: u64::from(codes::AUTH_TIMEOUT),
        reason: "not authenticated in time".to_string(),
    };
    assert_eq!(world.nodes[0].closed(), Some(&auth_timeout));
    assert_eq!(world.nodes[tokenless].closed(), Some(&auth_timeout));
    assert_eq!(
        world.servers[0].stats().ended_unannounced,
        1,
        "the tokenless one"
    );
    assert!(!world.servers[0].accept(world.now, undecided), "too late");

    // A client whose server never answers gives up on its own.
    let mut lonely = World::new(LinkConfig::with_delay(10 * MS), 34);
    lonely.client_config.auth_timeout = Duration::from_secs(2);
    lonely.add_client("good-lonely");
    lonely.nodes[0].muted = true;
    lonely.run_for(Duration::from_secs(3));
    assert_eq!(lonely.nodes[0].closed(), Some(&CloseReason::AuthTimeout));
}
