//! Keepalives and timeouts, in virtual time.

use std::time::Duration;

use super::harness::{TIMEOUT_SECONDS, World};
use crate::rudp::{ClientState, DisconnectReason};
use crate::sim::LinkConfig;

const TIMEOUT: Duration = Duration::from_secs(TIMEOUT_SECONDS as u64);

fn black_hole() -> LinkConfig {
    LinkConfig {
        loss: 1.0,
        ..LinkConfig::PERFECT
    }
}

#[test]
fn idle_connection_stays_up_on_keepalives() {
    let mut world = World::new(LinkConfig::with_delay(Duration::from_millis(20)), 20);
    world.add_client(1);
    world.connect_all();
    world.run_for(10 * TIMEOUT);
    assert!(world.server.is_connected(1));
    assert_eq!(world.nodes[0].client.state(), ClientState::Connected);
    assert!(world.server_disconnects().is_empty());
}

#[test]
fn silent_client_is_disconnected_after_the_token_timeout() {
    let mut world = World::new(LinkConfig::PERFECT, 21);
    world.add_client(1);
    world.add_client(2);
    world.connect_all();

    // Client 1 falls silent: it runs, but nothing it sends leaves.
    world.nodes[0].muted = true;
    let silent_from = world.now;
    assert!(world.run_until(2 * TIMEOUT, |w| !w.server.is_connected(1)));
    let after = world.now - silent_from;
    // netcode drops a client once its silence exceeds the timeout; the tick
    // notices within 10 ms.
    assert!(
        after > TIMEOUT && after <= TIMEOUT + Duration::from_millis(20),
        "{after:?}"
    );
    assert_eq!(
        world.server_disconnects(),
        [(1, DisconnectReason::TimedOut)]
    );
    assert!(
        world.server.is_connected(2),
        "the other client is unaffected"
    );
    // The server's disconnect packet still reaches the client.
    world.run_for(Duration::from_millis(10));
    assert_eq!(
        world.nodes[0].client.state(),
        ClientState::Disconnected(DisconnectReason::Peer)
    );
    assert_eq!(world.nodes[1].client.state(), ClientState::Connected);
}

#[test]
fn client_times_out_a_silent_server() {
    let mut world = World::new(LinkConfig::PERFECT, 22);
    world.add_client(1);
    world.connect_all();

    world.down.set_config(black_hole());
    let silent_from = world.now;
    assert!(world.run_until(2 * TIMEOUT, |w| !w.nodes[0].client.is_connected()));
    let after = world.now - silent_from;
    assert!(
        after > TIMEOUT && after <= TIMEOUT + Duration::from_millis(20),
        "{after:?}"
    );
    assert_eq!(
        world.nodes[0].client.state(),
        ClientState::Disconnected(DisconnectReason::TimedOut)
    );

    // A timed-out client goes quiet, so the server times it out in turn.
    assert!(world.run_until(2 * TIMEOUT, |w| !w.server.is_connected(1)));
    assert_eq!(
        world.server_disconnects(),
        [(1, DisconnectReason::TimedOut)]
    );
}
