//! Connection ids that name their shard, and datagrams that reach the wrong
//! shard's socket.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{World, client_addr};
use crate::datagram::DatagramServer;
use crate::quic::{LOCAL_CID_LEN, cid_shard, shard_of_datagram};
use crate::sim::{Datagram, LinkConfig};

const MS: Duration = Duration::from_millis(1);
const SHARDS: usize = 3;

/// The packet type of a datagram's first packet, for the report.
fn kind(datagram: &[u8]) -> &'static str {
    match datagram[0] {
        b if b & 0x80 == 0 => "1-RTT",
        b => match (b >> 4) & 0b11 {
            0 => "Initial",
            1 => "0-RTT",
            2 => "Handshake",
            _ => "Retry",
        },
    }
}

/// A QUIC variable-length integer at the start of `b`, and its length.
fn varint(b: &[u8]) -> (usize, usize) {
    let len = 1 << (b[0] >> 6);
    let mut value = u64::from(b[0] & 0x3F);
    for &byte in &b[1..len] {
        value = (value << 8) | u64::from(byte);
    }
    (value as usize, len)
}

/// The packets coalesced in a datagram (RFC 9000, section 12.2): long-header
/// packets carry their length; a short-header packet runs to the end.
fn packets(datagram: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        if rest[0] & 0x80 == 0 {
            out.push(rest);
            break;
        }
        let mut at = 6 + usize::from(rest[5]);
        at += 1 + usize::from(rest[at]);
        if (rest[0] >> 4) & 0b11 == 0 {
            let (token_len, n) = varint(&rest[at..]);
            at += n + token_len;
        }
        let (len, n) = varint(&rest[at..]);
        let end = at + n + len;
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// The source connection id of a long-header packet.
fn long_header_scid(datagram: &[u8]) -> &[u8] {
    let dcid_len = usize::from(datagram[5]);
    let scid_at = 6 + dcid_len;
    let scid_len = usize::from(datagram[scid_at]);
    &datagram[scid_at + 1..scid_at + 1 + scid_len]
}

#[test]
fn every_packet_a_client_sends_routes_to_its_owner() {
    let mut world = World::build(SHARDS, LinkConfig::with_delay(5 * MS), 20, |_| {});
    world.captured_up = Some(Vec::new());
    world.captured_down = Some(Vec::new());
    for i in 0..6 {
        world.add_client(&format!("good-{i}"));
    }
    world.connect_all();
    for (i, node) in world.nodes.iter_mut().enumerate() {
        node.client
            .send(true, Bytes::from(vec![i as u8; 3000]))
            .unwrap();
        node.client
            .send(false, Bytes::from_static(b"datagram"))
            .unwrap();
    }
    world.run_for(100 * MS);
    for i in 0..6 {
        let (shard, conn) = world.conn_of(&format!("good-{i}")).unwrap();
        assert_eq!(shard, i % SHARDS, "the kernel's shard owns the connection");
        world.servers[shard].close(world.now, conn, 0, "bye");
    }
    world.run_for(Duration::from_secs(1));

    let owner = |world: &World, from| {
        let index = world.nodes.iter().position(|n| n.addr == from).unwrap();
        (index % SHARDS) as u16
    };
    let mut seen = std::collections::BTreeMap::new();
    // Each packet is judged as if it led its datagram, as it does when sent
    // alone (retransmissions, acknowledgements).
    for Datagram { from, payload, .. } in world.captured_up.as_ref().unwrap() {
        for packet in packets(payload) {
            let kind = kind(packet);
            *seen.entry(kind).or_insert(0) += 1;
            let routed = shard_of_datagram(packet, SHARDS);
            match kind {
                "Initial" => assert_eq!(routed, None, "Initials stay where they land"),
                _ => assert_eq!(routed, Some(owner(&world, *from)), "{kind}"),
            }
        }
    }
    assert!(seen.get("Handshake").is_some_and(|&n| n >= 6), "{seen:?}");
    assert!(seen.get("1-RTT").is_some_and(|&n| n >= 30), "{seen:?}");

    // What the servers send: long headers carry a shard-stamped source id;
    // short headers carry the client's id, which we do not route on.
    for Datagram { to, payload, .. } in world.captured_down.as_ref().unwrap() {
        for packet in packets(payload) {
            if packet[0] & 0x80 != 0 {
                let scid = long_header_scid(packet);
                assert_eq!(scid.len(), LOCAL_CID_LEN);
                assert_eq!(cid_shard(scid), Some(owner(&world, *to)));
            }
        }
    }
    assert_eq!(world.forwarded, 0, "no migration, no forwarding");
}

#[test]
fn retry_packets_stamp_the_shard_too() {
    let mut world = World::build(SHARDS, LinkConfig::with_delay(5 * MS), 21, |c| {
        c.retry = crate::quic::RetryPolicy::Always;
    });
    world.captured_down = Some(Vec::new());
    world.captured_up = Some(Vec::new());
    world.add_client("good-0");
    world.add_client("good-1");
    world.connect_all();
    let down = world.captured_down.as_ref().unwrap();
    let retries: Vec<_> = down
        .iter()
        .filter(|d| kind(&d.payload) == "Retry")
        .collect();
    assert_eq!(retries.len(), 2);
    for (i, retry) in retries.iter().enumerate() {
        assert_eq!(cid_shard(long_header_scid(&retry.payload)), Some(i as u16));
    }
    // The second Initial (with the token) goes to the retry's id: it still
    // stays where it lands, which is the same shard.
    for d in world.captured_up.as_ref().unwrap() {
        let routed = shard_of_datagram(&d.payload, SHARDS);
        assert!(routed.is_none() || kind(&d.payload) != "Initial");
    }
}

#[test]
fn a_migrated_client_is_forwarded_to_its_shard() {
    let mut world = World::build(2, LinkConfig::with_delay(5 * MS), 22, |_| {});
    world.captured_up = Some(Vec::new());
    world.add_client("good-0");
    let client = world.add_client("good-1");
    world.connect_all();
    let (shard, conn) = world.conn_of("good-1").unwrap();
    assert_eq!(shard, 1);
    assert_eq!(world.kernel_shard(world.nodes[client].addr), 1);

    // NAT rebinding: a new source port, which the kernel hashes to shard 0.
    let new_addr = client_addr(client, world.port_for_shard(0, 77));
    assert_eq!(world.kernel_shard(new_addr), 0);
    world.nodes[client].addr = new_addr;
    let before = world.forwarded;
    world.nodes[client]
        .client
        .send(true, Bytes::from_static(b"from the new address"))
        .unwrap();
    world.run_for(200 * MS);
    assert!(world.forwarded > before, "shard 0 forwarded to shard 1");
    assert_eq!(world.servers[1].remote_address(conn), Some(new_addr));
    assert_eq!(
        world.server_messages(1, conn, true),
        [Bytes::from_static(b"from the new address")]
    );
    world.servers[1]
        .send(conn, true, Bytes::from_static(b"to the new address"))
        .unwrap();

    // Active migration: the client moves to a fresh connection id, one the
    // server issued in NEW_CONNECTION_ID, and a third address.
    let short_ids = |world: &World| -> std::collections::HashSet<Vec<u8>> {
        world
            .captured_up
            .as_ref()
            .unwrap()
            .iter()
            .filter(|d| d.payload[0] & 0x80 == 0 && d.from.ip() == new_addr.ip())
            .map(|d| {
                assert_eq!(shard_of_datagram(&d.payload, 2), Some(1));
                d.payload[1..1 + LOCAL_CID_LEN].to_vec()
            })
            .collect()
    };
    let old_ids = short_ids(&world);
    assert_eq!(old_ids.len(), 1, "one id until the migration");
    world.captured_up = Some(Vec::new());
    world.nodes[client].addr = client_addr(client, world.port_for_shard(0, 78));
    let now = world.now;
    world.nodes[client].client.local_address_changed(now);
    world.nodes[client]
        .client
        .send(false, Bytes::from_static(b"datagram after migration"))
        .unwrap();
    world.run_for(200 * MS);
    assert_eq!(
        world.nodes[client].messages(true),
        [Bytes::from_static(b"to the new address")]
    );
    assert_eq!(
        world.server_messages(1, conn, false),
        [Bytes::from_static(b"datagram after migration")]
    );
    let new_ids = short_ids(&world);
    assert!(!new_ids.is_empty());
    assert!(new_ids.is_disjoint(&old_ids), "a fresh connection id");
    assert!(
        world.server_closes().is_empty(),
        "{:?}",
        world.server_closes()
    );
    assert!(
        world.servers[0].stats().handshakes_started == 1,
        "only good-0"
    );
}

#[test]
fn a_shard_drops_other_shards_packets_without_resetting_them() {
    // Without forwarding, a short-header packet for shard 1 that reaches
    // shard 0 is dropped (its id does not validate there): no stateless
    // reset that would kill the connection.
    let mut world = World::build(2, LinkConfig::with_delay(5 * MS), 23, |_| {});
    world.captured_up = Some(Vec::new());
    let client = world.add_client("good-x");
    world.add_client("good-y");
    world.connect_all();
    let _ = client;
    let short: Vec<Vec<u8>> = world
        .captured_up
        .as_ref()
        .unwrap()
        .iter()
        .filter(|d| d.payload[0] & 0x80 == 0 && shard_of_datagram(&d.payload, 2) == Some(1))
        .map(|d| d.payload.clone())
        .collect();
    assert!(!short.is_empty());
    let before = world.servers[0].stats();
    for payload in &short {
        let from = client_addr(9, 40_000);
        world.servers[0].handle_datagram(world.now, from, &mut payload.to_vec());
    }
    let mut buf = Vec::new();
    assert!(
        world.servers[0]
            .poll_transmit(world.now, &mut buf)
            .is_none()
    );
    assert_eq!(
        world.servers[0].stats().endpoint_responses,
        before.endpoint_responses
    );
}
