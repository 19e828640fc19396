//! Groups over REST and in chat, on both backends: the life cycle with
//! its notifications, listings with filters and cursors, who may act on
//! whom, every validation error with Nakama's code and status, and group
//! channels (members only, membership messages live and in history).

use kairos_tests::{Backend, Http, Reply, Session, TestServer, Ws, backend_tests, basic, unique};
use serde_json::{Value, json};

backend_tests!(
    life_cycle_over_rest,
    listings_filter_and_page,
    permissions_and_validation_errors,
    group_chat_membership_messages,
    game_code_groups,
    concurrent_joins_over_rest,
);

/// gRPC codes and HTTP statuses, as grpc-gateway maps them.
const INVALID: (u16, i64) = (400, 3);
const NOT_FOUND: (u16, i64) = (404, 5);
const EXISTS: (u16, i64) = (409, 6);

fn ok(r: Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn error(r: Reply, (status, code): (u16, i64), message: &str) {
    r.assert_error(status, code);
    assert_eq!(r.message(), message, "{}", r.text);
}

fn create(http: &Http, who: &Session, body: Value) -> Value {
    ok(http.send("POST", "/v2/group", &who.token, &body))
}

fn op(http: &Http, who: &Session, gid: &str, what: &str, users: &[&Session]) -> Reply {
    let q: Vec<String> = users
        .iter()
        .map(|u| format!("user_ids={}", u.user_id()))
        .collect();
    http.send(
        "POST",
        &format!("/v2/group/{gid}/{what}?{}", q.join("&")),
        &who.token,
        &json!({}),
    )
}

fn post(http: &Http, who: &Session, path: &str) -> Reply {
    http.send("POST", path, &who.token, &json!({}))
}

fn members(http: &Http, who: &Session, gid: &str) -> Vec<(String, i64)> {
    let r = ok(http.get(&format!("/v2/group/{gid}/user"), &who.token));
    r["group_users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|gu| {
            (
                gu["user"]["id"].as_str().unwrap().to_string(),
                gu["state"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn state_of(http: &Http, who: &Session, gid: &str, user: &Session) -> Option<i64> {
    members(http, who, gid)
        .into_iter()
        .find(|(id, _)| *id == user.user_id())
        .map(|(_, s)| s)
}

fn notifications(http: &Http, who: &Session) -> Vec<Value> {
    let r = ok(http.get("/v2/notification?limit=100", &who.token));
    r["notifications"].as_array().cloned().unwrap_or_default()
}

fn life_cycle_over_rest(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let owner = http.device(&unique("owner-"));
    let (alice, bob, carol) = (
        http.device(&unique("alice-")),
        http.device(&unique("bob-")),
        http.device(&unique("carol-")),
    );
    let name = unique("Guild ");
    let g = create(
        &http,
        &owner,
        json!({"name": name, "description": "d", "lang_tag": "fr", "open": true}),
    );
    assert_eq!(g["name"], json!(name));
    assert_eq!(g["creator_id"], json!(owner.user_id()));
    assert_eq!(
        (g["edge_count"].clone(), g["max_count"].clone()),
        (json!(1), json!(100))
    );
    assert_eq!(
        (g["open"].clone(), g["lang_tag"].clone()),
        (json!(true), json!("fr"))
    );
    assert!(g["create_time"].as_str().unwrap().ends_with('Z'));
    let gid = g["id"].as_str().unwrap().to_string();

    // Open: a join makes a member.
    ok(post(&http, &alice, &format!("/v2/group/{gid}/join")));
    assert_eq!(state_of(&http, &owner, &gid, &alice), Some(2));

    // Closed: a join request, and a notification -5 to the superadmin.
    let closed = create(
        &http,
        &owner,
        json!({"name": unique("Closed "), "open": false, "max_count": 3}),
    );
    assert_eq!(closed["open"], json!(false));
    let cid = closed["id"].as_str().unwrap().to_string();
    ok(post(&http, &bob, &format!("/v2/group/{cid}/join")));
    assert_eq!(state_of(&http, &owner, &cid, &bob), Some(3));
    let n = notifications(&http, &owner);
    let request = n
        .iter()
        .find(|n| n["code"] == json!(-5))
        .expect("join request");
    assert_eq!(request["sender_id"], json!(bob.user_id()));
    let content: Value = serde_json::from_str(request["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["group_id"], json!(cid));
    assert_eq!(content["username"], json!(bob.username()));
    // The admin accepts with an add; bob hears of it (-4).
    ok(op(&http, &owner, &cid, "add", &[&bob]));
    assert_eq!(state_of(&http, &owner, &cid, &bob), Some(2));
    let n = notifications(&http, &bob);
    let added = n
        .iter()
        .find(|n| n["code"] == json!(-4))
        .expect("group add");
    assert_eq!(
        added["subject"],
        json!(format!(
            "You've been added to group {}",
            closed["name"].as_str().unwrap()
        ))
    );
    // max_count 3: carol fits, a fourth does not.
    ok(op(&http, &owner, &cid, "add", &[&carol]));
    error(
        op(&http, &owner, &cid, "add", &[&alice]),
        INVALID,
        "Group is full.",
    );
    error(
        post(&http, &alice, &format!("/v2/group/{cid}/join")),
        INVALID,
        "Group is full.",
    );

    // Promote, demote, kick, ban.
    ok(op(&http, &owner, &cid, "promote", &[&bob]));
    assert_eq!(state_of(&http, &owner, &cid, &bob), Some(1));
    ok(op(&http, &owner, &cid, "demote", &[&bob]));
    assert_eq!(state_of(&http, &owner, &cid, &bob), Some(2));
    ok(op(&http, &owner, &cid, "kick", &[&carol]));
    assert_eq!(state_of(&http, &owner, &cid, &carol), None);
    ok(op(&http, &owner, &cid, "ban", &[&bob]));
    assert_eq!(
        state_of(&http, &owner, &cid, &bob),
        None,
        "bans are listed by state only"
    );
    let banned = ok(http.get(&format!("/v2/group/{cid}/user?state=4"), &owner.token));
    assert_eq!(banned["group_users"][0]["user"]["id"], json!(bob.user_id()));
    let groups = ok(http.get(
        &format!(
            "/v2/group?name={}",
            urlencode(closed["name"].as_str().unwrap())
        ),
        &owner.token,
    ));
    assert_eq!(groups["groups"][0]["edge_count"], json!(1));

    // Leaving: the last superadmin cannot while others remain.
    error(
        post(&http, &owner, &format!("/v2/group/{gid}/leave")),
        INVALID,
        "Cannot leave group when you are the last superadmin.",
    );
    ok(post(&http, &alice, &format!("/v2/group/{gid}/leave")));
    assert_eq!(state_of(&http, &owner, &gid, &alice), None);

    // Update by the superadmin; delete refused to others, then done.
    let r = http.send(
        "PUT",
        &format!("/v2/group/{gid}"),
        &owner.token,
        &json!({"description": "new", "open": false}),
    );
    ok(r);
    let mine = ok(http.get(&format!("/v2/user/{}/group", owner.user_id()), &owner.token));
    let found = mine["user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ug| ug["group"]["id"] == json!(gid))
        .cloned()
        .expect("own group");
    assert_eq!(found["state"], json!(0));
    assert_eq!(found["group"]["description"], json!("new"));
    assert_eq!(found["group"]["open"], json!(false));
    error(
        http.send(
            "DELETE",
            &format!("/v2/group/{gid}"),
            &alice.token,
            &json!({}),
        ),
        INVALID,
        "Group not found or you're not allowed to delete.",
    );
    ok(http.send(
        "DELETE",
        &format!("/v2/group/{gid}"),
        &owner.token,
        &json!({}),
    ));
    error(
        post(&http, &alice, &format!("/v2/group/{gid}/join")),
        NOT_FOUND,
        "Group not found.",
    );
    // The last member leaving deletes the group.
    let solo = create(&http, &alice, json!({"name": unique("Solo ")}));
    let sid = solo["id"].as_str().unwrap();
    ok(post(&http, &alice, &format!("/v2/group/{sid}/leave")));
    error(
        post(&http, &bob, &format!("/v2/group/{sid}/join")),
        NOT_FOUND,
        "Group not found.",
    );
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

fn listings_filter_and_page(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let owner = http.device(&unique("owner-"));
    let prefix = unique("lst");
    let tag = unique("t").chars().take(18).collect::<String>();
    for i in 0..5 {
        create(
            &http,
            &owner,
            json!({"name": format!("{prefix}-{i}"), "lang_tag": tag, "open": i % 2 == 0}),
        );
    }
    // By name prefix, one per page (the default limit is 1), case-insensitively.
    let mut names = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let page = ok(http.get(
            &format!(
                "/v2/group?name={}%25&cursor={cursor}",
                prefix.to_uppercase()
            ),
            &owner.token,
        ));
        names.extend(
            page["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|g| g["name"].as_str().unwrap().to_string()),
        );
        match page["cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_string(),
            _ => break,
        }
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("{prefix}-{i}")).collect::<Vec<_>>()
    );
    // By language and openness.
    let open = ok(http.get(
        &format!("/v2/group?lang_tag={tag}&open=true&limit=100"),
        &owner.token,
    ));
    assert_eq!(open["groups"].as_array().unwrap().len(), 3);
    let few = ok(http.get(
        &format!("/v2/group?lang_tag={tag}&members=0&limit=100"),
        &owner.token,
    ));
    assert!(few.get("groups").is_none(), "{few}");
    // Members, two per page with a cursor.
    let g = create(&http, &owner, json!({"name": unique("big-"), "open": true}));
    let gid = g["id"].as_str().unwrap();
    let joiners: Vec<Session> = (0..4).map(|_| http.device(&unique("j-"))).collect();
    for j in &joiners {
        ok(post(&http, j, &format!("/v2/group/{gid}/join")));
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let page = ok(http.get(
            &format!("/v2/group/{gid}/user?limit=2&cursor={cursor}"),
            &owner.token,
        ));
        let users = page["group_users"].as_array().cloned().unwrap_or_default();
        assert!(users.len() <= 2);
        seen.extend(
            users
                .iter()
                .map(|u| u["user"]["id"].as_str().unwrap().to_string()),
        );
        match page["cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_string(),
            _ => break,
        }
    }
    let mut expected = vec![owner.user_id()];
    expected.extend(joiners.iter().map(|j| j.user_id()));
    assert_eq!(seen, expected);
    // A cursor taken with another state filter is refused.
    let page = ok(http.get(
        &format!("/v2/group/{gid}/user?limit=1&state=2"),
        &owner.token,
    ));
    let c = page["cursor"].as_str().unwrap();
    error(
        http.get(
            &format!("/v2/group/{gid}/user?state=0&cursor={c}"),
            &owner.token,
        ),
        INVALID,
        "Cursor is invalid.",
    );
    // A user's groups, by state.
    let theirs = ok(http.get(
        &format!("/v2/user/{}/group?state=2", joiners[0].user_id()),
        &owner.token,
    ));
    assert_eq!(theirs["user_groups"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["user_groups"][0]["state"], json!(2));
}

fn permissions_and_validation_errors(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let owner = http.device(&unique("owner-"));
    let (admin, member, other) = (
        http.device(&unique("a-")),
        http.device(&unique("m-")),
        http.device(&unique("o-")),
    );
    let name = unique("Perm ");
    let g = create(&http, &owner, json!({"name": name, "open": true}));
    let gid = g["id"].as_str().unwrap().to_string();
    for u in [&admin, &member, &other] {
        ok(post(&http, u, &format!("/v2/group/{gid}/join")));
    }
    ok(op(&http, &owner, &gid, "promote", &[&admin]));

    // A member may not kick, add, ban, promote, demote or update.
    for what in ["kick", "add", "ban", "promote", "demote"] {
        error(
            op(&http, &member, &gid, what, &[&other]),
            NOT_FOUND,
            "Group not found or permission denied.",
        );
    }
    error(
        http.send(
            "PUT",
            &format!("/v2/group/{gid}"),
            &member.token,
            &json!({"name": "x"}),
        ),
        NOT_FOUND,
        "Group not found or you're not allowed to update.",
    );
    // An admin cannot kick the superadmin (ignored), can kick a member.
    ok(op(&http, &admin, &gid, "kick", &[&owner]));
    assert_eq!(state_of(&http, &owner, &gid, &owner), Some(0));
    ok(op(&http, &admin, &gid, "kick", &[&other]));
    assert_eq!(state_of(&http, &owner, &gid, &other), None);
    // An admin cannot promote to superadmin, nor delete.
    ok(op(&http, &admin, &gid, "promote", &[&admin, &member]));
    assert_eq!(state_of(&http, &owner, &gid, &member), Some(1));
    ok(op(&http, &admin, &gid, "promote", &[&member]));
    assert_eq!(state_of(&http, &owner, &gid, &member), Some(1));
    error(
        http.send(
            "DELETE",
            &format!("/v2/group/{gid}"),
            &admin.token,
            &json!({}),
        ),
        INVALID,
        "Group not found or you're not allowed to delete.",
    );

    // Create.
    error(
        http.send("POST", "/v2/group", &owner.token, &json!({})),
        INVALID,
        "Group name must be set.",
    );
    error(
        http.send(
            "POST",
            "/v2/group",
            &owner.token,
            &json!({"name": "x", "max_count": -2}),
        ),
        INVALID,
        "Group max count must be >= 1 when set.",
    );
    error(
        http.send("POST", "/v2/group", &owner.token, &json!({"name": name})),
        EXISTS,
        "Group name is in use.",
    );
    http.send(
        "POST",
        "/v2/group",
        &owner.token,
        &json!({"name": "x".repeat(256)}),
    )
    .assert_error(INVALID.0, INVALID.1);
    // Update.
    error(
        http.send("PUT", "/v2/group/nope", &owner.token, &json!({"name": "y"})),
        INVALID,
        "Group ID must be a valid ID.",
    );
    error(
        http.send(
            "PUT",
            &format!("/v2/group/{gid}"),
            &owner.token,
            &json!({"name": ""}),
        ),
        INVALID,
        "Group name cannot be empty.",
    );
    error(
        http.send(
            "PUT",
            &format!("/v2/group/{gid}"),
            &owner.token,
            &json!({"lang_tag": ""}),
        ),
        INVALID,
        "Group language cannot be empty.",
    );
    error(
        http.send("PUT", &format!("/v2/group/{gid}"), &owner.token, &json!({})),
        INVALID,
        "Specify at least one field to update.",
    );
    let other_group = create(&http, &owner, json!({"name": unique("Other ")}));
    error(
        http.send(
            "PUT",
            &format!("/v2/group/{}", other_group["id"].as_str().unwrap()),
            &owner.token,
            &json!({"name": name}),
        ),
        INVALID,
        "Group name is in use.",
    );
    // Bulk calls.
    error(
        http.send(
            "POST",
            &format!("/v2/group/{gid}/kick?user_ids=bad"),
            &owner.token,
            &json!({}),
        ),
        INVALID,
        "User ID must be a valid ID.",
    );
    error(
        http.send(
            "POST",
            &format!("/v2/group/{gid}/demote"),
            &owner.token,
            &json!({}),
        ),
        INVALID,
        "User IDs must be set.",
    );
    ok(http.send(
        "POST",
        &format!("/v2/group/{gid}/kick"),
        &owner.token,
        &json!({}),
    ));
    error(
        http.send(
            "POST",
            &format!("/v2/group/{gid}/add?user_ids={}", uuid_like()),
            &owner.token,
            &json!({}),
        ),
        INVALID,
        "One or more users not found.",
    );
    let many: Vec<String> = (0..257)
        .map(|_| format!("user_ids={}", uuid_like()))
        .collect();
    http.send(
        "POST",
        &format!("/v2/group/{gid}/add?{}", many.join("&")),
        &owner.token,
        &json!({}),
    )
    .assert_error(INVALID.0, INVALID.1);
    // Listings.
    error(
        http.get("/v2/group?limit=101", &owner.token),
        INVALID,
        "Invalid limit - limit must be between 1 and 100.",
    );
    error(
        http.get("/v2/group?name=a&open=true", &owner.token),
        INVALID,
        "name filter cannot be combined with any other filter",
    );
    error(
        http.get("/v2/group?cursor=%%%", &owner.token),
        INVALID,
        "Malformed cursor was used.",
    );
    error(
        http.get(&format!("/v2/group/{gid}/user?state=5"), &owner.token),
        INVALID,
        "Invalid state - state must be between 0 and 4.",
    );
    error(
        http.get(&format!("/v2/group/{gid}/user?limit=0"), &owner.token),
        INVALID,
        "Invalid limit - limit must be between 1 and 100.",
    );
    error(
        http.get(&format!("/v2/group/{gid}/user?cursor=zzz"), &owner.token),
        INVALID,
        "Cursor is invalid.",
    );
    error(
        http.get("/v2/user/nope/group", &owner.token),
        INVALID,
        "Group ID must be a valid ID.",
    );
    error(
        post(&http, &owner, "/v2/group/nope/join"),
        INVALID,
        "Group ID must be a valid ID.",
    );
}

fn uuid_like() -> String {
    let u = unique("");
    let hex: String = u
        .bytes()
        .map(|b| format!("{:x}", b % 16))
        .chain(std::iter::repeat("0".to_string()))
        .take(32)
        .collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn join_group_channel(ws: &mut Ws, gid: &str) -> Value {
    ws.request("j", "channel_join", json!({"target": gid, "type": 3}))
}

/// The next `channel_message` with this code.
fn next_message(ws: &mut Ws, code: i64) -> Value {
    for _ in 0..20 {
        let m = ws.next_with("channel_message")["channel_message"].clone();
        if m["code"] == json!(code) {
            return m;
        }
    }
    panic!("no channel_message with code {code}");
}

fn group_chat_membership_messages(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let mut users = kairos_tests::users_on_both_shards(&s, 3, "");
    let (mut ws_owner, owner) = users.remove(0);
    let (mut ws_member, member) = users.remove(0);
    let (mut ws_out, outsider) = users.remove(0);
    let g = create(
        &http,
        &owner,
        json!({"name": unique("Chat "), "open": true}),
    );
    let gid = g["id"].as_str().unwrap().to_string();
    let channel_id = format!("3.{gid}..");

    // Members only.
    let r = join_group_channel(&mut ws_out, &gid);
    assert_eq!(r["error"]["code"], json!(3), "{r}");
    assert_eq!(
        r["error"]["message"],
        json!("Group not found: Invalid channel target")
    );
    let r = join_group_channel(&mut ws_owner, &gid);
    assert_eq!(r["channel"]["id"], json!(channel_id), "{r}");
    assert_eq!(r["channel"]["group_id"], json!(gid));

    // A join is heard live, as code 3 from the joiner.
    ok(post(&http, &member, &format!("/v2/group/{gid}/join")));
    let m = next_message(&mut ws_owner, 3);
    assert_eq!(m["sender_id"], json!(member.user_id()));
    assert_eq!(m["username"], json!(member.username()));
    assert_eq!(m["group_id"], json!(gid));
    assert_eq!(m["content"], json!("{}"));
    let r = join_group_channel(&mut ws_member, &gid);
    assert!(r.get("channel").is_some(), "{r}");
    let r = ws_member.request(
        "s",
        "channel_message_send",
        json!({"channel_id": channel_id, "content": "{\"hi\":1}"}),
    );
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    assert_eq!(
        next_message(&mut ws_owner, 0)["content"],
        json!("{\"hi\":1}")
    );

    // Promote and demote are heard; a kick too, by the kicked member,
    // who then is out of the channel.
    ok(op(&http, &owner, &gid, "promote", &[&member]));
    assert_eq!(
        next_message(&mut ws_member, 7)["sender_id"],
        json!(member.user_id())
    );
    ok(op(&http, &owner, &gid, "demote", &[&member]));
    assert_eq!(
        next_message(&mut ws_owner, 9)["sender_id"],
        json!(member.user_id())
    );
    ok(op(&http, &owner, &gid, "kick", &[&member]));
    assert_eq!(
        next_message(&mut ws_member, 6)["sender_id"],
        json!(member.user_id())
    );
    // The channel's owner shard takes the kicked member out right after
    // relaying the kick, and the others hear the leave; once they have,
    // the member's own shard has been told too (it was told first).
    loop {
        let ev = ws_owner.next_with("channel_presence_event");
        let leaves = &ev["channel_presence_event"]["leaves"];
        if leaves
            .as_array()
            .is_some_and(|l| l.iter().any(|p| p["user_id"] == json!(member.user_id())))
        {
            break;
        }
    }
    let r = ws_member.request(
        "s2",
        "channel_message_send",
        json!({"channel_id": channel_id, "content": "{}"}),
    );
    assert_eq!(
        r["error"]["message"],
        json!("Must join channel before sending messages"),
        "{r}"
    );

    // History: members only; it holds the membership messages in order.
    let path = format!("/v2/channel/{}?limit=100", urlencode(&channel_id));
    let history = ok(http.get(&path, &owner.token));
    let codes: Vec<i64> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(codes, vec![3, 0, 7, 9, 6]);
    error(http.get(&path, &member.token), INVALID, "Group not found.");
    error(
        http.get(&path, &outsider.token),
        INVALID,
        "Group not found.",
    );

    // Ban and leave are written too; a deleted group ends the channel.
    ok(post(&http, &outsider, &format!("/v2/group/{gid}/join")));
    ok(op(&http, &owner, &gid, "ban", &[&outsider]));
    assert_eq!(
        next_message(&mut ws_owner, 8)["sender_id"],
        json!(outsider.user_id())
    );
    ok(post(&http, &member, &format!("/v2/group/{gid}/join")));
    ok(post(&http, &member, &format!("/v2/group/{gid}/leave")));
    assert_eq!(
        next_message(&mut ws_owner, 5)["sender_id"],
        json!(member.user_id())
    );
}

fn nk(http: &Http, payload: Value) -> Reply {
    http.request(
        "POST",
        "/v2/rpc/test.groups",
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(payload.to_string()).to_string()),
    )
}

fn nk_ok(http: &Http, payload: Value) -> Value {
    let r = nk(http, payload);
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap()
}

fn game_code_groups(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let owner = http.device(&unique("owner-"));
    let (a, c) = (http.device(&unique("a-")), http.device(&unique("c-")));
    let name = unique("Nk ");
    let g = nk_ok(
        &http,
        json!({"op": "create", "owner": owner.user_id(), "name": name, "max_count": 3, "metadata": "{\"k\":1}"}),
    );
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(
        (g["open"].clone(), g["max_count"].clone()),
        (json!(false), json!(3))
    );
    assert_eq!(g["metadata"], json!("{\"k\":1}"));
    // Game code adds to a closed group as a superadmin would; clients see it.
    nk_ok(
        &http,
        json!({"op": "add", "id": gid, "users": [a.user_id()]}),
    );
    assert_eq!(state_of(&http, &owner, &gid, &a), Some(2));
    // Joining as a user: a request to a closed group.
    nk_ok(
        &http,
        json!({"op": "join", "id": gid, "user": c.user_id(), "username": c.username()}),
    );
    let users = nk_ok(&http, json!({"op": "users", "id": gid, "limit": 2}));
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
    let rest = nk_ok(
        &http,
        json!({"op": "users", "id": gid, "limit": 2, "cursor": users["cursor"]}),
    );
    assert_eq!(rest["users"], json!([{"id": c.user_id(), "state": 3}]));
    // As a caller, the caller's rank holds: a member may not kick.
    let r = nk(
        &http,
        json!({"op": "kick", "caller": a.user_id(), "id": gid, "users": [owner.user_id()]}),
    );
    assert_eq!(r.status, 403, "{}", r.text);
    nk_ok(
        &http,
        json!({"op": "promote", "id": gid, "users": [a.user_id()]}),
    );
    nk_ok(
        &http,
        json!({"op": "kick", "caller": a.user_id(), "id": gid, "users": [c.user_id()]}),
    );
    assert_eq!(state_of(&http, &owner, &gid, &c), None);
    // Updates of what clients cannot change, then full.
    nk_ok(&http, json!({"op": "update", "id": gid, "max_count": 2}));
    let got = nk_ok(&http, json!({"op": "get", "ids": [gid]}));
    assert_eq!(got["groups"][0]["max_count"], json!(2));
    let r = nk(
        &http,
        json!({"op": "add", "id": gid, "users": [c.user_id()]}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("Group is full."), "{}", r.text);
    // Listings.
    let mine = nk_ok(&http, json!({"op": "user_groups", "user": a.user_id()}));
    assert_eq!(mine["groups"], json!([{"id": gid, "state": 1}]));
    let listed = nk_ok(&http, json!({"op": "list", "name": name, "limit": 10}));
    assert_eq!(listed["groups"][0]["id"], json!(gid));
    // Leave and delete.
    nk_ok(
        &http,
        json!({"op": "leave", "id": gid, "user": a.user_id(), "username": a.username()}),
    );
    nk_ok(&http, json!({"op": "delete", "id": gid}));
    assert_eq!(
        nk_ok(&http, json!({"op": "get", "ids": [gid]}))["groups"],
        json!([])
    );
    let r = nk(
        &http,
        json!({"op": "create", "owner": owner.user_id(), "name": ""}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
}

fn concurrent_joins_over_rest(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let owner = http.device(&unique("owner-"));
    let g = create(
        &http,
        &owner,
        json!({"name": unique("Race "), "open": true, "max_count": 5}),
    );
    let gid = g["id"].as_str().unwrap().to_string();
    let joiners: Vec<Session> = (0..12).map(|_| http.device(&unique("j-"))).collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = joiners
            .iter()
            .map(|j| {
                let (http, gid) = (s.http(), gid.clone());
                scope.spawn(move || post(&http, j, &format!("/v2/group/{gid}/join")).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        8,
        "{statuses:?}"
    );
    assert_eq!(members(&http, &owner, &gid).len(), 5);
    let listed = ok(http.get(
        &format!("/v2/group?name={}", urlencode(g["name"].as_str().unwrap())),
        &owner.token,
    ));
    assert_eq!(listed["groups"][0]["edge_count"], json!(5));
}
