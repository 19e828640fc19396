//! Leaderboards over REST, on both backends: boards made by game code
//! (the examples' `example.leaderboard_create`), each operator's write as
//! Nakama answers it, listings with cursors, owner ids, around an owner,
//! deletes, authoritative boards, every validation error with Nakama's
//! code and status, concurrent writes that add up, and resets on a cron
//! schedule (records of the past period kept under their expiry, the
//! reset hook fired once per reset, across a restart too).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kairos_tests::{Backend, Http, Reply, TestServer, backend_tests, basic, unique};
use serde_json::{Value, json};

backend_tests!(
    writes_with_each_operator,
    listings_cursors_owners_and_around,
    authoritative_boards_and_deletes,
    validation_errors_match_nakama,
    concurrent_increments_add_up,
    resets_on_schedule_fire_the_hook_once_across_restarts,
    cursors_from_a_rank_and_ranks_turned_off,
);

fn rpc(http: &Http, id: &str, payload: Value) -> Reply {
    http.request(
        "POST",
        &format!("/v2/rpc/{id}"),
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(payload.to_string()).to_string()),
    )
}

fn rpc_ok(http: &Http, id: &str, payload: Value) -> Value {
    let r = rpc(http, id, payload);
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap()
}

fn create(http: &Http, spec: Value) -> String {
    let id = unique("lb-");
    let mut spec = spec;
    spec["id"] = json!(id);
    rpc_ok(http, "example.leaderboard_create", spec);
    id
}

fn write(http: &Http, token: &str, id: &str, body: Value) -> Reply {
    http.send("POST", &format!("/v2/leaderboard/{id}"), token, &body)
}

fn write_ok(http: &Http, token: &str, id: &str, body: Value) -> Value {
    let r = write(http, token, id, body);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn list(http: &Http, token: &str, id: &str, query: &str) -> Value {
    let r = http.get(&format!("/v2/leaderboard/{id}?{query}"), token);
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn scores(v: &Value, key: &str) -> Vec<(String, String)> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["score"].as_str().unwrap_or("0").to_string(),
                        r["rank"].as_str().unwrap_or("0").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn writes_with_each_operator(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let id = create(&http, json!({"sort_order": "desc", "operator": "best"}));

    let r = write_ok(
        &http,
        &me.token,
        &id,
        json!({"score": "10", "subscore": 5, "metadata": "{\"a\":1}"}),
    );
    assert_eq!(r["leaderboard_id"], id);
    assert_eq!(r["owner_id"], me.user_id());
    assert_eq!(r["username"], me.username());
    assert_eq!(
        (r["score"].clone(), r["subscore"].clone()),
        (json!("10"), json!("5"))
    );
    assert_eq!(r["num_score"], 1);
    assert_eq!(r["max_num_score"], 1_000_000);
    assert_eq!(r["rank"], "1");
    assert_eq!(r["metadata"], "{\"a\":1}");
    assert!(r["create_time"].as_str().unwrap().ends_with('Z'));
    assert!(
        r.get("expiry_time").is_none(),
        "a board without resets: {r}"
    );
    // best: worse leaves it as it was, better on either part takes it.
    let r = write_ok(
        &http,
        &me.token,
        &id,
        json!({"score": 9, "subscore": 1, "metadata": "{\"b\":2}"}),
    );
    assert_eq!(
        (
            r["score"].clone(),
            r["num_score"].clone(),
            r["metadata"].clone()
        ),
        (json!("10"), json!(1), json!("{\"a\":1}"))
    );
    let r = write_ok(&http, &me.token, &id, json!({"score": 12}));
    assert_eq!(
        (
            r["score"].clone(),
            r["subscore"].clone(),
            r["num_score"].clone()
        ),
        (json!("12"), json!("5"), json!(2))
    );
    // Overrides, by number and by name.
    let r = write_ok(&http, &me.token, &id, json!({"score": 3, "operator": 2}));
    assert_eq!(
        (r["score"].clone(), r.get("subscore").cloned()),
        (json!("3"), None)
    );
    let r = write_ok(
        &http,
        &me.token,
        &id,
        json!({"score": 4, "subscore": 2, "operator": "INCREMENT"}),
    );
    assert_eq!(
        (r["score"].clone(), r["subscore"].clone()),
        (json!("7"), json!("2"))
    );
    let r = write_ok(&http, &me.token, &id, json!({"score": 10, "operator": 4}));
    assert_eq!(
        (
            r.get("score").cloned(),
            r["subscore"].clone(),
            r["num_score"].clone()
        ),
        (None, json!("2"), json!(5))
    );

    // incr and decr boards, and an ascending best.
    let incr = create(&http, json!({"operator": "incr"}));
    write_ok(&http, &me.token, &incr, json!({"score": 5}));
    let r = write_ok(&http, &me.token, &incr, json!({"score": 6}));
    assert_eq!(
        (r["score"].clone(), r["num_score"].clone()),
        (json!("11"), json!(2))
    );
    let decr = create(&http, json!({"operator": "decr"}));
    let r = write_ok(&http, &me.token, &decr, json!({"score": 5}));
    assert_eq!(r.get("score"), None);
    let asc = create(&http, json!({"sort_order": "asc", "operator": "best"}));
    write_ok(&http, &me.token, &asc, json!({"score": 50}));
    let r = write_ok(&http, &me.token, &asc, json!({"score": 40}));
    assert_eq!(r["score"], "40");
    let r = write_ok(&http, &me.token, &asc, json!({"score": 45}));
    assert_eq!(r["score"], "40");
    // A negative result is Nakama's internal error, and changes nothing.
    let r = write(&http, &me.token, &incr, json!({"score": -20}));
    r.assert_error(500, 13);
    assert_eq!(r.message(), "Error writing score to leaderboard.");
    let l = list(&http, &me.token, &incr, "limit=5");
    assert_eq!(
        scores(&l, "records"),
        vec![("11".to_string(), "1".to_string())]
    );
}

fn listings_cursors_owners_and_around(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let id = create(&http, json!({"sort_order": "desc", "operator": "set"}));
    let players: Vec<_> = (0..7).map(|_| http.device(&unique("device-"))).collect();
    for (i, p) in players.iter().enumerate() {
        write_ok(&http, &p.token, &id, json!({"score": (i as i64 + 1) * 10}));
    }
    let t = &players[0].token;
    // Default limit 1; then pages of 3 forward and back.
    let one = list(&http, t, &id, "");
    assert_eq!(scores(&one, "records"), vec![("70".into(), "1".into())]);
    assert_eq!(one["rank_count"], "7");
    let p1 = list(&http, t, &id, "limit=3");
    assert_eq!(
        scores(&p1, "records"),
        vec![
            ("70".into(), "1".into()),
            ("60".into(), "2".into()),
            ("50".into(), "3".into())
        ]
    );
    assert!(p1.get("prev_cursor").is_none());
    let next = p1["next_cursor"].as_str().unwrap();
    let p2 = list(&http, t, &id, &format!("limit=3&cursor={next}"));
    assert_eq!(
        scores(&p2, "records"),
        vec![
            ("40".into(), "4".into()),
            ("30".into(), "5".into()),
            ("20".into(), "6".into())
        ]
    );
    let prev = p2["prev_cursor"].as_str().unwrap();
    let back = list(&http, t, &id, &format!("limit=3&cursor={prev}"));
    assert_eq!(scores(&back, "records"), scores(&p1, "records"));
    let p3 = list(
        &http,
        t,
        &id,
        &format!("limit=3&cursor={}", p2["next_cursor"].as_str().unwrap()),
    );
    assert_eq!(scores(&p3, "records"), vec![("10".into(), "7".into())]);
    assert!(p3.get("next_cursor").is_none());
    // owner_ids alone: no page, the owners' records ranked, best first.
    let owners = format!(
        "owner_ids={}&owner_ids={}",
        players[1].user_id(),
        players[5].user_id()
    );
    let o = list(&http, t, &id, &owners);
    assert!(o.get("records").is_none(), "{o}");
    assert_eq!(
        scores(&o, "owner_records"),
        vec![("60".into(), "2".into()), ("20".into(), "6".into())]
    );
    let o = list(&http, t, &id, &format!("{owners}&limit=2"));
    assert_eq!(scores(&o, "records").len(), 2);
    assert_eq!(scores(&o, "owner_records").len(), 2);
    // Around an owner: centred, with cursors either way.
    let around = |owner: &str, q: &str| {
        let r = http.get(&format!("/v2/leaderboard/{id}/owner/{owner}?{q}"), t);
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    };
    let a = around(&players[3].user_id(), "limit=3");
    assert_eq!(
        scores(&a, "records"),
        vec![
            ("50".into(), "3".into()),
            ("40".into(), "4".into()),
            ("30".into(), "5".into())
        ]
    );
    assert!(
        a["prev_cursor"].is_string() && a["next_cursor"].is_string(),
        "{a}"
    );
    let after = around(
        &players[3].user_id(),
        &format!("limit=3&cursor={}", a["next_cursor"].as_str().unwrap()),
    );
    assert_eq!(
        scores(&after, "records"),
        vec![("20".into(), "6".into()), ("10".into(), "7".into())]
    );
    let top = around(&players[6].user_id(), "limit=2");
    assert_eq!(
        scores(&top, "records"),
        vec![("70".into(), "1".into()), ("60".into(), "2".into())]
    );
    // An owner without a record: nothing.
    let stranger = http.device(&unique("device-"));
    assert_eq!(around(&stranger.user_id(), "limit=5"), json!({}));
    // Ranks survive a write that moves a player.
    let r = write_ok(&http, &players[0].token, &id, json!({"score": 100}));
    assert_eq!(r["rank"], "1");
    let o = list(
        &http,
        t,
        &id,
        &format!("owner_ids={}", players[6].user_id()),
    );
    assert_eq!(scores(&o, "owner_records"), vec![("70".into(), "2".into())]);
    // Deleting one's own record drops it from the ranks.
    let r = http.send(
        "DELETE",
        &format!("/v2/leaderboard/{id}"),
        &players[0].token,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let one = list(&http, t, &id, "");
    assert_eq!(scores(&one, "records"), vec![("70".into(), "1".into())]);
    assert_eq!(one["rank_count"], "6");
    // Deleting an account deletes its records and ranks.
    let gone = &players[6];
    let r = http.send("DELETE", "/v2/account", &gone.token, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let one = list(&http, t, &id, "");
    assert_eq!(scores(&one, "records"), vec![("60".into(), "1".into())]);
    assert_eq!(one["rank_count"], "5");
}

fn authoritative_boards_and_deletes(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let id = create(&http, json!({"authoritative": true, "operator": "incr"}));
    let r = write(&http, &me.token, &id, json!({"score": 1}));
    r.assert_error(403, 7);
    assert_eq!(
        r.message(),
        "Leaderboard only allows authoritative score submissions."
    );
    let r = http.send(
        "DELETE",
        &format!("/v2/leaderboard/{id}"),
        &me.token,
        &json!({}),
    );
    r.assert_error(403, 7);
    assert_eq!(
        r.message(),
        "Leaderboard only allows authoritative score deletions."
    );
    // Game code writes to it.
    let rec = rpc_ok(
        &http,
        "example.leaderboard_write",
        json!({"id": id, "owner_id": me.user_id(), "username": "hero", "score": 3, "metadata": {"k": 1}}),
    );
    assert_eq!(
        (
            rec["score"].clone(),
            rec["rank"].clone(),
            rec["username"].clone()
        ),
        (json!(3), json!(1), json!("hero"))
    );
    let rec = rpc_ok(
        &http,
        "example.leaderboard_write",
        json!({"id": id, "owner_id": me.user_id(), "score": 4}),
    );
    assert_eq!(rec["score"], 7);
    let r = rpc(
        &http,
        "example.leaderboard_write",
        json!({"id": id, "owner_id": me.user_id(), "score": -1}),
    );
    r.assert_error(400, 3);
    assert_eq!(r.message(), "expects score to be >= 0");
    let r = rpc(
        &http,
        "example.leaderboard_write",
        json!({"id": "no-such-board", "owner_id": me.user_id(), "score": 1}),
    );
    r.assert_error(404, 5);
    // Game code's listing of boards.
    let boards = rpc_ok(&http, "example.leaderboards", json!({}));
    let mine = boards["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(
        (
            mine["authoritative"].clone(),
            mine["operator"].clone(),
            mine["sort_order"].clone()
        ),
        (json!(true), json!(3), json!(1))
    );
    // Creation is idempotent: other settings keep the first.
    rpc_ok(
        &http,
        "example.leaderboard_create",
        json!({"id": id, "authoritative": false}),
    );
    write(&http, &me.token, &id, json!({"score": 1})).assert_error(403, 7);
    // Bad creations carry Nakama runtime's messages.
    for (spec, message) in [
        (json!({"id": ""}), "expects a leaderboard ID string"),
        (
            json!({"id": "x", "sort_order": "up"}),
            "expects sort order to be 'asc' or 'desc'",
        ),
        (
            json!({"id": "x", "operator": "max"}),
            "expects operator to be 'best', 'set', 'incr' or 'decr'",
        ),
        (
            json!({"id": "x", "reset_schedule": "every day"}),
            "expects reset schedule to be a valid CRON expression",
        ),
    ] {
        let r = rpc(&http, "example.leaderboard_create", spec);
        r.assert_error(400, 3);
        assert_eq!(r.message(), message);
    }
    // A board and its records survive a restart.
    let mut s = s;
    s.restart();
    let http = s.http();
    let l = list(&http, &me.token, &id, "limit=10");
    assert_eq!(scores(&l, "records"), vec![("7".into(), "1".into())]);
    assert_eq!(l["rank_count"], "1");
}

fn validation_errors_match_nakama(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let id = create(&http, json!({}));
    let t = &me.token;
    let check = |r: Reply, status: u16, code: i64, message: &str| {
        r.assert_error(status, code);
        assert_eq!(r.message(), message, "{}", r.text);
    };
    // Writes.
    check(
        http.request(
            "POST",
            &format!("/v2/leaderboard/{id}"),
            Some(&format!("Bearer {t}")),
            Some(""),
        ),
        400,
        3,
        "Invalid input, record score value is required.",
    );
    check(
        write(&http, t, &id, json!({"score": 1, "metadata": "[1]"})),
        400,
        3,
        "Metadata value must be JSON, if provided.",
    );
    check(
        write(&http, t, &id, json!({"score": 1, "metadata": "{"})),
        400,
        3,
        "Metadata value must be JSON, if provided.",
    );
    check(
        write(&http, t, "no-such-board", json!({"score": 1})),
        404,
        5,
        "Leaderboard not found.",
    );
    check(
        write(&http, t, &id, json!({"score": 1, "operator": 9})),
        500,
        13,
        "Error writing score to leaderboard.",
    );
    check(
        write(&http, t, &id, json!({"score": -1})),
        500,
        13,
        "Error writing score to leaderboard.",
    );
    write(&http, t, &id, json!({"score": "x"})).assert_error(400, 3);
    write(&http, t, &id, json!({"score": 1, "operator": "MAX"})).assert_error(400, 3);
    // Listings.
    let get = |path: String| http.get(&path, t);
    check(
        get(format!("/v2/leaderboard/{id}?limit=0")),
        400,
        3,
        "Invalid limit - limit must be between 1 and 1000.",
    );
    check(
        get(format!("/v2/leaderboard/{id}?limit=1001")),
        400,
        3,
        "Invalid limit - limit must be between 1 and 1000.",
    );
    check(
        get(format!("/v2/leaderboard/{id}?owner_ids=nope")),
        400,
        3,
        "One or more owner IDs are invalid.",
    );
    check(
        get(format!("/v2/leaderboard/{id}?cursor=bogus")),
        400,
        3,
        "Cursor is invalid or expired.",
    );
    check(
        get("/v2/leaderboard/no-such-board".into()),
        404,
        5,
        "Leaderboard not found.",
    );
    get(format!("/v2/leaderboard/{id}?limit=abc")).assert_error(400, 3);
    get(format!("/v2/leaderboard/{id}?expiry=abc")).assert_error(400, 3);
    // A cursor of another board is refused too.
    let other = create(&http, json!({}));
    for p in 0..2 {
        let who = http.device(&unique("device-"));
        write_ok(&http, &who.token, &other, json!({"score": p}));
    }
    let page = list(&http, t, &other, "limit=1");
    let foreign = page["next_cursor"].as_str().unwrap();
    check(
        get(format!("/v2/leaderboard/{id}?cursor={foreign}")),
        400,
        3,
        "Cursor is invalid or expired.",
    );
    let many: Vec<String> = (0..1001)
        .map(|_| format!("owner_ids={}", me.user_id()))
        .collect();
    get(format!("/v2/leaderboard/{id}?{}", many.join("&"))).assert_error(400, 3);
    // Around an owner.
    let uid = me.user_id();
    check(
        get(format!("/v2/leaderboard/{id}/owner/{uid}?limit=0")),
        400,
        3,
        "Invalid limit - limit must be between 1 and 100.",
    );
    check(
        get(format!("/v2/leaderboard/{id}/owner/{uid}?limit=101")),
        400,
        3,
        "Invalid limit - limit must be between 1 and 100.",
    );
    check(
        get(format!("/v2/leaderboard/{id}/owner/not-a-uuid")),
        400,
        3,
        "Invalid owner ID provided.",
    );
    check(
        get(format!("/v2/leaderboard/no-such-board/owner/{uid}")),
        404,
        5,
        "Leaderboard not found.",
    );
    check(
        get(format!("/v2/leaderboard/{id}/owner/{uid}?cursor=bogus")),
        500,
        13,
        "Error querying records from leaderboard.",
    );
    // Deletes.
    check(
        http.send("DELETE", "/v2/leaderboard/no-such-board", t, &json!({})),
        404,
        5,
        "Leaderboard not found.",
    );
    // Without a session.
    http.request("GET", &format!("/v2/leaderboard/{id}"), None, None)
        .assert_error(401, 16);
}

fn concurrent_increments_add_up(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let id = create(&http, json!({"operator": "incr"}));
    const WRITERS: i64 = 20;
    std::thread::scope(|scope| {
        for i in 1..=WRITERS {
            let (http, token, id) = (s.http(), me.token.clone(), id.clone());
            scope.spawn(move || {
                let r = write(&http, &token, &id, json!({"score": i, "subscore": 1}));
                assert_eq!(r.status, 200, "{}", r.text);
            });
        }
    });
    let l = list(&http, &me.token, &id, "limit=5");
    let r = &l["records"][0];
    assert_eq!(r["score"], (WRITERS * (WRITERS + 1) / 2).to_string());
    assert_eq!(r["subscore"], WRITERS.to_string());
    assert_eq!(r["num_score"], WRITERS);
}

/// Polls `f` until it returns `Some`, for up to `within`.
fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < within, "condition not met in time");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn resets(http: &Http, id: &str) -> Vec<i64> {
    let all = rpc_ok(http, "example.leaderboard_resets", json!({}));
    all[id]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn resets_on_schedule_fire_the_hook_once_across_restarts(b: &Backend) {
    let mut s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    // Every two seconds (Nakama's 7-field form: seconds first, year last).
    let id = create(
        &http,
        json!({"operator": "incr", "reset_schedule": "*/2 * * * * * *"}),
    );
    // A tournament on the same schedule: its resets are not a
    // leaderboard's, and never reach the leaderboard reset hook.
    let tournament = unique("tn-");
    let r = http.request(
        "POST",
        "/v2/rpc/example.tournament_create",
        Some(&kairos_tests::basic("defaulthttpkey")),
        Some(
            &Value::String(
                json!({"id": tournament, "reset_schedule": "*/2 * * * * * *", "duration": 1})
                    .to_string(),
            )
            .to_string(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = write_ok(&http, &me.token, &id, json!({"score": 5}));
    let expiry = r["expiry_time"]
        .as_str()
        .expect("a resetting board's record expires")
        .to_string();
    // The period ends: the current listing no longer has the record...
    let current = eventually(Duration::from_secs(60), || {
        let l = list(&http, &me.token, &id, "limit=5");
        l.get("records").is_none().then_some(l)
    });
    assert!(current.get("owner_records").is_none());
    // ...but the past period, named by its expiry, still does.
    let secs = kairos_tests::unix_secs(&expiry);
    let old = list(&http, &me.token, &id, &format!("limit=5&expiry={secs}"));
    assert_eq!(scores(&old, "records"), vec![("5".into(), "1".into())]);
    assert_eq!(old["records"][0]["expiry_time"], expiry);
    // A new period starts from nothing.
    let r = write_ok(&http, &me.token, &id, json!({"score": 1}));
    assert_eq!(r["score"], "1");
    // The hook heard the reset (or, if the machine stalled past the next
    // one too, the latest: missed resets are announced once), each once.
    let before = eventually(Duration::from_secs(60), || {
        let v = resets(&http, &id);
        v.iter().any(|t| *t >= secs).then_some(v)
    });
    let unique_resets: BTreeSet<_> = before.iter().collect();
    assert_eq!(
        unique_resets.len(),
        before.len(),
        "a reset fired twice: {before:?}"
    );
    // The tournament, created before that reset on the same schedule, was
    // reset too, but not through the leaderboard hook.
    assert_eq!(resets(&http, &tournament), Vec::<i64>::new());
    // Across a restart, no reset fires again.
    s.restart();
    let http = s.http();
    let last = *before.iter().max().unwrap();
    let after = eventually(Duration::from_secs(60), || {
        let v = resets(&http, &id);
        (!v.is_empty()).then_some(v)
    });
    assert!(after.iter().all(|t| *t > last), "{after:?} after {last}");
    let unique_resets: BTreeSet<_> = after.iter().collect();
    assert_eq!(unique_resets.len(), after.len(), "{after:?}");
    // Both would reset every two seconds on a database the tests share.
    for board in [&id, &tournament] {
        rpc_ok(&http, "example.leaderboard_delete", json!({ "id": board }));
    }
}

fn cursors_from_a_rank_and_ranks_turned_off(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let id = create(&http, json!({"sort_order": "desc", "operator": "set"}));
    let players: Vec<_> = (0..5).map(|_| http.device(&unique("device-"))).collect();
    for (i, p) in players.iter().enumerate() {
        write_ok(&http, &p.token, &id, json!({"score": (i as i64 + 1) * 10}));
    }
    let t = &players[0].token;
    let from = |rank: i64| {
        rpc(
            &http,
            "example.leaderboard_cursor_from_rank",
            json!({"id": id, "rank": rank}),
        )
    };
    let cursor = |rank: i64| {
        let r = from(rank);
        assert_eq!(r.status, 200, "{}", r.text);
        let v: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
        v["cursor"].as_str().unwrap().to_string()
    };
    // A listing from the cursor of rank 3 starts at rank 3.
    let c = cursor(3);
    let page = list(&http, t, &id, &format!("limit=2&cursor={c}"));
    assert_eq!(
        scores(&page, "records"),
        vec![("30".into(), "3".into()), ("20".into(), "4".into())]
    );
    // Rank 1 is the first page.
    assert_eq!(cursor(1), "");
    // Past the last rank, and a rank below 1, are refused with Nakama's words.
    let r = from(7);
    r.assert_error(400, 3);
    assert!(
        r.message()
            .starts_with("failed to get cursor from rank: rank entry 6 not found"),
        "{}",
        r.text
    );
    let r = from(0);
    r.assert_error(400, 3);
    assert_eq!(r.message(), "invalid rank - must be > 1");
    let r = rpc(
        &http,
        "example.leaderboard_cursor_from_rank",
        json!({"id": "missing", "rank": 2}),
    );
    r.assert_error(404, 5);

    // Ranks off: records are still written and listed, without ranks.
    let r = rpc(&http, "example.ranks_disable", json!({"id": id}));
    assert_eq!(r.status, 200, "{}", r.text);
    write_ok(&http, t, &id, json!({"score": 99}));
    let owner = players[0].user_id();
    let page = list(&http, t, &id, &format!("limit=10&owner_ids={owner}"));
    assert_eq!(page["owner_records"][0]["score"], "99", "{page}");
    assert!(page["owner_records"][0].get("rank").is_none(), "{page}");
    assert!(page.get("rank_count").is_none(), "{page}");
    from(2).assert_error(400, 3);
    // A leaderboard's call does not turn a tournament's off, nor the reverse.
    let r = rpc(
        &http,
        "example.ranks_disable",
        json!({"id": id, "tournament": true}),
    );
    r.assert_error(404, 5);
    assert_eq!(r.message(), "tournament not found");
    let r = rpc(&http, "example.ranks_disable", json!({"id": "missing"}));
    r.assert_error(404, 5);
    assert_eq!(r.message(), "leaderboard not found");
}
