//! The server's limits hold on every transport: a burst of requests is
//! answered in full (the transports' flow control paces the client instead
//! of the server dropping it), and a message larger than
//! `socket.max_message_size_bytes` ends the connection. One server for the
//! file.

mod common;

use std::time::{Duration, Instant};

use kairos_client::rtapi::{Incoming, MatchDataSend, Outgoing};
use kairos_client::{ConnectOptions, Error, Transport};
use kairos_tests::{Backend, TestServer, unique};

#[test]
fn bursts_are_answered_and_oversized_messages_refused() {
    common::build_server_binary();
    let server = TestServer::start(&Backend::Sqlite);
    let c = common::client_of(&server);
    for transport in Transport::ALL {
        let session = c
            .authenticate_device(&unique("device-"), true, None)
            .unwrap();
        let mut rt = c
            .connect(&session, transport, ConnectOptions::default())
            .unwrap();

        // 3,000 pings back to back, then collect the pongs.
        const BURST: usize = 3000;
        for _ in 0..BURST {
            rt.send(&Incoming::Ping).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut pongs = 0;
        while pongs < BURST {
            assert!(Instant::now() < deadline, "{transport}: {pongs} pongs");
            match rt.poll(Duration::from_millis(500)) {
                Ok(Some(m)) if matches!(m.message, Some(Outgoing::Pong {})) => pongs += 1,
                Ok(_) => {}
                Err(e) => panic!("{transport}: closed after {pongs} pongs: {e}"),
            }
        }

        // A message over the limit (4096 bytes by default) closes it.
        let m = rt.match_create(None).unwrap();
        let big = Incoming::MatchDataSend(MatchDataSend {
            match_id: m.match_id,
            op_code: 1,
            data: vec![7u8; 6000].into(),
            presences: Vec::new(),
            reliable: true,
        });
        rt.send(&big).unwrap();
        let end = loop {
            match rt.poll(Duration::from_secs(10)) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("{transport}: still open after an oversized message"),
                Err(e) => break e,
            }
        };
        assert!(matches!(end, Error::Closed { .. }), "{transport}: {end:?}");
    }
}
