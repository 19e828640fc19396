//! Lua match callbacks that wait on the server (`tests/lua/bank.lua`): a
//! `match_init` reading storage, a join attempt decided by a storage read, ticks that update wallets and
//! write storage between their broadcasts, a leave that writes storage
//! and a signal answered from storage, on both backends. Messages sent
//! back to back are credited one after another, in order, and players
//! joining and leaving meanwhile wait their turn: the match runs one
//! callback at a time even while one waits on the store. Also
//! `nk.storage_write_retry` (`tests/lua/storage_retry.lua`) retrying a
//! write another overtook, and join attempts past
//! `kairos.runtime.match_input_queue` refused while a tick waits.

use std::path::PathBuf;

use base64::Engine;
use kairos_tests::{Backend, Http, TestServer, Ws, backend_tests, unique};
use serde_json::{Value, json};

backend_tests!(
    match_callbacks_wait_on_the_server,
    join_attempts_past_the_queue_are_refused_while_a_callback_waits,
    storage_write_retry_rereads_after_a_conflict
);

fn start(backend: &Backend) -> TestServer {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lua");
    TestServer::start_with(
        backend,
        &[
            "--runtime.path",
            &dir.to_string_lossy(),
            "--runtime.env",
            "region=eu",
            "--runtime.env",
            "motto=a=b",
        ],
    )
}

fn rpc(http: &Http, id: &str, payload: &str) -> String {
    let body = Value::String(payload.to_string()).to_string();
    let r = http.request(
        "POST",
        &format!("/v2/rpc/{id}?http_key=defaulthttpkey"),
        None,
        Some(&body),
    );
    assert_eq!(r.status, 200, "{id}: {}", r.text);
    r.body["payload"].as_str().expect("payload").to_string()
}

fn user_id(http: &Http, token: &str) -> String {
    let r = http.get("/v2/account", token);
    r.body["user"]["id"].as_str().expect("user id").to_string()
}

fn decoded(d: &Value) -> Value {
    let data = d["match_data"]["data"].as_str().expect("data");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("JSON")
}

fn match_callbacks_wait_on_the_server(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    // match_init reads the opening balance the creating RPC stored.
    let id = rpc(&http, "lua.bank_create", "100");
    let me = http.device(&unique("bank-lister-"));
    let listed = http.get("/v2/match?authoritative=true&limit=100", &me.token);
    assert!(
        listed.body["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["match_id"] == json!(id) && m["label"] == "bank:100"),
        "{}",
        listed.text
    );
    // Its `print` went to the server's log, tab-separated.
    assert!(
        s.log().contains(&format!("bank\t{id}\topens at\t100")),
        "{}",
        s.log()
    );

    // A join attempt that reads storage: the denied user is refused with
    // the callback's reason, after its read.
    let denied = http.device(&unique("bank-denied-"));
    rpc(&http, "lua.bank_deny", &user_id(&http, &denied.token));
    let mut ws = Ws::open(&s.addr, &denied.token, "");
    let r = ws.request("1", "match_join", json!({ "match_id": id }));
    assert_eq!(r["error"]["message"], "denied by storage", "{r}");

    // An allowed user joins; each message credits its wallet (a wallet
    // update and a storage write in one tick), and the broadcast carries
    // the wallet after the update. Twenty messages sent back to back are
    // credited in order, each once.
    let player = http.device(&unique("bank-player-"));
    let mut ws = Ws::open(&s.addr, &player.token, "");
    let r = ws.request("2", "match_join", json!({ "match_id": id }));
    assert_eq!(r["match"]["match_id"], json!(id), "{r}");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for _ in 0..20 {
        ws.send_json(&json!({ "match_data_send": {
            "match_id": id, "op_code": "1", "data": b64("bank:3") } }));
    }
    // Others join and leave while those ticks wait on the store: their
    // callbacks wait their turn (the module counts any overlap).
    let mut others: Vec<Ws> = (0..3)
        .map(|i| {
            let who = http.device(&unique(&format!("bank-other{i}-")));
            Ws::open(&s.addr, &who.token, "")
        })
        .collect();
    for round in 0..2 {
        for (i, o) in others.iter_mut().enumerate() {
            let r = o.request(
                &format!("j{round}{i}"),
                "match_join",
                json!({ "match_id": id }),
            );
            assert_eq!(r["match"]["match_id"], json!(id), "{r}");
        }
        for (i, o) in others.iter_mut().enumerate() {
            let r = o.request(
                &format!("l{round}{i}"),
                "match_leave",
                json!({ "match_id": id }),
            );
            assert!(r.get("error").is_none(), "{r}");
        }
    }
    for n in 1..=20 {
        let d = ws.next_with("match_data");
        assert_eq!(d["match_data"]["op_code"], "200", "{d}");
        assert_eq!(
            decoded(&d),
            json!({ "coins": 3 * n, "credited": 100 + 3 * n }),
            "{d}"
        );
    }
    let account = http.get("/v2/account", &player.token);
    let wallet: Value = serde_json::from_str(account.body["wallet"].as_str().unwrap()).unwrap();
    assert_eq!(wallet, json!({ "coins": 60 }), "{}", account.text);

    // A signal answered from storage the loop wrote.
    let answer = rpc(
        &http,
        "lua.bank_signal",
        &json!({ "match_id": id, "data": "total" }).to_string(),
    );
    assert_eq!(answer, "total:160");
    // One callback at a time; every join and leave reached the handler
    // (the player's own join, and the others' six of each; a leave may
    // still be on its way, so ask until all six are in).
    let mut counts = String::new();
    for _ in 0..200 {
        counts = rpc(
            &http,
            "lua.bank_signal",
            &json!({ "match_id": id, "data": "overlaps" }).to_string(),
        );
        if counts.ends_with("leaves:6") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    // A match's context carries runtime.env, and get_config lists it.
    let env = rpc(
        &http,
        "lua.bank_signal",
        &json!({ "match_id": id, "data": "env" }).to_string(),
    );
    assert_eq!(
        serde_json::from_str::<Value>(&env).unwrap(),
        json!({ "ctx": { "region": "eu", "motto": "a=b" }, "config": ["motto=a=b", "region=eu"] })
    );
    let env = rpc(&http, "lua.bank_env", "");
    assert_eq!(
        serde_json::from_str::<Value>(&env).unwrap(),
        json!({ "region": "eu", "motto": "a=b" })
    );
    // The first match_loop got tick 0, as in Nakama.
    assert_eq!(counts, "first:0 overlaps:0 joins:7 leaves:6");

    // A leave writes an object the player can read.
    let r = ws.request("3", "match_leave", json!({ "match_id": id }));
    assert!(r.get("error").is_none(), "{r}");
    let me = user_id(&http, &player.token);
    let path = format!("/v2/storage/lua_bank_left?user_id={me}&limit=10");
    let mut listed = Value::Null;
    for _ in 0..200 {
        listed = http.get(&path, &player.token).body;
        if listed["objects"].as_array().is_some_and(|o| !o.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let value: Value =
        serde_json::from_str(listed["objects"][0]["value"].as_str().expect("left object")).unwrap();
    assert_eq!(value, json!({ "credited": 160 }), "{listed}");
}

/// `nk.storage_write_retry` (`tests/lua/storage_retry.lua`): a write
/// whose version another write overtook is read and computed again.
fn storage_write_retry_rereads_after_a_conflict(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let call = |body: Value| -> Value {
        serde_json::from_str(&rpc(&http, "lua.retry_add", &body.to_string())).unwrap()
    };
    let key = unique("retry-");
    // No conflict: one call of the function, the object created.
    let v = call(json!({ "key": key, "retries": 3 }));
    assert_eq!(v, json!({ "calls": 1, "acks": 1, "n": 1 }));
    // The function's first call is overtaken by a write of its own: the
    // second call sees it (1 + 100) and adds 1.
    let v = call(json!({ "key": key, "retries": 3, "meddle": true }));
    assert_eq!(v, json!({ "calls": 2, "acks": 1, "n": 102 }));
    // With no retries left, the conflict is the error.
    let v = call(json!({ "key": key, "retries": 0, "meddle": true }));
    assert_eq!(v["calls"], 1, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains(
            "failed to write storage objects with retry: Storage write rejected - version check failed."
        ),
        "{v}"
    );
    // Nakama's argument checks.
    let v = call(json!({ "key": key, "retries": 11 }));
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("max retries must be a value between 0 and 10"),
        "{v}"
    );
}

/// While a tick waits on the server, at most
/// `kairos.runtime.match_input_queue` jobs wait behind it (here 3, a
/// tick included); join attempts past that are refused at once with
/// Nakama's "Match is not currently accepting join requests", and those that waited are answered once the tick is
/// done. The tick waits on an HTTP request to a server of the test's,
/// which answers only after the refusals came.
/// Nakama's refusal of a join attempt when its queue is full.
const BUSY: &str = "Match is not currently accepting join requests";

fn join_attempts_past_the_queue_are_refused_while_a_callback_waits(backend: &Backend) {
    use std::io::{Read, Write};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lua");
    let s = TestServer::start_with(
        backend,
        &[
            "--runtime.path",
            &dir.to_string_lossy(),
            "--kairos.runtime.match_input_queue",
            "3",
            "--kairos.runtime.http_request_allow_private",
            "true",
        ],
    );
    let http = s.http();
    let id = rpc(&http, "lua.bank_create", "0");
    let holder = http.device(&unique("bank-holder-"));
    let mut ws = Ws::open(&s.addr, &holder.token, "");
    let r = ws.request("1", "match_join", json!({ "match_id": id }));
    assert_eq!(r["match"]["match_id"], json!(id), "{r}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    ws.send_json(&json!({ "match_data_send": {
        "match_id": id, "op_code": "1", "data": b64(&format!("hold:{url}")) } }));
    // The tick is now waiting on this connection.
    let (mut held, _) = listener.accept().unwrap();
    let mut request = [0u8; 1024];
    let _ = held.read(&mut request).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let joiners: Vec<_> = (0..6)
        .map(|i| {
            let who = http.device(&unique(&format!("bank-joiner{i}-")));
            let mut ws = Ws::open(&s.addr, &who.token, "");
            let (tx, id) = (tx.clone(), id.clone());
            std::thread::spawn(move || {
                ws.send_json(&json!({ "cid": "j", "match_join": { "match_id": id } }));
                let reply = loop {
                    let v = ws.recv_json();
                    if v.get("cid").is_some() {
                        break v;
                    }
                };
                tx.send(reply).unwrap();
            })
        })
        .collect();
    // Only the joiners send: if the refusals never come, their reads time
    // out and the receive below fails rather than waiting forever.
    drop(tx);
    // At most 3 wait (one of them may be the next tick): 3 or more are
    // refused before the tick goes on.
    let mut replies = Vec::new();
    while replies
        .iter()
        .filter(|r: &&Value| r["error"]["message"] == BUSY)
        .count()
        < 3
    {
        replies.push(rx.recv().unwrap());
    }
    held.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    drop(held);
    for j in joiners {
        j.join().unwrap();
    }
    replies.extend(rx.try_iter());
    assert_eq!(replies.len(), 6, "{replies:?}");
    let busy = replies
        .iter()
        .filter(|r| r["error"]["message"] == BUSY)
        .count();
    let joined = replies
        .iter()
        .filter(|r| r["match"]["match_id"] == json!(id))
        .count();
    assert!(
        busy >= 3 && joined >= 2 && busy + joined == 6,
        "{replies:?}"
    );
    // The refusals carry Nakama's join-rejected code.
    assert!(
        replies
            .iter()
            .filter(|r| r["error"]["message"] == BUSY)
            .all(|r| r["error"]["code"] == 5),
        "{replies:?}"
    );
}
