//! Notifications: live delivery to every socket of a user on any shard,
//! storage on both backends, listing with the cacheable cursor, deletion.

use kairos_tests::{Backend, Http, Session, TestServer, Ws, backend_tests, bearer, unique};
use serde_json::{Value, json};

backend_tests!(delivered_everywhere_stored_and_listed);

fn get(http: &Http, path: &str, who: &Session) -> Value {
    let r = http.get(path, &who.token);
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body
}

/// Makes `from` send `to` a friend request, which notifies `to`.
fn invite(http: &Http, from: &Session, to: &Session) {
    let r = http.request(
        "POST",
        &format!("/v2/friend?ids={}", to.user_id()),
        Some(&bearer(&from.token)),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

fn ids(list: &Value) -> Vec<String> {
    list["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

fn delivered_everywhere_stored_and_listed(b: &Backend) {
    let mut s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    // Two sockets of the same user, on both shards.
    let mut sockets: Vec<Ws> = (0..2).map(|_| Ws::open(&s.addr, &me.token, "")).collect();
    for _ in 0..50 {
        if sockets[0].shard != sockets[1].shard {
            break;
        }
        sockets.pop().unwrap().close();
        sockets.push(Ws::open(&s.addr, &me.token, ""));
    }
    assert_ne!(sockets[0].shard, sockets[1].shard, "sockets on both shards");

    let senders: Vec<Session> = (0..3).map(|_| http.device(&unique("device-"))).collect();
    for from in &senders {
        invite(&http, from, &me);
        for ws in sockets.iter_mut() {
            let n = ws.next_with("notifications")["notifications"]["notifications"][0].clone();
            assert_eq!(n["sender_id"], json!(from.user_id()));
            assert_eq!(n["code"], -2);
            assert_eq!(n["persistent"], true);
        }
    }

    // Listed oldest first, one page at a time through the cursor.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..3 {
        let page = get(
            &http,
            &format!("/v2/notification?limit=1&cacheable_cursor={cursor}"),
            &me,
        );
        assert_eq!(page["notifications"].as_array().unwrap().len(), 1);
        seen.extend(ids(&page));
        cursor = page["cacheable_cursor"].as_str().unwrap().to_string();
    }
    let senders_seen: Vec<Value> = {
        let all = get(&http, "/v2/notification?limit=100", &me);
        all["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["sender_id"].clone())
            .collect()
    };
    assert_eq!(
        senders_seen,
        senders
            .iter()
            .map(|s| json!(s.user_id()))
            .collect::<Vec<_>>(),
        "oldest first"
    );
    assert_eq!(seen.len(), 3);
    // Past the end: nothing, and the same cursor back.
    let end = get(
        &http,
        &format!("/v2/notification?limit=10&cacheable_cursor={cursor}"),
        &me,
    );
    assert!(ids(&end).is_empty());
    assert_eq!(end["cacheable_cursor"], json!(cursor));
    // A new one shows up after the kept cursor, and only it.
    let late = http.device(&unique("device-"));
    invite(&http, &late, &me);
    let news = get(
        &http,
        &format!("/v2/notification?limit=10&cacheable_cursor={cursor}"),
        &me,
    );
    assert_eq!(news["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(news["notifications"][0]["sender_id"], json!(late.user_id()));

    // Stored notifications survive a restart; deleting is per user.
    drop(sockets);
    s.restart();
    let http = s.http();
    let all = ids(&get(&http, "/v2/notification?limit=100", &me));
    assert_eq!(all.len(), 4);
    let stranger = http.device(&unique("device-"));
    let r = http.request(
        "DELETE",
        &format!("/v2/notification?ids={}", all[0]),
        Some(&bearer(&stranger.token)),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        ids(&get(&http, "/v2/notification?limit=100", &me)).len(),
        4,
        "not theirs to delete"
    );
    let query: String = all[..2].iter().map(|id| format!("ids={id}&")).collect();
    let r = http.request(
        "DELETE",
        &format!("/v2/notification?{query}"),
        Some(&bearer(&me.token)),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        ids(&get(&http, "/v2/notification?limit=100", &me)),
        all[2..].to_vec()
    );
}

#[test]
fn bad_notification_requests() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    for path in [
        "/v2/notification?limit=0",
        "/v2/notification?limit=101",
        "/v2/notification?limit=x",
        "/v2/notification?cacheable_cursor=%%%",
    ] {
        http.get(path, &me.token).assert_error(400, 3);
    }
    http.request(
        "DELETE",
        "/v2/notification?ids=nope",
        Some(&bearer(&me.token)),
        None,
    )
    .assert_error(400, 3);
    let empty = get(&http, "/v2/notification", &me);
    assert!(ids(&empty).is_empty());
    assert!(
        empty["cacheable_cursor"].is_string(),
        "a cursor to resume from: {empty}"
    );
}
