//! Wallets from game code (the test binary's `test.wallet` over `Nk`), on
//! both backends: updates show in `GET /v2/account` as a JSON string, a
//! negative result rejects the whole batch, the ledger pages newest first.

use kairos_tests::{Backend, Http, Reply, TestServer, backend_tests, basic, unique};
use serde_json::{Value, json};

backend_tests!(
    wallet_updates_ledger_and_account,
    multi_update_is_all_or_nothing
);

fn nk(http: &Http, payload: Value) -> Reply {
    http.request(
        "POST",
        "/v2/rpc/test.wallet",
        Some(&basic("defaulthttpkey")),
        Some(&Value::String(payload.to_string()).to_string()),
    )
}

fn nk_ok(http: &Http, payload: Value) -> Value {
    let r = nk(http, payload);
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap()
}

/// The wallet as `GET /v2/account` shows it: a JSON string, parsed.
fn account_wallet(http: &Http, token: &str) -> Value {
    let r = http.get("/v2/account", token);
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["wallet"].as_str().expect("wallet is a string")).unwrap()
}

fn wallet_updates_ledger_and_account(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let other = http.device(&unique("device-"));
    assert_eq!(account_wallet(&http, &me.token), json!({}));

    let r = nk_ok(
        &http,
        json!({"op": "update", "user_id": me.user_id(), "changeset": {"gold": 100}, "metadata": {"why": "start"}, "ledger": true}),
    );
    assert_eq!(
        (r["updated"].clone(), r["previous"].clone()),
        (json!({"gold": 100}), json!({}))
    );
    let r = nk_ok(
        &http,
        json!({"op": "updates", "ledger": true, "updates": [
            {"user_id": me.user_id(), "changeset": {"gold": -30, "gems": 2}},
            {"user_id": other.user_id(), "changeset": {"gold": 5}},
        ]}),
    );
    assert_eq!(r["results"].as_array().unwrap().len(), 2);
    assert_eq!(
        account_wallet(&http, &me.token),
        json!({"gold": 70, "gems": 2})
    );
    assert_eq!(account_wallet(&http, &other.token), json!({"gold": 5}));

    // Overspending anywhere in a batch rejects all of it.
    let r = nk(
        &http,
        json!({"op": "updates", "ledger": true, "updates": [
            {"user_id": other.user_id(), "changeset": {"gold": 1}},
            {"user_id": me.user_id(), "changeset": {"gold": -71}},
        ]}),
    );
    r.assert_error(400, 3);
    assert_eq!(
        r.message(),
        "wallet update rejected negative value at path 'gold'"
    );
    assert_eq!(
        account_wallet(&http, &me.token),
        json!({"gold": 70, "gems": 2})
    );
    assert_eq!(account_wallet(&http, &other.token), json!({"gold": 5}));
    // Unknown user: NotFound; bad metadata: InvalidArgument.
    let r = nk(
        &http,
        json!({"op": "update", "user_id": uuid::Uuid::new_v4().to_string(), "changeset": {"gold": 1}}),
    );
    r.assert_error(404, 5);
    let r = nk(
        &http,
        json!({"op": "update", "user_id": me.user_id(), "changeset": {"gold": 1}, "metadata": [1]}),
    );
    r.assert_error(400, 3);

    // The ledger: newest first, one per page.
    let first = nk_ok(
        &http,
        json!({"op": "ledger", "user_id": me.user_id(), "limit": 1}),
    );
    assert_eq!(
        first["items"][0]["changeset"],
        json!({"gold": -30, "gems": 2})
    );
    let cursor = first["cursor"].as_str().unwrap().to_string();
    assert!(!cursor.is_empty());
    let second = nk_ok(
        &http,
        json!({"op": "ledger", "user_id": me.user_id(), "limit": 1, "cursor": cursor}),
    );
    assert_eq!(second["items"][0]["changeset"], json!({"gold": 100}));
    assert_eq!(
        serde_json::from_str::<Value>(second["items"][0]["metadata"].as_str().unwrap()).unwrap(),
        json!({"why": "start"})
    );
    assert_eq!(second["cursor"], "");
    let r = nk(
        &http,
        json!({"op": "ledger", "user_id": me.user_id(), "cursor": "garbage"}),
    );
    r.assert_error(400, 3);

    // A ledger entry's metadata: fields set over the stored ones.
    let id = second["items"][0]["id"].clone();
    let r = nk_ok(
        &http,
        json!({"op": "ledger_update", "id": id, "metadata": {"receipt": "r1"}}),
    );
    assert_eq!(
        serde_json::from_str::<Value>(r["metadata"].as_str().unwrap()).unwrap(),
        json!({"why": "start", "receipt": "r1"})
    );
    let r = nk(
        &http,
        json!({"op": "ledger_update", "id": uuid::Uuid::new_v4().to_string(), "metadata": {}}),
    );
    r.assert_error(404, 5);
}

/// Storage and wallet changes in one transaction: an overspend keeps the
/// storage write out too; a storage clash keeps the wallet as it was.
fn multi_update_is_all_or_nothing(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let object = json!({"collection": "shop", "key": "sword", "user_id": me.user_id(), "value": "{}", "version": "*"});
    let read = || {
        let r = http.send(
            "POST",
            "/v2/storage",
            &me.token,
            &json!({"object_ids": [{"collection": "shop", "key": "sword", "user_id": me.user_id()}]}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["objects"].as_array().map_or(0, Vec::len)
    };
    let buy = |gold: i64| {
        nk(
            &http,
            json!({"op": "multi", "ledger": true, "objects": [object],
                   "updates": [{"user_id": me.user_id(), "changeset": {"gold": gold}}]}),
        )
    };
    nk_ok(
        &http,
        json!({"op": "update", "user_id": me.user_id(), "changeset": {"gold": 50}}),
    );
    let r = buy(-60);
    r.assert_error(400, 3);
    assert_eq!(
        r.message(),
        "wallet update rejected negative value at path 'gold'"
    );
    assert_eq!(read(), 0);
    let r = buy(-50);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(read(), 1);
    assert_eq!(account_wallet(&http, &me.token), json!({"gold": 0}));
    let r = buy(10);
    r.assert_error(400, 3);
    assert_eq!(
        r.message(),
        "Storage write rejected - version check failed."
    );
    assert_eq!(account_wallet(&http, &me.token), json!({"gold": 0}));
}
