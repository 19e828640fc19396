//! Wallets from game code (the test binary's `test.wallet` over `Nk`), on
//! both backends: updates show in `GET /v2/account` as a JSON string, a
//! negative result rejects the whole batch, the ledger pages newest first;
//! a multi-update's account updates, storage writes, storage deletes and
//! wallet updates land together or not at all.

use kairos_tests::{Backend, Http, Reply, TestServer, backend_tests, basic, unique};
use serde_json::{Value, json};

backend_tests!(
    wallet_updates_ledger_and_account,
    multi_update_is_all_or_nothing,
    multi_update_with_accounts_and_deletes
);

fn nk(http: &Http, payload: Value) -> Reply {
    rpc(http, "test.wallet", payload)
}

fn rpc(http: &Http, name: &str, payload: Value) -> Reply {
    http.request(
        "POST",
        &format!("/v2/rpc/{name}"),
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

/// `Nk::multi_update` with every part: a storage delete whose version does
/// not match keeps the account update, the write and the wallet change
/// out; so does a taken username; a call over the item bound is refused
/// whole; when every part holds, all of them land.
fn multi_update_with_accounts_and_deletes(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let other = http.device(&unique("device-"));
    let account = |token: &str| {
        let r = http.get("/v2/account", token);
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    };
    let taken = account(&other.token)["user"]["username"].clone();
    let r = rpc(
        &http,
        "test.storage",
        json!({"op": "write", "objects": [{"collection": "shop", "key": "coupon", "user_id": me.user_id(), "value": "{}"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let stored: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    let coupon_version = stored["acks"][0]["version"].clone();
    let objects = |keys: &[&str]| {
        let ids: Vec<Value> = keys
            .iter()
            .map(|k| json!({"collection": "shop", "key": k, "user_id": me.user_id()}))
            .collect();
        let r = http.send(
            "POST",
            "/v2/storage",
            &me.token,
            &json!({"object_ids": ids}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        let mut found: Vec<String> = r.body["objects"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|o| o["key"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    };
    let multi = |account: Value, delete_version: Value| {
        nk(
            &http,
            json!({"op": "multi", "ledger": true,
                   "accounts": [account],
                   "objects": [{"collection": "shop", "key": "sword", "user_id": me.user_id(), "value": "{\"level\":1}"}],
                   "deletes": [{"collection": "shop", "key": "coupon", "user_id": me.user_id(), "version": delete_version}],
                   "updates": [{"user_id": me.user_id(), "changeset": {"gold": 5}}]}),
        )
    };
    let buyer = json!({"user_id": me.user_id(), "display_name": "Buyer", "location": "Oslo", "metadata": {"vip": true}});

    let r = multi(buyer.clone(), json!("not-the-version"));
    r.assert_error(400, 3);
    assert_eq!(
        r.message(),
        "Storage delete rejected - not found, version check failed, or permission denied."
    );
    let a = account(&me.token);
    assert_eq!(a["user"]["display_name"], Value::Null, "{a}");
    assert_eq!(account_wallet(&http, &me.token), json!({}));
    assert_eq!(objects(&["coupon", "sword"]), ["coupon"]);

    let r = multi(
        json!({"user_id": me.user_id(), "display_name": "Buyer", "username": taken}),
        coupon_version.clone(),
    );
    r.assert_error(409, 6);
    assert_eq!(r.message(), "Username is already in use.");
    assert_eq!(account_wallet(&http, &me.token), json!({}));
    assert_eq!(objects(&["coupon", "sword"]), ["coupon"]);

    let many: Vec<Value> = (0..=kairos_shards::modules::MULTI_UPDATE_MAX_ITEMS)
        .map(|i| json!({"collection": "shop", "key": format!("k{i}"), "user_id": me.user_id()}))
        .collect();
    let r = nk(&http, json!({"op": "multi", "deletes": many}));
    r.assert_error(400, 3);
    assert_eq!(
        r.message(),
        "Too many items in one multi update - at most 1000 may be given."
    );

    let r = multi(buyer, coupon_version);
    assert_eq!(r.status, 200, "{}", r.text);
    let done: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    assert_eq!(done["acks"][0]["key"], "sword");
    assert_eq!(
        (
            done["results"][0]["previous"].clone(),
            done["results"][0]["updated"].clone()
        ),
        (json!({}), json!({"gold": 5}))
    );
    let ledger = nk_ok(&http, json!({"op": "ledger", "user_id": me.user_id()}));
    assert_eq!(ledger["items"].as_array().unwrap().len(), 1);
    let a = account(&me.token);
    assert_eq!(
        (
            a["user"]["display_name"].clone(),
            a["user"]["location"].clone(),
            serde_json::from_str::<Value>(a["user"]["metadata"].as_str().unwrap()).unwrap()
        ),
        (json!("Buyer"), json!("Oslo"), json!({"vip": true}))
    );
    assert_eq!(account_wallet(&http, &me.token), json!({"gold": 5}));
    assert_eq!(objects(&["coupon", "sword"]), ["sword"]);
}
