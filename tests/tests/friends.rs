//! Friends: invites, accepts, lists with states and cursors, friends of
//! friends, removal, blocks, their notifications, and bad input.

use kairos_tests::{Backend, Http, Session, TestServer, Ws, backend_tests, bearer, unique};
use serde_json::{Value, json};

backend_tests!(invite_accept_list_remove_and_block);

fn call(http: &Http, method: &str, path: &str, who: &Session) -> Value {
    let r = http.request(method, path, Some(&bearer(&who.token)), None);
    assert_eq!(r.status, 200, "{method} {path}: {}", r.text);
    r.body
}

/// `(user id, state)` of every edge in `who`'s list.
fn friends(http: &Http, who: &Session, query: &str) -> Vec<(String, i64)> {
    let body = call(http, "GET", &format!("/v2/friend?{query}"), who);
    body["friends"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["user"]["id"].as_str().unwrap().to_string(),
                f["state"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn edge_count(http: &Http, who: &Session) -> i64 {
    let body = call(http, "GET", &format!("/v2/user?ids={}", who.user_id()), who);
    body["users"][0]["edge_count"].as_i64().unwrap_or(0)
}

/// The next notification with `code`, skipping others.
fn next_notification(ws: &mut Ws, code: i64) -> Value {
    for _ in 0..20 {
        let n = ws.next_with("notifications")["notifications"]["notifications"][0].clone();
        if n["code"] == code {
            return n;
        }
    }
    panic!("no notification with code {code}");
}

fn invite_accept_list_remove_and_block(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let a = http.device(&unique("device-"));
    let bob = http.device(&unique("device-"));
    let carol = http.device(&unique("device-"));
    let mut wa = Ws::open(&s.addr, &a.token, "");
    let mut wb = Ws::open(&s.addr, &bob.token, "&status=true");

    // A invites B by id: B is told at once.
    call(
        &http,
        "POST",
        &format!("/v2/friend?ids={}", bob.user_id()),
        &a,
    );
    let n = next_notification(&mut wb, -2);
    assert_eq!(n["sender_id"], json!(a.user_id()));
    assert_eq!(
        n["subject"],
        json!(format!("{} wants to add you as a friend", a.username()))
    );
    let content: Value = serde_json::from_str(n["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"username": a.username()}));
    assert_eq!(friends(&http, &a, ""), vec![(bob.user_id(), 1)]);
    assert_eq!(friends(&http, &bob, ""), vec![(a.user_id(), 2)]);
    assert_eq!((edge_count(&http, &a), edge_count(&http, &bob)), (1, 1));
    // Inviting again changes nothing and sends nothing.
    call(
        &http,
        "POST",
        &format!("/v2/friend?ids={}", bob.user_id()),
        &a,
    );

    // B accepts by username: A is told.
    call(
        &http,
        "POST",
        &format!("/v2/friend?usernames={}", a.username()),
        &bob,
    );
    let n = next_notification(&mut wa, -3);
    assert_eq!(n["sender_id"], json!(bob.user_id()));
    assert_eq!(friends(&http, &a, ""), vec![(bob.user_id(), 0)]);
    assert_eq!(friends(&http, &bob, "state=0"), vec![(a.user_id(), 0)]);
    let listed = call(&http, "GET", "/v2/friend", &a);
    assert_eq!(
        listed["friends"][0]["user"]["online"], true,
        "B is online: {listed}"
    );
    assert_eq!(
        listed["friends"][0]["user"]["username"],
        json!(bob.username())
    );

    // Friends of friends: C befriends B; A sees C through B.
    call(
        &http,
        "POST",
        &format!("/v2/friend?ids={}", bob.user_id()),
        &carol,
    );
    call(
        &http,
        "POST",
        &format!("/v2/friend?ids={}", carol.user_id()),
        &bob,
    );
    let fof = call(&http, "GET", "/v2/friend/friends", &a);
    assert_eq!(
        fof["friends_of_friends"][0]["referrer"],
        json!(bob.user_id()),
        "{fof}"
    );
    assert_eq!(
        fof["friends_of_friends"][0]["user"]["id"],
        json!(carol.user_id())
    );
    assert_eq!(fof["friends_of_friends"].as_array().unwrap().len(), 1);

    // Paging through many invites by state, with a cursor.
    let others: Vec<Session> = (0..5).map(|_| http.device(&unique("device-"))).collect();
    let ids: String = others
        .iter()
        .map(|o| format!("ids={}&", o.user_id()))
        .collect();
    call(&http, "POST", &format!("/v2/friend?{ids}"), &a);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = call(
            &http,
            "GET",
            &format!("/v2/friend?state=1&limit=2&cursor={cursor}"),
            &a,
        );
        let rows = page["friends"].as_array().cloned().unwrap_or_default();
        assert!(rows.len() <= 2);
        seen.extend(
            rows.iter()
                .map(|f| f["user"]["id"].as_str().unwrap().to_string()),
        );
        match page["cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_string(),
            _ => break,
        }
    }
    let mut want: Vec<String> = others.iter().map(|o| o.user_id()).collect();
    want.sort();
    seen.sort();
    assert_eq!(seen, want, "every invite exactly once");
    assert_eq!(edge_count(&http, &a), 6);

    // Removing B: both sides lose the edge; B is told.
    call(
        &http,
        "DELETE",
        &format!("/v2/friend?ids={}", bob.user_id()),
        &a,
    );
    let n = next_notification(&mut wb, -9);
    assert_eq!(n["sender_id"], json!(a.user_id()));
    assert!(
        friends(&http, &bob, "")
            .iter()
            .all(|(id, _)| *id != a.user_id())
    );
    assert_eq!(edge_count(&http, &a), 5);

    // A blocks C; C's invites to A are then ignored.
    call(
        &http,
        "POST",
        &format!("/v2/friend/block?ids={}", carol.user_id()),
        &a,
    );
    assert!(friends(&http, &a, "state=3").contains(&(carol.user_id(), 3)));
    call(
        &http,
        "POST",
        &format!("/v2/friend?ids={}", a.user_id()),
        &carol,
    );
    assert!(
        friends(&http, &carol, "")
            .iter()
            .all(|(id, _)| *id != a.user_id())
    );
    assert!(friends(&http, &a, "state=2").is_empty());

    // Stored notifications: B has the invite and the removal.
    let list = call(&http, "GET", "/v2/notification?limit=100", &bob);
    let codes: Vec<i64> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_i64().unwrap())
        .collect();
    assert!(codes.contains(&-2) && codes.contains(&-9), "{codes:?}");
}

#[test]
fn bad_friend_requests() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let auth = bearer(&me.token);
    for (method, path) in [
        ("POST", format!("/v2/friend?ids={}", me.user_id())),
        ("POST", format!("/v2/friend?usernames={}", me.username())),
        ("POST", "/v2/friend?ids=nope".to_string()),
        ("POST", "/v2/friend?usernames=".to_string()),
        (
            "POST",
            "/v2/friend?usernames=nobody-has-this-name".to_string(),
        ),
        (
            "POST",
            "/v2/friend/block?usernames=nobody-has-this-name".to_string(),
        ),
        ("POST", format!("/v2/friend/block?ids={}", me.user_id())),
        ("DELETE", format!("/v2/friend?ids={}", me.user_id())),
        ("GET", "/v2/friend?limit=0".to_string()),
        ("GET", "/v2/friend?limit=1001".to_string()),
        ("GET", "/v2/friend?state=4".to_string()),
        ("GET", "/v2/friend?state=x".to_string()),
        ("GET", "/v2/friend?cursor=garbage".to_string()),
        ("GET", "/v2/friend/friends?limit=101".to_string()),
        ("GET", "/v2/friend/friends?cursor=garbage".to_string()),
    ] {
        http.request(method, &path, Some(&auth), None)
            .assert_error(400, 3);
    }
    // Naming nobody is a no-op, as in Nakama.
    for (method, path) in [
        ("POST", "/v2/friend"),
        ("DELETE", "/v2/friend"),
        ("POST", "/v2/friend/block"),
    ] {
        let r = http.request(method, path, Some(&auth), None);
        assert_eq!(
            (r.status, r.body.clone()),
            (200, json!({})),
            "{method} {path}"
        );
    }
    // A cursor made under one state filter is refused under another.
    let other = http.device(&unique("device-"));
    let third = http.device(&unique("device-"));
    call(
        &http,
        "POST",
        &format!("/v2/friend?ids={}&ids={}", other.user_id(), third.user_id()),
        &me,
    );
    let page = call(&http, "GET", "/v2/friend?state=1&limit=1", &me);
    let cursor = page["cursor"].as_str().unwrap();
    http.request(
        "GET",
        &format!("/v2/friend?state=0&cursor={cursor}"),
        Some(&auth),
        None,
    )
    .assert_error(400, 3);
    http.request("GET", "/v2/friend", None, None)
        .assert_error(401, 16);
}
