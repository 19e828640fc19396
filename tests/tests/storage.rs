//! The storage engine over REST, on both backends: write, read, list with
//! cursors and delete; version checks; all-or-nothing batches; permissions
//! against another user; and every validation error with Nakama's code.

use kairos_tests::{Backend, Http, Session, TestServer, backend_tests, basic, unique};
use serde_json::{Value, json};

backend_tests!(
    write_read_list_delete,
    version_conflicts_are_rejected,
    batches_are_all_or_nothing,
    permissions_against_another_user,
    validation_errors,
    game_code_storage,
);

/// gRPC InvalidArgument, as grpc-gateway maps it.
const INVALID: (u16, i64) = (400, 3);

fn put(http: &Http, who: &Session, objects: Value) -> kairos_tests::Reply {
    http.send(
        "PUT",
        "/v2/storage",
        &who.token,
        &json!({ "objects": objects }),
    )
}

fn ok(r: kairos_tests::Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn read(http: &Http, who: &Session, ids: Value) -> Vec<Value> {
    let r = ok(http.send(
        "POST",
        "/v2/storage",
        &who.token,
        &json!({ "object_ids": ids }),
    ));
    r["objects"].as_array().cloned().unwrap_or_default()
}

fn keys(objects: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = objects
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

fn rejected(r: &kairos_tests::Reply, message: &str) {
    r.assert_error(INVALID.0, INVALID.1);
    assert_eq!(r.message(), message, "{}", r.text);
}

fn write_read_list_delete(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let c = unique("saves");
    let acks = ok(put(
        &http,
        &me,
        json!([
            {"collection": c, "key": "slot1", "value": "{\"hp\":10}"},
            {"collection": c, "key": "slot2", "value": "{\"hp\":20}", "permission_read": 2, "permission_write": 1},
            {"collection": c, "key": "slot3", "value": "{\"hp\":30}", "permissionRead": 2},
        ]),
    ));
    let acks = acks["acks"].as_array().unwrap().clone();
    assert_eq!(acks.len(), 3);
    assert_eq!(acks[0]["key"], "slot1");
    assert_eq!(acks[0]["user_id"], json!(me.user_id()));
    // The version is the MD5 hex of the value.
    assert_eq!(acks[0]["version"], "38964877c32cf50df952c780d3eb26dd");

    let got = read(
        &http,
        &me,
        json!([{"collection": c, "key": "slot1", "user_id": me.user_id()}]),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["value"], "{\"hp\":10}");
    assert_eq!(got[0]["version"], acks[0]["version"]);
    assert_eq!(got[0]["permission_read"], 1);
    assert_eq!(got[0]["permission_write"], 1);
    assert!(got[0]["create_time"].as_str().unwrap().ends_with('Z'));

    // My own listing, one per page (the default limit is 1), through the cursor.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let page = ok(http.get(
            &format!("/v2/storage/{c}/{}?cursor={cursor}", me.user_id()),
            &me.token,
        ));
        seen.extend(page["objects"].as_array().cloned().unwrap_or_default());
        match page["cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = next.to_string(),
            _ => break,
        }
    }
    assert_eq!(keys(&seen), ["slot1", "slot2", "slot3"]);
    // The whole collection lists public objects only, even for the owner.
    let all = ok(http.get(&format!("/v2/storage/{c}?limit=100"), &me.token));
    assert_eq!(keys(all["objects"].as_array().unwrap()), ["slot2", "slot3"]);
    let mine = ok(http.get(
        &format!("/v2/storage/{c}?limit=100&user_id={}", me.user_id()),
        &me.token,
    ));
    assert_eq!(mine["objects"].as_array().unwrap().len(), 3);

    // Delete, with the right version and without one.
    let r = http.send(
        "PUT",
        "/v2/storage/delete",
        &me.token,
        &json!({"object_ids": [
            {"collection": c, "key": "slot1", "version": acks[0]["version"]},
            {"collection": c, "key": "slot2"},
        ]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let left = read(
        &http,
        &me,
        json!(
            ["slot1", "slot2", "slot3"]
                .map(|k| json!({"collection": c, "key": k, "user_id": me.user_id()}))
        ),
    );
    assert_eq!(keys(&left), ["slot3"]);
}

fn version_conflicts_are_rejected(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let c = unique("c");
    let first = ok(put(
        &http,
        &me,
        json!([{"collection": c, "key": "k", "value": "{\"n\":1}", "version": "*"}]),
    ));
    let v1 = first["acks"][0]["version"].as_str().unwrap().to_string();
    // `*`: only if absent.
    let r = put(
        &http,
        &me,
        json!([{"collection": c, "key": "k", "value": "{\"n\":2}", "version": "*"}]),
    );
    rejected(&r, "Storage write rejected - version check failed.");
    // The current version: accepted once; the same version again is stale.
    ok(put(
        &http,
        &me,
        json!([{"collection": c, "key": "k", "value": "{\"n\":2}", "version": v1}]),
    ));
    let r = put(
        &http,
        &me,
        json!([{"collection": c, "key": "k", "value": "{\"n\":3}", "version": v1}]),
    );
    rejected(&r, "Storage write rejected - version check failed.");
    let got = read(
        &http,
        &me,
        json!([{"collection": c, "key": "k", "user_id": me.user_id()}]),
    );
    assert_eq!(got[0]["value"], "{\"n\":2}");
    // A stale version on delete.
    let r = http.send(
        "PUT",
        "/v2/storage/delete",
        &me.token,
        &json!({"object_ids": [{"collection": c, "key": "k", "version": v1}]}),
    );
    rejected(
        &r,
        "Storage delete rejected - not found, version check failed, or permission denied.",
    );
}

fn batches_are_all_or_nothing(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let c = unique("c");
    ok(put(
        &http,
        &me,
        json!([{"collection": c, "key": "taken", "value": "{}"}]),
    ));
    let r = put(
        &http,
        &me,
        json!([
            {"collection": c, "key": "fresh", "value": "{}"},
            {"collection": c, "key": "taken", "value": "{\"x\":1}", "version": "*"},
        ]),
    );
    rejected(&r, "Storage write rejected - version check failed.");
    let got = read(
        &http,
        &me,
        json!(
            ["fresh", "taken"].map(|k| json!({"collection": c, "key": k, "user_id": me.user_id()}))
        ),
    );
    assert_eq!(keys(&got), ["taken"]);
    assert_eq!(got[0]["value"], "{}");
}

fn permissions_against_another_user(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let other = http.device(&unique("device-"));
    let c = unique("c");
    ok(put(
        &http,
        &me,
        json!([
            {"collection": c, "key": "hidden", "value": "{}", "permission_read": 0},
            {"collection": c, "key": "private", "value": "{}", "permission_read": 1},
            {"collection": c, "key": "public", "value": "{}", "permission_read": 2},
            {"collection": c, "key": "frozen", "value": "{}", "permission_write": 0},
        ]),
    ));
    let ids = json!(
        ["hidden", "private", "public", "frozen"]
            .map(|k| json!({"collection": c, "key": k, "user_id": me.user_id()}))
    );
    assert_eq!(
        keys(&read(&http, &me, ids.clone())),
        ["frozen", "private", "public"]
    );
    assert_eq!(keys(&read(&http, &other, ids)), ["public"]);
    let theirs = ok(http.get(
        &format!("/v2/storage/{c}/{}?limit=100", me.user_id()),
        &other.token,
    ));
    assert_eq!(keys(theirs["objects"].as_array().unwrap()), ["public"]);

    // Another user cannot touch my objects: its writes and deletes name its own.
    ok(put(
        &http,
        &other,
        json!([{"collection": c, "key": "public", "value": "{\"mine\":false}"}]),
    ));
    let r = http.send(
        "PUT",
        "/v2/storage/delete",
        &other.token,
        &json!({"object_ids": [{"collection": c, "key": "private", "user_id": me.user_id()}]}),
    );
    rejected(
        &r,
        "Storage delete rejected - not found, version check failed, or permission denied.",
    );
    let mine = read(
        &http,
        &me,
        json!([{"collection": c, "key": "public", "user_id": me.user_id()}]),
    );
    assert_eq!(mine[0]["value"], "{}");

    // Write permission 0: not even the owner writes or deletes it.
    let r = put(
        &http,
        &me,
        json!([{"collection": c, "key": "frozen", "value": "{\"x\":1}"}]),
    );
    rejected(&r, "Storage write rejected - permission denied.");
    let r = http.send(
        "PUT",
        "/v2/storage/delete",
        &me.token,
        &json!({"object_ids": [{"collection": c, "key": "frozen"}]}),
    );
    rejected(
        &r,
        "Storage delete rejected - not found, version check failed, or permission denied.",
    );
}

fn validation_errors(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let unset = "Invalid collection or key value supplied. They must be set.";
    let long = "x".repeat(129);
    for (object, message) in [
        (json!({"key": "k", "value": "{}"}), unset),
        (json!({"collection": "c", "value": "{}"}), unset),
        (json!({"collection": "c", "key": "k"}), unset),
        (
            json!({"collection": long, "key": "k", "value": "{}"}),
            "Invalid collection or key value supplied. They must be at most 128 characters.",
        ),
        (
            json!({"collection": "c", "key": "k", "value": "{}", "permission_read": 3}),
            "Invalid Read permission supplied. It must be either 0, 1 or 2.",
        ),
        (
            json!({"collection": "c", "key": "k", "value": "{}", "permission_read": -1}),
            "Invalid Read permission supplied. It must be either 0, 1 or 2.",
        ),
        (
            json!({"collection": "c", "key": "k", "value": "{}", "permission_write": 2}),
            "Invalid Write permission supplied. It must be either 0 or 1.",
        ),
        (
            json!({"collection": "c", "key": "k", "value": "[1]"}),
            "Value must be a JSON object.",
        ),
        (
            json!({"collection": "c", "key": "k", "value": "{nope"}),
            "Value must be a JSON object.",
        ),
    ] {
        rejected(&put(&http, &me, json!([object])), message);
    }
    // A body that is not the message.
    http.send("PUT", "/v2/storage", &me.token, &json!({"objects": 5}))
        .assert_error(INVALID.0, INVALID.1);

    let bad_user = "Invalid user ID - make sure user ID is a valid UUID.";
    for id in ["nope", "00000000-0000-0000-0000-000000000000"] {
        let r = http.send(
            "POST",
            "/v2/storage",
            &me.token,
            &json!({"object_ids": [{"collection": "c", "key": "k", "user_id": id}]}),
        );
        rejected(&r, bad_user);
    }
    let r = http.send(
        "POST",
        "/v2/storage",
        &me.token,
        &json!({"object_ids": [{"key": "k"}]}),
    );
    rejected(&r, unset);
    let r = http.send(
        "PUT",
        "/v2/storage/delete",
        &me.token,
        &json!({"object_ids": [{"collection": "c"}]}),
    );
    rejected(&r, unset);

    rejected(&http.get("/v2/storage/c/nope", &me.token), bad_user);
    rejected(&http.get("/v2/storage/c?user_id=nope", &me.token), bad_user);
    for limit in ["0", "101"] {
        rejected(
            &http.get(&format!("/v2/storage/c?limit={limit}"), &me.token),
            "Invalid limit - limit must be between 1 and 100.",
        );
    }
    rejected(
        &http.get("/v2/storage/c?cursor=garbage", &me.token),
        "Malformed cursor was used.",
    );
    // Empty batches are no-ops, as in Nakama.
    assert_eq!(ok(put(&http, &me, json!([]))), json!({}));
    // Without a session: 401.
    let r = http.request("POST", "/v2/storage", None, Some("{}"));
    assert_eq!(r.status, 401, "{}", r.text);
}

/// `test.storage` (the test binary's RPC over `Nk`'s storage calls).
fn nk(http: &Http, payload: Value) -> kairos_tests::Reply {
    http.request(
        "POST",
        "/v2/rpc/test.storage",
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(payload.to_string()).to_string()),
    )
}

fn nk_ok(http: &Http, payload: Value) -> Value {
    let r = nk(http, payload);
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap()
}

fn game_code_storage(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let other = http.device(&unique("device-"));
    let c = unique("c");
    // Game code writes where clients cannot: system-owned objects, objects
    // with write permission 0, and any user's objects.
    let acks = nk_ok(
        &http,
        json!({"op": "write", "objects": [
            {"collection": c, "key": "config", "value": "{\"v\":1}", "permission_read": 2, "permission_write": 0},
            {"collection": c, "key": "secret", "user_id": me.user_id(), "value": "{}", "permission_read": 0, "permission_write": 0},
            {"collection": c, "key": "public", "user_id": me.user_id(), "value": "{}", "permission_read": 2},
        ]}),
    );
    let acks = acks["acks"].as_array().unwrap().clone();
    assert_eq!(acks[0]["user_id"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(acks[1]["user_id"], json!(me.user_id()));
    // Clients see the public system object, not the hidden one.
    let ids = json!([
        {"collection": c, "key": "config"},
        {"collection": c, "key": "secret", "user_id": me.user_id()},
    ]);
    assert_eq!(keys(&read(&http, &me, ids.clone())), ["config"]);
    let got = nk_ok(&http, json!({"op": "read", "ids": ids}));
    assert_eq!(
        keys(got["objects"].as_array().unwrap()),
        ["config", "secret"]
    );
    // Listing: everything as game code, only public as another user, in pages.
    let all = nk_ok(&http, json!({"op": "list", "collection": c, "limit": 2}));
    assert_eq!(all["objects"].as_array().unwrap().len(), 2);
    let cursor = all["cursor"].as_str().unwrap().to_string();
    assert!(!cursor.is_empty());
    let rest = nk_ok(
        &http,
        json!({"op": "list", "collection": c, "limit": 2, "cursor": cursor}),
    );
    assert_eq!(rest["objects"].as_array().unwrap().len(), 1);
    assert_eq!(rest["cursor"], "");
    let as_other = nk_ok(
        &http,
        json!({"op": "list", "collection": c, "limit": 10, "caller": other.user_id(), "owner": me.user_id()}),
    );
    assert_eq!(keys(as_other["objects"].as_array().unwrap()), ["public"]);
    // Versions and validation hold for game code too.
    let stale = json!({"op": "write", "objects": [
        {"collection": c, "key": "config", "value": "{\"v\":2}", "version": "0123456789abcdef0123456789abcdef"},
    ]});
    rejected(
        &nk(&http, stale),
        "Storage write rejected - version check failed.",
    );
    let bad = json!({"op": "write", "objects": [{"collection": c, "key": "x", "value": "[]"}]});
    rejected(&nk(&http, bad), "Value must be a JSON object.");
    rejected(
        &nk(&http, json!({"op": "list", "collection": c, "limit": 0})),
        "Invalid limit - limit must be between 1 and 100.",
    );
    // Delete with the right version; a wrong one fails the batch.
    let wrong =
        json!({"op": "delete", "ids": [{"collection": c, "key": "config", "version": "nope"}]});
    rejected(
        &nk(&http, wrong),
        "Storage delete rejected - not found, version check failed, or permission denied.",
    );
    nk_ok(
        &http,
        json!({"op": "delete", "ids": [
            {"collection": c, "key": "config", "version": acks[0]["version"]},
            {"collection": c, "key": "secret", "user_id": me.user_id()},
        ]}),
    );
    let left = nk_ok(&http, json!({"op": "list", "collection": c, "limit": 10}));
    assert_eq!(keys(left["objects"].as_array().unwrap()), ["public"]);
}
