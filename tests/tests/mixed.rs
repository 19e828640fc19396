//! Five kinds of client in one relayed match, spread over both shards:
//! WebSocket with JSON, with protobuf and with FlatBuffers, reliable UDP
//! and QUIC (the last four through the Rust client library). Every player
//! receives every other's data, reliable and unreliable, with the right
//! sender, and every join and leave. A batch of messages from the Rust
//! client shares datagrams, and arrives whole and in order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kairos_client::rtapi::{Incoming, Outgoing};
use kairos_client::{Client, ConnectOptions, Realtime, Session, Transport};
use kairos_tests::{Http, TestServer, unique};

const WAIT: Duration = Duration::from_secs(10);

struct Player {
    transport: Transport,
    session: Session,
    rt: Realtime,
}

fn connect(client: &Client, transport: Transport) -> Player {
    let session = client
        .authenticate_device(&unique("device-"), true, None)
        .expect("authenticates");
    let rt = client
        .connect(&session, transport, ConnectOptions::default())
        .unwrap_or_else(|e| panic!("{transport} connects: {e}"));
    Player {
        transport,
        session,
        rt,
    }
}

/// Sessions per shard, from the metrics endpoint.
fn sessions_per_shard(metrics: &Http) -> BTreeMap<String, f64> {
    let text = metrics.request("GET", "/metrics", None, None).text;
    text.lines()
        .filter(|l| l.starts_with("kairos_shard_sessions{"))
        .filter_map(|l| {
            let shard = l.split("shard=\"").nth(1)?.split('"').next()?.to_string();
            let value = l.rsplit(' ').next()?.parse().ok()?;
            Some((shard, value))
        })
        .collect()
}

/// A metric's total over the series whose labels contain `label`.
fn total(metrics: &Http, name: &str, label: &str) -> f64 {
    let text = metrics.request("GET", "/metrics", None, None).text;
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Polls until `pick` accepts a message; others are dropped.
fn wait_for<T>(p: &mut Player, what: &str, mut pick: impl FnMut(&Outgoing) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.rt.poll(left.min(Duration::from_millis(200))) {
            Ok(Some(m)) => {
                if let Some(t) = m.message.as_ref().and_then(&mut pick) {
                    return t;
                }
            }
            Ok(None) => {}
            Err(e) => panic!("{} waiting for {what}: {e}", p.transport),
        }
    }
    panic!("{} saw no {what}", p.transport);
}

/// A server with its metrics endpoint, the endpoint, and a client of it.
fn server_with_metrics() -> (TestServer, Http, Client) {
    let s = TestServer::start_with_metrics(&kairos_tests::Backend::Sqlite, &[]);
    let metrics = s.metrics();
    let http_port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = Client::new("127.0.0.1", http_port, "defaultkey");
    (s, metrics, client)
}

#[test]
fn five_transports_share_a_match_across_shards() {
    let (_server, metrics, client) = server_with_metrics();
    let kinds = [
        Transport::WsJson,
        Transport::WsProtobuf,
        Transport::WsFlatBuffers,
        Transport::ReliableUdp,
        Transport::Quic,
    ];
    let mut players: Vec<Player> = kinds.iter().map(|&t| connect(&client, t)).collect();
    // Reconnect players (each from a new socket) until both shards serve some.
    let mut i = 0;
    while sessions_per_shard(&metrics)
        .values()
        .filter(|n| **n > 0.0)
        .count()
        < 2
    {
        assert!(i < 40, "sessions never spread over both shards");
        let k = i % players.len();
        let t = players[k].transport;
        players[k].rt.close();
        players[k] = connect(&client, t);
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }

    // The first creates the match; each other joins and everyone in it
    // hears of the join.
    let match_id = players[0].rt.match_create(None).expect("create").match_id;
    for j in 1..players.len() {
        let joined = players[j].rt.match_join(&match_id).expect("join");
        assert_eq!(joined.size as usize, j + 1, "{}", players[j].transport);
        let joiner = players[j].session.user_id.clone();
        for earlier in players.iter_mut().take(j) {
            wait_for(earlier, "the join", |m| match m {
                Outgoing::MatchPresenceEvent(e) if e.joins.iter().any(|p| p.user_id == joiner) => {
                    Some(())
                }
                _ => None,
            });
        }
    }

    // Everyone sends reliably and unreliably; everyone hears everyone else.
    for (n, p) in players.iter_mut().enumerate() {
        let payload = format!("reliable from {n}");
        p.rt.match_data_send(&match_id, 10 + n as i64, payload.into_bytes(), true, &[])
            .expect("send");
        let payload = format!("unreliable from {n}");
        p.rt.match_data_send(&match_id, 20 + n as i64, payload.into_bytes(), false, &[])
            .expect("send");
    }
    let ids: Vec<String> = players.iter().map(|p| p.session.user_id.clone()).collect();
    for (me, p) in players.iter_mut().enumerate() {
        let mut wanted: BTreeSet<i64> = (0..ids.len())
            .filter(|n| *n != me)
            .flat_map(|n| [10 + n as i64, 20 + n as i64])
            .collect();
        let transport = p.transport;
        while !wanted.is_empty() {
            let (op, sender, data) = wait_for(p, "match data", |m| match m {
                Outgoing::MatchData(d) => {
                    Some((d.op_code, d.presence.user_id.clone(), d.data.clone()))
                }
                _ => None,
            });
            let from = (op % 10) as usize;
            assert_eq!(sender, ids[from], "{transport}: sender of op {op}");
            let kind = if op < 20 { "reliable" } else { "unreliable" };
            assert_eq!(
                &data[..],
                format!("{kind} from {from}").as_bytes(),
                "{transport}"
            );
            assert!(
                wanted.remove(&op),
                "{transport}: op {op} twice or unexpected"
            );
        }
    }

    // Data to one chosen player only.
    let target_presence = players[3].rt.match_join(&match_id).expect("rejoin").self_;
    players[0]
        .rt
        .match_data_send(&match_id, 99, &b"for udp"[..], true, &[target_presence])
        .expect("send");
    let got = wait_for(&mut players[3], "targeted data", |m| match m {
        Outgoing::MatchData(d) if d.op_code == 99 => Some(d.data.clone()),
        _ => None,
    });
    assert_eq!(&got[..], b"for udp");

    // Leaving, and vanishing, are both announced to every transport.
    let leaver = players[4].session.user_id.clone();
    players[4].rt.match_leave(&match_id).expect("leave");
    for p in players.iter_mut().take(4) {
        wait_for(p, "the leave", |m| match m {
            Outgoing::MatchPresenceEvent(e) if e.leaves.iter().any(|l| l.user_id == leaver) => {
                Some(())
            }
            _ => None,
        });
    }
    // The datagram transports' traffic shows in the metrics.
    for t in ["udp", "quic"] {
        let label = format!("transport=\"{t}\"");
        for name in [
            "kairos_transport_rx_packets_total",
            "kairos_transport_tx_packets_total",
            "kairos_transport_rx_bytes_total",
            "kairos_transport_tx_bytes_total",
        ] {
            assert!(total(&metrics, name, &label) > 0.0, "{name} {label}");
        }
    }

    let mut gone = players.remove(3);
    let gone_id = gone.session.user_id.clone();
    gone.rt.close();
    for p in players.iter_mut().take(3) {
        wait_for(p, "the close", |m| match m {
            Outgoing::MatchPresenceEvent(e) if e.leaves.iter().any(|l| l.user_id == gone_id) => {
                Some(())
            }
            _ => None,
        });
    }
}

/// Sends `n` reliable messages with op codes `base..base + n`, in a batch
/// or one by one, and waits until `to` has them all, in order. Returns how
/// many datagrams the server received meanwhile on `transport`'s port.
fn send_and_count(
    metrics: &Http,
    label: &str,
    from: &mut Player,
    to: &mut Player,
    match_id: &str,
    (base, n): (i64, i64),
    batch: bool,
) -> f64 {
    let before = total(metrics, "kairos_transport_rx_packets_total", label);
    let send = |rt: &mut Realtime| {
        for op in base..base + n {
            rt.match_data_send(match_id, op, vec![op as u8; 64], true, &[])?;
        }
        Ok(())
    };
    if batch {
        from.rt.batch(send).expect("batch sends");
    } else {
        send(&mut from.rt).expect("sends");
    }
    for op in base..base + n {
        let got = wait_for(to, "batched data", |m| match m {
            Outgoing::MatchData(d) => Some((d.op_code, d.data.clone())),
            _ => None,
        });
        assert_eq!(got, (op, vec![op as u8; 64].into()), "{}", from.transport);
    }
    total(metrics, "kairos_transport_rx_packets_total", label) - before
}

#[test]
fn a_batch_shares_datagrams_and_arrives_in_order() {
    let (_server, metrics, client) = server_with_metrics();
    let mut listener = connect(&client, Transport::WsJson);
    let match_id = listener.rt.match_create(None).expect("create").match_id;
    const N: i64 = 20;
    for (transport, label) in [
        (Transport::ReliableUdp, Some("transport=\"udp\"")),
        (Transport::Quic, Some("transport=\"quic\"")),
        (Transport::WsFlatBuffers, None),
    ] {
        let mut sender = connect(&client, transport);
        sender.rt.match_join(&match_id).expect("join");
        let one_by_one = send_and_count(
            &metrics,
            label.unwrap_or("-"),
            &mut sender,
            &mut listener,
            &match_id,
            (100, N),
            false,
        );
        let batched = send_and_count(
            &metrics,
            label.unwrap_or("-"),
            &mut sender,
            &mut listener,
            &match_id,
            (200, N),
            true,
        );
        if label.is_some() {
            // One datagram per message, against a few: 20 messages of
            // about 180 bytes fill four 1,300-byte datagrams (plus a timer's
            // acknowledgement or two).
            assert!(
                one_by_one >= N as f64,
                "{transport}: {one_by_one} datagrams for {N} messages"
            );
            assert!(
                batched <= (N / 2) as f64,
                "{transport}: {batched} datagrams for a batch of {N}"
            );
        }
        // A request inside a batch sends what was queued before waiting.
        sender
            .rt
            .batch(|rt| {
                rt.match_data_send(&match_id, 300, &b"before the ping"[..], true, &[])?;
                rt.request(&Incoming::Ping, WAIT)
            })
            .unwrap_or_else(|e| panic!("{transport}: a ping inside a batch: {e}"));
        let got = wait_for(&mut listener, "the data before the ping", |m| match m {
            Outgoing::MatchData(d) => Some(d.op_code),
            _ => None,
        });
        assert_eq!(got, 300, "{transport}");
        sender.rt.close();
    }
}

#[test]
fn a_batch_larger_than_one_flush_arrives_whole() {
    let (_server, _metrics, client) = server_with_metrics();
    let mut listener = connect(&client, Transport::WsJson);
    let match_id = listener.rt.match_create(None).expect("create").match_id;
    let mut sender = connect(&client, Transport::ReliableUdp);
    sender.rt.match_join(&match_id).expect("join");
    // 600 unreliable messages of about 125 bytes on the wire: more than a
    // flush carries (60,000 bytes) and than the client's unreliable buffer
    // (64 KiB). The batch leaves in several flushes, none dropped: about
    // 60 datagrams, which the server's receive buffer holds even unread.
    const N: i64 = 600;
    sender
        .rt
        .batch(|rt| {
            for op in 0..N {
                rt.match_data_send(&match_id, op, vec![op as u8; 64], false, &[])?;
            }
            Ok(())
        })
        .expect("a large batch sends");
    for op in 0..N {
        let got = wait_for(&mut listener, "a large batch", |m| match m {
            Outgoing::MatchData(d) => Some(d.op_code),
            _ => None,
        });
        assert_eq!(got, op);
    }
    sender.rt.close();
}
