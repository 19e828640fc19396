//! Match listing (`GET /v2/match` and `Nk::match_list`) over many
//! labelled matches on two shards: every query of a table gives what the
//! query language's reference evaluator (`kairos_core::query`) says, in
//! its order; a listing sees a create, a label update and a join made
//! just before it; relayed matches and sizes; Nakama's errors for bad
//! input.

use kairos_core::query::{Doc, parse};
use kairos_tests::{Http, Session, TestServer, bearer, users_on_both_shards};
use serde_json::{Value, json};

fn rpc(http: &Http, who: &Session, id: &str, payload: Value) -> Value {
    let r = http.request(
        "POST",
        &format!("/v2/rpc/{id}"),
        Some(&bearer(&who.token)),
        Some(&Value::String(payload.to_string()).to_string()),
    );
    assert_eq!(r.status, 200, "{id}: {}", r.text);
    serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap()
}

fn create(http: &Http, who: &Session, label: &str) -> String {
    let made = rpc(
        http,
        who,
        "test.create_fragile",
        json!({ "tick_rate": 1, "label": label }),
    );
    made["match_id"].as_str().unwrap().to_string()
}

/// `GET /v2/match` with these query parameters (URL-encoded here).
fn list(http: &Http, who: &Session, params: &[(&str, &str)]) -> kairos_tests::Reply {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    http.get(&format!("/v2/match?{}", query.join("&")), &who.token)
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ids(reply: &kairos_tests::Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["matches"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["match_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const MODES: [&str; 3] = ["ranked", "casual", "custom"];
const REGIONS: [&str; 4] = ["eu", "us", "asia", "sa"];

fn label(i: usize) -> String {
    if i % 10 == 9 {
        return format!("plain-{i}");
    }
    json!({
        "mode": MODES[i % 3],
        "region": REGIONS[i % 4],
        "skill": (i * 7) % 100,
        "tags": [format!("t{}", i % 5), "x"],
        "open": i.is_multiple_of(2),
        "start": format!("2026-01-0{}T00:00:00Z", 1 + i % 9),
        "nested": { "level": i % 6 },
    })
    .to_string()
}

#[test]
fn queries_agree_with_the_reference_evaluator() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let users = users_on_both_shards(&s, 2, "");
    let (a, b) = (&users[0].1, &users[1].1);
    // 40 matches, created in order from both shards: newest last.
    let made: Vec<(String, String)> = (0..40)
        .map(|i| {
            let label = label(i);
            let who = if i % 2 == 0 { a } else { b };
            (create(&http, who, &label), label)
        })
        .collect();
    let queries = [
        "+label.mode:ranked",
        "+label.mode:ranked +label.skill:>=50",
        "+label.region:eu -label.mode:casual",
        "label.region:eu label.region:us^3",
        "-label.mode:ranked",
        "+label.tags:t1",
        "+label.tags:t* -label.tags:t2",
        "+label.mode:/rank.*/",
        "+label.mode:rankd~1",
        "+label.open:T +label.nested.level:<=2",
        "+label.skill:<20 +label.skill:>=5",
        "+label.skill:>14 label.mode:custom^2",
        r#"+label.start:>="2026-01-05T00:00:00Z""#,
        "label.skill:14 label.skill:21",
        "+label_string:plain-19",
        "+handler_name:test.fragile +label.mode:custom",
        "+label.mode:nothing",
        "*",
    ];
    for q in queries {
        let compiled = parse(q).unwrap().compile().unwrap();
        let mut expected: Vec<(f64, usize)> = made
            .iter()
            .enumerate()
            .filter_map(|(i, (_, label))| {
                let mut doc = Doc::from_label(label);
                doc.push_keyword("label_string", label.clone());
                doc.push_keyword("handler_name", "test.fragile");
                doc.push_keyword("node", "kairos");
                compiled.score(&doc).map(|score| (score, i))
            })
            .collect();
        // By score, then newest first.
        expected.sort_by(|x, y| y.0.total_cmp(&x.0).then(y.1.cmp(&x.1)));
        let expected: Vec<String> = expected.iter().map(|(_, i)| made[*i].0.clone()).collect();
        let got = ids(&list(&http, a, &[("limit", "100"), ("query", q)]));
        assert_eq!(got, expected, "query {q}");
        // The runtime API lists the same.
        let runtime = rpc(
            &http,
            b,
            "test.match_list",
            json!({ "limit": 100, "authoritative": true, "query": q }),
        );
        let runtime: Vec<&str> = runtime["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["match_id"].as_str().unwrap())
            .collect();
        assert_eq!(runtime, got, "runtime query {q}");
    }
    // A limit keeps the best.
    let top = ids(&list(
        &http,
        a,
        &[("limit", "3"), ("query", "+label.mode:ranked")],
    ));
    assert_eq!(top.len(), 3);
    // An exact label.
    let exact = ids(&list(&http, a, &[("label", &made[7].1)]));
    assert_eq!(exact, vec![made[7].0.clone()]);
    // Without filters: newest first, at most the limit (10 by default).
    let all = list(&http, a, &[]);
    let newest: Vec<String> = made
        .iter()
        .rev()
        .take(10)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(ids(&all), newest);
    let first = &all.body["matches"][0];
    assert_eq!(first["authoritative"], true);
    assert_eq!(first["tick_rate"], 1);
    assert_eq!(first["handler_name"], "test.fragile");
    assert_eq!(first["label"], json!(made[39].1));
}

#[test]
fn a_listing_sees_what_happened_before_it() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let mut users = users_on_both_shards(&s, 2, "");
    let (mut ws, player) = users.remove(0);
    let (_, other) = users.remove(0);
    for round in 0..5 {
        // Created on one shard, listed at once from the other.
        let tag = format!("r{round}");
        let id = create(&http, &player, &json!({ "round": tag }).to_string());
        let q = format!("+label.round:{tag}");
        assert_eq!(
            ids(&list(&http, &other, &[("query", &q)])),
            vec![id.clone()]
        );
        // A label update (from a signal), seen by the next listing.
        let moved = json!({ "round": format!("{tag}-moved") }).to_string();
        rpc(
            &http,
            &other,
            "example.signal_match",
            json!({ "match_id": id, "data": moved }),
        );
        // The label is updated by the signal's callback on the owner; the
        // signal's answer follows it.
        assert!(ids(&list(&http, &other, &[("query", &q)])).is_empty());
        let q2 = format!("+label.round:{tag}-moved");
        assert_eq!(
            ids(&list(&http, &other, &[("query", &q2)])),
            vec![id.clone()]
        );
        // A join: the size is current.
        let r = ws.request("j", "match_join", json!({ "match_id": id }));
        assert_eq!(r["match"]["size"], 1, "{r}");
        let sized = list(&http, &other, &[("query", &q2), ("min_size", "1")]);
        assert_eq!(ids(&sized), vec![id.clone()]);
        assert_eq!(sized.body["matches"][0]["size"], 1);
        let r = ws.request("l", "match_leave", json!({ "match_id": id }));
        assert!(r.get("error").is_none(), "{r}");
        // The leave is handled on the owner after the reply; wait for it
        // to show rather than time it.
        let mut gone = false;
        for _ in 0..200 {
            if ids(&list(&http, &other, &[("query", &q2), ("min_size", "1")])).is_empty() {
                gone = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(gone, "the leave never reached the listing");
    }
}

#[test]
fn relayed_matches_and_sizes() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let mut users = users_on_both_shards(&s, 3, "");
    let auth = create(&http, &users[0].1, "{}");
    let r = users[0].0.request("c", "match_create", json!({}));
    let relayed = r["match"]["match_id"].as_str().unwrap().to_string();
    let r = users[1]
        .0
        .request("j", "match_join", json!({ "match_id": relayed }));
    assert_eq!(r["match"]["size"], 2, "{r}");
    let who = users[2].1.clone();
    // Authoritative first, then relayed (whose label is absent).
    let all = list(&http, &who, &[]);
    assert_eq!(ids(&all), vec![auth.clone(), relayed.clone()]);
    assert!(
        all.body["matches"][1].get("label").is_none(),
        "{}",
        all.text
    );
    assert_eq!(all.body["matches"][1]["size"], 2);
    assert_eq!(all.body["matches"][0]["label"], "{}");
    assert_eq!(
        ids(&list(&http, &who, &[("authoritative", "false")])),
        vec![relayed.clone()]
    );
    assert_eq!(
        ids(&list(&http, &who, &[("authoritative", "true")])),
        vec![auth.clone()]
    );
    assert_eq!(
        ids(&list(&http, &who, &[("min_size", "2")])),
        vec![relayed.clone()]
    );
    assert_eq!(
        ids(&list(&http, &who, &[("max_size", "0")])),
        vec![auth.clone()]
    );
    assert_eq!(
        ids(&list(&http, &who, &[("limit", "1")])),
        vec![auth.clone()]
    );
    // A query or a label lists authoritative matches only.
    assert_eq!(
        ids(&list(&http, &who, &[("query", "")])),
        vec![auth.clone()]
    );
    // Everyone leaves the relayed match: it is gone.
    for (ws, _) in users.iter_mut().take(2) {
        ws.request("l", "match_leave", json!({ "match_id": relayed }));
    }
    let mut gone = false;
    for _ in 0..200 {
        if ids(&list(&http, &who, &[("authoritative", "false")])).is_empty() {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(gone, "an empty relayed match is still listed");
    // Unauthenticated: refused.
    let r = http.request("GET", "/v2/match", None, None);
    assert_eq!(r.status, 401, "{}", r.text);
}

#[test]
fn bad_listings_get_nakamas_errors() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let users = users_on_both_shards(&s, 2, "");
    let who = &users[0].1;
    let invalid = [
        (
            vec![("limit", "0")],
            "Invalid limit - limit must be between 1 and 100.",
        ),
        (
            vec![("limit", "101")],
            "Invalid limit - limit must be between 1 and 100.",
        ),
        (
            vec![("authoritative", "false"), ("label", "x")],
            "Label filtering is not supported for non-authoritative matches.",
        ),
        (
            vec![("authoritative", "false"), ("query", "+a:b")],
            "Query filtering is not supported for non-authoritative matches.",
        ),
        (vec![("min_size", "-1")], "Minimum size must be 0 or above."),
        (vec![("max_size", "-1")], "Maximum size must be 0 or above."),
        (
            vec![("min_size", "3"), ("max_size", "2")],
            "Maximum size must be greater than or equal to minimum size when both are specified.",
        ),
    ];
    for (params, message) in invalid {
        let r = list(&http, who, &params);
        assert_eq!(r.status, 400, "{params:?}: {}", r.text);
        assert_eq!(r.body["code"], 3);
        assert_eq!(r.body["message"], message);
    }
    let r = list(&http, who, &[("limit", "ten")]);
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (400, json!(3)),
        "{}",
        r.text
    );
    // A query that does not parse is what Nakama answers: INTERNAL.
    let long = "+label.a:b ".repeat(500);
    for q in [
        "+label.a:>",
        "label.a:b~5",
        "+label.a:/[/",
        "label.a:\"open",
        "+",
        long.as_str(),
    ] {
        let r = list(&http, who, &[("query", q)]);
        assert_eq!(r.status, 500, "{q}: {}", r.text);
        assert_eq!(r.body["code"], 13);
        assert_eq!(r.body["message"], "Error listing matches.");
    }
    // The server goes on.
    assert!(ids(&list(&http, who, &[("query", "*")])).is_empty());
}
