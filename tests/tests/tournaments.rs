//! Tournaments over REST, on both backends: tournaments made by game code
//! (the examples' `example.tournament_create`), joins counted against
//! `max_size` (Nakama's "max size" refusal), writes with `PUT` and `POST`
//! refused without a join, past `max_num_score`, outside the active
//! window and on authoritative tournaments, record listings with owner
//! ids and around an owner, every validation error with Nakama's code
//! and status, and the end and reset hooks fired once per deadline (across
//! a restart too) while each period counts its own players.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kairos_tests::{Backend, Http, Reply, TestServer, backend_tests, basic, unique};
use serde_json::{Value, json};

backend_tests!(
    joins_writes_and_listings,
    validation_errors_match_nakama,
    listing_by_category_and_time,
    ranks_survive_a_restart,
    deadlines_fire_their_hooks_once_and_each_period_counts_its_players,
);

fn create(http: &Http, spec: Value) -> String {
    let id = unique("tn-");
    let mut spec = spec;
    spec["id"] = json!(id);
    let r = http.request(
        "POST",
        "/v2/rpc/example.tournament_create",
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(spec.to_string()).to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    id
}

fn join(http: &Http, token: &str, id: &str) -> Reply {
    http.send(
        "POST",
        &format!("/v2/tournament/{id}/join"),
        token,
        &json!({}),
    )
}

fn check(r: Reply, status: u16, code: i64, message: &str) {
    r.assert_error(status, code);
    assert_eq!(r.message(), message, "{}", r.text);
}

fn joins_writes_and_listings(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let id = create(
        &http,
        json!({"join_required": true, "max_size": 2, "max_num_score": 3, "operator": "incr",
               "category": 5, "title": "Weekly"}),
    );
    let a = http.device(&unique("device-"));
    let b2 = http.device(&unique("device-"));
    let c = http.device(&unique("device-"));
    let path = format!("/v2/tournament/{id}");

    check(
        http.send("POST", &path, &a.token, &json!({"score": "5"})),
        400,
        9,
        "Must join tournament before attempting to write value.",
    );
    for _ in 0..2 {
        let r = join(&http, &a.token, &id);
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(join(&http, &b2.token, &id).status, 200);
    check(
        join(&http, &c.token, &id),
        400,
        3,
        "Tournament cannot be joined as it has reached its max size.",
    );

    // PUT and POST both write.
    let r = http.send("POST", &path, &a.token, &json!({"score": "10"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["score"], "10");
    assert_eq!(r.body["num_score"], 1);
    assert_eq!(r.body["max_num_score"], 3);
    let r = http.send(
        "PUT",
        &path,
        &b2.token,
        &json!({"score": "20", "metadata": "{\"k\":1}"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["rank"], "1");
    let r = http.send("PUT", &path, &a.token, &json!({"score": "15"}));
    assert_eq!(r.body["score"], "25");
    assert_eq!(r.body["rank"], "1");
    assert_eq!(
        http.send("PUT", &path, &a.token, &json!({"score": "1"}))
            .status,
        200
    );
    check(
        http.send("PUT", &path, &a.token, &json!({"score": "1"})),
        400,
        9,
        "Reached allowed max number of score attempts.",
    );

    // Records, best first, with owner ids.
    let r = http.get(
        &format!("{path}?limit=10&owner_ids={}", b2.user_id()),
        &a.token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let recs = r.body["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["owner_id"], a.user_id().as_str());
    assert_eq!(recs[0]["score"], "26");
    assert_eq!(recs[1]["owner_id"], b2.user_id().as_str());
    assert_eq!(recs[1]["rank"], "2");
    assert_eq!(
        r.body["owner_records"][0]["owner_id"],
        b2.user_id().as_str()
    );
    assert_eq!(r.body["owner_records"][0]["metadata"], "{\"k\":1}");
    assert_eq!(r.body["rank_count"], "2");
    // Paging by one.
    let r = http.get(&format!("{path}?limit=1"), &a.token);
    let next = r.body["next_cursor"].as_str().unwrap().to_string();
    assert!(!next.is_empty());
    let r = http.get(&format!("{path}?limit=1&cursor={next}"), &a.token);
    assert_eq!(r.body["records"][0]["owner_id"], b2.user_id().as_str());

    // Around an owner.
    let r = http.get(&format!("{path}/owner/{}?limit=1", b2.user_id()), &a.token);
    assert_eq!(r.status, 200, "{}", r.text);
    let recs = r.body["records"].as_array().unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["owner_id"], b2.user_id().as_str());
    let r = http.get(&format!("{path}/owner/{}?limit=2", b2.user_id()), &a.token);
    assert_eq!(r.body["records"].as_array().unwrap().len(), 2);

    // Without join_required, a first write enters (and counts) the player.
    let open = create(&http, json!({"max_size": 1}));
    let r = http.send(
        "POST",
        &format!("/v2/tournament/{open}"),
        &a.token,
        &json!({"score": "3"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    check(
        http.send(
            "POST",
            &format!("/v2/tournament/{open}"),
            &c.token,
            &json!({"score": "3"}),
        ),
        400,
        9,
        "Tournament has reached max size.",
    );
    // Deleting one's record frees the place.
    let open_path = format!("/v2/tournament/{open}");
    let r = http.request(
        "DELETE",
        &open_path,
        Some(&format!("Bearer {}", a.token)),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.send("POST", &open_path, &c.token, &json!({"score": "4"}));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.get(&format!("{open_path}?limit=10"), &c.token);
    assert_eq!(r.body["records"].as_array().unwrap().len(), 1, "{}", r.text);
    check(
        http.request(
            "DELETE",
            "/v2/tournament/no-such",
            Some(&format!("Bearer {}", a.token)),
            None,
        ),
        404,
        5,
        "Tournament not found.",
    );
    let auth = create(&http, json!({"authoritative": true}));
    check(
        http.request(
            "DELETE",
            &format!("/v2/tournament/{auth}"),
            Some(&format!("Bearer {}", a.token)),
            None,
        ),
        403,
        7,
        "Tournament only allows authoritative score deletions.",
    );
    // Game code writes to it (Nk::tournament_record_write).
    let r = http.request(
        "POST",
        "/v2/rpc/example.tournament_write",
        Some(&basic("defaulthttpkey")),
        Some(
            &Value::String(
                json!({"id": auth, "owner_id": a.user_id(), "username": "game", "score": 42})
                    .to_string(),
            )
            .to_string(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let rec: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    assert_eq!(rec["score"], 42);
    assert_eq!(rec["rank"], 1);
    let r = http.get(&format!("/v2/tournament/{auth}?limit=10"), &a.token);
    assert_eq!(r.body["records"][0]["score"], "42", "{}", r.text);
    assert_eq!(r.body["records"][0]["username"], "game", "{}", r.text);
}

fn validation_errors_match_nakama(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let t = &me.token;
    let id = create(&http, json!({}));
    let path = format!("/v2/tournament/{id}");
    check(join(&http, t, "no-such"), 404, 5, "Tournament not found.");
    check(
        http.send("POST", "/v2/tournament/no-such", t, &json!({"score": "1"})),
        404,
        5,
        "Tournament not found.",
    );
    check(
        http.get("/v2/tournament/no-such", t),
        404,
        5,
        "Tournament not found.",
    );
    check(
        http.get(&format!("/v2/tournament/no-such/owner/{}", me.user_id()), t),
        404,
        5,
        "Tournament not found.",
    );
    check(
        http.request("POST", &path, Some(&format!("Bearer {t}")), Some("")),
        400,
        3,
        "Invalid input, record score value is required.",
    );
    check(
        http.send("POST", &path, t, &json!({"score": "1", "metadata": "[1]"})),
        400,
        3,
        "Metadata value must be JSON, if provided.",
    );
    check(
        http.get(&format!("{path}?limit=101"), t),
        400,
        3,
        "Invalid limit - limit must be between 1 and 100.",
    );
    check(
        http.get(&format!("{path}?owner_ids=nope"), t),
        400,
        3,
        "One or more owner IDs are invalid.",
    );
    check(
        http.get(&format!("{path}?limit=1&cursor=nope"), t),
        400,
        3,
        "Cursor is invalid or expired.",
    );
    check(
        http.get(&format!("{path}/owner/nope"), t),
        400,
        3,
        "Invalid owner ID provided.",
    );
    check(
        http.get(&format!("{path}/owner/{}?limit=0", me.user_id()), t),
        400,
        3,
        "Invalid limit - limit must be between 1 and 100.",
    );
    // Not started yet: it starts in 2100.
    let later = create(
        &http,
        json!({"start_time": 4_102_444_800i64, "join_required": true}),
    );
    check(
        http.send(
            "POST",
            &format!("/v2/tournament/{later}"),
            t,
            &json!({"score": "1"}),
        ),
        400,
        9,
        "Tournament is not active and cannot accept new scores.",
    );
    // Authoritative.
    let auth = create(&http, json!({"authoritative": true}));
    check(
        http.send(
            "POST",
            &format!("/v2/tournament/{auth}"),
            t,
            &json!({"score": "1"}),
        ),
        403,
        7,
        "Tournament only allows authoritative score submissions.",
    );
    // Creation checks, with Nakama runtime's messages.
    let r = http.request(
        "POST",
        "/v2/rpc/example.tournament_create",
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(json!({"id": unique("tn-"), "category": 128}).to_string()).to_string()),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.message(), "category must be 0-127");
}

/// Every id `GET /v2/tournament?{query}` lists, following the cursor
/// with pages of one.
fn listed(http: &Http, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..1000 {
        let r = http.get(
            &format!("/v2/tournament?{query}&limit=1&cursor={cursor}"),
            token,
        );
        assert_eq!(r.status, 200, "{}", r.text);
        if let Some(ts) = r.body["tournaments"].as_array() {
            assert!(ts.len() <= 1);
            out.extend(ts.iter().cloned());
        }
        cursor = r.body["cursor"].as_str().unwrap_or("").to_string();
        if cursor.is_empty() {
            return out;
        }
    }
    panic!("the cursor never ended");
}

fn listing_by_category_and_time(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let t = &me.token;
    let a = create(
        &http,
        json!({"category": 77, "title": "A", "max_size": 10, "join_required": true,
               "metadata": {"k": 1}}),
    );
    let later = create(
        &http,
        json!({"category": 77, "start_time": 4_102_444_800i64}),
    );
    let other = create(&http, json!({"category": 78}));
    assert_eq!(join(&http, t, &a).status, 200);

    let ids = |v: &[Value]| {
        v.iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let in77 = listed(&http, t, "category_start=77&category_end=77");
    let got = ids(&in77);
    assert!(got.contains(&a) && got.contains(&later), "{got:?}");
    assert!(!got.contains(&other));
    let ta = in77.iter().find(|x| x["id"] == a.as_str()).unwrap();
    assert_eq!(ta["title"], "A");
    assert_eq!(ta["category"], 77);
    assert_eq!(ta["size"], 1);
    assert_eq!(ta["max_size"], 10);
    assert_eq!(ta["duration"], 3600);
    assert_eq!(ta["can_enter"], true);
    assert_eq!(ta["join_required"], true);
    assert_eq!(ta["operator"], 1);
    assert_eq!(ta["sort_order"], 1);
    assert_eq!(ta["metadata"], "{\"k\":1}");
    assert!(ta["start_active"].as_u64().unwrap() > 0);
    assert!(ta["end_active"].as_u64().unwrap() > ta["start_active"].as_u64().unwrap());
    assert!(ta.get("end_time").is_none());
    let tl = in77.iter().find(|x| x["id"] == later.as_str()).unwrap();
    assert!(tl.get("can_enter").is_none(), "not started: {tl}");

    // By start time: only the one starting in 2100.
    let got = ids(&listed(
        &http,
        t,
        "category_start=77&category_end=77&start_time=4102444800",
    ));
    // (The database may hold other runs' tournaments.)
    assert!(got.contains(&later) && !got.contains(&a), "{got:?}");
    // end_time=0: only tournaments without an end (all of these).
    let got = ids(&listed(
        &http,
        t,
        "category_start=78&category_end=78&end_time=0",
    ));
    assert!(got.contains(&other));

    let check = |r: Reply, message: &str| {
        r.assert_error(400, 3);
        assert_eq!(r.message(), message, "{}", r.text);
    };
    check(
        http.get("/v2/tournament?category_end=128", t),
        "Tournament category end must be >=0 and <128.",
    );
    check(
        http.get("/v2/tournament?category_start=5&category_end=4", t),
        "Tournament category end must be greater than category start.",
    );
    check(
        http.get("/v2/tournament?start_time=100&end_time=50", t),
        "Tournament end time must be greater than start time.",
    );
    check(
        http.get("/v2/tournament?limit=101", t),
        "Limit must be between 1 and 100.",
    );
    check(
        http.get("/v2/tournament?cursor=%25%25", t),
        "Cursor is invalid or expired.",
    );
}

/// A tournament with an end time keeps its records under that expiry;
/// the rank index of that period is rebuilt at start.
fn ranks_survive_a_restart(b: &Backend) {
    let mut s = TestServer::start(b);
    let http = s.http();
    let id = create(
        &http,
        json!({"end_time": 4_102_444_800i64, "duration": 100_000_000}),
    );
    let a = http.device(&unique("device-"));
    let c = http.device(&unique("device-"));
    let path = format!("/v2/tournament/{id}");
    for (p, score) in [(&a, "5"), (&c, "9")] {
        let r = http.send("POST", &path, &p.token, &json!({"score": score}));
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["expiry_time"].is_string(), "{}", r.text);
    }
    s.restart();
    let http = s.http();
    let r = http.get(&format!("{path}?owner_ids={}", a.user_id()), &a.token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["owner_records"][0]["rank"], "2", "{}", r.text);
    assert_eq!(r.body["rank_count"], "2", "{}", r.text);
}

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

/// The calls the examples' tournament hooks heard for `id`.
fn hooks(http: &Http, id: &str) -> Vec<Value> {
    let r = http.request(
        "POST",
        "/v2/rpc/example.tournament_hooks",
        Some(&basic("defaulthttpkey")),
        Some("\"{}\""),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let all: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    all[id].as_array().cloned().unwrap_or_default()
}

/// Each `(hook, reset)` pair heard once.
fn assert_once(calls: &[Value]) {
    let keys: Vec<_> = calls
        .iter()
        .map(|c| (c["hook"].as_str().unwrap().to_string(), c["reset"].as_i64()))
        .collect();
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "a hook fired twice: {calls:?}");
}

fn deadlines_fire_their_hooks_once_and_each_period_counts_its_players(b: &Backend) {
    let mut s = TestServer::start(b);
    let http = s.http();
    // A period every two seconds (7 fields: seconds first), open for all
    // of it, for one player.
    let id = create(
        &http,
        json!({"reset_schedule": "*/2 * * * * * *", "duration": 2, "max_size": 1}),
    );
    let a = http.device(&unique("device-"));
    let c = http.device(&unique("device-"));
    let path = format!("/v2/tournament/{id}");
    let r = http.send("POST", &path, &a.token, &json!({"score": "7"}));
    assert_eq!(r.status, 200, "{}", r.text);
    let expiry = kairos_tests::unix_secs(r.body["expiry_time"].as_str().unwrap());
    // The period a wrote in closes and expires: both hooks hear it, with
    // the period's close, its expiry and its one player. (Had the machine
    // stalled past the next period too, the latest is announced, once.)
    let calls = eventually(Duration::from_secs(60), || {
        let calls = hooks(&http, &id);
        let heard = |hook: &str| {
            calls
                .iter()
                .any(|c| c["hook"] == hook && c["reset"].as_i64() >= Some(expiry))
        };
        (heard("end") && heard("reset")).then_some(calls)
    });
    for c in &calls {
        assert_eq!(c["end"], c["reset"], "{c}");
        let hook = c["hook"].as_str().unwrap();
        assert_eq!(c["mode"], format!("tournament_{hook}"), "{c}");
        let players = if c["reset"] == expiry { 1 } else { 0 };
        assert_eq!(c["size"], players, "{c}");
    }
    assert_once(&calls);
    // A later period has room for another player: the count was of the
    // period that ended.
    let r = http.send("POST", &path, &c.token, &json!({"score": "3"}));
    assert_eq!(r.status, 200, "{}", r.text);
    // The tournament's hooks are not the leaderboard's.
    let r = http.request(
        "POST",
        "/v2/rpc/example.leaderboard_resets",
        Some(&basic("defaulthttpkey")),
        Some("\"{}\""),
    );
    let resets: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    assert!(resets.get(&id).is_none(), "{resets}");

    // Across a restart, nothing fires twice and the hooks go on.
    let before = hooks(&http, &id);
    let last = before
        .iter()
        .filter_map(|c| c["reset"].as_i64())
        .max()
        .unwrap();
    s.restart();
    let http = s.http();
    let after = eventually(Duration::from_secs(60), || {
        let calls = hooks(&http, &id);
        let heard = |hook: &str| calls.iter().any(|c| c["hook"] == hook);
        (heard("end") && heard("reset")).then_some(calls)
    });
    assert!(
        after.iter().all(|c| c["reset"].as_i64().unwrap() > last),
        "{after:?} after {last}"
    );
    assert_once(&after);
    // It would reset every two seconds on a database the tests share.
    delete_board(&http, &id);
}

fn delete_board(http: &Http, id: &str) {
    let r = http.request(
        "POST",
        "/v2/rpc/example.leaderboard_delete",
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(json!({ "id": id }).to_string()).to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}
