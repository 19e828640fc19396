//! The matchmaker over two shards: `matchmaker_add` → `matchmaker_ticket`,
//! `matchmaker_matched` to every matched session (with a token, or the
//! match id the example hook chose), `match_join {token}` forming a
//! relayed match, two-way queries, count windows and multiples, a closed
//! session's ticket, `matchmaker_remove`, the stats endpoint, and every
//! validation error with Nakama's code.
//!
//! Each test runs its own server with passes every 50 ms; within a test,
//! each scenario's tickets carry a `run` property its queries require, so
//! scenarios never meet. No assertion depends on timing: a ticket that
//! must stay unmatched is shown queued by removing it (which succeeds only
//! while it waits).

use std::time::Duration;

use kairos_tests::{Session, TestServer, Ws, unique, users_on_both_shards};
use serde_json::{Value, json};

fn server() -> TestServer {
    TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--kairos.matchmaker.interval_ms", "50"],
    )
}

/// `matchmaker_add` with these fields; returns the reply envelope.
fn add(ws: &mut Ws, cid: &str, body: Value) -> Value {
    ws.request(cid, "matchmaker_add", body)
}

/// A ticket of run `run` asking for `query` (on top of the run) with
/// these counts and extra string properties.
fn ticket(ws: &mut Ws, run: &str, query: &str, min: u32, max: u32, props: Value) -> String {
    let mut strings = json!({ "run": run });
    if let Value::Object(extra) = props {
        for (k, v) in extra {
            strings[k] = v;
        }
    }
    let reply = add(
        ws,
        &unique("add"),
        json!({
            "min_count": min,
            "max_count": max,
            "query": format!("+properties.run:{run} {query}"),
            "string_properties": strings,
        }),
    );
    reply["matchmaker_ticket"]["ticket"]
        .as_str()
        .unwrap_or_else(|| panic!("no ticket: {reply}"))
        .to_string()
}

/// Whether `ticket` is still queued: removing it succeeds (and so it is
/// gone after this).
fn still_queued(ws: &mut Ws, ticket: &str) -> bool {
    let reply = ws.request(
        &unique("rm"),
        "matchmaker_remove",
        json!({ "ticket": ticket }),
    );
    match reply.get("error") {
        None => true,
        Some(e) => {
            assert_eq!(e["code"], 3, "{reply}");
            assert_eq!(e["message"], "Matchmaker ticket not found", "{reply}");
            false
        }
    }
}

fn user_ids(matched: &Value) -> Vec<String> {
    let mut ids: Vec<String> = matched["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["presence"]["user_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn players_on_two_shards_match_and_join_by_token() {
    let s = server();
    let mut users = users_on_both_shards(&s, 2, "");
    let run = unique("r");
    let t0 = ticket(&mut users[0].0, &run, "", 2, 2, json!({ "mode": "duel" }));
    let t1 = ticket(&mut users[1].0, &run, "", 2, 2, json!({ "mode": "duel" }));
    let m0 = users[0].0.next_with("matchmaker_matched")["matchmaker_matched"].clone();
    let m1 = users[1].0.next_with("matchmaker_matched")["matchmaker_matched"].clone();
    assert_eq!(m0["ticket"], t0.as_str());
    assert_eq!(m1["ticket"], t1.as_str());
    let everyone = sorted(users.iter().map(|(_, s)| s.user_id()).collect());
    assert_eq!(user_ids(&m0), everyone);
    assert_eq!(user_ids(&m1), everyone);
    assert_eq!(
        m0["self"]["presence"]["user_id"],
        json!(users[0].1.user_id())
    );
    assert_eq!(
        m1["self"]["presence"]["user_id"],
        json!(users[1].1.user_id())
    );
    assert_eq!(m0["self"]["string_properties"]["mode"], "duel");
    assert!(m0.get("match_id").is_none(), "{m0}");
    let token = m0["token"].as_str().expect("a token").to_string();
    assert_eq!(m1["token"], token.as_str());
    // The pass that matched them is listed.
    let stats = s.http().get("/v2/matchmaker/stats", &users[0].1.token);
    assert!(
        stats.body["completions"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{}",
        stats.text
    );
    assert!(stats.body.get("ticket_count").is_none(), "{}", stats.text);

    // The token forms a relayed match: the first joiner creates it, the
    // second finds the first there.
    let j0 = users[0]
        .0
        .request("j0", "match_join", json!({ "token": token }));
    let match_id = j0["match"]["match_id"]
        .as_str()
        .expect("joined")
        .to_string();
    assert!(match_id.ends_with('.'), "{match_id}");
    let j1 = users[1]
        .0
        .request("j1", "match_join", json!({ "token": token }));
    assert_eq!(j1["match"]["match_id"], match_id.as_str());
    assert_eq!(
        j1["match"]["presences"][0]["user_id"],
        json!(users[0].1.user_id())
    );

    // A token that is not one, or not signed by this server.
    for bad in ["nope", "a.b.c", &token[..token.len() - 2]] {
        let r = users[0]
            .0
            .request("bad", "match_join", json!({ "token": bad }));
        assert_eq!(r["error"]["code"], 3, "{r}");
        assert_eq!(r["error"]["message"], "Invalid match token", "{r}");
    }
}

#[test]
fn queries_must_accept_both_ways_and_properties_filter() {
    let s = server();
    let http = s.http();
    let open = |s: &TestServer| {
        let sess: Session = http.device(&unique("device-"));
        Ws::open(&s.addr, &sess.token, "")
    };
    let run = unique("r");
    // c (casual) wants ranked; d (ranked) wants ranked: c accepts d, d
    // does not accept c.
    let mut c = open(&s);
    let tc = ticket(
        &mut c,
        &run,
        "+properties.mode:ranked",
        2,
        2,
        json!({ "mode": "casual" }),
    );
    let mut d = open(&s);
    let reply = add(
        &mut d,
        "d",
        json!({
            "min_count": 2,
            "max_count": 2,
            "query": format!("+properties.run:{run} +properties.mode:ranked"),
            "string_properties": { "run": run, "mode": "ranked" },
            "numeric_properties": { "skill": 12 },
        }),
    );
    assert!(reply.get("matchmaker_ticket").is_some(), "{reply}");
    // e is ranked and wants ranked, with a numeric range d satisfies.
    let mut e = open(&s);
    let reply = add(
        &mut e,
        "e",
        json!({
            "min_count": 2,
            "max_count": 2,
            "query": format!("+properties.run:{run} +properties.mode:ranked +properties.skill:>=10 +properties.skill:<=20"),
            "string_properties": { "run": run, "mode": "ranked" },
            "numeric_properties": { "skill": 15 },
        }),
    );
    assert!(reply.get("matchmaker_ticket").is_some(), "{reply}");
    let md = d.next_with("matchmaker_matched")["matchmaker_matched"].clone();
    let me = e.next_with("matchmaker_matched")["matchmaker_matched"].clone();
    assert_eq!(md["users"].as_array().unwrap().len(), 2);
    assert_eq!(user_ids(&md), user_ids(&me));
    let with_skill = md["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["numeric_properties"]["skill"].as_f64() == Some(15.0))
        .expect("e's properties");
    assert_eq!(with_skill["string_properties"]["mode"], "ranked");
    // c was never matched: d's query refuses it.
    assert!(still_queued(&mut c, &tc));
}

#[test]
fn windows_and_count_multiple() {
    let s = server();
    let http = s.http();
    let mut socks: Vec<Ws> = (0..7)
        .map(|_| Ws::open(&s.addr, &http.device(&unique("device-")).token, ""))
        .collect();

    // Windows that do not overlap never meet: 2-2 stays while three 3-3
    // tickets match together.
    let run = unique("w");
    let two = ticket(&mut socks[0], &run, "", 2, 2, json!({}));
    for ws in &mut socks[1..4] {
        ticket(ws, &run, "", 3, 3, json!({}));
    }
    for ws in &mut socks[1..4] {
        let m = ws.next_with("matchmaker_matched");
        assert_eq!(
            m["matchmaker_matched"]["users"].as_array().unwrap().len(),
            3
        );
    }
    assert!(still_queued(&mut socks[0], &two));

    // Three tickets of 2 to 4 that must come in twos: on their last
    // interval the oldest two settle for a match of 2, the third waits.
    let run = unique("m");
    let mut tickets = Vec::new();
    for ws in &mut socks[4..7] {
        let reply = add(
            ws,
            &unique("add"),
            json!({
                "min_count": 2,
                "max_count": 4,
                "count_multiple": 2,
                "query": format!("+properties.run:{run}"),
                "string_properties": { "run": run },
            }),
        );
        tickets.push(
            reply["matchmaker_ticket"]["ticket"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for ws in &mut socks[4..6] {
        let m = ws.next_with("matchmaker_matched");
        assert_eq!(
            m["matchmaker_matched"]["users"].as_array().unwrap().len(),
            2,
            "{m}"
        );
    }
    assert!(still_queued(&mut socks[6], &tickets[2]));
}

#[test]
fn a_closed_sessions_tickets_go_and_remove_works() {
    let s = server();
    let http = s.http();
    let sess = http.device(&unique("device-"));
    let mut a = Ws::open(&s.addr, &sess.token, "");
    let run = unique("c");
    let t = ticket(&mut a, &run, "", 2, 2, json!({}));
    let t2 = ticket(&mut a, &run, "", 2, 2, json!({}));
    let stats = http.get("/v2/matchmaker/stats", &sess.token);
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(stats.body["ticket_count"], 2, "{}", stats.text);
    assert!(stats.body["oldest_ticket_create_time"].is_string());
    // Removal: by its owner only, once.
    assert!(still_queued(&mut a, &t2));
    assert!(!still_queued(&mut a, &t2));
    let mut other = Ws::open(&s.addr, &http.device(&unique("device-")).token, "");
    assert!(!still_queued(&mut other, &t));
    a.close();
    // The close removes the session's ticket.
    let mut left = None;
    for _ in 0..200 {
        let stats = http.get("/v2/matchmaker/stats", &sess.token);
        left = Some(stats.body["ticket_count"].as_u64().unwrap_or(0));
        if left == Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(left, Some(0), "the closed session's ticket stayed");
}

#[test]
fn the_matched_hook_puts_arena_players_in_an_authoritative_match() {
    let s = server();
    let mut users = users_on_both_shards(&s, 2, "");
    let run = unique("a");
    for (ws, _) in &mut users {
        ticket(ws, &run, "", 2, 2, json!({ "mode": "arena" }));
    }
    let mut ids = Vec::new();
    for (ws, _) in &mut users {
        let m = ws.next_with("matchmaker_matched")["matchmaker_matched"].clone();
        assert!(m.get("token").is_none(), "{m}");
        ids.push(m["match_id"].as_str().expect("a match id").to_string());
    }
    assert_eq!(ids[0], ids[1]);
    assert!(!ids[0].ends_with('.'), "authoritative: {}", ids[0]);
    let joined = users[0]
        .0
        .request("j", "match_join", json!({ "match_id": ids[0] }));
    assert_eq!(joined["match"]["authoritative"], true, "{joined}");
}

#[test]
fn bad_adds_and_removes_get_nakamas_errors() {
    let s = server();
    let http = s.http();
    let mut ws = Ws::open(&s.addr, &http.device(&unique("device-")).token, "");
    let cases: Vec<(Value, i64, &str)> = vec![
        (
            json!({"min_count": 1, "max_count": 2}),
            3,
            "Invalid minimum count, must be >= 2",
        ),
        (
            json!({"max_count": 2}),
            3,
            "Invalid minimum count, must be >= 2",
        ),
        (
            json!({"min_count": 3, "max_count": 2}),
            3,
            "Invalid maximum count, must be >= minimum count",
        ),
        (
            json!({"min_count": 2, "max_count": 100000}),
            3,
            "Invalid maximum count, must be >= minimum count",
        ),
        (
            json!({"min_count": 2, "max_count": 4, "count_multiple": 0}),
            3,
            "Invalid count multiple, must be >= 1",
        ),
        (
            json!({"min_count": 3, "max_count": 6, "count_multiple": 2}),
            3,
            "Invalid count multiple for minimum count, must divide",
        ),
        (
            json!({"min_count": 2, "max_count": 5, "count_multiple": 2}),
            3,
            "Invalid count multiple for maximum count, must divide",
        ),
        (
            json!({"min_count": 2, "max_count": 2, "query": "+properties.a:\"open"}),
            0,
            "Error adding to matchmaker",
        ),
        (
            json!({"min_count": 2, "max_count": 2, "string_properties": {"k": "x".repeat(300)}}),
            3,
            "Matchmaker property too long",
        ),
    ];
    for (i, (body, code, message)) in cases.into_iter().enumerate() {
        let r = add(&mut ws, &format!("bad{i}"), body.clone());
        assert_eq!(r["error"]["code"], code, "{body}: {r}");
        assert_eq!(r["error"]["message"], message, "{body}: {r}");
    }
    // matchmaker.max_tickets (3) per session.
    let run = unique("cap");
    for _ in 0..3 {
        ticket(&mut ws, &run, "+properties.never:x", 2, 2, json!({}));
    }
    let r = add(
        &mut ws,
        "over",
        json!({"min_count": 2, "max_count": 2, "query": "+properties.never:x"}),
    );
    assert_eq!(r["error"]["code"], 0, "{r}");
    assert_eq!(r["error"]["message"], "Error adding to matchmaker", "{r}");
    let r = ws.request("rm", "matchmaker_remove", json!({ "ticket": "" }));
    assert_eq!(r["error"]["code"], 3, "{r}");
    assert_eq!(r["error"]["message"], "Invalid matchmaker ticket", "{r}");
    let r = ws.request("rm2", "matchmaker_remove", json!({ "ticket": "no-such" }));
    assert_eq!(r["error"]["code"], 3, "{r}");
    assert_eq!(r["error"]["message"], "Matchmaker ticket not found", "{r}");
}

/// A match moves the matchmaker's metrics.
#[test]
fn a_match_is_counted_in_the_metrics() {
    let s = TestServer::start_with_metrics(
        &kairos_tests::Backend::Sqlite,
        &["--kairos.matchmaker.interval_ms", "50"],
    );
    let http = s.http();
    let run = unique("metrics");
    let mut socks: Vec<Ws> = (0..2)
        .map(|_| Ws::open(&s.addr, &http.device(&unique("device-")).token, ""))
        .collect();
    for ws in &mut socks {
        ticket(ws, &run, "", 2, 2, json!({}));
    }
    for ws in &mut socks {
        ws.next_with("matchmaker_matched");
    }
    let scrape = s.metrics().get("/metrics", "");
    let value = |name: &str| -> f64 {
        scrape
            .text
            .lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in:\n{}", scrape.text))
    };
    assert_eq!(value("kairos_matchmaker_matches_total"), 1.0);
    assert_eq!(value("kairos_matchmaker_matched_tickets_total"), 2.0);
    assert_eq!(value("kairos_matchmaker_time_to_match_seconds_count"), 2.0);
    assert!(value("kairos_matchmaker_pass_seconds_count") >= 1.0);
}
