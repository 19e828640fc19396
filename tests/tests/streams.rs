//! Game code's streams (`Nk::stream_*`, through the example RPCs and the
//! test binary's `test.stream`): joins, updates, leaves, kicks, reads,
//! closes and sends with sessions on both shards; hidden presences; the
//! session's stream cap; bad input with its codes; and `stream_data` and
//! `stream_presence_event` on every wire.
//!
//! Where a test shows that something was *not* delivered, it sends a
//! later message and checks that one arrives first: no timing.

use kairos_tests::{Http, Reply, TestServer, Ws, basic, bearer, unique, users_on_both_shards};
use serde_json::{Value, json};

/// `test.stream` with `payload`, called with the HTTP key (any shard).
fn op(http: &Http, payload: Value) -> Reply {
    http.request(
        "POST",
        "/v2/rpc/test.stream",
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(payload.to_string()).to_string()),
    )
}

/// The RPC's answer, which must have succeeded.
fn answer(r: &Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap()
}

/// A fresh game stream: mode 20, a random subject, label "lobby".
fn new_stream() -> Value {
    json!({ "mode": 20, "subject": uuid(), "label": "lobby" })
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The socket's own session joins `stream` through `example.stream_join`
/// (with `extra` fields such as `hidden`); the RPC's answer.
fn socket_join(ws: &mut Ws, stream: &Value, extra: Value) -> Value {
    let mut payload = stream.clone();
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let r = ws.request(
        "join",
        "rpc",
        json!({ "id": "example.stream_join", "payload": payload.to_string() }),
    );
    let body = r["rpc"]["payload"]
        .as_str()
        .unwrap_or_else(|| panic!("join failed: {r}"));
    serde_json::from_str(body).unwrap()
}

/// The next `stream_data` or `stream_presence_event`, skipping anything
/// else (RPC replies).
fn next_stream_msg(ws: &mut Ws) -> Value {
    for _ in 0..100 {
        let v = ws.recv_json();
        if v.get("stream_data").is_some() || v.get("stream_presence_event").is_some() {
            return v;
        }
    }
    panic!("no stream message");
}

fn event(ws: &mut Ws) -> Value {
    let v = next_stream_msg(ws);
    v.get("stream_presence_event")
        .unwrap_or_else(|| panic!("expected a presence event, got {v}"))
        .clone()
}

fn data(ws: &mut Ws) -> Value {
    let v = next_stream_msg(ws);
    v.get("stream_data")
        .unwrap_or_else(|| panic!("expected stream data, got {v}"))
        .clone()
}

/// The session ids of an event's joins or leaves.
fn sessions(ev: &Value, key: &str) -> Vec<String> {
    ev[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["session_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The one session id of an event's joins or leaves.
fn only(ev: &Value, key: &str) -> String {
    let ids = sessions(ev, key);
    assert_eq!(ids.len(), 1, "{key} of {ev}");
    ids[0].clone()
}

fn with(stream: &Value, fields: Value) -> Value {
    let mut v = json!({ "stream": stream });
    v.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    v
}

fn count(http: &Http, stream: &Value) -> u64 {
    answer(&op(http, with(stream, json!({ "op": "count" }))))["count"]
        .as_u64()
        .unwrap()
}

fn send_all(http: &Http, stream: &Value, data: &str) {
    answer(&op(
        http,
        with(stream, json!({ "op": "send", "data": data })),
    ));
}

#[test]
fn streams_across_two_shards() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let mut users = users_on_both_shards(&s, 3, "");
    users.sort_by_key(|(w, _)| w.shard);
    let (mut wc, c) = users.remove(1);
    let (mut wa, a) = users.remove(0);
    let (mut wb, b) = users.remove(0);
    assert_ne!(wa.shard, wb.shard, "a and b live on different shards");
    let stream = new_stream();

    // A joins from its socket: it hears its own join.
    let joined = socket_join(&mut wa, &stream, json!({}));
    assert_eq!(
        (&joined["joined"], &joined["count"]),
        (&json!(true), &json!(1))
    );
    let sa = joined["session_id"].as_str().unwrap().to_string();
    let ev = event(&mut wa);
    assert_eq!(
        ev["stream"],
        json!({ "mode": 20, "subject": stream["subject"], "label": "lobby" })
    );
    assert_eq!(only(&ev, "joins"), sa);
    assert_eq!(ev["joins"][0]["user_id"], json!(a.user_id()));
    assert_eq!(ev["joins"][0]["username"], json!(a.username()));
    assert!(ev.get("leaves").is_none());

    // B, on the other shard, joins: both hear it.
    let sb = socket_join(&mut wb, &stream, json!({}))["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(only(&event(&mut wa), "joins"), sb);
    assert_eq!(only(&event(&mut wb), "joins"), sb);

    // C joins hidden (game code naming its session, from any shard):
    // nobody hears it, C included; the data sent next comes first.
    let sc = socket_join(&mut wc, &new_stream(), json!({}))["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = event(&mut wc); // its join of the other stream
    let r = answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "join", "user_id": c.user_id(), "session_id": sc, "hidden": true }),
        ),
    ));
    assert_eq!(r["joined"], true);
    send_all(&http, &stream, "after the hidden join");
    for ws in [&mut wa, &mut wb, &mut wc] {
        let d = data(ws);
        assert_eq!(d["data"], "after the hidden join");
        assert_eq!(d["reliable"], true);
        assert_eq!(d["stream"]["subject"], stream["subject"]);
        assert!(d.get("sender").is_none(), "server data has no sender: {d}");
    }

    // Count includes hidden presences; lists filter them either way.
    assert_eq!(count(&http, &stream), 3);
    let list = |hidden: bool, visible: bool| -> Vec<String> {
        answer(&op(
            &http,
            with(
                &stream,
                json!({ "op": "list", "include_hidden": hidden, "include_not_hidden": visible }),
            ),
        ))["presences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["session_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(list(true, true), [sa.clone(), sb.clone(), sc.clone()]);
    assert_eq!(list(false, true), [sa.clone(), sb.clone()]);
    assert_eq!(list(true, false), vec![sc.clone()]);
    assert!(list(false, false).is_empty());
    let got = answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "get", "user_id": c.user_id(), "session_id": sc }),
        ),
    ));
    assert_eq!(got["presence"]["hidden"], true);
    assert_eq!(got["presence"]["persistence"], true);
    assert_eq!(got["presence"]["node"], "kairos");
    // Get with another user's id finds nothing.
    let got = answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "get", "user_id": a.user_id(), "session_id": sc }),
        ),
    ));
    assert_eq!(got["presence"], Value::Null);

    // Joining again changes nothing.
    let again = socket_join(&mut wa, &stream, json!({ "hidden": true }));
    assert_eq!(
        (&again["joined"], &again["count"]),
        (&json!(false), &json!(3))
    );

    // Data to listed presences reaches only those members.
    answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "send", "data": "for b", "presences": [sb, uuid()], "reliable": false }),
        ),
    ));
    send_all(&http, &stream, "for all");
    let d = data(&mut wb);
    assert_eq!((&d["data"], d.get("reliable")), (&json!("for b"), None));
    assert_eq!(data(&mut wb)["data"], "for all");
    assert_eq!(data(&mut wa)["data"], "for all", "a skipped 'for b'");
    assert_eq!(data(&mut wc)["data"], "for all", "c skipped 'for b'");

    // An update is a leave of the old presence and a join of the new one;
    // the status is kept, not shown in events (as Nakama).
    answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "update", "user_id": b.user_id(), "session_id": sb, "status": "afk", "persistence": false }),
        ),
    ));
    // Every member hears it, the hidden one too (hidden presences are not
    // announced, but they hear, as in Nakama).
    for ws in [&mut wa, &mut wb, &mut wc] {
        let ev = event(ws);
        assert_eq!(only(&ev, "joins"), sb);
        assert_eq!(only(&ev, "leaves"), sb);
        assert_eq!(ev["leaves"][0]["persistence"], true);
        assert!(ev["joins"][0].get("persistence").is_none());
        assert!(ev["joins"][0].get("status").is_none());
    }
    let got = answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "get", "user_id": b.user_id(), "session_id": sb }),
        ),
    ));
    assert_eq!(got["presence"]["status"], "afk");
    assert_eq!(got["presence"]["persistence"], false);
    assert_eq!(count(&http, &stream), 3, "an update replaces");

    // C shows itself: a join without a leave (it was hidden).
    answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "update", "user_id": c.user_id(), "session_id": sc }),
        ),
    ));
    for ws in [&mut wa, &mut wb, &mut wc] {
        let ev = event(ws);
        assert_eq!(only(&ev, "joins"), sc);
        assert!(ev.get("leaves").is_none(), "{ev}");
    }

    // B leaves (asked by game code): the others hear it, B does not.
    answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "leave", "user_id": b.user_id(), "session_id": sb }),
        ),
    ));
    for ws in [&mut wa, &mut wc] {
        assert_eq!(only(&event(ws), "leaves"), sb);
    }
    assert_eq!(count(&http, &stream), 2);
    // Leaving twice is no error.
    answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "leave", "user_id": b.user_id(), "session_id": sb }),
        ),
    ));

    // C is kicked.
    answer(&op(
        &http,
        with(
            &stream,
            json!({ "op": "kick", "user_id": c.user_id(), "session_id": sc }),
        ),
    ));
    assert_eq!(only(&event(&mut wa), "leaves"), sc);
    assert_eq!(count(&http, &stream), 1);
    // B's session forgot the stream: it joins anew.
    assert_eq!(socket_join(&mut wb, &stream, json!({}))["joined"], true);
    assert_eq!(only(&event(&mut wa), "joins"), sb);
    assert_eq!(only(&event(&mut wb), "joins"), sb);

    // Closing removes everyone, silently; the sessions forget it too.
    answer(&op(&http, with(&stream, json!({ "op": "close" }))));
    assert_eq!(count(&http, &stream), 0);
    // Sent from A's own socket, so that it reaches the stream before A's
    // rejoin does: a send is not awaited, and only calls from one shard
    // reach the stream's owner in the order they were made (the mesh keeps
    // each pair of shards in order). Sent over HTTP, from whichever shard
    // took the request, it could arrive after the rejoin.
    let sent = wa.request(
        "nobody",
        "rpc",
        json!({
            "id": "test.stream",
            "payload": with(&stream, json!({ "op": "send", "data": "to nobody" })).to_string(),
        }),
    );
    assert!(sent["rpc"]["payload"].is_string(), "{sent}");
    let rejoined = socket_join(&mut wa, &stream, json!({}));
    assert_eq!(
        (&rejoined["joined"], &rejoined["count"]),
        (&json!(true), &json!(1))
    );
    assert_eq!(
        only(&event(&mut wa), "joins"),
        sa,
        "no data after the close, nor a leave"
    );

    // A session that closes leaves: the others hear it.
    assert_eq!(socket_join(&mut wb, &stream, json!({}))["joined"], true);
    assert_eq!(only(&event(&mut wa), "joins"), sb);
    wb.close();
    assert_eq!(only(&event(&mut wa), "leaves"), sb);
    assert_eq!(count(&http, &stream), 1);
}

#[test]
fn bad_input_and_the_session_cap() {
    let s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &[
            "--kairos.session.max_streams",
            "2",
            "--kairos.session.max_matches",
            "2",
        ],
    );
    let http = s.http();
    let me = http.device(&unique("device-"));
    let other = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let sid = socket_join(&mut ws, &new_stream(), json!({}))["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let join = |stream: Value, user: &str, session: &str| {
        op(
            &http,
            with(
                &stream,
                json!({ "op": "join", "user_id": user, "session_id": session }),
            ),
        )
    };

    // Reserved modes (Kairos's own streams) are refused for every call.
    for mode in [0, 1, 2, 5, 7] {
        let stream = json!({ "mode": mode, "label": "x" });
        join(stream.clone(), &me.user_id(), &sid).assert_error(400, 3);
        op(&http, with(&stream, json!({ "op": "count" }))).assert_error(400, 3);
        op(&http, with(&stream, json!({ "op": "send", "data": "x" }))).assert_error(400, 3);
        op(&http, with(&stream, json!({ "op": "close" }))).assert_error(400, 3);
    }
    // A subject that is not a UUID, an over-long label or status.
    let r = join(
        json!({ "mode": 20, "subject": "lobby" }),
        &me.user_id(),
        &sid,
    );
    r.assert_error(400, 3);
    assert!(r.message().contains("subject"), "{}", r.text);
    join(
        json!({ "mode": 20, "label": "x".repeat(257) }),
        &me.user_id(),
        &sid,
    )
    .assert_error(400, 3);
    assert_eq!(
        answer(&join(
            json!({ "mode": 20, "label": "x".repeat(256) }),
            &me.user_id(),
            &sid
        ))["joined"],
        true,
        "256 bytes is the longest label"
    );
    op(
        &http,
        with(
            &new_stream(),
            json!({ "op": "join", "user_id": me.user_id(), "session_id": sid, "status": "s".repeat(2049) }),
        ),
    )
    .assert_error(400, 3);

    // Unknown sessions, or another user's, are NOT_FOUND; leaving one is
    // no error.
    let r = join(new_stream(), &me.user_id(), &uuid());
    r.assert_error(404, 5);
    assert_eq!(r.message(), "session id does not exist");
    join(new_stream(), &other.user_id(), &sid).assert_error(404, 5);
    op(
        &http,
        with(
            &new_stream(),
            json!({ "op": "update", "user_id": me.user_id(), "session_id": uuid() }),
        ),
    )
    .assert_error(404, 5);
    answer(&op(
        &http,
        with(
            &new_stream(),
            json!({ "op": "leave", "user_id": me.user_id(), "session_id": uuid() }),
        ),
    ));

    // Data: 64 KiB at most.
    let stream = new_stream();
    op(
        &http,
        with(&stream, json!({ "op": "send", "data": "d".repeat(65_537) })),
    )
    .assert_error(400, 3);
    answer(&op(
        &http,
        with(&stream, json!({ "op": "send", "data": "d".repeat(65_536) })),
    ));

    // The session is in two streams (the cap): a third is refused, the
    // same one again is not; after a leave there is room again.
    let third = new_stream();
    let r = join(third.clone(), &me.user_id(), &sid);
    r.assert_error(429, 8);
    assert!(
        r.message().contains("kairos.session.max_streams"),
        "{}",
        r.text
    );
    assert_eq!(
        answer(&join(
            json!({ "mode": 20, "label": "x".repeat(256) }),
            &me.user_id(),
            &sid
        ))["joined"],
        false
    );
    answer(&op(
        &http,
        with(
            &json!({ "mode": 20, "label": "x".repeat(256) }),
            json!({ "op": "leave", "user_id": me.user_id(), "session_id": sid }),
        ),
    ));
    assert_eq!(answer(&join(third, &me.user_id(), &sid))["joined"], true);

    // The example RPC needs a socket; over HTTP it is refused.
    let r = http.request(
        "POST",
        "/v2/rpc/example.stream_join",
        Some(&bearer(&me.token)),
        Some(&Value::String(new_stream().to_string()).to_string()),
    );
    r.assert_error(400, 9);
}

/// `stream_presence_event` and `stream_data` from the example RPCs reach
/// the Rust client on every wire.
#[test]
fn stream_messages_on_every_wire() {
    use kairos_client::rtapi::Outgoing;
    use kairos_client::{Client, ConnectOptions, Transport};
    use std::time::{Duration, Instant};

    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = Client::new("127.0.0.1", port, "defaultkey");
    let stream = new_stream();
    let subject = stream["subject"].as_str().unwrap().to_string();
    for transport in [
        Transport::WsJson,
        Transport::WsProtobuf,
        Transport::WsFlatBuffers,
        Transport::ReliableUdp,
        Transport::Quic,
    ] {
        let sess = client
            .authenticate_device(&unique("device-"), true, None)
            .expect("authenticates");
        let mut rt = client
            .connect(&sess, transport, ConnectOptions::default())
            .unwrap_or_else(|e| panic!("{transport} connects: {e}"));
        let out = rt
            .rpc("example.stream_join", &stream.to_string())
            .unwrap_or_else(|e| panic!("{transport} joins: {e}"));
        let joined: Value = serde_json::from_str(&out.payload).unwrap();
        let me = joined["session_id"].as_str().unwrap().to_string();
        let payload = json!({
            "mode": 20, "subject": subject, "label": "lobby",
            "data": format!("hello {transport}"), "reliable": true,
        });
        rt.rpc("example.stream_send", &payload.to_string())
            .unwrap_or_else(|e| panic!("{transport} sends: {e}"));
        let (mut joined_seen, mut data_seen) = (false, false);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(joined_seen && data_seen) && Instant::now() < deadline {
            let Some(m) = rt.poll(Duration::from_millis(200)).unwrap() else {
                continue;
            };
            match m.message {
                Some(Outgoing::StreamPresenceEvent(e)) => {
                    assert_eq!(e.stream.mode, 20, "{transport}");
                    assert_eq!(e.stream.subject, subject, "{transport}");
                    assert_eq!(e.stream.label, "lobby", "{transport}");
                    if e.joins.iter().any(|p| p.session_id == me) {
                        assert_eq!(e.joins[0].user_id, sess.user_id, "{transport}");
                        joined_seen = true;
                    }
                }
                Some(Outgoing::StreamData(d)) if d.data == format!("hello {transport}") => {
                    assert!(joined_seen, "{transport}: the join event comes first");
                    assert_eq!(d.stream.subject, subject, "{transport}");
                    assert!(d.reliable && d.sender.is_none(), "{transport}: {d:?}");
                    data_seen = true;
                }
                _ => {}
            }
        }
        assert!(
            joined_seen && data_seen,
            "{transport}: {joined_seen} {data_seen}"
        );
    }
}
