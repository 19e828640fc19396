//! Storage indexes from a Lua module (`tests/lua/storage_index.lua`):
//! `nk.register_storage_index`, `nk.register_storage_index_filter` and
//! `nk.storage_index_list`, fed by REST and Lua writes and deletes,
//! `multi_update` and account deletion; queries, order, cursors, read
//! permissions, `index_only`, a filter, eviction past `max_entries`, the
//! index loaded again after a restart, and Nakama's argument errors.
//!
//! Each server runs a copy of the module whose index and collection
//! names carry a prefix of its own, so servers sharing a PostgreSQL
//! database see only their own objects.

use std::path::PathBuf;

use kairos_tests::{Backend, Http, Session, TestServer, backend_tests, unique};
use serde_json::{Value, json};

backend_tests!(
    listings_follow_writes_and_deletes,
    index_only_filter_eviction_and_restart,
    argument_errors
);

struct Setup {
    server: TestServer,
    /// The prefix of every index and collection name.
    p: String,
    _modules: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn setup(b: &Backend) -> Setup {
    let p = format!("{}_", unique("si"));
    let dir = std::env::temp_dir().join(unique("kairos-stidx-modules-"));
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lua/storage_index.lua"),
    )
    .unwrap();
    let line = "local P = \"stidx_\"";
    assert!(source.contains(line));
    let source = source.replace(line, &format!("local P = \"{p}\""));
    std::fs::write(dir.join("storage_index.lua"), source).unwrap();
    let server = TestServer::start_with(b, &["--runtime.path", &dir.to_string_lossy()]);
    Setup {
        server,
        p,
        _modules: TempDir(dir),
    }
}

fn rpc(http: &Http, id: &str, args: Value) -> Value {
    let body = Value::String(args.to_string()).to_string();
    let r = http.request(
        "POST",
        &format!("/v2/rpc/{id}?http_key=defaulthttpkey"),
        None,
        Some(&body),
    );
    assert_eq!(r.status, 200, "{id}: {}", r.text);
    serde_json::from_str(r.body["payload"].as_str().expect("payload")).expect("JSON")
}

fn list(http: &Http, args: Value) -> Value {
    let v = rpc(http, "stidx.list", args);
    assert!(v.get("error").is_none(), "{v}");
    v
}

fn list_error(http: &Http, args: Value) -> String {
    let v = rpc(http, "stidx.list", args);
    v["error"].as_str().expect("an error").to_string()
}

fn keys(v: &Value) -> Vec<String> {
    v["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["key"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn put(http: &Http, who: &Session, objects: Value) {
    let r = http.send(
        "PUT",
        "/v2/storage",
        &who.token,
        &json!({ "objects": objects }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

fn delete(http: &Http, who: &Session, ids: Value) {
    let r = http.send(
        "PUT",
        "/v2/storage/delete",
        &who.token,
        &json!({ "object_ids": ids }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

fn user_id(http: &Http, who: &Session) -> String {
    let r = http.request(
        "GET",
        "/v2/account",
        Some(&format!("Bearer {}", who.token)),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["user"]["id"].as_str().unwrap().to_string()
}

fn listings_follow_writes_and_deletes(b: &Backend) {
    let s = setup(b);
    let http = s.server.http();
    let p = &s.p;
    let col = format!("{p}scores");
    let alice = http.device(&unique("stidx-a-"));
    let bob = http.device(&unique("stidx-b-"));
    let alice_id = user_id(&http, &alice);
    let bob_id = user_id(&http, &bob);
    // Over REST: alice's objects, one readable by her only.
    put(
        &http,
        &alice,
        json!([
            {"collection": col, "key": "k1", "value": r#"{"score":10,"name":"alice"}"#, "permission_read": 2},
            {"collection": col, "key": "k2", "value": r#"{"score":30}"#, "permission_read": 1},
            {"collection": col, "key": "k3", "value": r#"{"score":20,"other":1}"#, "permission_read": 2},
        ]),
    );
    // From Lua: system objects, one nobody may read.
    rpc(
        &http,
        "stidx.write",
        json!({"writes": [
            {"collection": "scores", "key": "k4", "value": {"score": 40, "name": "sys"}, "permission_read": 2},
            {"collection": "scores", "key": "k5", "value": {"score": 5}, "permission_read": 0},
        ]}),
    );
    let all = |order: &[&str]| {
        list(
            &http,
            json!({"index": "scores", "query": "", "limit": 10, "order": order}),
        )
    };
    // The whole index, exactly: a page as long as `expect` and no next
    // one, so an entry left behind in the index (which a listing reading
    // back from the store would skip) fails it too.
    let exactly = |expect: &[&str]| {
        let v = list(
            &http,
            json!({"index": "scores", "query": "*", "limit": expect.len(), "order": ["-value.score"]}),
        );
        assert_eq!(keys(&v), expect, "{v}");
        assert!(v.get("cursor").is_none(), "{v}");
    };
    let v = all(&["-value.score"]);
    assert_eq!(keys(&v), ["k4", "k2", "k3", "k1", "k5"], "{v}");
    // Objects as the store holds them: every field of the value, the
    // system owner's nil id, Nakama's field names.
    let first = &v["objects"][0];
    assert_eq!(first["value"], json!({"score": 40, "name": "sys"}), "{v}");
    assert_eq!(first["user_id"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(first["collection"], col.as_str());
    assert_eq!(first["permission_read"], 2);
    assert_eq!(first["permission_write"], 1);
    assert!(first["create_time"].as_f64().unwrap() > 1.6e9, "{v}");
    assert!(first["update_time"].as_f64().unwrap() > 1.6e9, "{v}");
    assert_eq!(v["objects"][2]["value"]["other"], 1, "{v}");
    assert!(v.get("cursor").is_none(), "{v}");
    assert_eq!(keys(&all(&["value.score"])), ["k5", "k1", "k3", "k2", "k4"]);
    // Queries: ranges, keywords, the fixed fields; unlisted fields are
    // not indexed.
    let q = |query: &str| {
        keys(&list(
            &http,
            json!({"index": "scores", "query": query, "limit": 10, "order": ["value.score"]}),
        ))
    };
    assert_eq!(q("+value.score:>=20"), ["k3", "k2", "k4"]);
    assert_eq!(q("+value.name:alice"), ["k1"]);
    assert_eq!(q("+value.other:1"), Vec::<String>::new());
    assert_eq!(q(&format!("+user_id:{alice_id} +read:2")), ["k1", "k3"]);
    assert_eq!(q("-value.score:<20"), ["k3", "k2", "k4"]);
    // Pages by cursor.
    let page = |cursor: Option<&str>| {
        list(
            &http,
            json!({"index": "scores", "query": "*", "limit": 2, "order": ["-value.score"], "cursor": cursor}),
        )
    };
    let p1 = page(None);
    assert_eq!(keys(&p1), ["k4", "k2"], "{p1}");
    let c1 = p1["cursor"].as_str().expect("cursor").to_string();
    let p2 = page(Some(&c1));
    assert_eq!(keys(&p2), ["k3", "k1"], "{p2}");
    let p3 = page(Some(p2["cursor"].as_str().expect("cursor")));
    assert_eq!(keys(&p3), ["k5"], "{p3}");
    assert!(p3.get("cursor").is_none(), "{p3}");
    // A cursor is for its query, limit and order only.
    let e = list_error(
        &http,
        json!({"index": "scores", "query": "*", "limit": 3, "order": ["-value.score"], "cursor": c1}),
    );
    assert_eq!(
        e,
        "error in storage index list: invalid cursor: limit mismatch"
    );
    let e = list_error(
        &http,
        json!({"index": "scores", "query": "+value.score:>1", "limit": 2, "order": ["-value.score"], "cursor": c1}),
    );
    assert_eq!(
        e,
        "error in storage index list: invalid cursor: query mismatch"
    );
    let e = list_error(
        &http,
        json!({"index": "scores", "query": "*", "limit": 2, "order": ["value.score"], "cursor": c1}),
    );
    assert_eq!(
        e,
        "error in storage index list: invalid cursor: order mismatch"
    );
    // A caller sees what it may read: public objects, and its own with
    // read 1.
    let as_user = |caller: &str| {
        keys(&list(
            &http,
            json!({"index": "scores", "query": "*", "limit": 10, "order": ["-value.score"], "caller": caller}),
        ))
    };
    assert_eq!(as_user(&bob_id), ["k4", "k3", "k1"]);
    assert_eq!(as_user(&alice_id), ["k4", "k2", "k3", "k1"]);
    // An update moves an object; deletes over REST, from Lua and in a
    // multi-update remove them; a multi-update's write is indexed.
    put(
        &http,
        &alice,
        json!([{"collection": col, "key": "k1", "value": r#"{"score":50,"name":"alice"}"#, "permission_read": 2}]),
    );
    exactly(&["k1", "k4", "k2", "k3", "k5"]);
    delete(&http, &alice, json!([{"collection": col, "key": "k1"}]));
    rpc(
        &http,
        "stidx.delete",
        json!({"deletes": [{"collection": "scores", "key": "k4"}]}),
    );
    exactly(&["k2", "k3", "k5"]);
    rpc(
        &http,
        "stidx.multi",
        json!({
            "writes": [{"collection": "scores", "key": "k6", "user_id": bob_id, "value": {"score": 60}, "permission_read": 2}],
            "deletes": [{"collection": "scores", "key": "k3", "user_id": alice_id}],
        }),
    );
    exactly(&["k6", "k2", "k5"]);
    // A deleted account's objects leave the index.
    let r = http.request(
        "DELETE",
        "/v2/account",
        Some(&format!("Bearer {}", alice.token)),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    exactly(&["k6", "k5"]);
}

fn index_only_filter_eviction_and_restart(b: &Backend) {
    let mut s = setup(b);
    let p = s.p.clone();
    let http = s.server.http();
    let alice = http.device(&unique("stidx-a-"));
    let bob = http.device(&unique("stidx-b-"));
    let alice_id = user_id(&http, &alice);
    let bob_id = user_id(&http, &bob);

    // index_only: the indexed fields alone, Nakama's read rule (public,
    // or the caller's own whatever its read permission).
    let only = format!("{p}only");
    put(
        &http,
        &alice,
        json!([
            {"collection": only, "key": "o1", "value": r#"{"score":1,"run":"x","secret":"s"}"#, "permission_read": 1},
            {"collection": only, "key": "o2", "value": r#"{"score":2,"secret":"t"}"#, "permission_read": 0},
            {"collection": only, "key": "o3", "value": r#"{"secret":"u"}"#, "permission_read": 2},
        ]),
    );
    let only_list = |caller: Option<&str>| {
        list(
            &http,
            json!({"index": "only", "query": "*", "limit": 10, "order": ["value.score"], "caller": caller}),
        )
    };
    let v = only_list(None);
    // o3 holds none of the indexed fields: not indexed.
    assert_eq!(keys(&v), ["o1", "o2"], "{v}");
    assert_eq!(
        v["objects"][0]["value"],
        json!({"score": 1, "run": "x"}),
        "{v}"
    );
    assert_eq!(v["objects"][0]["user_id"], alice_id.as_str(), "{v}");
    assert_eq!(keys(&only_list(Some(&alice_id))), ["o1", "o2"]);
    assert_eq!(keys(&only_list(Some(&bob_id))), Vec::<String>::new());

    // The filter keeps hidden objects out, and drops one that becomes
    // hidden.
    rpc(
        &http,
        "stidx.write",
        json!({"writes": [
            {"collection": "filtered", "key": "f1", "value": {"score": 1}},
            {"collection": "filtered", "key": "f2", "value": {"score": 2, "hidden": true}},
        ]}),
    );
    let filtered = || {
        keys(&list(
            &http,
            json!({"index": "filtered", "query": "*", "limit": 10, "order": ["key"]}),
        ))
    };
    assert_eq!(filtered(), ["f1"]);
    put(
        &http,
        &bob,
        json!([{"collection": format!("{p}filtered"), "key": "f3", "value": r#"{"score":3,"hidden":true}"#}]),
    );
    assert_eq!(filtered(), ["f1"]);
    rpc(
        &http,
        "stidx.write",
        json!({"writes": [
            {"collection": "filtered", "key": "f1", "value": {"score": 1, "hidden": true}},
            {"collection": "filtered", "key": "f2", "value": {"score": 2, "hidden": false}},
        ]}),
    );
    assert_eq!(filtered(), ["f2"]);

    // Eviction: at most 10 entries, evicted past 11, oldest first; only
    // the key "slot" is indexed.
    let evict = format!("{p}evict");
    let mut users = Vec::new();
    for n in 0..12 {
        let who = http.device(&unique("stidx-e-"));
        put(
            &http,
            &who,
            json!([
                {"collection": evict, "key": "slot", "value": format!(r#"{{"n":{n}}}"#), "permission_read": 2},
                {"collection": evict, "key": "other", "value": format!(r#"{{"n":{n}}}"#), "permission_read": 2},
            ]),
        );
        users.push(who);
        if n == 1 {
            // Update times are seconds: the two oldest are older by one,
            // so that a load (which takes the newest) leaves them out.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let v = list(
            &http,
            json!({"index": "evict", "query": "*", "limit": 100, "order": ["value.n"]}),
        );
        let expect = if n < 11 { n + 1 } else { 10 };
        assert_eq!(v["n"], expect, "after write {n}: {v}");
    }
    let ns = |v: &Value| -> Vec<i64> {
        v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"]["n"].as_i64().unwrap())
            .collect()
    };
    let v = list(
        &http,
        json!({"index": "evict", "query": "*", "limit": 100, "order": ["value.n"]}),
    );
    assert_eq!(ns(&v), (2..12).collect::<Vec<_>>(), "{v}");
    assert!(keys(&v).iter().all(|k| k == "slot"), "{v}");

    // After a restart each index is loaded from the store: the newest
    // max_entries objects, through the filter.
    s.server.restart();
    let http = s.server.http();
    let v = list(
        &http,
        json!({"index": "evict", "query": "*", "limit": 100, "order": ["value.n"]}),
    );
    assert_eq!(ns(&v), (2..12).collect::<Vec<_>>(), "{v}");
    assert_eq!(
        keys(&list(
            &http,
            json!({"index": "filtered", "query": "*", "limit": 10, "order": ["key"]}),
        )),
        ["f2"]
    );
    let v = list(
        &http,
        json!({"index": "only", "query": "+value.run:x", "limit": 10, "order": []}),
    );
    assert_eq!(keys(&v), ["o1"], "{v}");
    assert_eq!(
        v["objects"][0]["value"],
        json!({"score": 1, "run": "x"}),
        "{v}"
    );
    let v = list(
        &http,
        json!({"index": "only", "query": "*", "limit": 10, "order": ["-value.score"], "caller": alice_id}),
    );
    assert_eq!(keys(&v), ["o2", "o1"], "{v}");
}

fn argument_errors(b: &Backend) {
    let s = setup(b);
    let http = s.server.http();
    let p = &s.p;
    let e = rpc(&http, "stidx.errors", json!({}));
    let expect = [
        (
            "limit_low",
            "bad argument #3 to storage_index_list (invalid limit: expects value 1-10000)".to_string(),
        ),
        (
            "limit_high",
            "bad argument #3 to storage_index_list (invalid limit: expects value 1-10000)".into(),
        ),
        (
            "order_missing",
            "bad argument #4 to storage_index_list (table expected, got nil)".into(),
        ),
        (
            "order_not_string",
            "bad argument #4 to storage_index_list (expects each field to be string)".into(),
        ),
        (
            "caller_bad",
            "bad argument #5 to storage_index_list (expects caller ID to be empty or a valid identifier)".into(),
        ),
        (
            "unknown_index",
            format!("error in storage index list: index \"{p}nope\" not found"),
        ),
        ("bad_cursor", "error in storage index list: invalid cursor".into()),
        (
            "index_missing",
            "bad argument #1 to storage_index_list (string expected, got nil)".into(),
        ),
        (
            "reg_name",
            "failed to create storage index: storage index 'name' must be set".into(),
        ),
        (
            "reg_collection",
            "failed to create storage index: storage index 'collection' must be set".into(),
        ),
        (
            "reg_max",
            "failed to create storage index: storage Index 'max_entries' must be > 0".into(),
        ),
        (
            "reg_fields",
            "failed to create storage index: storage Index 'fields' must contain at least one top level key to index".into(),
        ),
        (
            "reg_field_type",
            "bad argument #4 to register_storage_index (expects each field to be string)".into(),
        ),
        (
            "reg_sortable_type",
            "bad argument #5 to register_storage_index (expects each field to be string)".into(),
        ),
        (
            "reg_sortable_missing",
            "bad argument #5 to register_storage_index (table expected, got nil)".into(),
        ),
        (
            "reg_too_many",
            "failed to create storage index: storage Index 'max_entries' must be at most 100000"
                .into(),
        ),
        (
            "reg_duplicate",
            format!(
                "failed to create storage index: cannot create index: index with name \"{p}scores\" already exists"
            ),
        ),
        (
            "filter_fn",
            "bad argument #2 to register_storage_index_filter (function expected, got string)"
                .into(),
        ),
    ];
    for (name, text) in expect {
        let got = e[name].as_str().unwrap_or_default();
        assert!(got.ends_with(&text), "{name}: {got:?}, expected {text:?}");
    }
    let bad_query = e["bad_query"].as_str().unwrap();
    assert!(
        bad_query.starts_with("error in storage index list: "),
        "{bad_query}"
    );
}
