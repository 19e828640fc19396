//! The server's two timers behind `poll_timeout` and `handle_timeout`: the
//! tick (idle while no client is connected) and the flush of what the
//! application sent, with its spacing. Virtual time only.

use std::time::Duration;

use bytes::Bytes;

use super::harness::{T0, TICK, World};
use crate::datagram::DatagramServer;
use crate::rudp::Channel;
use crate::sim::LinkConfig;

const MS: Duration = Duration::from_millis(1);

#[test]
fn the_tick_idles_until_a_client_connects() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 70);
    assert_eq!(
        world.server.poll_timeout(),
        Some(T0 + 250 * MS),
        "no client: the idle tick"
    );
    world.add_client(1);
    world.connect_all();
    for _ in 0..100 {
        world.step();
        let due = world.server.poll_timeout().unwrap();
        assert!(due <= world.now + TICK, "connected: every tick");
    }
    world.server.disconnect(1);
    let _ = world.tick_server();
    let at = world.tick_server();
    assert_eq!(
        world.server.poll_timeout(),
        Some(at + 250 * MS),
        "idle again once the client is gone"
    );
}

#[test]
fn sends_are_flushed_at_most_once_per_spacing() {
    let mut world = World::with_server(LinkConfig::PERFECT, 71, |c| {
        c.tick = 50 * MS;
        c.flush_spacing = 5 * MS;
    });
    world.add_client(1);
    world.connect_all();
    let now = world.tick_server();
    world.now = now;
    let _ = world.take_server_datagrams();
    assert_eq!(world.server.poll_timeout(), Some(now + 50 * MS));

    let send = |world: &mut World, text: &'static str| {
        world
            .server
            .send(
                1,
                Channel::ReliableOrdered,
                Bytes::from_static(text.as_bytes()),
            )
            .unwrap();
    };
    // The first flush is due at once.
    send(&mut world, "first");
    assert!(world.server.poll_timeout().unwrap() <= now);
    world.server.handle_timeout(now);
    assert_eq!(world.take_server_datagrams().len(), 1);

    // The next waits for the spacing.
    send(&mut world, "second");
    assert_eq!(world.server.poll_timeout(), Some(now + 5 * MS));
    world.server.handle_timeout(now + 4 * MS);
    assert!(world.take_server_datagrams().is_empty(), "too early");
    world.server.handle_timeout(now + 5 * MS);
    assert_eq!(world.take_server_datagrams().len(), 1);
    assert_eq!(
        world.server.poll_timeout(),
        Some(now + 50 * MS),
        "nothing left to flush: the tick"
    );
}

#[test]
fn a_wall_clock_set_back_does_not_stall_the_tick() {
    let mut world = World::new(LinkConfig::with_delay(5 * MS), 72);
    world.add_client(1);
    world.connect_all();
    let back = world.now - Duration::from_secs(3600);
    assert!(world.server.poll_timeout().unwrap() > back + 250 * MS);
    world.server.handle_timeout(back);
    assert_eq!(
        world.server.poll_timeout(),
        Some(back + TICK),
        "ticked, and the next tick counts from the new time"
    );
    assert!(world.server.is_connected(1));
}
