//! Chat across shards: rooms, direct messages, presences, order, history
//! with cursors on both backends, blocks, and bad input.

use kairos_tests::{Backend, Http, TestServer, Ws, backend_tests, unique, users_on_both_shards};
use serde_json::{Value, json};

backend_tests!(
    room_chat_across_shards_with_history,
    direct_messages_and_blocks
);

fn join_room(ws: &mut Ws, room: &str, extra: Value) -> Value {
    let mut body = json!({"target": room, "type": 1});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = ws.request("join", "channel_join", body);
    assert!(r.get("channel").is_some(), "join: {r}");
    r["channel"].clone()
}

fn send(ws: &mut Ws, channel: &str, content: Value) -> Value {
    let r = ws.request(
        "send",
        "channel_message_send",
        json!({"channel_id": channel, "content": content.to_string()}),
    );
    assert!(r.get("channel_message_ack").is_some(), "send: {r}");
    r["channel_message_ack"].clone()
}

/// Pages through a channel's history; returns every message in order.
fn read_history(
    http: &Http,
    token: &str,
    channel: &str,
    forward: bool,
    limit: usize,
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!(
            "/v2/channel/{}?limit={limit}&forward={forward}&cursor={cursor}",
            urlencode(channel)
        );
        let r = http.get(&path, token);
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.body["messages"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= limit);
        all.extend(page);
        match r.body["next_cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_string(),
            _ => return all,
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn room_chat_across_shards_with_history(b: &Backend) {
    let mut s = TestServer::start(b);
    let http = s.http();
    let mut users = users_on_both_shards(&s, 4, "");
    let room = unique("lobby ");
    let channel_id = format!("2...{room}");

    // Joins: each joiner sees the ones before it; everyone hears of it,
    // the joiner included (as in Nakama).
    for i in 0..4 {
        let ch = join_room(&mut users[i].0, &room, json!({}));
        assert_eq!(ch["id"], json!(channel_id));
        assert_eq!(ch["room_name"], json!(room));
        assert_eq!(ch["self"]["user_id"], json!(users[i].1.user_id()));
        assert_eq!(ch["self"]["persistence"], true);
        assert_eq!(ch["presences"].as_array().map_or(0, |p| p.len()), i);
        for earlier in users.iter_mut().take(i + 1) {
            let ev = earlier.0.next_with("channel_presence_event");
            let ev = &ev["channel_presence_event"];
            assert_eq!(ev["channel_id"], json!(channel_id));
            assert_eq!(ev["room_name"], json!(room));
            assert_eq!(ev["joins"][0]["user_id"], json!(ch["self"]["user_id"]));
        }
    }

    // A message reaches every member, the sender included.
    let ack = send(&mut users[0].0, &channel_id, json!({"text": "hello"}));
    assert_eq!(ack["code"], 0);
    assert_eq!(ack["persistent"], true);
    assert_eq!(ack["room_name"], json!(room));
    assert_eq!(ack["username"], json!(users[0].1.username()));
    let first_id = ack["message_id"].as_str().unwrap().to_string();
    let sender = users[0].1.user_id();
    for u in users.iter_mut() {
        let m = u.0.next_with("channel_message")["channel_message"].clone();
        assert_eq!(m["message_id"], json!(first_id));
        assert_eq!(m["sender_id"], json!(sender));
        assert_eq!(m["code"], 0);
        assert_eq!(
            serde_json::from_str::<Value>(m["content"].as_str().unwrap()).unwrap(),
            json!({"text": "hello"})
        );
    }

    // Order is kept per sender, across shards.
    for n in 0..60 {
        users[1]
            .0
            .send_json(&json!({"cid": format!("m{n}"), "channel_message_send":
            {"channel_id": channel_id, "content": json!({"n": n}).to_string()}}));
    }
    for u in users.iter_mut() {
        for n in 0..60 {
            let m = u.0.next_with("channel_message");
            let content: Value =
                serde_json::from_str(m["channel_message"]["content"].as_str().unwrap()).unwrap();
            assert_eq!(content, json!({"n": n}));
        }
    }

    // Update and remove: broadcast with codes 1 and 2.
    let upd = users[0].0.request(
        "u",
        "channel_message_update",
        json!({"channel_id": channel_id, "message_id": first_id, "content": "{\"text\":\"edited\"}"}),
    );
    assert_eq!(upd["channel_message_ack"]["code"], 1, "{upd}");
    for u in users.iter_mut() {
        let m = u.0.next_with("channel_message")["channel_message"].clone();
        assert_eq!(
            (m["code"].clone(), m["message_id"].clone()),
            (json!(1), json!(first_id))
        );
    }
    // Someone else's message cannot be changed.
    let not_yours = users[2].0.request(
        "x",
        "channel_message_update",
        json!({"channel_id": channel_id, "message_id": first_id, "content": "{}"}),
    );
    assert_eq!(not_yours["error"]["code"], 3, "{not_yours}");

    // A session that joined without persistence is not kept in history.
    let mut quiet = Ws::open(&s.addr, &http.device(&unique("device-")).token, "");
    join_room(&mut quiet, &room, json!({"persistence": false}));
    for u in users.iter_mut() {
        u.0.next_with("channel_presence_event");
    }
    let ack = send(&mut quiet, &channel_id, json!({"off": "record"}));
    assert_eq!(ack["persistent"], false);

    // History: oldest first in pages, or newest first.
    let history = read_history(&http, &users[3].1.token, &channel_id, true, 7);
    assert_eq!(history.len(), 61, "the edited first message and 60 others");
    assert_eq!(history[0]["message_id"], json!(first_id));
    assert!(history[0]["content"].as_str().unwrap().contains("edited"));
    for (n, m) in history[1..].iter().enumerate() {
        assert_eq!(m["content"], json!(json!({"n": n}).to_string()));
        assert_eq!(m["persistent"], true);
        assert_eq!(m["room_name"], json!(room));
    }
    let newest_first = read_history(&http, &users[3].1.token, &channel_id, false, 25);
    let mut reversed = history.clone();
    reversed.reverse();
    assert_eq!(newest_first, reversed);
    // A previous-page cursor goes back.
    let p1 = http.get(
        &format!("/v2/channel/{}?limit=10", urlencode(&channel_id)),
        &users[0].1.token,
    );
    let next = p1.body["next_cursor"].as_str().unwrap();
    let p2 = http.get(
        &format!(
            "/v2/channel/{}?limit=10&cursor={next}",
            urlencode(&channel_id)
        ),
        &users[0].1.token,
    );
    let prev = p2.body["prev_cursor"].as_str().unwrap();
    let back = http.get(
        &format!(
            "/v2/channel/{}?limit=10&cursor={prev}",
            urlencode(&channel_id)
        ),
        &users[0].1.token,
    );
    assert_eq!(back.body["messages"], p1.body["messages"]);

    // Removing: gone from history too.
    let rm = users[0].0.request(
        "r",
        "channel_message_remove",
        json!({"channel_id": channel_id, "message_id": first_id}),
    );
    assert_eq!(rm["channel_message_ack"]["code"], 2, "{rm}");
    assert_eq!(
        read_history(&http, &users[0].1.token, &channel_id, true, 100).len(),
        60
    );

    // Leaving and vanishing are both announced.
    let leaver = users[2].1.user_id();
    let r = users[2]
        .0
        .request("l", "channel_leave", json!({"channel_id": channel_id}));
    assert_eq!(r, json!({"cid": "l"}));
    for i in [0usize, 1, 3] {
        let ev = users[i].0.next_with("channel_presence_event");
        assert_eq!(
            ev["channel_presence_event"]["leaves"][0]["user_id"],
            json!(leaver)
        );
    }
    let (gone, gone_sess) = users.remove(3);
    drop(gone);
    for i in [0usize, 1] {
        let ev = users[i].0.next_with("channel_presence_event");
        assert_eq!(
            ev["channel_presence_event"]["leaves"][0]["user_id"],
            json!(gone_sess.user_id())
        );
    }

    // History survives a restart.
    drop(users);
    drop(quiet);
    s.restart();
    let http = s.http();
    assert_eq!(
        read_history(&http, &gone_sess.token, &channel_id, true, 100).len(),
        60
    );
}

#[test]
fn hidden_members_are_not_shown() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let mut users = users_on_both_shards(&s, 3, "");
    let room = unique("hide-");
    join_room(&mut users[0].0, &room, json!({}));
    let own = users[0].0.next_with("channel_presence_event");
    assert_eq!(
        own["channel_presence_event"]["joins"][0]["user_id"],
        json!(users[0].1.user_id()),
        "a joiner hears of its own join"
    );
    let spy = join_room(&mut users[1].0, &room, json!({"hidden": true}));
    assert_eq!(spy["presences"].as_array().map_or(0, |p| p.len()), 1);
    let third = join_room(&mut users[2].0, &room, json!({}));
    assert_eq!(
        third["presences"].as_array().unwrap().len(),
        1,
        "the hidden member is not listed: {third}"
    );
    // The first member heard only of the visible join.
    let ev = users[0].0.next_with("channel_presence_event");
    assert_eq!(
        ev["channel_presence_event"]["joins"][0]["user_id"],
        json!(users[2].1.user_id())
    );
    // The hidden member still receives messages.
    let channel_id = format!("2...{room}");
    send(&mut users[2].0, &channel_id, json!({"hi": 1}));
    assert!(users[1].0.next_with("channel_message").is_object());
}

fn direct_messages_and_blocks(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let mut users = users_on_both_shards(&s, 3, "");
    let (a, bob, carol) = (users[0].1.clone(), users[1].1.clone(), users[2].1.clone());

    // A opens a conversation with B; B, not in it, is notified.
    let r = users[0].0.request(
        "1",
        "channel_join",
        json!({"target": bob.user_id(), "type": 2}),
    );
    let ch = r["channel"].clone();
    let (lo, hi) = if a.user_id() < bob.user_id() {
        (a.user_id(), bob.user_id())
    } else {
        (bob.user_id(), a.user_id())
    };
    let dm = format!("4.{lo}.{hi}.");
    assert_eq!(ch["id"], json!(dm), "{r}");
    assert_eq!(
        (ch["user_id_one"].clone(), ch["user_id_two"].clone()),
        (json!(lo), json!(hi))
    );
    let note = users[1].0.next_with("notifications")["notifications"]["notifications"][0].clone();
    assert_eq!(note["code"], -1);
    assert_eq!(note["sender_id"], json!(a.user_id()));
    assert_eq!(note["persistent"], true);
    assert_eq!(
        note["subject"],
        json!(format!("{} wants to chat", a.username()))
    );

    // B joins by A's id; A hears of it (after its own join); messages flow.
    users[1].0.request(
        "1",
        "channel_join",
        json!({"target": a.user_id(), "type": 2}),
    );
    for joiner in [a.user_id(), bob.user_id()] {
        let ev = users[0].0.next_with("channel_presence_event");
        assert_eq!(
            ev["channel_presence_event"]["joins"][0]["user_id"],
            json!(joiner)
        );
    }
    send(&mut users[0].0, &dm, json!({"secret": 1}));
    let m = users[1].0.next_with("channel_message")["channel_message"].clone();
    assert_eq!(
        (m["user_id_one"].clone(), m["user_id_two"].clone()),
        (json!(lo), json!(hi))
    );

    // Only A and B may read it.
    assert_eq!(read_history(&http, &bob.token, &dm, true, 10).len(), 1);
    http.get(&format!("/v2/channel/{dm}"), &carol.token)
        .assert_error(400, 3);
    // B's stored notification lists.
    let list = http.get("/v2/notification?limit=10", &bob.token);
    assert_eq!(list.body["notifications"][0]["code"], -1, "{}", list.text);

    // B blocks A: the conversation ends for both, and neither can reopen it.
    let r = http.request(
        "POST",
        &format!("/v2/friend/block?ids={}", a.user_id()),
        Some(&kairos_tests::bearer(&bob.token)),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut refused = false;
    for _ in 0..50 {
        let r = users[0].0.request(
            "s",
            "channel_message_send",
            json!({"channel_id": dm, "content": "{}"}),
        );
        if r.get("error").is_some() {
            assert_eq!(r["error"]["code"], 3);
            refused = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(refused, "a block removes the sender from the conversation");
    for (i, target) in [(0usize, bob.user_id()), (1, a.user_id())] {
        let r = users[i]
            .0
            .request("j", "channel_join", json!({"target": target, "type": 2}));
        assert_eq!(r["error"]["code"], 3, "blocked either way: {r}");
    }
    // C, unblocked, can still talk to A.
    let r = users[2].0.request(
        "j",
        "channel_join",
        json!({"target": a.user_id(), "type": 2}),
    );
    assert!(r.get("channel").is_some(), "{r}");
    // Lifting the block lets them talk again.
    let r = http.request(
        "DELETE",
        &format!("/v2/friend?ids={}", a.user_id()),
        Some(&kairos_tests::bearer(&bob.token)),
        None,
    );
    assert_eq!(r.status, 200);
    let r = users[0].0.request(
        "j",
        "channel_join",
        json!({"target": bob.user_id(), "type": 2}),
    );
    assert!(r.get("channel").is_some(), "{r}");
}

#[test]
fn bad_chat_requests() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let other = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let room = unique("r-");
    let channel_id = format!("2...{room}");
    let bad = |ws: &mut Ws, message: &str, body: Value| {
        let r = ws.request("b", message, body.clone());
        assert_eq!(r["error"]["code"], 3, "{message} {body}: {r}");
        r["error"]["message"].as_str().unwrap().to_string()
    };
    bad(&mut ws, "channel_join", json!({"target": "", "type": 1}));
    bad(
        &mut ws,
        "channel_join",
        json!({"target": "x".repeat(65), "type": 1}),
    );
    bad(
        &mut ws,
        "channel_join",
        json!({"target": "a\u{7}b", "type": 1}),
    );
    bad(&mut ws, "channel_join", json!({"target": "x", "type": 9}));
    bad(
        &mut ws,
        "channel_join",
        json!({"target": "not-a-uuid", "type": 2}),
    );
    let unknown = "5a9b1f7e-0000-4000-8000-000000000000";
    bad(
        &mut ws,
        "channel_join",
        json!({"target": unknown, "type": 2}),
    );
    bad(
        &mut ws,
        "channel_join",
        json!({"target": unknown, "type": 3}),
    );
    assert_eq!(
        bad(
            &mut ws,
            "channel_message_send",
            json!({"channel_id": channel_id, "content": "{}"})
        ),
        "Must join channel before sending messages"
    );
    bad(
        &mut ws,
        "channel_message_send",
        json!({"channel_id": "9.x.y.z", "content": "{}"}),
    );
    bad(&mut ws, "channel_leave", json!({"channel_id": "nope"}));
    join_room(&mut ws, &room, json!({}));
    assert_eq!(
        bad(
            &mut ws,
            "channel_message_send",
            json!({"channel_id": channel_id, "content": "[1]"})
        ),
        "Message content must be a valid JSON object"
    );
    bad(
        &mut ws,
        "channel_message_send",
        json!({"channel_id": channel_id, "content": "{"}),
    );
    bad(
        &mut ws,
        "channel_message_update",
        json!({"channel_id": channel_id, "message_id": "x", "content": "{}"}),
    );
    bad(
        &mut ws,
        "channel_message_remove",
        json!({"channel_id": channel_id, "message_id": unknown}),
    );
    // Joining twice is harmless.
    let again = join_room(&mut ws, &room, json!({}));
    assert_eq!(again["self"]["user_id"], json!(me.user_id()));

    // History: bad ids, limits, cursors and other people's conversations.
    for path in [
        "/v2/channel/nope".to_string(),
        format!("/v2/channel/{}?limit=0", urlencode(&channel_id)),
        format!("/v2/channel/{}?limit=101", urlencode(&channel_id)),
        format!("/v2/channel/{}?cursor=garbage", urlencode(&channel_id)),
        format!("/v2/channel/{}?forward=maybe", urlencode(&channel_id)),
        format!("/v2/channel/4.{}.{}.", other.user_id(), unknown),
        format!("/v2/channel/3.{unknown}.."),
    ] {
        http.get(&path, &me.token).assert_error(400, 3);
    }
    // A cursor is only good for the listing it came from.
    for n in 0..3 {
        send(&mut ws, &channel_id, json!({"n": n}));
    }
    let p = http.get(
        &format!("/v2/channel/{}?limit=1", urlencode(&channel_id)),
        &me.token,
    );
    let next = p.body["next_cursor"].as_str().unwrap();
    http.get(
        &format!("/v2/channel/2...elsewhere?cursor={next}"),
        &me.token,
    )
    .assert_error(400, 3);
    http.get(
        &format!(
            "/v2/channel/{}?forward=false&cursor={next}",
            urlencode(&channel_id)
        ),
        &me.token,
    )
    .assert_error(400, 3);
    // Garbage keeps the socket open when it is a known message with bad
    // fields, and the socket still works.
    let r = ws.request("p", "ping", json!({}));
    assert_eq!(r, json!({"cid": "p", "pong": {}}));
}
