//! The client against the real server: one `kairos` process (2 shards,
//! SQLite, every transport on ephemeral ports) for the whole file.
//!
//! The server binary is `kairos-tests`' `kairos-under-test`, found next
//! to this test executable; it is built here first (with the cargo that
//! runs the tests) unless `KAIROS_BIN` names a binary.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kairos_client::rtapi::{MatchData, Outgoing, UserPresence};
use kairos_client::{
    ChannelType, Client, ClientTls, ConnectOptions, ConnectionState, Error, QuicTrust, Realtime,
    Session, Transport,
};
use kairos_tests::{Backend, TestServer, unique};

const WAIT: Duration = Duration::from_secs(10);

// ---- the server ------------------------------------------------------------

fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        common::build_server_binary();
        TestServer::start(&Backend::Sqlite)
    })
}

fn client() -> Client {
    common::client_of(server())
}

fn user(c: &Client) -> Session {
    c.authenticate_device(&unique("device-"), true, None)
        .expect("authenticates")
}

fn connect(c: &Client, transport: Transport, status: bool) -> (Session, Realtime) {
    let session = user(c);
    let rt = c
        .connect(
            &session,
            transport,
            ConnectOptions {
                status,
                ..ConnectOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{transport} connects: {e}"));
    (session, rt)
}

/// Polls until a message satisfies `pick`; other messages are dropped.
fn wait_for<T>(rt: &mut Realtime, what: &str, mut pick: impl FnMut(&Outgoing) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{}: no {what} within {WAIT:?}",
            rt.transport()
        );
        match rt.poll(left) {
            Ok(Some(m)) => {
                if let Some(t) = m.message.as_ref().and_then(&mut pick) {
                    return t;
                }
            }
            Ok(None) => {}
            Err(e) => panic!("{}: waiting for {what}: {e}", rt.transport()),
        }
    }
}

fn match_data(rt: &mut Realtime, op_code: i64) -> MatchData {
    wait_for(rt, &format!("match_data {op_code}"), |o| match o {
        Outgoing::MatchData(d) if d.op_code == op_code => Some(d.clone()),
        _ => None,
    })
}

fn has(presences: &[UserPresence], user_id: &str) -> bool {
    presences.iter().any(|p| p.user_id == user_id)
}

/// The session with the signatures of both tokens replaced.
fn forged(session: &Session) -> Session {
    let forge = |jwt: &str| {
        let (head, _signature) = jwt.rsplit_once('.').expect("a JWT");
        format!("{head}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    };
    Session {
        token: forge(&session.token),
        refresh_token: forge(&session.refresh_token),
        ..session.clone()
    }
}

// ---- REST ------------------------------------------------------------------

#[test]
fn rest_authenticates_refreshes_and_discovers_transports() {
    let c = client();
    let device = unique("device-");
    let name = unique("u");
    let s = c
        .authenticate_device(&device, true, Some(&name))
        .expect("device");
    assert!(s.created);
    assert_eq!(s.username, name);
    assert!(!s.user_id.is_empty() && !s.token_id.is_empty());
    assert!(!s.is_expired() && !s.refresh_token.is_empty());
    // Again: the same account, not created.
    let again = c.authenticate_device(&device, false, None).expect("again");
    assert!(!again.created);
    assert_eq!(again.user_id, s.user_id);

    let custom = c
        .authenticate_custom(&unique("custom-"), true, None)
        .expect("custom");
    assert!(custom.created && custom.user_id != s.user_id);
    let email = format!("{}@example.com", unique("e"));
    let e = c
        .authenticate_email(&email, "password1234", true, None)
        .expect("email");
    assert!(e.created);
    let e2 = c
        .authenticate_email(&email, "password1234", false, None)
        .expect("email sign-in");
    assert_eq!(e2.user_id, e.user_id);

    let refreshed = c.session_refresh(&s).expect("refresh");
    assert_eq!(refreshed.user_id, s.user_id);
    assert!(!refreshed.token.is_empty());

    let t = c.transports(&s).expect("transports");
    let udp = t.udp.expect("udp enabled");
    let quic = t.quic.expect("quic enabled");
    assert_eq!(Some(&udp.address), server().udp_addr.as_ref());
    assert_eq!(Some(&quic.address), server().quic_addr.as_ref());
    assert!(quic.certificate.starts_with("-----BEGIN CERTIFICATE-----"));

    let token = c.udp_connect_token(&s, true).expect("udp token");
    assert!(token.connect_token.len() > 1000, "a netcode connect token");
    assert_eq!(token.addresses, vec![udp.address]);
    assert!(token.expires_in > Duration::ZERO);
}

#[test]
fn rest_errors_carry_nakama_codes() {
    let c = client();
    let bad_key = Client::new(c.host(), c.port(), "not-the-key");
    let e = bad_key
        .authenticate_device(&unique("device-"), true, None)
        .unwrap_err();
    assert!(e.is_unauthenticated(), "{e}");
    assert!(
        matches!(
            e,
            Error::Api {
                status: 401,
                code: 16,
                ..
            }
        ),
        "{e:?}"
    );

    let e = c
        .authenticate_device(&unique("device-"), false, None)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Api {
                status: 404,
                code: 5,
                ..
            }
        ),
        "{e:?}"
    );

    let e = c.authenticate_device("short", true, None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Api {
                status: 400,
                code: 3,
                ..
            }
        ),
        "{e:?}"
    );

    let email = format!("{}@example.com", unique("e"));
    c.authenticate_email(&email, "password1234", true, None)
        .unwrap();
    let e = c
        .authenticate_email(&email, "wrong-password", false, None)
        .unwrap_err();
    assert!(e.is_unauthenticated(), "{e:?}");

    let s = user(&c);
    let e = c.transports(&forged(&s)).unwrap_err();
    assert!(e.is_unauthenticated(), "{e:?}");
    let e = c.session_refresh(&forged(&s)).unwrap_err();
    assert!(matches!(e, Error::Api { status: 401, .. }), "{e:?}");
}

// ---- every transport -------------------------------------------------------

/// The transport the partner of `t` uses: always a different one.
fn partner_of(t: Transport) -> Transport {
    let i = Transport::ALL.iter().position(|x| *x == t).unwrap();
    Transport::ALL[(i + 1) % Transport::ALL.len()]
}

/// Everything a game does, between a client on `t` and one on another
/// transport: ping, a match with data both ways (reliable, unreliable,
/// and unreliable too large for a datagram), a chat room, status, leaving,
/// and a polite close the other side sees.
fn round_trip(t: Transport) {
    let c = client();
    let p = partner_of(t);
    let (sa, mut a) = connect(&c, t, true);
    let (sb, mut b) = connect(&c, p, true);
    assert!(a.is_connected() && b.is_connected());
    assert_eq!(a.transport(), t);
    assert_eq!(a.user_id(), sa.user_id);

    let rtt = a.ping().expect("ping");
    assert!(rtt < WAIT, "{t}: rtt {rtt:?}");
    b.ping().expect("partner ping");

    // A match, joined by the partner.
    let m = a.match_create(None).expect("match_create");
    assert!(m.match_id.ends_with('.'), "{}", m.match_id);
    assert_eq!(m.self_.user_id, sa.user_id);
    let joined = b.match_join(&m.match_id).expect("match_join");
    assert_eq!(joined.match_id, m.match_id);
    assert!(has(&joined.presences, &sa.user_id), "{joined:?}");
    wait_for(&mut a, "the partner's join", |o| match o {
        Outgoing::MatchPresenceEvent(e) if has(&e.joins, &sb.user_id) => Some(()),
        _ => None,
    });

    // Reliable data both ways.
    a.match_data_send(&m.match_id, 1, &b"from a"[..], true, &[])
        .unwrap();
    let d = match_data(&mut b, 1);
    assert_eq!(
        (&d.data[..], d.presence.user_id.as_str(), d.reliable),
        (&b"from a"[..], sa.user_id.as_str(), true)
    );
    b.match_data_send(&m.match_id, 2, b"from b".to_vec(), true, &[])
        .unwrap();
    let d = match_data(&mut a, 2);
    assert_eq!(
        (&d.data[..], d.presence.user_id.as_str()),
        (&b"from b"[..], sb.user_id.as_str())
    );

    // Unreliable data both ways.
    unreliable(&mut a, &mut b, &m.match_id, 3, (t, p));
    unreliable(&mut b, &mut a, &m.match_id, 4, (p, t));

    // Unreliable but larger than a datagram: still arrives (reliably).
    // (Below the WebSocket's 4096-byte limit on client messages, even as
    // base64 in JSON.)
    let big: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
    a.match_data_send(&m.match_id, 5, big.clone(), false, &[])
        .unwrap();
    assert_eq!(match_data(&mut b, 5).data.to_vec(), big);
    b.match_data_send(&m.match_id, 6, big.clone(), false, &[])
        .unwrap();
    assert_eq!(match_data(&mut a, 6).data.to_vec(), big);

    // Data for one presence only.
    let only_b = joined.self_.clone();
    a.match_data_send(&m.match_id, 7, &b"just you"[..], true, &[only_b])
        .unwrap();
    assert_eq!(&match_data(&mut b, 7).data[..], b"just you");

    // A chat room.
    let room = unique("room-");
    let ca = a
        .channel_join(&room, ChannelType::Room, false, false)
        .expect("channel_join");
    assert_eq!(ca.room_name, room);
    let cb = b
        .channel_join(&room, ChannelType::Room, false, false)
        .expect("partner channel_join");
    assert_eq!(cb.id, ca.id);
    let ack = a
        .channel_message_send(&ca.id, r#"{"text":"hello"}"#)
        .expect("channel_message_send");
    assert_eq!(ack.channel_id, ca.id);
    assert!(!ack.message_id.is_empty());
    let msg = wait_for(&mut b, "the chat message", |o| match o {
        Outgoing::ChannelMessage(m) if m.message_id == ack.message_id => Some(m.clone()),
        _ => None,
    });
    assert_eq!(msg.sender_id, sa.user_id);
    assert_eq!(msg.content, r#"{"text":"hello"}"#);
    b.channel_leave(&cb.id).expect("channel_leave");

    // Status: `a` connected with status=true, so the partner sees it
    // online, then its new status.
    let st = b.status_follow(&[&sa.user_id], &[]).expect("status_follow");
    assert!(has(&st.presences, &sa.user_id), "{t}: online: {st:?}");
    a.status_update(Some("busy")).expect("status_update");
    wait_for(&mut b, "the status change", |o| match o {
        Outgoing::StatusPresenceEvent(e)
            if e.joins
                .iter()
                .any(|p| p.user_id == sa.user_id && p.status.as_deref() == Some("busy")) =>
        {
            Some(())
        }
        _ => None,
    });

    // Leaving the match, coming back, then closing: the partner sees
    // each.
    a.match_leave(&m.match_id).expect("match_leave");
    wait_for(&mut b, "the leave", |o| match o {
        Outgoing::MatchPresenceEvent(e) if has(&e.leaves, &sa.user_id) => Some(()),
        _ => None,
    });
    a.match_join(&m.match_id).expect("rejoin");
    wait_for(&mut b, "the rejoin", |o| match o {
        Outgoing::MatchPresenceEvent(e) if has(&e.joins, &sa.user_id) => Some(()),
        _ => None,
    });
    a.close();
    assert!(matches!(a.state(), ConnectionState::Closed { .. }));
    assert!(matches!(a.ping(), Err(Error::Closed { .. })));
    wait_for(&mut b, "the close", |o| match o {
        Outgoing::MatchPresenceEvent(e) if has(&e.leaves, &sa.user_id) => Some(()),
        _ => None,
    });
    let stats = b.stats();
    assert!(stats.sent > 5 && stats.received > 5, "{stats:?}");
    assert_eq!(stats.skipped, 0, "every server message decoded");
    b.close();
    b.close();
}

/// Five unreliable messages from `from` to `to`: on loopback nothing is
/// lost, and what arrives never goes backwards.
fn unreliable(
    from: &mut Realtime,
    to: &mut Realtime,
    match_id: &str,
    op: i64,
    (tf, tt): (Transport, Transport),
) {
    for i in 0..5u8 {
        from.match_data_send(match_id, op, vec![i; 8], false, &[])
            .unwrap();
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while got.len() < 5 && Instant::now() < deadline {
        if let Some(msg) = to.poll(Duration::from_millis(50)).unwrap()
            && let Some(Outgoing::MatchData(d)) = msg.message
            && d.op_code == op
        {
            assert!(!d.reliable, "{tf}: sent unreliably");
            got.push(d.data[0]);
        }
    }
    assert!(
        !got.is_empty(),
        "{tf} to {tt}: no unreliable message arrived"
    );
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "{tf} to {tt}: in order: {got:?}"
    );
}

#[test]
fn ws_json_round_trip() {
    round_trip(Transport::WsJson);
}

#[test]
fn ws_protobuf_round_trip() {
    round_trip(Transport::WsProtobuf);
}

#[test]
fn ws_flatbuffers_round_trip() {
    round_trip(Transport::WsFlatBuffers);
}

#[test]
fn reliable_udp_round_trip() {
    round_trip(Transport::ReliableUdp);
}

#[test]
fn quic_round_trip() {
    round_trip(Transport::Quic);
}

#[test]
fn realtime_errors_are_typed_on_every_transport() {
    let c = client();
    for t in Transport::ALL {
        let (_, mut rt) = connect(&c, t, false);
        let e = rt
            .match_join("0195f0d2-0000-7000-8000-000000000000.")
            .unwrap_err();
        assert!(
            matches!(e, Error::Realtime { code: 4, .. }),
            "{t}: match not found: {e:?}"
        );
        let e = rt
            .channel_message_send("2...nowhere", r#"{"a":1}"#)
            .unwrap_err();
        assert!(matches!(e, Error::Realtime { .. }), "{t}: {e:?}");
        // The connection is still fine.
        rt.ping().unwrap();
        rt.close();
    }
}

#[test]
fn bad_tokens_are_refused_on_every_transport() {
    let c = client();
    let good = user(&c);
    let bad = forged(&good);
    for t in Transport::ALL {
        let e = c
            .connect(&bad, t, ConnectOptions::default())
            .expect_err("a forged token is refused");
        assert!(e.is_unauthenticated(), "{t}: {e:?}");
    }
    // QUIC's own check: the token on the stream (the REST discovery above
    // refuses it first).
    let quic = c.transports(&good).unwrap().quic.unwrap();
    let tls = ClientTls::trusting_pem(quic.certificate.as_bytes()).unwrap();
    let e = Realtime::connect_quic(
        quic.address.parse().unwrap(),
        "localhost",
        &bad.token,
        &tls,
        ConnectOptions::default(),
    )
    .expect_err("refused on the stream");
    assert!(
        matches!(e, Error::Closed { code: Some(3), .. }),
        "QUIC refusal: {e:?}"
    );
    assert!(e.is_unauthenticated());
    // Reliable UDP's own check is the sealed connect token: garbage is
    // refused before anything is sent.
    let e = Realtime::connect_udp_token(&[7; 2048], ConnectOptions::default()).unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
}

#[test]
fn quic_trust_is_explicit() {
    let c = client();
    let s = user(&c);
    // Skipping verification works, for development.
    let mut rt = c
        .connect(
            &s,
            Transport::Quic,
            ConnectOptions {
                quic_trust: QuicTrust::DangerouslySkipVerification,
                ..ConnectOptions::default()
            },
        )
        .expect("connects without verification");
    rt.ping().unwrap();
    rt.close();
    // The advertised certificate, pinned by hand, under its other name.
    let pem = c.transports(&s).unwrap().quic.unwrap().certificate;
    let mut rt = c
        .connect(
            &s,
            Transport::Quic,
            ConnectOptions {
                quic_trust: QuicTrust::Pem(pem),
                quic_server_name: Some("localhost".into()),
                ..ConnectOptions::default()
            },
        )
        .expect("connects with the pinned certificate");
    rt.ping().unwrap();
    rt.close();
    // Another certificate: the TLS handshake fails.
    let (other, _) = kairos_net::quic::self_signed(&["localhost".to_string()]).unwrap();
    let e = c
        .connect(
            &s,
            Transport::Quic,
            ConnectOptions {
                quic_trust: QuicTrust::Pem(other),
                timeout: Duration::from_secs(5),
                ..ConnectOptions::default()
            },
        )
        .expect_err("an unknown certificate is refused");
    assert!(
        matches!(&e, Error::Closed { reason, .. } if reason.contains("transport")),
        "{e:?}"
    );
}

/// A game loop: `pump` + `drain` once per frame never block, and deliver
/// everything.
#[test]
fn game_loop_pumps_without_blocking() {
    let c = client();
    for t in [Transport::WsJson, Transport::ReliableUdp, Transport::Quic] {
        let (_, mut game) = connect(&c, t, false);
        let (_, mut other) = connect(&c, Transport::WsFlatBuffers, false);
        let m = game.match_create(None).unwrap();
        other.match_join(&m.match_id).unwrap();
        for i in 0..20u8 {
            other
                .match_data_send(&m.match_id, 9, vec![i], true, &[])
                .unwrap();
        }
        let mut inbox = Vec::new();
        let mut received = Vec::new();
        let mut slowest = Duration::ZERO;
        let deadline = Instant::now() + WAIT;
        while received.len() < 20 && Instant::now() < deadline {
            let start = Instant::now();
            game.pump().unwrap();
            slowest = slowest.max(start.elapsed());
            game.drain(&mut inbox);
            for msg in inbox.drain(..) {
                if let Some(Outgoing::MatchData(d)) = msg.message {
                    received.push(d.data[0]);
                }
            }
            // Inputs, as a game sends them every frame.
            game.match_data_send(&m.match_id, 10, &b"input"[..], false, &[])
                .unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(received, (0..20).collect::<Vec<u8>>(), "{t}");
        assert!(
            slowest < Duration::from_millis(100),
            "{t}: pump took {slowest:?}"
        );
        game.close();
        other.close();
    }
}

/// The WebSocket takes client messages up to `socket.max_message_size_bytes`
/// (4096 by default, as Nakama): a larger one closes the connection with
/// 1009, which the client reports as `Error::Closed`.
#[test]
fn ws_reports_the_servers_close() {
    let c = client();
    let (_, mut rt) = connect(&c, Transport::WsProtobuf, false);
    let m = rt.match_create(None).unwrap();
    rt.match_data_send(&m.match_id, 1, vec![0u8; 5000], true, &[])
        .unwrap();
    let e = loop {
        match rt.poll(WAIT) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the server kept the connection"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            e,
            Error::Closed {
                code: Some(1009),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(matches!(
        rt.state(),
        ConnectionState::Closed {
            code: Some(1009),
            ..
        }
    ));
    assert!(matches!(rt.pump(), Err(Error::Closed { .. })));
    assert!(
        rt.match_data_send(&m.match_id, 1, &b"x"[..], true, &[])
            .is_err()
    );
}

/// Idle connections stay open while the application waits in `poll`:
/// the client answers the WebSocket's pings, ticks reliable UDP
/// (keepalives every 250 ms of silence against a 10 s timeout) and runs
/// QUIC's keepalive timer (every 5 s against a 15 s idle timeout).
#[test]
fn idle_connections_stay_open_while_polling() {
    let c = client();
    let threads: Vec<_> = [Transport::WsJson, Transport::ReliableUdp, Transport::Quic]
        .into_iter()
        .map(|t| {
            let (_, mut rt) = connect(&c, t, false);
            std::thread::spawn(move || {
                let idle = Duration::from_secs(17);
                let start = Instant::now();
                while start.elapsed() < idle {
                    match rt.poll(idle.saturating_sub(start.elapsed())) {
                        Ok(None) => {}
                        Ok(Some(m)) => panic!("{t}: unexpected {m:?}"),
                        Err(e) => panic!("{t}: idle connection ended: {e}"),
                    }
                }
                rt.ping()
                    .unwrap_or_else(|e| panic!("{t}: after idling: {e}"));
                assert!(rt.is_connected());
                rt.close();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Reliable messages sent right before `close` still arrive on the
/// datagram transports (more than one flush or congestion window's worth:
/// without driving the connection they would still be queued).
#[test]
fn close_delivers_what_was_sent() {
    let c = client();
    for t in [Transport::ReliableUdp, Transport::Quic] {
        let (_, mut a) = connect(&c, t, false);
        let (_, mut b) = connect(&c, Transport::WsFlatBuffers, false);
        let m = a.match_create(None).unwrap();
        b.match_join(&m.match_id).unwrap();
        a.pump().unwrap();
        let chunk: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        for _ in 0..30 {
            a.match_data_send(&m.match_id, 11, chunk.clone(), true, &[])
                .unwrap();
        }
        a.close();
        for i in 0..30 {
            let d = match_data(&mut b, 11);
            assert_eq!(d.data.len(), chunk.len(), "{t}: message {i}");
        }
        b.close();
    }
}
