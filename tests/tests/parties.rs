//! Parties across two shards: an open party's life (joins, data, promote,
//! the leader leaving and vanishing, update, close), a closed party's
//! requests (list, accept, decline, remove, withdrawn on close), the
//! session's bound, `GET /v2/party`, and every validation error with
//! Nakama's code (BAD_INPUT, 3) and text.

use kairos_tests::{Backend, TestServer, Ws, unique};
use serde_json::{Value, json};

struct Player {
    ws: Ws,
    token: String,
    /// The session's presence, once known.
    presence: Value,
}

fn player(s: &TestServer) -> Player {
    let sess = s.http().device(&unique("party-"));
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    // The session's own presence, from a match of its own it leaves.
    let m = ws.request("me", "match_create", json!({}));
    let presence = m["match"]["self"].clone();
    let id = m["match"]["match_id"].clone();
    ws.request("me-out", "match_leave", json!({ "match_id": id }));
    Player {
        ws,
        token: sess.token.clone(),
        presence,
    }
}

/// `n` players, the first two on different shards.
fn players(s: &TestServer, n: usize) -> Vec<Player> {
    let first = player(s);
    let mut second = player(s);
    let mut tries = 0;
    while second.ws.shard == first.ws.shard && tries < 40 {
        second = player(s);
        tries += 1;
    }
    assert_ne!(second.ws.shard, first.ws.shard, "players on both shards");
    let mut all = vec![first, second];
    while all.len() < n {
        all.push(player(s));
    }
    all
}

fn error_of(reply: &Value) -> (i64, String) {
    (
        reply["error"]["code"].as_i64().unwrap_or(-1),
        reply["error"]["message"].as_str().unwrap_or("").to_string(),
    )
}

fn assert_error(reply: &Value, message: &str) {
    assert_eq!(error_of(reply), (3, message.to_string()), "{reply}");
}

/// Everything pushed to `ws` before a ping's answer.
fn pushes_before_ping(ws: &mut Ws) -> Vec<Value> {
    ws.send_json(&json!({"cid": "sync", "ping": {}}));
    let mut seen = Vec::new();
    loop {
        let v = ws.recv_json();
        if v["cid"] == "sync" {
            return seen;
        }
        seen.push(v);
    }
}

fn create(p: &mut Player, open: bool, max_size: i64, label: &str) -> String {
    let r = p.ws.request(
        "c",
        "party_create",
        json!({"open": open, "max_size": max_size, "label": label}),
    );
    let party = &r["party"];
    assert_eq!(party["self"], p.presence, "{r}");
    assert_eq!(party["leader"], p.presence, "{r}");
    assert_eq!(party["presences"], json!([p.presence]), "{r}");
    assert_eq!(party["max_size"], json!(max_size));
    assert_eq!(party["open"].as_bool().unwrap_or(false), open);
    // Then its own join event, as in Nakama.
    let ev = p.ws.next_with("party_presence_event");
    assert_eq!(ev["party_presence_event"]["joins"], json!([p.presence]));
    party["party_id"].as_str().unwrap().to_string()
}

#[test]
fn an_open_party_across_shards() {
    let s = TestServer::start(&Backend::Sqlite);
    let mut p = players(&s, 4);
    let id = create(&mut p[0], true, 3, r#"{"mode":"duo"}"#);
    assert!(id.contains('.'), "{id}");

    // B (the other shard) and C join; everyone hears each join.
    for i in 1..3 {
        let r = p[i]
            .ws
            .request("j", "party_join", json!({ "party_id": id }));
        assert_eq!(r, json!({"cid": "j"}));
        let party = p[i].ws.next_with("party");
        assert_eq!(party["party"]["self"], p[i].presence);
        assert_eq!(party["party"]["leader"], p[0].presence);
        assert_eq!(
            party["party"]["presences"].as_array().unwrap().len(),
            i + 1,
            "{party}"
        );
        let joined = p[i].presence.clone();
        for member in p.iter_mut().take(i + 1) {
            let ev = member.ws.next_with("party_presence_event");
            assert_eq!(ev["party_presence_event"]["joins"], json!([joined]));
        }
    }
    // Full at 3.
    let r = p[3]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_error(&r, "Error joining party: party full");

    // Data from B reaches A and C, not B; a non-member's is refused.
    let r = p[1].ws.request(
        "d",
        "party_data_send",
        json!({"party_id": id, "op_code": "5", "data": "aGk="}),
    );
    assert_eq!(r, json!({"cid": "d"}));
    for i in [0, 2] {
        let d = p[i].ws.next_with("party_data");
        assert_eq!(d["party_data"]["presence"], p[1].presence);
        assert_eq!(d["party_data"]["op_code"], "5");
        assert_eq!(d["party_data"]["data"], "aGk=");
        assert_eq!(d["party_data"]["party_id"], json!(id));
    }
    assert!(
        pushes_before_ping(&mut p[1].ws)
            .iter()
            .all(|v| v.get("party_data").is_none()),
        "the sender hears its own data"
    );
    let r = p[3].ws.request(
        "d",
        "party_data_send",
        json!({"party_id": id, "op_code": 1, "data": ""}),
    );
    assert_error(&r, "Error sending party data: party member not found");

    // Listed while it lives.
    let listed = s.http().get("/v2/party?limit=100", &p[3].token);
    assert!(
        listed.body["parties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|party| party["party_id"] == json!(id)),
        "{:?}",
        listed.body
    );

    // Only the leader promotes; A promotes B, everyone hears.
    let promote_b = json!({"party_id": id, "presence": p[1].presence});
    let r = p[2].ws.request("pr", "party_promote", promote_b.clone());
    assert_error(&r, "Error promoting new party leader: party leader only");
    let r = p[0].ws.request("pr", "party_promote", promote_b);
    assert_eq!(r, json!({"cid": "pr"}));
    for i in 0..3 {
        let l = p[i].ws.next_with("party_leader");
        assert_eq!(l["party_leader"]["presence"], p[1].presence);
    }

    // The leader leaves: the others hear the leave, and A (the oldest
    // member) leads.
    let r = p[1]
        .ws
        .request("l", "party_leave", json!({ "party_id": id }));
    assert_eq!(r, json!({"cid": "l"}));
    for i in [0, 2] {
        let ev = p[i].ws.next_with("party_presence_event");
        assert_eq!(ev["party_presence_event"]["leaves"], json!([p[1].presence]));
        let l = p[i].ws.next_with("party_leader");
        assert_eq!(l["party_leader"]["presence"], p[0].presence);
    }

    // The leader updates the party; every member hears.
    let r = p[2].ws.request(
        "u",
        "party_update",
        json!({"party_id": id, "label": "{}", "open": false}),
    );
    assert_error(&r, "Error updating party: party leader only");
    let r = p[0].ws.request(
        "u",
        "party_update",
        json!({"party_id": id, "label": r#"{"mode":"trio"}"#, "open": false}),
    );
    assert_eq!(r, json!({"cid": "u"}));
    for i in [0, 2] {
        let u = p[i].ws.next_with("party_update");
        assert_eq!(u["party_update"]["label"], r#"{"mode":"trio"}"#);
        assert!(u["party_update"].get("open").is_none());
    }
    // Closed now: a join is a request.
    let r = p[1]
        .ws
        .request("j2", "party_join", json!({ "party_id": id }));
    assert_eq!(r, json!({"cid": "j2"}));
    let req = p[0].ws.next_with("party_join_request");
    assert_eq!(
        req["party_join_request"]["presences"],
        json!([p[1].presence])
    );

    // Only the leader closes; the party ends for every member.
    let r = p[2]
        .ws
        .request("x", "party_close", json!({ "party_id": id }));
    assert_error(&r, "Error closing party: party leader only");
    let r = p[0]
        .ws
        .request("x", "party_close", json!({ "party_id": id }));
    assert_eq!(r, json!({"cid": "x"}));
    for i in [0, 2] {
        let c = p[i].ws.next_with("party_close");
        assert_eq!(c["party_close"]["party_id"], json!(id));
    }
    let r = p[2].ws.request(
        "d",
        "party_data_send",
        json!({"party_id": id, "op_code": 1}),
    );
    assert_error(&r, "Error sending party data: party not found");
    let listed = s.http().get("/v2/party?limit=100", &p[3].token);
    assert!(
        !listed.body.to_string().contains(&id),
        "a closed party is not listed"
    );
    // B's request went with the party: it may ask elsewhere again.
    let other = create(&mut p[3], false, 2, "");
    let r = p[1]
        .ws
        .request("j3", "party_join", json!({ "party_id": other }));
    assert_eq!(r, json!({"cid": "j3"}));
}

#[test]
fn a_leader_that_vanishes_is_followed_and_the_last_member_ends_the_party() {
    let s = TestServer::start(&Backend::Sqlite);
    let mut p = players(&s, 3);
    let id = create(&mut p[0], true, 4, "");
    for member in p.iter_mut().skip(1) {
        member
            .ws
            .request("j", "party_join", json!({ "party_id": id }));
    }
    let leader = p.remove(0);
    let gone = leader.presence.clone();
    drop(leader); // TCP closed without a WebSocket close
    // The oldest remaining member (the first to join) leads.
    let new_leader = p[0].presence.clone();
    for member in p.iter_mut() {
        // Past the join events they heard first.
        let ev = loop {
            let ev = member.ws.next_with("party_presence_event");
            if ev["party_presence_event"].get("leaves").is_some() {
                break ev;
            }
        };
        assert_eq!(ev["party_presence_event"]["leaves"], json!([gone]));
        let l = member.ws.next_with("party_leader");
        assert_eq!(l["party_leader"]["presence"], new_leader);
    }
    // The new leader leads: it may update; the other may not.
    let r = p[1].ws.request(
        "u",
        "party_update",
        json!({"party_id": id, "label": "", "open": true}),
    );
    assert_error(&r, "Error updating party: party leader only");
    let r = p[0].ws.request(
        "u",
        "party_update",
        json!({"party_id": id, "label": "", "open": true}),
    );
    assert_eq!(r, json!({"cid": "u"}));
    // Both leave: the party ends and is no longer listed.
    for member in p.iter_mut() {
        member
            .ws
            .request("l", "party_leave", json!({ "party_id": id }));
    }
    let token = p[0].token.clone();
    let r = p[0]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_error(&r, "Error joining party: party not found");
    let listed = s.http().get("/v2/party?limit=100", &token);
    assert!(!listed.body.to_string().contains(&id));
}

#[test]
fn a_closed_party_hears_requests_and_its_leader_decides() {
    let s = TestServer::start(&Backend::Sqlite);
    let mut p = players(&s, 4);
    let id = create(&mut p[0], false, 2, "");
    let pres: Vec<Value> = p.iter().map(|x| x.presence.clone()).collect();

    // B asks (from the other shard): only the leader hears.
    let r = p[1]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_eq!(r, json!({"cid": "j"}));
    let req = p[0].ws.next_with("party_join_request");
    assert_eq!(req["party_join_request"]["party_id"], json!(id));
    assert_eq!(req["party_join_request"]["presences"], json!([pres[1]]));
    let r = p[1]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_error(&r, "Error joining party: party join request duplicate");
    let r = p[1]
        .ws
        .request("lr", "party_join_request_list", json!({ "party_id": id }));
    assert_error(&r, "Error listing party join requests: party leader only");
    let r = p[0]
        .ws
        .request("lr", "party_join_request_list", json!({ "party_id": id }));
    assert_eq!(
        r["party_join_request"]["presences"],
        json!([pres[1]]),
        "{r}"
    );

    // Accepting: B gets the party, both hear the join.
    let r = p[0].ws.request(
        "a",
        "party_accept",
        json!({"party_id": id, "presence": pres[1]}),
    );
    assert_eq!(r, json!({"cid": "a"}));
    let party = p[1].ws.next_with("party");
    assert_eq!(party["party"]["presences"].as_array().unwrap().len(), 2);
    assert_eq!(party["party"]["leader"], pres[0]);
    for member in p.iter_mut().take(2) {
        let ev = member.ws.next_with("party_presence_event");
        assert_eq!(ev["party_presence_event"]["joins"], json!([pres[1]]));
    }
    // Accepted again: no longer a request.
    let r = p[0].ws.request(
        "a",
        "party_accept",
        json!({"party_id": id, "presence": pres[1]}),
    );
    assert_error(&r, "Error accepting party join request: party full");
    // Full: C's request is refused.
    let r = p[2]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_error(&r, "Error joining party: party full");

    // Removing: B is told the party ended, A hears the leave; B is no
    // member any more.
    let remove = |who: &Value| json!({"party_id": id, "presence": who});
    let r = p[0].ws.request("r", "party_remove", remove(&pres[0]));
    assert_error(
        &r,
        "Error removing party member or join request: party cannot remove self",
    );
    let r = p[1].ws.request("r", "party_remove", remove(&pres[0]));
    assert_error(
        &r,
        "Error removing party member or join request: party leader only",
    );
    let r = p[0].ws.request("r", "party_remove", remove(&pres[1]));
    assert_eq!(r, json!({"cid": "r"}));
    let c = p[1].ws.next_with("party_close");
    assert_eq!(c["party_close"]["party_id"], json!(id));
    let ev = p[0].ws.next_with("party_presence_event");
    assert_eq!(ev["party_presence_event"]["leaves"], json!([pres[1]]));
    let r = p[1].ws.request(
        "d",
        "party_data_send",
        json!({"party_id": id, "op_code": 1}),
    );
    assert_error(&r, "Error sending party data: party member not found");
    let r = p[0].ws.request("r", "party_remove", remove(&pres[1]));
    assert_error(
        &r,
        "Error removing party member or join request: party member not found",
    );

    // Declining: C's request goes, and can't be accepted after.
    let r = p[2]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_eq!(r, json!({"cid": "j"}));
    p[0].ws.next_with("party_join_request");
    let r = p[0].ws.request("r", "party_remove", remove(&pres[2]));
    assert_eq!(r, json!({"cid": "r"}));
    let r = p[0]
        .ws
        .request("lr", "party_join_request_list", json!({ "party_id": id }));
    assert!(r["party_join_request"].get("presences").is_none(), "{r}");
    let r = p[0].ws.request(
        "a",
        "party_accept",
        json!({"party_id": id, "presence": pres[2]}),
    );
    assert_error(
        &r,
        "Error accepting party join request: party join request not found",
    );
    // C may ask again (its request was settled on its own shard too).
    let r = p[2]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_eq!(r, json!({"cid": "j"}));

    // D asks, then its socket closes: its request is withdrawn.
    let r = p[3]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_eq!(r, json!({"cid": "j"}));
    p[0].ws.next_with("party_join_request");
    let d = p.remove(3);
    let d_presence = d.presence.clone();
    drop(d);
    let mut withdrawn = false;
    for _ in 0..200 {
        let r = p[0]
            .ws
            .request("lr", "party_join_request_list", json!({ "party_id": id }));
        let waiting = r["party_join_request"]["presences"].clone();
        if !waiting
            .to_string()
            .contains(d_presence["session_id"].as_str().unwrap())
        {
            withdrawn = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(withdrawn, "a closed session's request stays");
}

#[test]
fn every_validation_error() {
    let s = TestServer::start_with(&Backend::Sqlite, &["--kairos.session.max_parties", "2"]);
    let mut p = players(&s, 2);
    let ws = &mut p[0].ws;
    for size in [0, -1, 257] {
        let r = ws.request("c", "party_create", json!({"open": true, "max_size": size}));
        assert_error(&r, "Invalid party max size, must be 1-256");
    }
    let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(2048));
    let r = ws.request(
        "c",
        "party_create",
        json!({"open": true, "max_size": 2, "label": long}),
    );
    assert_error(&r, "Error creating party: party label too long");
    for bad in ["[1]", "{", "\"text\""] {
        let r = ws.request(
            "c",
            "party_create",
            json!({"open": true, "max_size": 2, "label": bad}),
        );
        let (code, message) = error_of(&r);
        assert_eq!(code, 3);
        assert!(
            message.starts_with("Error creating party: failed to unmarshal party label"),
            "{message}"
        );
    }
    let unknown = format!("{}.{}", uuid::Uuid::new_v4(), "nowhere");
    for (message, prefix) in [
        ("party_join", "Error joining party: "),
        ("party_close", "Error closing party: "),
        (
            "party_join_request_list",
            "Error listing party join requests: ",
        ),
    ] {
        for bad in ["nope", "0000", "x.y"] {
            let r = ws.request("b", message, json!({ "party_id": bad }));
            assert_error(&r, "Invalid party ID");
        }
        let r = ws.request("b", message, json!({ "party_id": unknown }));
        assert_error(&r, &format!("{prefix}party not found"));
    }
    let r = ws.request("b", "party_leave", json!({"party_id": "nope"}));
    assert_error(&r, "Invalid party ID");
    // Leaving a party one is not in is nothing to refuse, as in Nakama.
    let r = ws.request("b", "party_leave", json!({ "party_id": unknown }));
    assert_eq!(r, json!({"cid": "b"}));
    for message in ["party_promote", "party_accept", "party_remove"] {
        let r = ws.request("b", message, json!({"party_id": unknown}));
        assert_error(&r, "Invalid presence");
        let r = ws.request(
            "b",
            message,
            json!({"party_id": unknown, "presence": {"user_id": "u", "session_id": "s"}}),
        );
        assert_error(&r, "Invalid presence");
        let r = ws.request(
            "b",
            message,
            json!({"party_id": "nope", "presence": {"user_id": "u", "session_id": "s", "username": "n"}}),
        );
        assert_error(&r, "Invalid party ID");
    }
    let r = ws.request(
        "u",
        "party_update",
        json!({"party_id": unknown, "label": r#"{"a":1}"#, "hidden": true}),
    );
    assert_error(
        &r,
        "Error updating party: party is hidden and label is not empty, invalid operation",
    );
    let r = ws.request(
        "u",
        "party_data_send",
        json!({"party_id": "nope", "op_code": 1}),
    );
    assert_error(&r, "Invalid party ID");
    // Party matchmaking is not served yet, and says so.
    let r = ws.request("m", "party_matchmaker_add", json!({"party_id": unknown}));
    assert_eq!(error_of(&r).0, 3, "{r}");

    // A session is in or asks to join at most kairos.session.max_parties.
    let first = create(&mut p[0], true, 2, "");
    let other = create(&mut p[1], false, 2, "");
    let r = p[0]
        .ws
        .request("j", "party_join", json!({ "party_id": other }));
    assert_eq!(r, json!({"cid": "j"}));
    let r = p[0]
        .ws
        .request("c", "party_create", json!({"open": true, "max_size": 2}));
    let (code, message) = error_of(&r);
    assert_eq!(code, 3);
    assert!(message.contains("kairos.session.max_parties"), "{message}");
    // Leaving one makes room.
    p[0].ws
        .request("l", "party_leave", json!({ "party_id": first }));
    let r = p[0]
        .ws
        .request("c", "party_create", json!({"open": true, "max_size": 2}));
    assert!(r.get("party").is_some(), "{r}");
    // An update's label is checked too.
    let id = r["party"]["party_id"].clone();
    let r = p[0]
        .ws
        .request("u", "party_update", json!({"party_id": id, "label": "[]"}));
    assert!(
        error_of(&r)
            .1
            .starts_with("Error updating party: failed to unmarshal party label"),
        "{r}"
    );
}

#[test]
fn listing_by_query_openness_and_pages() {
    let s = TestServer::start(&Backend::Sqlite);
    let mut p = players(&s, 6);
    let mode = unique("m");
    let mut duo = Vec::new();
    for (i, (open, hidden, label)) in [
        (true, false, format!(r#"{{"mode":"{mode}","skill":10}}"#)),
        (false, false, format!(r#"{{"mode":"{mode}","skill":20}}"#)),
        (true, false, format!(r#"{{"mode":"{mode}","skill":30}}"#)),
        (true, true, String::new()),
        (true, false, format!(r#"{{"mode":"{mode}x","skill":10}}"#)),
    ]
    .into_iter()
    .enumerate()
    {
        let r = p[i].ws.request(
            "c",
            "party_create",
            json!({"open": open, "max_size": 4, "label": label, "hidden": hidden}),
        );
        let id = r["party"]["party_id"].as_str().unwrap().to_string();
        if i < 3 {
            duo.push(id);
        }
    }
    let token = p[5].token.clone();
    let http = s.http();
    let q = |query: &str, extra: &str| {
        let path = format!(
            "/v2/party?query={}{extra}",
            query
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        );
        http.get(&path, &token)
    };
    let ids = |v: &Value| -> Vec<String> {
        v["parties"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p["party_id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let all = q(&format!("+label.mode:{mode}"), "&limit=10");
    assert_eq!(all.status, 200, "{:?}", all.body);
    assert_eq!(ids(&all.body), duo, "in creation order");
    let first = &all.body["parties"][0];
    assert_eq!(first["open"], true);
    assert_eq!(first["max_size"], 4);
    assert!(first["label"].as_str().unwrap().contains(&mode));
    let open = q(&format!("+label.mode:{mode}"), "&open=true");
    assert_eq!(ids(&open.body), vec![duo[0].clone(), duo[2].clone()]);
    let closed = q(&format!("+label.mode:{mode}"), "&open=false");
    assert_eq!(ids(&closed.body), vec![duo[1].clone()]);
    let skilled = q(&format!("+label.mode:{mode} +label.skill:>=20"), "");
    assert_eq!(ids(&skilled.body), vec![duo[1].clone(), duo[2].clone()]);
    // Pages of 2, then the rest.
    let page = q(&format!("+label.mode:{mode}"), "&limit=2");
    assert_eq!(ids(&page.body), duo[..2].to_vec());
    let cursor = page.body["cursor"].as_str().unwrap().to_string();
    let next = q(
        &format!("+label.mode:{mode}"),
        &format!("&limit=2&cursor={cursor}"),
    );
    assert_eq!(ids(&next.body), duo[2..].to_vec());
    assert!(next.body.get("cursor").is_none(), "{:?}", next.body);
    // A cursor of another listing, a bad query, a bad limit.
    let other = q(
        &format!("+label.mode:{mode}x"),
        &format!("&limit=2&cursor={cursor}"),
    );
    assert_eq!(other.status, 500);
    assert_eq!(other.body["message"], "Error listing matches.");
    for query in ["+label.mode:>", "label.a:\"open", "+label.a:/[/"] {
        let bad = q(query, "");
        assert_eq!(bad.status, 500, "{query}");
        assert_eq!(bad.body["message"], "Error listing matches.");
    }
    for limit in ["0", "101", "x"] {
        let r = http.get(&format!("/v2/party?limit={limit}"), &token);
        assert_eq!(r.status, 400, "{limit}");
    }
    // Hidden parties are never listed.
    let everything = http.get("/v2/party?limit=100", &token);
    assert!(
        everything.body["parties"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("hidden").is_none()),
        "{:?}",
        everything.body
    );
}

/// One party of four kinds of client (WebSocket in JSON, protobuf and
/// FlatBuffers, and reliable UDP, through the Rust client): each wire
/// reads the party, its events and every other member's data.
#[test]
fn one_party_on_four_wires() {
    use kairos_client::rtapi::{
        Incoming, Outgoing, PartyCreate, PartyDataSend, PartyMember, PartyRef,
    };
    use kairos_client::{Client, ConnectOptions, Transport};
    use std::time::{Duration, Instant};

    const WAIT: Duration = Duration::from_secs(10);
    let s = TestServer::start(&Backend::Sqlite);
    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = Client::new("127.0.0.1", port, "defaultkey");
    let kinds = [
        Transport::WsProtobuf,
        Transport::WsJson,
        Transport::WsFlatBuffers,
        Transport::ReliableUdp,
    ];
    let mut rts: Vec<_> = kinds
        .iter()
        .map(|&t| {
            let session = client
                .authenticate_device(&unique("wire-"), true, None)
                .expect("authenticates");
            client
                .connect(&session, t, ConnectOptions::default())
                .unwrap_or_else(|e| panic!("{t} connects: {e}"))
        })
        .collect();
    let wait_for =
        |rt: &mut kairos_client::Realtime, what: &str, pick: &dyn Fn(&Outgoing) -> bool| {
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                if let Ok(Some(m)) = rt.poll(Duration::from_millis(200))
                    && let Some(out) = m.message
                    && pick(&out)
                {
                    return out;
                }
            }
            panic!("no {what}");
        };
    let created = rts[0]
        .request(
            &Incoming::PartyCreate(PartyCreate {
                open: true,
                max_size: 4,
                label: r#"{"wires":4}"#.into(),
                hidden: false,
            }),
            WAIT,
        )
        .expect("create");
    let Some(Outgoing::Party(party)) = created else {
        panic!("{created:?}")
    };
    assert_eq!(party.label, r#"{"wires":4}"#);
    let id = party.party_id.clone();
    let mut presences = vec![party.self_.clone()];
    for i in 1..rts.len() {
        let r = rts[i]
            .request(
                &Incoming::PartyJoin(PartyRef {
                    party_id: id.clone(),
                }),
                WAIT,
            )
            .expect("join");
        assert_eq!(r, None, "{} joins", kinds[i]);
        let joined = wait_for(&mut rts[i], "party", &|o| matches!(o, Outgoing::Party(_)));
        let Outgoing::Party(p) = joined else {
            unreachable!()
        };
        assert_eq!(p.presences.len(), i + 1, "{}", kinds[i]);
        assert_eq!(p.leader, presences[0], "{}", kinds[i]);
        presences.push(p.self_);
    }
    // Each sends; every other hears it, with its sender and bytes.
    for i in 0..rts.len() {
        let r = rts[i]
            .request(
                &Incoming::PartyDataSend(PartyDataSend {
                    party_id: id.clone(),
                    op_code: 40 + i as i64,
                    data: format!("from {i}").into_bytes().into(),
                }),
                WAIT,
            )
            .expect("data");
        assert_eq!(r, None, "{}", kinds[i]);
    }
    for (j, rt) in rts.iter_mut().enumerate() {
        for (i, sender) in presences.iter().enumerate().filter(|(i, _)| *i != j) {
            let want = format!("from {i}");
            let got = wait_for(
                rt,
                "party_data",
                &|o| matches!(o, Outgoing::PartyData(d) if d.op_code == 40 + i as i64),
            );
            let Outgoing::PartyData(d) = got else {
                unreachable!()
            };
            assert_eq!(&d.data[..], want.as_bytes(), "{} from {i}", kinds[j]);
            assert_eq!(&d.presence, sender, "{} from {i}", kinds[j]);
        }
    }
    // The leader hands over to the UDP member; every wire hears it.
    let r = rts[0]
        .request(
            &Incoming::PartyPromote(PartyMember {
                party_id: id.clone(),
                presence: presences[3].clone(),
            }),
            WAIT,
        )
        .expect("promote");
    assert_eq!(r, None);
    for (j, rt) in rts.iter_mut().enumerate() {
        let got = wait_for(rt, "party_leader", &|o| {
            matches!(o, Outgoing::PartyLeader(_))
        });
        let Outgoing::PartyLeader(l) = got else {
            unreachable!()
        };
        assert_eq!(l.presence, presences[3], "{}", kinds[j]);
    }
    // The new leader closes it for everyone.
    let r = rts[3]
        .request(
            &Incoming::PartyClose(PartyRef {
                party_id: id.clone(),
            }),
            WAIT,
        )
        .expect("close");
    assert_eq!(r, None);
    for (j, rt) in rts.iter_mut().enumerate().take(3) {
        let got = wait_for(rt, "party_close", &|o| matches!(o, Outgoing::PartyClose(_)));
        assert_eq!(
            got,
            Outgoing::PartyClose(PartyRef {
                party_id: id.clone()
            }),
            "{}",
            kinds[j]
        );
    }
}

/// A closed party holds at most `max_size` requests, one per user, and
/// none from a user already in it.
#[test]
fn join_requests_are_bounded() {
    let s = TestServer::start(&Backend::Sqlite);
    let mut p = players(&s, 4);
    let id = create(&mut p[0], false, 2, "");
    for member in p.iter_mut().skip(1).take(2) {
        let r = member
            .ws
            .request("j", "party_join", json!({ "party_id": id }));
        assert_eq!(r, json!({"cid": "j"}));
    }
    let r = p[3]
        .ws
        .request("j", "party_join", json!({ "party_id": id }));
    assert_error(&r, "Error joining party: party join requests full");
    // Declining one makes room; another session of a user who asked is
    // a duplicate request.
    let declined = json!({"party_id": id, "presence": p[2].presence});
    let r = p[0].ws.request("r", "party_remove", declined);
    assert_eq!(r, json!({"cid": "r"}));
    let mut again = Ws::open(&s.addr, &p[1].token, "");
    let r = again.request("j", "party_join", json!({ "party_id": id }));
    assert_error(&r, "Error joining party: party join request duplicate");
    // Another session of the leader's user is already in the party.
    let mut leader_too = Ws::open(&s.addr, &p[0].token, "");
    let r = leader_too.request("j", "party_join", json!({ "party_id": id }));
    assert_error(&r, "Error joining party: party join request already member");
}
