//! A server that closes the connection: with `session.single_socket`, a
//! user's new connection closes the old one, whichever transports the two
//! use. The old connection learns it at once, in a blocking `poll`, as
//! `Error::Closed`; its state says so; the new one works. One server for
//! the file.

mod common;

use std::time::{Duration, Instant};

use kairos_client::rtapi::Outgoing;
use kairos_client::{ConnectOptions, ConnectionState, Error, Transport};
use kairos_tests::{Backend, TestServer, unique};

#[test]
fn a_new_connection_closes_the_old_one_on_every_transport() {
    common::build_server_binary();
    let server = TestServer::start_with(&Backend::Sqlite, &["--session.single_socket", "true"]);
    let c = common::client_of(&server);
    for old in Transport::ALL {
        for new in [Transport::WsJson, Transport::ReliableUdp, Transport::Quic] {
            let session = c
                .authenticate_device(&unique("device-"), true, None)
                .unwrap();
            let mut first = c.connect(&session, old, ConnectOptions::default()).unwrap();
            first.ping().unwrap();
            let mut second = c.connect(&session, new, ConnectOptions::default()).unwrap();

            let start = Instant::now();
            let mut notified = false;
            let end = loop {
                match first.poll(Duration::from_secs(10)) {
                    Ok(Some(m)) => {
                        if let Some(Outgoing::Notifications(n)) = &m.message {
                            notified |= n.notifications.iter().any(|n| n.code == -7);
                        }
                    }
                    Ok(None) => panic!("{old} not closed by {new}"),
                    Err(e) => break e,
                }
            };
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{old}: closed late"
            );
            assert!(matches!(end, Error::Closed { .. }), "{old}: {end:?}");
            assert!(matches!(first.state(), ConnectionState::Closed { .. }));
            assert!(first.ping().is_err());
            // Nakama's `single_socket` notification (code -7) comes first,
            // on every transport: the server ends a datagram link only once
            // its last messages are acknowledged.
            assert!(notified, "{old}: the single_socket notification");
            second.ping().unwrap();
            second.close();
        }
    }
}
