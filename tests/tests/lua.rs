//! Lua modules (`--runtime.path`): Kairos's own test modules in
//! `tests/lua/`, written in Nakama's style, called over HTTP and the
//! socket; errors, limits, read-only globals, `require`, a before hook,
//! realtime before and after hooks (`tests/lua/rt_hooks.lua`),
//! the server API (storage, accounts, notifications, wallet, leaderboards,
//! tournaments) from Lua, the leaderboard-reset, tournament-end and
//! tournament-reset hooks registered by a Lua module, the social and
//! listing calls (`tests/lua/social.lua`: groups, friends, leaderboard and
//! tournament listings, wallets) checked over REST, and (tests/lua/
//! http.lua) `nk.http_request` against local servers the tests start, its
//! refusal of internal addresses, AES, bcrypt and `cron_prev`; and
//! (tests/lua/accounts.lua) account updates, notification listing and
//! deletion, and stream presences updated, read and kicked, checked over
//! REST and the socket; and (tests/lua/sessions.lua) authentication,
//! links, generated tokens, logout, disconnects, bans, the account export
//! and deletion, checked over REST and the socket; and (tests/lua/utils.lua) the local
//! cache, RSA signatures and JWTs checked with their keys, random bytes,
//! the configuration and context, `file_read`, custom metrics on the
//! Prometheus endpoint, and the shutdown hook across a graceful restart;
//! and (tests/lua/nksocial.lua) chat messages sent,
//! updated and removed by game code, reaching a socket in the room and
//! the REST history, a socket made to follow status, friends of friends,
//! friend metadata and status, random groups, notification updates,
//! tournament attempts, and envelopes sent raw to a stream.

use std::path::PathBuf;
use std::process::Command;

use kairos_tests::{Backend, Http, TestServer, Ws, backend_tests, bearer, unique};
use serde_json::{Value, json};

backend_tests!(
    storage_and_accounts_from_lua,
    before_hook_rewrites_and_refuses,
    realtime_hooks_in_lua,
    leaderboard_and_tournament_hooks_in_lua,
    groups_and_friends_from_lua,
    listings_and_wallets_from_lua,
    account_updates_from_lua,
    notification_lists_from_lua,
    notifications_by_id_from_lua,
    notifications_to_all_from_lua,
    stream_presences_from_lua,
    authentication_and_links_from_lua,
    tokens_and_logout_from_lua,
    bans_and_disconnects_from_lua,
    account_export_and_delete_from_lua,
    utility_functions_from_lua,
    shutdown_hook_in_lua,
    chat_from_lua,
    status_follow_from_lua,
    friends_groups_notifications_and_attempts_from_lua,
    stream_send_raw_from_lua
);

/// This package's test modules.
fn modules_dir() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("lua")
        .to_string_lossy()
        .into_owned()
}

/// A server running the test modules, with limits low enough that the
/// loop and the hog are stopped quickly.
fn start(backend: &Backend) -> TestServer {
    let dir = modules_dir();
    TestServer::start_with(
        backend,
        &[
            "--runtime.path",
            &dir,
            "--runtime.lua_min_count",
            "2",
            "--kairos.runtime.lua_instruction_limit",
            "5000000",
            "--kairos.runtime.lua_memory_limit_bytes",
            "16777216",
        ],
    )
}

fn quoted(payload: &str) -> String {
    Value::String(payload.to_string()).to_string()
}

fn call(http: &Http, id: &str, auth: Option<&str>, payload: &str) -> kairos_tests::Reply {
    let path = match auth {
        Some(_) => format!("/v2/rpc/{id}"),
        None => format!("/v2/rpc/{id}?http_key=defaulthttpkey"),
    };
    http.request("POST", &path, auth, Some(&quoted(payload)))
}

/// The JSON a Lua RPC returned.
fn payload(r: &kairos_tests::Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().expect("payload")).expect("JSON payload")
}

#[test]
fn rpcs_over_http_with_the_http_key_or_a_session() {
    let s = start(&Backend::Sqlite);
    let http = s.http();
    // The http key: no user; wrapped, and unwrapped with ?unwrap.
    let r = call(&http, "lua.echo", None, r#"{"a":1}"#);
    assert_eq!(r.body, json!({ "payload": r#"{"a":1}"# }), "{}", r.text);
    let r = http.request(
        "POST",
        "/v2/rpc/LUA.Echo?http_key=defaulthttpkey&unwrap",
        None,
        Some(r#"{"raw":true}"#),
    );
    assert_eq!(r.text, r#"{"raw":true}"#);
    let who = payload(&call(&http, "lua.whoami", None, ""));
    assert_eq!(who["user_id"], "");
    assert_eq!(who["mode"], "rpc");
    // `require("util")` between modules.
    assert_eq!(who["greeting"], "hello lua");

    // A session: the context carries the caller.
    let me = http.device(&unique("lua-"));
    let who = payload(&call(&http, "lua.whoami", Some(&bearer(&me.token)), ""));
    assert_eq!(who["user_id"], json!(me.user_id()));
    assert_eq!(who["username"], json!(me.username()));
    // No such RPC: Nakama's 404.
    call(&http, "lua.nope", None, "").assert_error(404, 5);
}

#[test]
fn rpcs_over_the_socket() {
    let s = start(&Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let r = ws.request("1", "rpc", json!({ "id": "lua.echo", "payload": "hi" }));
    assert_eq!(
        r["rpc"],
        json!({ "id": "lua.echo", "payload": "hi" }),
        "{r}"
    );
    let r = ws.request("2", "rpc", json!({ "id": "lua.whoami" }));
    let who: Value = serde_json::from_str(r["rpc"]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(who["user_id"], json!(me.user_id()));
    // A Lua error: RUNTIME_FUNCTION_EXCEPTION with its message.
    let r = ws.request("3", "rpc", json!({ "id": "lua.error" }));
    assert_eq!(
        r["error"],
        json!({ "code": 7, "message": "this rpc fails" }),
        "{r}"
    );
    let r = ws.request("4", "ping", json!({}));
    assert!(r.get("pong").is_some(), "{r}");
}

#[test]
fn errors_and_limits_end_the_call_not_the_shard() {
    let s = start(&Backend::Sqlite);
    let http = s.http();
    // error("...") is INTERNAL (HTTP 500) with the message, its position
    // stripped as Nakama strips it.
    let r = call(&http, "lua.error", None, "");
    r.assert_error(500, 13);
    assert_eq!(r.message(), "this rpc fails");
    // error({message, code}) keeps its code.
    let r = call(&http, "lua.custom_error", None, "");
    r.assert_error(403, 7);
    assert_eq!(r.message(), "not allowed here");
    // An endless loop is stopped by the instruction limit, a hog by the
    // memory limit, several times over (on both shards' states).
    for _ in 0..3 {
        let r = call(&http, "lua.loop", None, "");
        r.assert_error(500, 13);
        assert_eq!(r.message(), "Lua instruction limit exceeded");
        let r = call(&http, "lua.hog", None, "");
        r.assert_error(500, 13);
        assert_eq!(r.message(), "not enough memory");
    }
    // The server goes on serving Lua.
    let r = call(&http, "lua.echo", None, "still here");
    assert_eq!(r.body, json!({ "payload": "still here" }), "{}", r.text);
}

#[test]
fn globals_are_read_only_after_the_modules_load() {
    let s = start(&Backend::Sqlite);
    let http = s.http();
    for id in ["lua.write_global", "lua.write_library"] {
        let r = call(&http, id, None, "");
        r.assert_error(500, 13);
        assert_eq!(r.message(), "attempt to modify read only table", "{id}");
    }
    // What the module set while loading is still there and unchanged.
    let v = payload(&call(&http, "lua.read_global", None, ""));
    assert_eq!(v, json!({ "name": "calls", "loaded": true }));
}

#[test]
fn nk_pure_functions_compute_what_nakama_computes() {
    let s = start(&Backend::Sqlite);
    let v = payload(&call(&s.http(), "lua.codec", None, ""));
    assert_eq!(v["b64"], "aGVsbG8=");
    assert_eq!(v["b64_back"], "hello");
    assert_eq!(v["b64url"], "__4");
    assert_eq!(v["b16"], "6869");
    assert_eq!(v["b16_back"], "hi");
    assert_eq!(v["md5"], "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(
        v["sha256"],
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(
        v["hmac"],
        "9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b"
    );
    assert_eq!(v["uuid_len"], 36);
    assert_eq!(v["uuid_round"], true);
    assert_eq!(v["cron"], 1_704_153_600);
    assert_eq!(v["time_positive"], true);
    assert!(
        v["json_error"]
            .as_str()
            .unwrap()
            .starts_with("not a valid JSON string"),
        "{v}"
    );
    assert_eq!(
        v["bad_arg"],
        "bad argument #1 to base16_encode (expects string)"
    );
}

fn storage_and_accounts_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let auth = bearer(&me.token);
    let v = payload(&call(
        &http,
        "lua.storage",
        Some(&auth),
        r#"{"key":"k1","value":{"hp":3}}"#,
    ));
    assert_eq!(v["value"], json!({ "hp": 3 }));
    assert_eq!(v["read_before"], 1);
    assert_eq!(v["listed"], 1);
    assert_eq!(v["read_after"], 0);
    assert_eq!(v["version"].as_str().unwrap().len(), 32, "{v}");

    let v = payload(&call(&http, "lua.account", Some(&auth), ""));
    assert_eq!(
        v,
        json!({ "username": me.username(), "users": 1, "by_name": true })
    );

    let v = payload(&call(&http, "lua.notify_and_pay", Some(&auth), ""));
    assert_eq!(v, json!({ "coins": 10 }));
    let r = http.get("/v2/notification?limit=10", &me.token);
    assert_eq!(
        r.body["notifications"][0]["subject"], "from lua",
        "{}",
        r.text
    );
    let r = http.get("/v2/account", &me.token);
    assert_eq!(r.body["wallet"], r#"{"coins":10}"#, "{}", r.text);

    // nk.multi_update: every part in one call; a failing part keeps the
    // others out; Nakama's argument error for a bad user id.
    let v = payload(&call(&http, "lua.multi", Some(&auth), ""));
    assert_eq!(
        (&v["ack_key"], &v["ack_user"], &v["gems"]),
        (&json!("new"), &json!(me.user_id()), &json!(3)),
        "{v}"
    );
    assert_eq!(
        (&v["display_name"], &v["wallet_gems"], &v["new"], &v["old"]),
        (&json!("Lua Multi"), &json!(3), &json!(1), &json!(0)),
        "{v}"
    );
    assert_eq!(v["metadata"], json!({ "from": "lua" }), "{v}");
    assert!(
        v["refused"].as_str().unwrap().ends_with(
            "error running multi update: Storage delete rejected - not found, version check failed, or permission denied."
        ),
        "{v}"
    );
    assert_eq!(
        v["bad_id"],
        "bad argument #1 to multi_update (expects user_id to be a valid ID)"
    );
    assert_eq!(v["empty"], true);

    // A leaderboard created and written by Lua, listed over REST.
    let board = unique("lua-board");
    let v = payload(&call(
        &http,
        "lua.leaderboard",
        Some(&auth),
        &json!({ "id": board }).to_string(),
    ));
    assert_eq!(v["score"], 12, "{v}");
    assert_eq!(v["num_score"], 2, "{v}");
    assert_eq!(
        v["refused"],
        "bad argument #4 to leaderboard_create (expects operator to be 'best', 'set', 'decr' or 'incr')"
    );
    let r = http.get(&format!("/v2/leaderboard/{board}?limit=10"), &me.token);
    assert_eq!(r.body["records"][0]["score"], "12", "{}", r.text);
    assert_eq!(
        r.body["records"][0]["metadata"], r#"{"via":"lua"}"#,
        "{}",
        r.text
    );

    // An nk call with a bad argument is a Lua error with Nakama's words.
    let r = call(&http, "lua.account", None, "");
    r.assert_error(500, 13);
    assert_eq!(
        r.message(),
        "bad argument #1 to account_get_id (string expected, got nil)"
    );
}

fn before_hook_rewrites_and_refuses(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let path = |name: &str| format!("/v2/account/authenticate/custom?create=true&username={name}");
    // Refused with the hook's code.
    let r = http.post_basic(&path(&unique("u")), &json!({ "id": "lua-refused" }));
    r.assert_error(400, 3);
    assert_eq!(
        r.message(),
        "custom ids starting with lua-refused are refused"
    );
    // Rewritten: the account gets the hook's id.
    let r = http.post_basic(&path(&unique("u")), &json!({ "id": "lua-rewrite-me" }));
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_string();
    let r = http.get("/v2/account", &token);
    assert_eq!(r.body["custom_id"], "lua-rewritten-id", "{}", r.text);
    // Others pass unchanged.
    let id = unique("lua-plain-");
    let r = http.post_basic(&path(&unique("u")), &json!({ "id": id }));
    let token = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(http.get("/v2/account", &token).body["custom_id"], json!(id));
}

/// Sends a chat message whose content carries `rt_hooks.lua`'s marker.
/// The value of a user's object `key` in `lua_rt_hooks`, as JSON.
fn stored(http: &Http, token: &str, user_id: &str, key: &str) -> Value {
    let r = http.send(
        "POST",
        "/v2/storage",
        token,
        &json!({ "object_ids": [
            { "collection": "lua_rt_hooks", "key": key, "user_id": user_id }
        ] }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["objects"][0]["value"].as_str().expect("object")).unwrap()
}

fn marked_chat(ws: &mut Ws, cid: &str, channel: &str, content: Value) -> Value {
    ws.request(
        cid,
        "channel_message_send",
        json!({ "channel_id": channel, "content": content.to_string() }),
    )
}

fn realtime_hooks_in_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let (a, b) = (http.device(&unique("lua-")), http.device(&unique("lua-")));
    let mut wa = Ws::open(&s.addr, &a.token, "");
    let mut wb = Ws::open(&s.addr, &b.token, "");

    // Before ChannelJoin (registered by Nakama's CamelCase name): the
    // hook's table rewrites the target.
    let x = unique("x");
    let r = wa.request(
        "j1",
        "channel_join",
        json!({ "target": format!("lua-rt-alias-{x}"), "type": 1 }),
    );
    assert_eq!(
        r["channel"]["room_name"],
        json!(format!("lua-rt-room-{x}")),
        "{r}"
    );
    let channel = r["channel"]["id"].as_str().unwrap().to_string();
    let a_session = r["channel"]["self"]["session_id"].clone();
    assert!(a_session.is_string(), "{r}");
    let j1 = r.clone();
    let r = wb.request(
        "j2",
        "channel_join",
        json!({ "target": format!("lua-rt-room-{x}"), "type": 1 }),
    );
    assert_eq!(r["channel"]["id"], json!(channel), "{r}");
    // The after hook got the reply from the channel's owner, as the
    // client did (the join the before hook rewrote). The session's next
    // message is served once the hook ran.
    assert!(wa.request("j1p", "ping", json!({})).get("pong").is_some());
    assert_eq!(
        stored(&http, &a.token, &a.user_id(), "channel_join"),
        json!({ "out": j1 })
    );

    // Rewritten by the hook (registered in lower case): the other member
    // gets what the hook made of it.
    let r = marked_chat(
        &mut wa,
        "1",
        &channel,
        json!({ "lua_rt_hook": "rewrite", "text": "hi" }),
    );
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    let got = wb.next_with("channel_message");
    let content: Value =
        serde_json::from_str(got["channel_message"]["content"].as_str().unwrap()).unwrap();
    // The before hook's envelope carries the request's cid, as Nakama's.
    assert_eq!(
        content,
        json!({ "rewritten_by": "before", "text": "HI", "user_id": a.user_id(), "cid": "1" })
    );

    // Refused by error(): RUNTIME_FUNCTION_EXCEPTION with its message,
    // whatever code the error carries; a table naming another message is
    // refused with Nakama's text. Nothing is relayed; the session goes on.
    let r = marked_chat(&mut wa, "2", &channel, json!({ "lua_rt_hook": "reject" }));
    assert_eq!(
        r["error"],
        json!({ "code": 7, "message": "refused by the Lua realtime hook" }),
        "{r}"
    );
    let r = marked_chat(
        &mut wa,
        "3",
        &channel,
        json!({ "lua_rt_hook": "reject_code" }),
    );
    assert_eq!(
        r["error"],
        json!({ "code": 7, "message": "refused with a code" }),
        "{r}"
    );
    let r = marked_chat(&mut wa, "4", &channel, json!({ "lua_rt_hook": "retype" }));
    assert_eq!(
        r["error"],
        json!({ "code": 7, "message": "Could not complete runtime Before function." }),
        "{r}"
    );
    // An unmarked message passes as sent, and is the next one relayed.
    let plain = json!({ "text": "plain" });
    let r = marked_chat(&mut wa, "5", &channel, plain.clone());
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    let got = wb.next_with("channel_message");
    assert_eq!(got["channel_message"]["content"], json!(plain.to_string()));

    // After: the hook gets (ctx, the reply the client got, the envelope
    // served, both with the request's cid) and writes an object. Messages of a session are served in order, hook included,
    // so the ping's answer comes after the hook ran.
    let key = unique("k");
    let sent = json!({ "lua_rt_hook": "after", "key": key }).to_string();
    let r = wa.request(
        "6",
        "channel_message_send",
        json!({ "channel_id": channel, "content": sent }),
    );
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    let ack = r;
    assert!(wa.request("7", "ping", json!({})).get("pong").is_some());
    let r = http.send(
        "POST",
        "/v2/storage",
        &a.token,
        &json!({ "object_ids": [
            { "collection": "lua_rt_hooks", "key": key, "user_id": a.user_id() }
        ] }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let value: Value =
        serde_json::from_str(r.body["objects"][0]["value"].as_str().expect("object")).unwrap();
    assert_eq!(
        value,
        json!({
            "mode": "after",
            "channel_id": channel,
            "content": sent,
            "out": ack,
            "cid": "6",
            "session_id": a_session,
        })
    );
    assert_eq!(ack["cid"], json!("6"), "{ack}");
    // ... and the message itself went out as usual.
    let got = wb.next_with("channel_message");
    assert_eq!(got["channel_message"]["content"], json!(sent));
    // A refused message runs no after hook.
    let key = unique("k");
    marked_chat(
        &mut wa,
        "8",
        "no-such-channel",
        json!({ "lua_rt_hook": "after", "key": key }),
    );
    assert!(wa.request("9", "ping", json!({})).get("pong").is_some());
    let r = http.send(
        "POST",
        "/v2/storage",
        &a.token,
        &json!({ "object_ids": [
            { "collection": "lua_rt_hooks", "key": key, "user_id": a.user_id() }
        ] }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({}), "{}", r.text);

    // After ChannelLeave: the reply is the empty envelope, with its cid.
    let r = wb.request("l1", "channel_leave", json!({ "channel_id": channel }));
    assert_eq!(r, json!({ "cid": "l1" }));
    assert!(wb.request("l2", "ping", json!({})).get("pong").is_some());
    assert_eq!(
        stored(&http, &b.token, &b.user_id(), "leave"),
        json!({
            "out": { "cid": "l1" },
            "input": { "cid": "l1", "channel_leave": { "channel_id": channel } },
        })
    );
    let r = wb.request(
        "l3",
        "channel_join",
        json!({ "target": format!("lua-rt-room-{x}"), "type": 1 }),
    );
    assert_eq!(r["channel"]["id"], json!(channel), "{r}");

    // After MatchCreate and MatchJoin: the reply comes from the match's
    // owner; the hook gets it as the client did. A join that fails (a bad
    // id answered at once, an unknown match answered by its owner) runs
    // no after hook.
    let name = unique("lua-rt-");
    let r = wa.request("m1", "match_create", json!({ "name": name }));
    let match_id = r["match"]["match_id"]
        .as_str()
        .expect("match id")
        .to_string();
    assert!(wa.request("m1p", "ping", json!({})).get("pong").is_some());
    assert_eq!(
        stored(&http, &a.token, &a.user_id(), "match_create"),
        json!({ "out": r, "input": { "cid": "m1", "match_create": { "name": name } } })
    );
    let r = wb.request(
        "mj",
        "match_join",
        json!({ "match_id": match_id, "metadata": { "lua_rt": "join_ok" } }),
    );
    assert_eq!(r["match"]["match_id"], json!(match_id), "{r}");
    assert!(wb.request("mjp", "ping", json!({})).get("pong").is_some());
    assert_eq!(
        stored(&http, &b.token, &b.user_id(), "join_ok"),
        json!({ "out": r })
    );
    let unknown = format!("{}.", uuid::Uuid::new_v4());
    for (cid, id) in [("mb1", "nope"), ("mb2", unknown.as_str())] {
        let r = wb.request(
            cid,
            "match_join",
            json!({ "match_id": id, "metadata": { "lua_rt": "join_bad" } }),
        );
        assert!(r.get("error").is_some(), "{r}");
    }
    assert!(wb.request("mbp", "ping", json!({})).get("pong").is_some());
    let r = http.send(
        "POST",
        "/v2/storage",
        &b.token,
        &json!({ "object_ids": [
            { "collection": "lua_rt_hooks", "key": "join_bad", "user_id": b.user_id() }
        ] }),
    );
    assert_eq!(r.body, json!({}), "{}", r.text);

    // After StatusFollow: naming no one, Nakama's hook gets no reply
    // (though the client gets one); naming a user, the status.
    let r = wa.request("s1", "status_follow", json!({}));
    assert!(r.get("status").is_some(), "{r}");
    let r2 = wa.request("s2", "status_follow", json!({ "user_ids": [b.user_id()] }));
    assert!(r2.get("status").is_some(), "{r2}");
    assert!(wa.request("s3", "ping", json!({})).get("pong").is_some());
    assert_eq!(
        stored(&http, &a.token, &a.user_id(), "status_follow_0"),
        json!({ "out": "nil" })
    );
    assert_eq!(
        stored(&http, &a.token, &a.user_id(), "status_follow_1"),
        json!({ "out": r2 })
    );

    // After PartyCreate: the party's owner answers.
    let r = wa.request(
        "p1",
        "party_create",
        json!({ "open": true, "max_size": 2, "label": r#"{"lua_rt":true}"# }),
    );
    assert!(r["party"]["party_id"].is_string(), "{r}");
    assert!(wa.request("p2", "ping", json!({})).get("pong").is_some());
    assert_eq!(
        stored(&http, &a.token, &a.user_id(), "party_create"),
        json!({ "out": r })
    );

    // After MatchDataSend: no reply, so `out` is nil, as in Nakama.
    wa.send_json(&json!({ "cid": "m2", "match_data_send": {
        "match_id": match_id, "op_code": "4242", "data": "aGk=" } }));
    assert!(wa.request("m3", "ping", json!({})).get("pong").is_some());
    assert_eq!(
        stored(&http, &a.token, &a.user_id(), "match_data"),
        json!({
            "out_is_nil": true,
            "input": { "cid": "m2", "match_data_send": {
                "match_id": match_id, "op_code": "4242", "data": "aGk=" } },
        })
    );

    // Disabled (the hook returns nil): Nakama's error, then the session
    // ends; the message is not relayed (the other member's next message
    // is its own).
    let r = marked_chat(&mut wa, "10", &channel, json!({ "lua_rt_hook": "disable" }));
    assert_eq!(
        r["error"],
        json!({ "code": 1, "message": "Requested resource was not found." }),
        "{r}"
    );
    // The server closes the session (by a close frame or a reset); the
    // message was not relayed, to its sender either.
    let (close, seen) = wa.until_close();
    assert!(
        seen.iter()
            .filter_map(|v| v["channel_message"]["content"].as_str())
            .all(|c| !c.contains("disable")),
        "{seen:?} {close:?}"
    );
    let r = marked_chat(&mut wb, "11", &channel, json!({ "text": "still here" }));
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    let got = wb.next_with("channel_message");
    assert!(
        got["channel_message"]["content"]
            .as_str()
            .unwrap()
            .contains("still here"),
        "{got}"
    );
}

#[test]
fn a_failing_module_stops_the_start_naming_its_file_and_line() {
    kairos_tests::build_server_binary();
    let dir = std::env::temp_dir().join(unique("kairos-lua-bad-"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("broken.lua"),
        "local nk = require(\"nakama\")\n\nlocal x = nil + 1\n",
    )
    .unwrap();
    let out = Command::new(kairos_tests::server::binary())
        .args(["--data_dir", &dir.to_string_lossy(), "--runtime.path"])
        .arg(&dir)
        .args(["--socket.port", "0", "--shards", "1"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.lua:3:"), "{stderr}");
    assert!(stderr.contains("arithmetic on a nil value"), "{stderr}");
    // A syntax error too.
    std::fs::write(dir.join("broken.lua"), "local = 1\n").unwrap();
    let out = Command::new(kairos_tests::server::binary())
        .args(["--data_dir", &dir.to_string_lossy(), "--runtime.path"])
        .arg(&dir)
        .args(["--socket.port", "0", "--shards", "1"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.lua:1:"), "{stderr}");
    // A realtime hook on a name Nakama would never match (the envelope
    // field rather than the message type).
    std::fs::write(
        dir.join("broken.lua"),
        "local nk = require(\"nakama\")\nnk.register_rt_before(function(c, e) return e end, \"channel_join\")\n",
    )
    .unwrap();
    let out = Command::new(kairos_tests::server::binary())
        .args(["--data_dir", &dir.to_string_lossy(), "--runtime.path"])
        .arg(&dir)
        .args(["--socket.port", "0", "--shards", "1"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("realtime message \"channel_join\", which is not one a client sends"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_once_runs_once_with_the_server() {
    let s = start(&Backend::Sqlite);
    let http = s.http();
    // However many calls and states, the function ran once.
    for _ in 0..4 {
        let v = payload(&call(&http, "lua.once", None, ""));
        assert_eq!(v, json!({ "read": 1, "listed": 1, "mode": "run_once" }));
    }
}

#[test]
fn an_authoritative_match_written_in_lua() {
    let s = start(&Backend::Sqlite);
    let http = s.http();
    let r = call(&http, "lua.create_arena", None, "arena-1");
    let v = payload(&r);
    let id = v["match_id"].as_str().unwrap().to_string();
    assert_eq!(v["signal"], "signal:ping:0", "{v}");
    // Listed with match_init's label.
    let me = http.device(&unique("lua-"));
    let r = http.get("/v2/match?authoritative=true&limit=10", &me.token);
    let listed = r.body["matches"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|m| m["match_id"] == json!(id) && m["label"] == "arena-1"),
        "{}",
        r.text
    );
    // match_join_attempt refuses with its reason.
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let r = ws.request(
        "1",
        "match_join",
        json!({ "match_id": id, "metadata": { "refuse": "yes" } }),
    );
    assert_eq!(r["error"]["message"], "refused by lua", "{r}");
    // A join is accepted; a message comes back through match_loop's
    // broadcast with its op code + 100.
    let r = ws.request("2", "match_join", json!({ "match_id": id }));
    assert_eq!(r["match"]["match_id"], json!(id), "{r}");
    ws.send_json(&json!({ "match_data_send": { "match_id": id, "op_code": "5", "data": "aGk=" } }));
    let d = ws.next_with("match_data");
    assert_eq!(d["match_data"]["op_code"], "105", "{d}");
    let text = format!("hi@{id}");
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(text);
    assert_eq!(d["match_data"]["data"], json!(expected), "{d}");
    // match_join's label update is seen by listings.
    let r = http.get("/v2/match?authoritative=true&limit=10", &me.token);
    assert!(r.text.contains(r#"joined\":1"#), "{}", r.text);
}

/// The Lua arena of the match bench (`benches/lua/`) plays the Rust
/// `example.arena`'s game: an input moves its sender, every tick
/// broadcasts `{"tick", "players": {"<id>": [x, y]}}` with op code 2, and
/// a full match refuses a join.
#[test]
fn the_bench_arena_in_lua_plays_as_the_rust_one() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/lua");
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &["--runtime.path", &dir.to_string_lossy()],
    );
    let http = s.http();
    let v = payload(&call(
        &http,
        "bench.create_arena",
        None,
        r#"{"tick_rate":30,"max_players":2}"#,
    ));
    let id = v["match_id"].as_str().expect("match_id").to_string();
    let players: Vec<_> = (0..3).map(|_| http.device(&unique("lua-"))).collect();
    let mut sockets: Vec<Ws> = players
        .iter()
        .map(|p| Ws::open(&s.addr, &p.token, ""))
        .collect();
    for (i, ws) in sockets.iter_mut().enumerate().take(2) {
        let r = ws.request(&format!("j{i}"), "match_join", json!({ "match_id": id }));
        assert_eq!(r["match"]["match_id"], json!(id), "{r}");
    }
    let r = sockets[2].request("j2", "match_join", json!({ "match_id": id }));
    assert_eq!(r["error"]["message"], "match full", "{r}");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let input = b64.encode(r#"{"dx":1,"dy":0}"#);
    sockets[0].send_json(
        &json!({ "match_data_send": { "match_id": id, "op_code": "1", "data": input } }),
    );
    let me = players[0].user_id();
    let mut last_tick = -1;
    for _ in 0..300 {
        let d = sockets[0].next_with("match_data");
        assert_eq!(d["match_data"]["op_code"], "2", "{d}");
        let data = b64
            .decode(d["match_data"]["data"].as_str().unwrap())
            .unwrap();
        let state: Value = serde_json::from_slice(&data).unwrap();
        let tick = state["tick"].as_i64().expect("a tick");
        assert!(tick > last_tick, "{state}");
        last_tick = tick;
        // Both players, or only the first in states from before the second
        // joined.
        let n = state["players"].as_object().unwrap().len();
        assert!(n == 1 || n == 2, "{state}");
        if state["players"][&me] == json!([1, 0]) {
            return;
        }
    }
    panic!("the input never moved its sender");
}

fn leaderboard_and_tournament_hooks_in_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let auth = bearer(&me.token);
    let (board, tournament) = (unique("lua-lb-"), unique("lua-tn-"));
    let v = payload(&call(
        &http,
        "lua.deadlines_setup",
        Some(&auth),
        &json!({ "board": board, "tournament": tournament }).to_string(),
    ));
    let expiry = v["expiry"].as_i64().expect("the record's expiry");
    // Every hook hears the end of the period the writes were in (or, had
    // the machine stalled past the next one too, the latest).
    let ids = json!({ "board": board, "tournament": tournament }).to_string();
    let start = std::time::Instant::now();
    let heard = loop {
        let heard = payload(&call(&http, "lua.hooks", None, &ids));
        let has = |hook: &str| heard[hook]["reset"].as_i64() >= Some(expiry);
        if has("leaderboard_reset") && has("tournament_end") && has("tournament_reset") {
            break heard;
        }
        assert!(start.elapsed().as_secs() < 60, "hooks not heard: {heard}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let lb = &heard["leaderboard_reset"];
    assert_eq!(lb["mode"], "leaderboard_reset", "{lb}");
    assert_eq!(lb["operator"], "increment", "{lb}");
    assert!(lb["next_reset"].as_str().is_some(), "{lb}");
    for hook in ["tournament_end", "tournament_reset"] {
        let c = &heard[hook];
        assert_eq!(c["mode"], hook, "{c}");
        assert_eq!(c["end"], c["reset"], "{c}");
        assert!(c["size"] == 1 || c["reset"] != expiry, "{c}");
        assert_eq!(c["title"], "Lua cup", "{c}");
    }
    let r = call(
        &http,
        "lua.deadlines_teardown",
        None,
        &json!({ "board": board, "tournament": tournament }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

fn groups_and_friends_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let other = http.device(&unique("lua-"));
    let third = http.device(&unique("lua-"));
    let auth = bearer(&me.token);
    let name = unique("lua-group-");
    let v = payload(&call(
        &http,
        "social.groups",
        Some(&auth),
        &json!({ "name": name, "other_id": other.user_id(), "other_username": other.username() })
            .to_string(),
    ));
    let id = v["id"].as_str().expect("the group's id").to_string();
    // Game code that names no creator: the owner (see docs/lua.md).
    assert_eq!(v["creator_id"], json!(me.user_id()), "{v}");
    assert_eq!(
        (&v["open"], &v["max_count"], &v["tier"]),
        (&json!(true), &json!(10), &json!(1)),
        "{v}"
    );
    assert_eq!(v["description"], "updated in lua", "{v}");
    // Joined an open group; promoted to admin, demoted to member; kicked.
    assert_eq!(
        (&v["members"], &v["promoted_state"], &v["demoted_state"]),
        (&json!(2), &json!(1), &json!(2)),
        "{v}"
    );
    assert_eq!(v["after_kick"], 1, "{v}");
    // Joined again and left.
    assert_eq!((&v["rejoined"], &v["after_leave"]), (&json!(2), &json!(1)));
    assert_eq!(v["banned"], json!(other.user_id()), "{v}");
    assert_eq!((&v["my_state"], &v["my_group"]), (&json!(0), &json!(name)));
    assert_eq!(
        (&v["listed"], &v["cursor_is_nil"]),
        (&json!(1), &json!(true))
    );
    assert_eq!(
        v["bad_owner"],
        "bad argument #1 to group_create (expects user ID to be a valid identifier)"
    );
    assert_eq!(
        v["root_user"],
        "bad argument #2 to group_users_add (cannot add the root user)"
    );
    assert_eq!(
        v["open_missing"],
        "bad argument #3 to groups_list (value expected)"
    );
    assert_eq!(
        v["bad_limit"],
        "bad argument #2 to user_groups_list (expects limit to be 1-100)"
    );
    assert_eq!(
        v["not_admin"],
        "error while trying to update group: Group not found or permission denied."
    );
    // The group made in Lua is listed over REST, with its members.
    let r = http.get(&format!("/v2/group?name={name}&limit=10"), &other.token);
    assert_eq!(r.body["groups"][0]["id"], json!(id), "{}", r.text);
    assert_eq!(r.body["groups"][0]["description"], "updated in lua");
    // Its one member left (a ban is listed only when asked for).
    let r = http.get(&format!("/v2/group/{id}/user?limit=10"), &me.token);
    let users = r.body["group_users"].as_array().expect("members");
    assert_eq!(users.len(), 1, "{}", r.text);
    assert_eq!(users[0]["user"]["id"], json!(me.user_id()), "{}", r.text);
    let r = http.get(&format!("/v2/group/{id}/user?limit=10&state=4"), &me.token);
    assert_eq!(
        r.body["group_users"][0]["user"]["id"],
        json!(other.user_id()),
        "{}",
        r.text
    );
    let v = payload(&call(
        &http,
        "social.group_delete",
        None,
        &json!({ "id": id }).to_string(),
    ));
    assert_eq!(v["found"], 0);
    let r = http.get(&format!("/v2/group?name={name}&limit=10"), &me.token);
    assert!(
        r.body["groups"].as_array().is_none_or(Vec::is_empty),
        "{}",
        r.text
    );

    // Friends: an invite, accepted; a block by username.
    let v = payload(&call(
        &http,
        "social.friends",
        Some(&auth),
        &json!({
            "other_id": other.user_id(),
            "other_username": other.username(),
            "third_username": third.username(),
        })
        .to_string(),
    ));
    assert_eq!(
        (&v["invited_state"], &v["invited_note"]),
        (&json!(1), &json!("lua"))
    );
    assert_eq!(v["friend"], json!(other.user_id()), "{v}");
    assert_eq!(v["friend_online"], false, "{v}");
    assert_eq!(v["blocked"], json!(third.username()), "{v}");
    assert_eq!(
        v["self_add"],
        "bad argument #3 to friends_add (cannot add self as friend)"
    );
    assert_eq!(
        v["bad_limit"],
        "bad argument #2 to friends_list (expects limit to be 1-1000)"
    );
    assert_eq!(
        v["bad_state"],
        "bad argument #3 to friends_list (expects state to be 0-3)"
    );
    assert_eq!(v["nobody"], "no valid ID or username was provided");
    // Seen over REST by both sides.
    let r = http.get("/v2/friend?limit=10", &me.token);
    let states: Vec<(Value, Value)> = r.body["friends"]
        .as_array()
        .expect("friends")
        .iter()
        .map(|f| (f["user"]["id"].clone(), f["state"].clone()))
        .collect();
    assert!(
        states.contains(&(json!(other.user_id()), json!(0))),
        "{}",
        r.text
    );
    assert!(
        states.contains(&(json!(third.user_id()), json!(3))),
        "{}",
        r.text
    );
    let r = http.get("/v2/friend?limit=10", &other.token);
    assert_eq!(r.body["friends"][0]["user"]["id"], json!(me.user_id()));
    assert_eq!(r.body["friends"][0]["state"], 0, "{}", r.text);
    // The invite and its acceptance were notified, as REST's are.
    let r = http.get("/v2/notification?limit=10", &other.token);
    assert!(r.text.contains(r#""code":-2"#), "{}", r.text);
    let r = http.get("/v2/notification?limit=10", &me.token);
    assert!(r.text.contains(r#""code":-3"#), "{}", r.text);
    let v = payload(&call(
        &http,
        "social.unfriend",
        Some(&auth),
        &json!({ "other_id": other.user_id() }).to_string(),
    ));
    assert_eq!(v["left"], 1, "{v}");
    let r = http.get("/v2/friend?limit=10", &other.token);
    assert!(
        r.body["friends"].as_array().is_none_or(Vec::is_empty),
        "{}",
        r.text
    );
}

fn listings_and_wallets_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let other = http.device(&unique("lua-"));
    let auth = bearer(&me.token);
    let (board, tournament) = (unique("lua-slb-"), unique("lua-stn-"));
    let ids = json!({ "board": board, "tournament": tournament, "other_id": other.user_id() })
        .to_string();
    let v = payload(&call(&http, "social.boards", Some(&auth), &ids));
    assert_eq!(v["board_listed"], true, "{v}");
    assert_eq!(
        (&v["board_sort"], &v["board_operator"]),
        (&json!("1"), &json!("best"))
    );
    assert_eq!(v["by_id"], 1, "{v}");
    // A page of one, best first, the caller's own record beside it.
    assert_eq!(v["first"], json!(other.user_id()), "{v}");
    assert_eq!(
        (&v["first_score"], &v["owner_score"]),
        (&json!(70), &json!(50))
    );
    assert_eq!(
        (&v["has_next"], &v["prev_is_nil"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(v["hay"], 2, "{v}");
    // An empty owner list: one empty table back, as Nakama returns.
    assert_eq!(v["empty_count"], 1, "{v}");
    assert_eq!(
        (
            &v["tn_title"],
            &v["tn_category"],
            &v["tn_can_enter"],
            &v["tn_cup"]
        ),
        (&json!("Social cup"), &json!(3), &json!(true), &json!(true)),
        "{v}"
    );
    assert_eq!(v["tn_join_required"], false, "{v}");
    assert_eq!(
        (&v["tn_listed"], &v["tn_cursor_is_nil"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        (&v["tn_records"], &v["tn_top"]),
        (&json!(2), &json!(9)),
        "{v}"
    );
    assert_eq!(v["tn_hay"], 2, "{v}");
    assert_eq!(v["tn_after_delete"], 1, "{v}");
    assert_eq!(
        v["no_times"],
        "bad argument #3 to tournament_list (startTime must be >= -1)"
    );
    assert_eq!(
        v["bad_categories"],
        "bad argument #2 to tournament_list (categoryEnd must be >= categoryStart)"
    );
    assert_eq!(
        v["bad_hay_limit"],
        "bad argument #3 to leaderboard_records_haystack (limit must be 1-100)"
    );
    // A listing from rank 2's cursor starts at rank 2; rank 1 is the
    // first page; with ranks off there is no rank to start from.
    assert_eq!(v["from_two"], json!(me.user_id()), "{v}");
    assert_eq!(v["from_two_rank"], 2, "{v}");
    assert_eq!(v["rank_one"], "", "{v}");
    assert_eq!(
        v["bad_rank"],
        "bad argument #2 to leaderboard_records_list_cursor_from_rank (invalid rank - must be > 1)"
    );
    assert!(
        v["unranked"]
            .as_str()
            .unwrap()
            .starts_with("failed to get cursor from rank: rank entry 1 not found"),
        "{v}"
    );
    assert_eq!(
        v["not_a_tournament"],
        "error disabling tournament ranks: tournament not found"
    );
    assert_eq!(
        v["bad_list_limit"],
        "bad argument #1 to leaderboard_list (limit must be 1-100)"
    );
    assert_eq!(
        v["bad_owner"],
        "bad argument #2 to tournament_records_list (expects each owner ID to be a valid identifier)"
    );
    // What Lua wrote and deleted, seen over REST.
    let r = http.get(&format!("/v2/leaderboard/{board}?limit=10"), &me.token);
    assert_eq!(
        r.body["records"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.text
    );
    let r = http.get(&format!("/v2/tournament/{tournament}?limit=10"), &me.token);
    let records = r.body["records"].as_array().expect("records");
    assert_eq!(records.len(), 1, "{}", r.text);
    assert_eq!(records[0]["owner_id"], json!(me.user_id()), "{}", r.text);
    let v = payload(&call(&http, "social.boards_teardown", None, &ids));
    assert_eq!(v, json!({ "boards": 0, "tournaments": 0 }));

    // Wallets: two users at once, with a ledger entry edited from Lua.
    let v = payload(&call(&http, "social.wallets", Some(&auth), &ids));
    assert_eq!(v["results"], 2, "{v}");
    assert_eq!((&v["updated"], &v["previous"]), (&json!(5), &json!(0)));
    assert_eq!(
        (&v["items"], &v["change"], &v["cursor"]),
        (&json!(1), &json!(5), &json!(""))
    );
    assert_eq!(v["edited_note"], "edited", "{v}");
    assert_eq!(
        (&v["merged_why"], &v["merged_note"]),
        (&json!("lua"), &json!("edited")),
        "{v}"
    );
    assert_eq!(
        v["no_changeset"],
        "bad argument #1 to wallets_update (expects changeset to be supplied)"
    );
    assert_eq!(
        v["bad_user"],
        "bad argument #1 to wallets_update (expects user_id to be a valid ID)"
    );
    assert_eq!(
        v["bad_ledger_id"],
        "bad argument #1 to wallet_ledger_update (expects a valid id)"
    );
    assert_eq!(
        v["bad_ledger_limit"],
        "bad argument #1 to wallet_ledger_list (expects limit to be 0-100)"
    );
    let r = http.get("/v2/account", &me.token);
    assert_eq!(r.body["wallet"], r#"{"gems":5}"#, "{}", r.text);
    let r = http.get("/v2/account", &other.token);
    assert_eq!(r.body["wallet"], r#"{"gems":2}"#, "{}", r.text);
}

/// A local HTTP server for `nk.http_request`: answers `/big` with 2,000
/// bytes, `/missing` with 404, and anything else with 201 and the request
/// it read (head and body); counts the connections it accepted.
struct EchoServer {
    addr: std::net::SocketAddr,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl EchoServer {
    fn start() -> EchoServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(32) {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Self::answer(&mut stream);
            }
        });
        EchoServer { addr, accepted }
    }

    fn answer(stream: &mut std::net::TcpStream) {
        use std::io::{Read, Write};
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = stream.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let request_line = head.lines().next().unwrap_or_default();
        let (status, body) = if request_line.contains(" /big ") {
            ("200 OK", "x".repeat(2000))
        } else if request_line.contains(" /missing ") {
            ("404 Not Found", "nothing here".to_string())
        } else {
            let body = String::from_utf8_lossy(&buf[head_end..head_end + length]);
            ("201 Created", format!("{head}{body}"))
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nx-reply: pong\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A local server that accepts connections and never answers.
fn silent_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            held.push(stream);
        }
        std::thread::sleep(std::time::Duration::from_secs(120));
    });
    addr
}

/// What `http.request` (tests/lua/http.lua) returned for `request`.
fn http_request(http: &Http, request: Value) -> Value {
    payload(&call(http, "http.request", None, &request.to_string()))
}

#[test]
fn http_request_reaches_an_allowed_local_server() {
    let dir = modules_dir();
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &[
            "--runtime.path",
            &dir,
            "--kairos.runtime.http_request_allow_private",
            "true",
            "--kairos.runtime.http_request_max_response_bytes",
            "1000",
        ],
    );
    let http = s.http();
    let echo = EchoServer::start();
    let base = format!("http://{}", echo.addr);
    let v = http_request(
        &http,
        json!({
            "url": format!("{base}/echo?q=1"),
            "method": "post",
            "headers": { "X-Kairos": "yes", "Content-Type": "text/plain" },
            "body": "ping",
        }),
    );
    assert_eq!(v["code"], 201, "{v}");
    // Header names as Go's client gives them to Nakama's Lua.
    assert_eq!(v["headers"]["X-Reply"], "pong", "{v}");
    let body = v["body"].as_str().unwrap();
    assert!(body.starts_with("POST /echo?q=1 HTTP/1.1\r\n"), "{body}");
    assert!(
        body.to_ascii_lowercase().contains("x-kairos: yes"),
        "{body}"
    );
    assert!(body.ends_with("\r\n\r\nping"), "{body}");
    // A status of error is a response, not a Lua error.
    let v = http_request(&http, json!({ "url": format!("{base}/missing") }));
    assert_eq!(v["code"], 404, "{v}");
    assert_eq!(v["body"], "nothing here", "{v}");
    // Past kairos.runtime.http_request_max_response_bytes.
    let v = http_request(&http, json!({ "url": format!("{base}/big") }));
    let e = v["error"].as_str().unwrap_or_default();
    assert!(e.starts_with("HTTP response body error: "), "{v}");
    // A server that never answers: the request's timeout ends the call
    // with Nakama's error, and the shard goes on serving.
    let silent = silent_server();
    let v = http_request(
        &http,
        json!({ "url": format!("http://{silent}/"), "timeout": 300 }),
    );
    let e = v["error"].as_str().unwrap_or_default();
    assert!(e.starts_with("HTTP request error: "), "{v}");
    assert!(e.contains("timed out"), "{v}");
    let r = call(&http, "lua.echo", None, "after");
    assert_eq!(r.body["payload"], "after", "{}", r.text);
}

#[test]
fn http_request_refuses_internal_addresses_by_default() {
    let s = start(&Backend::Sqlite);
    let http = s.http();
    let echo = EchoServer::start();
    let port = echo.addr.port();
    // Loopback first: the private ranges below are only asked for once
    // it is known that the check runs before any connection.
    let refused = |url: String| {
        let v = http_request(&http, json!({ "url": url }));
        let e = v["error"].as_str().unwrap_or_default().to_string();
        assert!(e.starts_with("HTTP request error: "), "{url}: {v}");
        assert!(e.contains("is not allowed"), "{url}: {v}");
    };
    refused(format!("http://127.0.0.1:{port}/"));
    refused(format!("http://localhost:{port}/"));
    refused(format!("http://[::1]:{port}/"));
    refused(format!("http://0.0.0.0:{port}/"));
    assert_eq!(echo.accepted(), 0, "a refused request reached the server");
    refused("http://10.0.0.1/".into());
    refused("http://192.168.1.1/".into());
    refused("http://169.254.169.254/latest/meta-data/".into());
    refused("http://[::ffff:10.0.0.1]/".into());
    // The arguments, checked as Nakama checks them.
    let v = payload(&call(&http, "http.arguments", None, ""));
    assert_eq!(
        v["no_url"],
        "bad argument #1 to http_request (expects URL string)"
    );
    assert_eq!(
        v["bad_method"],
        "bad argument #2 to http_request (expects method to be one of: 'get', 'post', 'put', 'patch', 'delete', 'head')"
    );
    assert_eq!(
        v["no_headers"],
        "bad argument #3 to http_request (table expected, got nil)"
    );
    assert_eq!(v["header_value"], "HTTP header values must be strings");
}

#[test]
fn aes_bcrypt_and_cron_prev_from_lua() {
    let s = start(&Backend::Sqlite);
    let v = payload(&call(&s.http(), "http.codecs", None, ""));
    // An IV of 16 bytes, then the input padded to a multiple of 4.
    assert_eq!(v["aes128_len"], 16 + 8, "{v}");
    assert_eq!(v["aes128_back"], "hello   ", "{v}");
    assert_eq!(v["aes128_fresh_iv"], true, "{v}");
    assert_eq!(v["aes256_len"], 16 + 12, "{v}");
    assert_eq!(v["aes256_back"], "hello world!", "{v}");
    assert_eq!(
        v["aes_bad_key"],
        "bad argument #2 to aes128_encrypt (expects key 16 bytes long)"
    );
    assert_eq!(
        v["aes_empty"],
        "bad argument #1 to aes256_decrypt (expects string)"
    );
    assert_eq!(v["aes_short"], "input too short");
    assert_eq!(v["bcrypt_prefix"], "$2b$", "{v}");
    assert_eq!(v["bcrypt_same"], true);
    assert_eq!(v["bcrypt_other"], false);
    assert_eq!(v["bcrypt_short"], false);
    assert_eq!(
        v["bcrypt_empty"],
        "bad argument #2 to bcrypt_compare (expects string)"
    );
    assert_eq!(v["cron_prev"], 1_704_067_200);
    assert_eq!(
        v["cron_prev_zero"],
        "bad argument #1 to cron_prev (expects timestamp in seconds)"
    );
}

fn account_updates_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let unknown = uuid::Uuid::new_v4().to_string();
    let v = payload(&call(
        &http,
        "accounts.update",
        Some(&bearer(&me.token)),
        &json!({ "display_name": "Set In Lua", "unknown_id": unknown }).to_string(),
    ));
    // The unknown id is left out; the account reads back what Lua set.
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(
        (&v["user_id"], &v["nested_user_id"]),
        (&json!(me.user_id()), &json!(me.user_id())),
        "{v}"
    );
    assert_eq!(
        (&v["display_name"], &v["level"], &v["has_devices"]),
        (&json!("Set In Lua"), &json!(7), &json!(true)),
        "{v}"
    );
    assert_eq!(v["online"], false, "{v}");
    assert_eq!(
        v["bad_id"],
        "bad argument #1 to account_update_id (expects user ID to be a valid identifier)"
    );
    assert_eq!(
        v["no_fields"],
        "error while trying to update user: No fields to update."
    );
    assert_eq!(
        v["bad_username"],
        "error while trying to update user: Username invalid, no spaces or control characters allowed."
    );
    assert_eq!(
        v["bad_ids"],
        "bad argument #1 to accounts_get_id (user id must be a valid identifier string)"
    );
    assert_eq!(
        v["not_string"],
        "bad argument #1 to accounts_get_id (user id must be a string)"
    );
    // Over REST: the fields Lua set, the username kept.
    let r = http.get("/v2/account", &me.token);
    let user = &r.body["user"];
    assert_eq!(user["display_name"], "Set In Lua", "{}", r.text);
    assert_eq!(user["username"], json!(me.username()), "{}", r.text);
    assert_eq!(
        (&user["timezone"], &user["location"], &user["lang_tag"]),
        (&json!("Europe/Paris"), &json!("Lyon"), &json!("fr")),
        "{}",
        r.text
    );
    assert_eq!(
        user["avatar_url"], "https://example.com/a.png",
        "{}",
        r.text
    );
    let meta: Value = serde_json::from_str(user["metadata"].as_str().expect("metadata")).unwrap();
    assert_eq!(meta, json!({ "level": 7 }));

    // users_get_random: with at least three users, three distinct ones.
    http.device(&unique("lua-"));
    http.device(&unique("lua-"));
    let v = payload(&call(
        &http,
        "accounts.random",
        Some(&bearer(&me.token)),
        "",
    ));
    assert_eq!(
        (&v["count"], &v["distinct"], &v["system"], &v["named"]),
        (&json!(3), &json!(3), &json!(false), &json!(true)),
        "{v}"
    );
    assert_eq!(v["none"], 0, "{v}");
    assert_eq!(
        v["too_many"],
        "bad argument #1 to users_get_random (count must be 0-1000)"
    );
}

fn notification_lists_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let v = payload(&call(
        &http,
        "accounts.notifications",
        Some(&bearer(&me.token)),
        "",
    ));
    // Three stored, listed two at a time, oldest first; an empty page
    // has no cursor.
    assert_eq!(
        (&v["first"], &v["second"], &v["third"]),
        (&json!(2), &json!(1), &json!(0)),
        "{v}"
    );
    assert_eq!(v["second_subject"], "lua note 3", "{v}");
    assert_eq!(v["end_cursor_nil"], true, "{v}");
    assert_eq!(
        (&v["content_n"], &v["code"], &v["sender"], &v["persistent"]),
        (&json!(1), &json!(101), &json!(""), &json!(true)),
        "{v}"
    );
    assert_eq!(
        v["bad_limit"],
        "bad argument #2 to notifications_list (expects limit to be value between 1 and 1000)"
    );
    assert_eq!(
        v["bad_user"],
        "bad argument #1 to notifications_list (expects user_id to be a valid uuid)"
    );
    assert_eq!(
        v["bad_delete"],
        "bad argument #1 to notifications_delete (expects notification_id to be a valid UUID)"
    );
    // Over REST: only the third is left.
    let r = http.get("/v2/notification?limit=10", &me.token);
    let list = r.body["notifications"].as_array().expect("notifications");
    assert_eq!(list.len(), 1, "{}", r.text);
    assert_eq!(list[0]["subject"], "lua note 3", "{}", r.text);
    for id in v["deleted"].as_array().unwrap() {
        assert_ne!(&list[0]["id"], id);
    }
}

fn notifications_by_id_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let other = http.device(&unique("lua-"));
    let v = payload(&call(
        &http,
        "accounts.notifications_by_id",
        Some(&bearer(&me.token)),
        &json!({ "other_id": other.user_id() }).to_string(),
    ));
    assert_eq!(
        (&v["both"], &v["only_mine"], &v["only_mine_subject"]),
        (&json!(2), &json!(1), &json!("mine")),
        "{v}"
    );
    assert_eq!(
        (&v["theirs_user"], &v["theirs_sender"]),
        (&json!(other.user_id()), &json!(me.user_id())),
        "{v}"
    );
    assert_eq!(
        (&v["theirs_who"], &v["theirs_code"]),
        (&json!("other"), &json!(103)),
        "{v}"
    );
    assert_eq!(
        v["bad_id"],
        "bad argument #1 to notifications_get_id (each notification id must be a valid id)"
    );
    assert_eq!(
        v["not_list"],
        "bad argument #1 to notifications_delete_id (invalid user ids list)"
    );
    // Over REST: the caller's is kept (deleted only as another user's),
    // the other user's is gone.
    let r = http.get("/v2/notification?limit=10", &me.token);
    let mine = r.body["notifications"].as_array().expect("notifications");
    assert_eq!(mine.len(), 1, "{}", r.text);
    assert_eq!(mine[0]["subject"], "mine", "{}", r.text);
    let r = http.get("/v2/notification?limit=10", &other.token);
    assert!(
        r.body["notifications"].as_array().is_none_or(Vec::is_empty),
        "{}",
        r.text
    );
}

/// The stored notifications of `token`'s user with `subject`.
fn with_subject(http: &Http, token: &str, subject: &str) -> Vec<Value> {
    let r = http.get("/v2/notification?limit=100", token);
    r.body["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n["subject"] == subject)
        .collect()
}

fn notifications_to_all_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let online = http.device(&unique("lua-"));
    let offline = http.device(&unique("lua-"));
    let mut ws = Ws::open(&s.addr, &online.token, "");
    // Not persistent: only the connected user hears it; nothing stored.
    let live = unique("lua-all-live-");
    let v = payload(&call(
        &http,
        "accounts.send_all",
        Some(&bearer(&offline.token)),
        &json!({ "subject": live, "persistent": false }).to_string(),
    ));
    assert_eq!(
        v["no_subject"],
        "bad argument #1 to notification_send_all (expects subject to be a non-empty string)"
    );
    assert_eq!(
        v["bad_code"],
        "bad argument #3 to notification_send_all (expects code number to be a positive integer)"
    );
    let heard = ws.next_with("notifications");
    let note = &heard["notifications"]["notifications"][0];
    assert_eq!(note["subject"], json!(live), "{heard}");
    assert_eq!(note["code"], 104, "{heard}");
    assert!(with_subject(&http, &online.token, &live).is_empty());
    assert!(with_subject(&http, &offline.token, &live).is_empty());
    // Persistent: stored for every user, in the background. Only on
    // SQLite, a database of this server's own: on the shared PostgreSQL
    // database it would reach the users of tests running beside it (the
    // store's paging over users is tested on both in kairos-store).
    if !matches!(backend, Backend::Sqlite) {
        return;
    }
    let kept = unique("lua-all-kept-");
    payload(&call(
        &http,
        "accounts.send_all",
        Some(&bearer(&offline.token)),
        &json!({ "subject": kept, "persistent": true }).to_string(),
    ));
    for token in [&offline.token, &online.token] {
        let mut found = Vec::new();
        for _ in 0..200 {
            found = with_subject(&http, token, &kept);
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["content"], r#"{"to":"all"}"#, "{found:?}");
    }
}

fn stream_presences_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let watcher = http.device(&unique("lua-"));
    let label = json!({ "label": unique("lua-stream-") }).to_string();
    let mut watching = Ws::open(&s.addr, &watcher.token, "");
    let r = watching.request(
        "1",
        "rpc",
        json!({ "id": "accounts.stream_watch", "payload": label }),
    );
    assert!(r.get("rpc").is_some(), "{r}");
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let r = ws.request(
        "1",
        "rpc",
        json!({ "id": "accounts.stream", "payload": label }),
    );
    let body = r["rpc"]["payload"]
        .as_str()
        .unwrap_or_else(|| panic!("rpc failed: {r}"));
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (
            &v["status"],
            &v["username"],
            &v["hidden"],
            &v["persistence"]
        ),
        (
            &json!("busy"),
            &json!(me.username()),
            &json!(false),
            &json!(true)
        ),
        "{v}"
    );
    // Kicked: no longer in the stream, where the watcher stays.
    assert_eq!(
        (&v["after_nil"], &v["count"]),
        (&json!(true), &json!(1)),
        "{v}"
    );
    assert_eq!(
        v["no_session"],
        "bad argument #2 to stream_user_update (session id does not exist)"
    );
    assert_eq!(
        v["bad_kick"],
        "bad argument #1 to stream_user_kick (expects each presence to have a valid user_id, session_id, and node)"
    );
    // The watcher heard the caller join, update its presence, and be kicked
    // (its own join came first).
    let mut events = Vec::new();
    while events.len() < 4 {
        let m = watching.recv_json();
        if let Some(e) = m.get("stream_presence_event") {
            events.push(e.clone());
        }
    }
    let joined = |e: &Value, key: &str| e[key][0]["user_id"] == json!(me.user_id());
    assert!(joined(&events[1], "joins"), "{events:?}");
    // The update: the old presence leaves and the new one joins at once.
    assert!(
        joined(&events[2], "joins") && joined(&events[2], "leaves"),
        "{events:?}"
    );
    assert!(joined(&events[3], "leaves"), "{events:?}");
    assert!(
        events[3]["joins"].as_array().is_none_or(Vec::is_empty),
        "{events:?}"
    );
}

/// The error text of a Lua refusal, as `tests/lua/sessions.lua` returns it.
fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn authentication_and_links_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let device = unique("lua-device-");
    let email = format!("{}@example.com", unique("lua-mail-"));
    let v = payload(&call(
        &http,
        "sessions.authenticate",
        None,
        &json!({
            "device": device,
            "device_username": unique("luadev"),
            "custom": unique("lua-custom-"),
            "email": email,
            "password": "password1",
            "unknown_device": unique("lua-unknown-"),
            "unknown_custom": unique("lua-unknown-"),
        })
        .to_string(),
    ));
    // Created, then found; the same account the REST call finds.
    assert_eq!(v["device"]["created"], true, "{v}");
    assert_eq!(
        (&v["device_again"]["user_id"], &v["device_again"]["created"]),
        (&v["device"]["user_id"], &json!(false)),
        "{v}"
    );
    let r = http.post_basic("/v2/account/authenticate/device", &json!({ "id": device }));
    assert_eq!(r.status, 200, "{}", r.text);
    let rest = kairos_tests::Session::from(&r);
    assert!(!rest.created);
    assert_eq!(json!(rest.user_id()), v["device"]["user_id"]);
    assert_eq!(json!(rest.username()), v["device"]["username"]);
    // A generated username for the custom id; the email account found
    // again by username and password, never created by that login.
    assert_eq!(v["custom"]["created"], true, "{v}");
    assert_eq!(v["custom"]["username"].as_str().map(str::len), Some(10));
    assert_eq!(v["email"]["created"], true, "{v}");
    assert_eq!(
        (&v["by_username"]["user_id"], &v["by_username"]["created"]),
        (&v["email"]["user_id"], &json!(false)),
        "{v}"
    );
    let r = http.post_basic(
        "/v2/account/authenticate/email?create=false",
        &json!({ "email": email.to_uppercase(), "password": "password1" }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        json!(kairos_tests::Session::from(&r).user_id()),
        v["email"]["user_id"]
    );
    for (key, want) in [
        (
            "wrong_password",
            "error authenticating: Invalid credentials.",
        ),
        ("not_found", "error authenticating: User account not found."),
        (
            "taken_username",
            "error authenticating: Username is already in use.",
        ),
        (
            "no_id",
            "bad argument #1 to authenticate_device (expects id string)",
        ),
        (
            "short_device",
            "bad argument #1 to authenticate_device (expects id to be valid, must be 10-128 bytes)",
        ),
        (
            "short_custom",
            "bad argument #1 to authenticate_custom (expects id to be valid, must be 6-128 bytes)",
        ),
        (
            "spaced_custom",
            "bad argument #1 to authenticate_custom (expects id to be valid, no spaces or control characters allowed)",
        ),
        (
            "bad_username",
            "bad argument #2 to authenticate_device (expects username to be valid, no spaces or control characters allowed)",
        ),
        (
            "bad_email",
            "bad argument #1 to authenticate_email (expects email to be valid, invalid email address format)",
        ),
        (
            "short_email",
            "bad argument #1 to authenticate_email (expects email to be valid, must be 10-255 bytes)",
        ),
        (
            "no_password",
            "bad argument #2 to authenticate_email (expects password string)",
        ),
        (
            "short_password",
            "bad argument #2 to authenticate_email (expects password to be valid, must be longer than 8 characters)",
        ),
        (
            "no_email_no_username",
            "bad argument #1 to authenticate_email (expects username string when email is not supplied)",
        ),
    ] {
        assert_eq!(text(&v, key), want, "{key}: {v}");
    }

    // Links: a device, a custom id and an email added to a REST user, each
    // then authenticating to it over REST.
    let first_device = unique("lua-first-");
    let me = http.device(&first_device);
    let other_device = unique("lua-other-");
    http.device(&other_device);
    let linked = (
        unique("lua-linked-"),
        unique("lua-custom-"),
        format!("{}@example.com", unique("lua-link-")),
    );
    let ids = json!({
        "user_id": me.user_id(),
        "device": linked.0,
        "custom": linked.1,
        "email": linked.2,
        "password": "password2",
        "taken_device": other_device,
        "last_device": first_device,
    });
    let v = payload(&call(&http, "sessions.link", None, &ids.to_string()));
    for (key, want) in [
        (
            "bad_user",
            "bad argument #1 to link_device (user ID must be a valid identifier)",
        ),
        (
            "no_device",
            "bad argument #2 to link_device (expects device ID string)",
        ),
        (
            "short_device",
            "error linking: Device ID invalid, must be 10-128 bytes.",
        ),
        (
            "no_custom",
            "bad argument #2 to link_custom (expects custom ID string)",
        ),
        (
            "short_custom",
            "error linking: Invalid custom ID, must be 6-128 bytes.",
        ),
        (
            "no_email",
            "bad argument #2 to link_email (expects email string)",
        ),
        (
            "no_password",
            "bad argument #3 to link_email (expects username string)",
        ),
        (
            "short_password",
            "error linking: Password must be at least 8 characters long.",
        ),
        ("taken_device", "error linking: Device ID already in use."),
    ] {
        assert_eq!(text(&v, key), want, "{key}: {v}");
    }
    let authenticates_to_me = |path: &str, body: Value| {
        let r = http.post_basic(path, &body);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(kairos_tests::Session::from(&r).user_id(), me.user_id());
    };
    authenticates_to_me(
        "/v2/account/authenticate/device?create=false",
        json!({ "id": linked.0 }),
    );
    authenticates_to_me(
        "/v2/account/authenticate/custom?create=false",
        json!({ "id": linked.1 }),
    );
    authenticates_to_me(
        "/v2/account/authenticate/email?create=false",
        json!({ "email": linked.2, "password": "password2" }),
    );
    let account = http.get("/v2/account", &me.token);
    assert_eq!(
        account.body["custom_id"],
        json!(linked.1),
        "{}",
        account.text
    );
    assert_eq!(account.body["email"], json!(linked.2), "{}", account.text);

    // Unlinks: each is gone; the last identifier stays.
    let v = payload(&call(&http, "sessions.unlink", None, &ids.to_string()));
    assert_eq!(
        text(&v, "bad_user"),
        "bad argument #1 to unlink_device (user ID must be a valid identifier)"
    );
    assert_eq!(
        text(&v, "no_device"),
        "bad argument #2 to unlink_device (expects device ID string)"
    );
    let last = "error unlinking: Cannot unlink last account identifier. Check profile exists and is not last link.";
    assert_eq!(text(&v, "last"), last, "{v}");
    assert_eq!(text(&v, "not_held"), last, "{v}");
    assert_eq!(text(&v, "any_custom"), "no error", "{v}");
    for (path, body) in [
        ("device", json!({ "id": linked.0 })),
        ("custom", json!({ "id": linked.1 })),
        (
            "email",
            json!({ "email": linked.2, "password": "password2" }),
        ),
    ] {
        http.post_basic(
            &format!("/v2/account/authenticate/{path}?create=false"),
            &body,
        )
        .assert_error(404, 5);
    }
    authenticates_to_me(
        "/v2/account/authenticate/device?create=false",
        json!({ "id": first_device }),
    );
}

fn tokens_and_logout_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let my_device = unique("lua-");
    let me = http.device(&my_device);
    // A token generated in Lua serves REST and the socket as the user.
    let exp = kairos_tests::unix_secs("2100-01-01T00:00:00Z");
    let v = payload(&call(
        &http,
        "sessions.token",
        None,
        &json!({
            "user_id": me.user_id(),
            "username": "lua-named",
            "exp": exp,
            "vars": { "tier": "gold" },
        })
        .to_string(),
    ));
    assert_eq!(v["exp"], json!(exp), "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let generated = kairos_tests::Session {
        token: token.clone(),
        refresh_token: String::new(),
        created: false,
    };
    let claims = generated.claims();
    assert_eq!(
        (
            &claims["uid"],
            &claims["usn"],
            &claims["vrs"],
            &claims["exp"]
        ),
        (
            &json!(me.user_id()),
            &json!("lua-named"),
            &json!({ "tier": "gold" }),
            &json!(exp)
        ),
        "{claims}"
    );
    assert_ne!(claims["tid"], me.claims()["tid"]);
    let r = http.get("/v2/account", &token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], json!(me.user_id()));
    let mut ws = Ws::open(&s.addr, &token, "");
    let r = ws.request("1", "rpc", json!({ "id": "lua.whoami" }));
    let who: Value = serde_json::from_str(r["rpc"]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&who["user_id"], &who["username"]),
        (&json!(me.user_id()), &json!("lua-named"))
    );
    ws.close();
    for (key, want) in [
        (
            "no_id",
            "bad argument #1 to authenticate_token_generate (expects user id)",
        ),
        (
            "bad_id",
            "bad argument #1 to authenticate_token_generate (expects valid user id)",
        ),
        (
            "no_username",
            "bad argument #2 to authenticate_token_generate (string expected, got nil)",
        ),
        (
            "bad_vars",
            "bad argument #4 to authenticate_token_generate (vars values must be strings)",
        ),
        (
            "bad_var_key",
            "bad argument #4 to authenticate_token_generate (vars keys must be strings)",
        ),
        (
            "too_many_vars",
            "bad argument #4 to authenticate_token_generate (at most 1000 vars)",
        ),
    ] {
        assert_eq!(text(&v, key), want, "{key}: {v}");
    }
    // No expiry: the configured one (60 s) from now; an empty username:
    // a generated one.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let v = payload(&call(
        &http,
        "sessions.token",
        None,
        &json!({ "user_id": me.user_id(), "username": "" }).to_string(),
    ));
    let exp = v["exp"].as_i64().expect("exp");
    assert!((before + 59..=before + 62).contains(&exp), "{exp} {before}");
    let generated = kairos_tests::Session {
        token: v["token"].as_str().unwrap().to_string(),
        refresh_token: String::new(),
        created: false,
    };
    assert_eq!(generated.username().len(), 10);
    assert_eq!(http.get("/v2/account", &generated.token).status, 200);

    // Logout of one session's tokens: that session ends, the other stays,
    // then a logout without tokens ends them all.
    let other = http.device(&unique("lua-"));
    let second = http.device(&unique("lua-")); // someone else's
    let again = http.device(&my_device);
    let v = payload(&call(
        &http,
        "sessions.logout",
        None,
        &json!({
            "user_id": me.user_id(),
            "other_user_id": other.user_id(),
            "token": me.token,
            "refresh_token": me.refresh_token,
        })
        .to_string(),
    ));
    assert_eq!(
        text(&v, "wrong_user"),
        "failed to logout: session token invalid"
    );
    assert_eq!(
        text(&v, "no_id"),
        "bad argument #1 to session_logout (expects user id)"
    );
    assert_eq!(
        text(&v, "bad_id"),
        "bad argument #1 to session_logout (expects valid user id)"
    );
    assert_eq!(
        text(&v, "bad_token"),
        "failed to logout: session token invalid"
    );
    assert_eq!(
        text(&v, "bad_refresh"),
        "failed to logout: refresh token invalid"
    );
    http.get("/v2/account", &me.token).assert_error(401, 16);
    http.post_basic(
        "/v2/account/session/refresh",
        &json!({ "token": me.refresh_token }),
    )
    .assert_error(401, 16);
    assert_eq!(http.get("/v2/account", &again.token).status, 200);
    assert_eq!(http.get("/v2/account", &token).status, 200);
    assert_eq!(http.get("/v2/account", &second.token).status, 200);
    payload(&call(
        &http,
        "sessions.logout",
        None,
        &json!({ "user_id": me.user_id(), "other_user_id": other.user_id() }).to_string(),
    ));
    http.get("/v2/account", &again.token).assert_error(401, 16);
    http.get("/v2/account", &token).assert_error(401, 16);
    assert_eq!(http.get("/v2/account", &second.token).status, 200);
    assert_eq!(http.get("/v2/account", &other.token).status, 200);
}

/// Whether a socket's envelopes hold the `banned` notice (code -8).
fn told_banned(seen: &[Value]) -> bool {
    seen.iter().any(|v| {
        v["notifications"]["notifications"]
            .as_array()
            .is_some_and(|n| {
                n.iter()
                    .any(|n| n["code"] == -8 && n["subject"] == "banned")
            })
    })
}

fn bans_and_disconnects_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let device = unique("lua-banned-");
    let banned = http.device(&device);
    let bystander = http.device(&unique("lua-"));
    let mut ws = Ws::open(&s.addr, &banned.token, "");
    let mut calm = Ws::open(&s.addr, &bystander.token, "");
    let v = payload(&call(
        &http,
        "sessions.ban",
        None,
        &json!({ "ids": [banned.user_id()] }).to_string(),
    ));
    for (key, want) in [
        (
            "no_list",
            "bad argument #1 to users_ban_id (invalid user id list)",
        ),
        (
            "bad_id",
            "bad argument #1 to users_ban_id (each user id must be a valid id string)",
        ),
        (
            "not_string",
            "bad argument #1 to users_unban_id (each user id must be a string)",
        ),
        (
            "empty_id",
            "bad argument #1 to users_ban_id (each user id must be a string)",
        ),
        (
            "not_list",
            "bad argument #1 to users_ban_id (invalid user id data)",
        ),
        (
            "too_many",
            "bad argument #1 to users_ban_id (at most 1000 user ids)",
        ),
        ("empty", "no error"),
    ] {
        assert_eq!(text(&v, key), want, "{key}: {v}");
    }
    // The banned user's socket is told, then closed; the bystander's
    // stays.
    let (close, seen) = ws.until_close();
    assert!(
        close.as_ref().is_none_or(|(code, _)| *code == 1000),
        "{close:?}"
    );
    assert!(told_banned(&seen), "{seen:?}");
    let r = calm.request("p", "ping", json!({}));
    assert!(r.get("pong").is_some(), "{r}");
    // Its tokens no longer work; authenticating is refused as banned, over
    // REST and from Lua; a socket cannot open.
    http.get("/v2/account", &banned.token).assert_error(401, 16);
    http.post_basic(
        "/v2/account/session/refresh",
        &json!({ "token": banned.refresh_token }),
    )
    .assert_error(401, 16);
    let r = http.post_basic("/v2/account/authenticate/device", &json!({ "id": device }));
    r.assert_error(403, 7);
    assert_eq!(r.message(), "User account banned.");
    let v = payload(&call(
        &http,
        "sessions.device",
        None,
        &json!({ "device": device }).to_string(),
    ));
    assert_eq!(
        v["error"], "error authenticating: User account banned.",
        "{v}"
    );
    assert!(matches!(
        Ws::connect(&s.addr, &format!("token={}&format=json", banned.token)),
        kairos_tests::Connect::Refused(401, _)
    ));
    assert_eq!(
        http.get("/v2/account", &bystander.token).status,
        200,
        "the bystander is untouched"
    );

    // Unbanned: authenticating works again (the old tokens stay revoked).
    payload(&call(
        &http,
        "sessions.ban",
        None,
        &json!({ "ids": [banned.user_id()], "unban": true }).to_string(),
    ));
    let fresh = http.device(&device);
    assert_eq!(fresh.user_id(), banned.user_id());
    assert_eq!(http.get("/v2/account", &fresh.token).status, 200);
    http.get("/v2/account", &banned.token).assert_error(401, 16);

    // session_disconnect closes one socket, on whichever shard, and
    // leaves the user's other socket open.
    let mut first = Ws::open(&s.addr, &fresh.token, "");
    let mut second = Ws::open(&s.addr, &fresh.token, "");
    let r = first.request("w", "rpc", json!({ "id": "sessions.whoami" }));
    let who: Value = serde_json::from_str(r["rpc"]["payload"].as_str().unwrap()).unwrap();
    let session_id = who["session_id"].as_str().expect("session id").to_string();
    assert!(!session_id.is_empty(), "{who}");
    let v = payload(&call(
        &http,
        "sessions.disconnect",
        None,
        &json!({ "session_id": session_id, "reason": 2 }).to_string(),
    ));
    let (close, seen) = first.until_close();
    assert!(
        close.as_ref().is_none_or(|(code, _)| *code == 1000),
        "{close:?}"
    );
    assert!(!told_banned(&seen), "{seen:?}");
    let r = second.request("p", "ping", json!({}));
    assert!(r.get("pong").is_some(), "{r}");
    for (key, want) in [
        (
            "no_id",
            "bad argument #1 to session_disconnect (expects session id)",
        ),
        (
            "bad_id",
            "bad argument #1 to session_disconnect (expects valid session id)",
        ),
        (
            "bad_reason",
            "bad argument #2 to session_disconnect (invalid disconnect reason, must be a value 0-4)",
        ),
        ("unknown", "no error"),
    ] {
        assert_eq!(text(&v, key), want, "{key}: {v}");
    }
    // A disconnect is not a logout: the token still works.
    assert_eq!(http.get("/v2/account", &fresh.token).status, 200);
}

fn account_export_and_delete_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let device = unique("lua-export-");
    let me = http.device(&device);
    let friend = http.device(&unique("lua-"));
    let board = unique("lua-export-board-");
    let group = unique("lua-export-group-");
    let room = unique("lua-export-room-");
    payload(&call(
        &http,
        "sessions.seed",
        None,
        &json!({ "user_id": me.user_id(), "board": board }).to_string(),
    ));
    let r = http.send(
        "POST",
        &format!("/v2/friend?ids={}", friend.user_id()),
        &me.token,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.send("POST", "/v2/group", &me.token, &json!({ "name": group }));
    assert_eq!(r.status, 200, "{}", r.text);
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let joined = ws.request(
        "j",
        "channel_join",
        json!({ "target": room, "type": 1, "persistence": true }),
    );
    let channel = joined["channel"]["id"]
        .as_str()
        .expect("channel")
        .to_string();
    let sent = ws.request(
        "m",
        "channel_message_send",
        json!({ "channel_id": channel, "content": json!({ "said": "exported" }).to_string() }),
    );
    assert!(sent.get("channel_message_ack").is_some(), "{sent}");

    let export = payload(&call(
        &http,
        "sessions.export",
        None,
        &json!({ "user_id": me.user_id() }).to_string(),
    ));
    assert_eq!(
        export["account"]["user"]["id"],
        json!(me.user_id()),
        "{export}"
    );
    assert_eq!(
        export["account"]["devices"],
        json!([{ "id": device }]),
        "{export}"
    );
    let list = |key: &str| export[key].as_array().cloned().unwrap_or_default();
    assert!(
        list("objects")
            .iter()
            .any(|o| o["collection"] == "export" && o["key"] == "k1"),
        "{export}"
    );
    assert!(
        list("friends")
            .iter()
            .any(|f| f["user"]["id"] == json!(friend.user_id()) && f["state"] == 1),
        "{export}"
    );
    assert!(
        list("groups").iter().any(|g| g["name"] == json!(group)),
        "{export}"
    );
    assert!(
        list("messages")
            .iter()
            .any(|m| m["content"].as_str() == Some(r#"{"said":"exported"}"#)),
        "{export}"
    );
    assert!(
        list("leaderboard_records")
            .iter()
            .any(|r| r["leaderboard_id"] == json!(board) && r["score"] == "42"),
        "{export}"
    );
    assert!(
        list("notifications")
            .iter()
            .any(|n| n["subject"] == "export note"),
        "{export}"
    );
    let ledger = list("wallet_ledgers");
    assert_eq!(ledger.len(), 1, "{export}");
    assert_eq!(ledger[0]["changeset"], r#"{"coins":5}"#, "{export}");
    assert_eq!(ledger[0]["user_id"], json!(me.user_id()), "{export}");
    // An unknown user.
    let v = payload(&call(
        &http,
        "sessions.export",
        None,
        &json!({ "user_id": uuid::Uuid::new_v4().to_string() }).to_string(),
    ));
    assert_eq!(v["error"], "error exporting account: Account not found.");

    // Deletion: the socket closes, the tokens stop working, the account
    // is gone.
    let v = payload(&call(
        &http,
        "sessions.delete",
        None,
        &json!({ "user_id": me.user_id(), "recorded": true }).to_string(),
    ));
    let (close, _) = ws.until_close();
    assert!(
        close.as_ref().is_none_or(|(code, _)| *code == 1000),
        "{close:?}"
    );
    http.get("/v2/account", &me.token).assert_error(401, 16);
    http.post_basic(
        "/v2/account/authenticate/device?create=false",
        &json!({ "id": device }),
    )
    .assert_error(404, 5);
    let gone = payload(&call(
        &http,
        "sessions.export",
        None,
        &json!({ "user_id": me.user_id() }).to_string(),
    ));
    assert_eq!(gone["error"], "error exporting account: Account not found.");
    for (key, want) in [
        (
            "bad_id",
            "bad argument #1 to account_delete_id (expects user ID to be a valid identifier)",
        ),
        (
            "bad_export_id",
            "bad argument #1 to account_export_id (expects user ID to be a valid identifier)",
        ),
        (
            "system",
            "error while trying to delete account: cannot delete the system user",
        ),
        ("unknown", "no error"),
    ] {
        assert_eq!(text(&v, key), want, "{key}: {v}");
    }
    // The friend's side of the edge went with the account.
    let r = http.get("/v2/friend", &friend.token);
    assert_eq!(r.body["friends"], Value::Null, "{}", r.text);
}

/// A server of the test modules with small local cache and metric
/// bounds, a grace period (so the shutdown hook runs) and its metrics'
/// address.
fn start_utils(backend: &Backend) -> (TestServer, Http) {
    let dir = modules_dir();
    let s = TestServer::start_with_metrics(
        backend,
        &[
            "--runtime.path",
            &dir,
            "--runtime.lua_min_count",
            "2",
            "--kairos.runtime.lua_localcache_max_entries",
            "100",
            "--kairos.runtime.lua_localcache_max_bytes",
            "65536",
            "--kairos.runtime.lua_metrics_max_series",
            "20",
            "--shutdown_grace_sec",
            "3",
        ],
    );
    let metrics = s.metrics();
    (s, metrics)
}

/// The JSON a server-to-server call of `id` returned.
fn util(http: &Http, id: &str, body: &str) -> Value {
    payload(&call(http, id, None, body))
}

/// The body of the PEM file `name` of the test modules' `data/`.
fn pem_der(name: &str) -> Vec<u8> {
    use base64::Engine;
    let text = std::fs::read_to_string(PathBuf::from(modules_dir()).join("data").join(name))
        .expect("test key");
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM body")
}

/// A JWT's header and claims, and whether `check` accepts its signature
/// over `header.claims`.
fn jwt_parts(token: &str, check: impl Fn(&[u8], &[u8]) -> bool) -> (Value, Value) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let signed = format!("{}.{}", parts[0], parts[1]);
    let sig = b64.decode(parts[2]).expect("signature");
    assert!(check(signed.as_bytes(), &sig), "signature of {token}");
    let json = |s: &str| -> Value { serde_json::from_slice(&b64.decode(s).unwrap()).unwrap() };
    (json(parts[0]), json(parts[1]))
}

fn utility_functions_from_lua(backend: &Backend) {
    use base64::Engine;
    use hmac::Mac;
    let (s, metrics) = start_utils(backend);
    let http = s.http();
    let cache = |v: Value| util(&http, "util.cache", &v.to_string());

    // The local cache: shared by every state of the node (calls land on
    // any shard and state), primitives and tables kept as they were put.
    let table = json!({ "name": "x", "n": 3, "list": [1, 2], "nested": { "ok": true } });
    cache(json!({ "op": "put", "key": "t", "value": table }));
    cache(json!({ "op": "put", "key": "s", "value": "text" }));
    cache(json!({ "op": "put", "key": "f", "value": 1.5 }));
    for _ in 0..6 {
        assert_eq!(
            cache(json!({ "op": "get", "key": "t" })),
            json!({ "value": table, "type": "table" })
        );
        assert_eq!(
            cache(json!({ "op": "get", "key": "s" })),
            json!({ "value": "text", "type": "string" })
        );
        assert_eq!(
            cache(json!({ "op": "get", "key": "f" })),
            json!({ "value": 1.5, "type": "number" })
        );
    }
    assert_eq!(
        cache(json!({ "op": "get_table", "key": "t" })),
        json!({ "value": table, "changed_is_nil": true })
    );
    // Missing: the default.
    assert_eq!(
        cache(json!({ "op": "get", "key": "nope", "default": "dflt" })),
        json!({ "value": "dflt", "type": "string" })
    );
    // Deleted, expired, cleared.
    cache(json!({ "op": "delete", "key": "s" }));
    assert_eq!(
        cache(json!({ "op": "get", "key": "s" })),
        json!({ "type": "nil" })
    );
    cache(json!({ "op": "put", "key": "ttl", "value": 7, "ttl": 1 }));
    assert_eq!(
        cache(json!({ "op": "get", "key": "ttl" })),
        json!({ "value": 7, "type": "number" })
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        cache(json!({ "op": "get", "key": "ttl" })),
        json!({ "type": "nil" })
    );
    cache(json!({ "op": "clear" }));
    assert_eq!(
        cache(json!({ "op": "get", "key": "t" })),
        json!({ "type": "nil" })
    );
    // Bounded at 100 entries: the oldest go.
    cache(json!({ "op": "fill", "prefix": "e", "n": 150 }));
    assert_eq!(
        cache(json!({ "op": "get", "key": "e1" })),
        json!({ "type": "nil" })
    );
    assert_eq!(
        cache(json!({ "op": "get", "key": "e50" })),
        json!({ "type": "nil" })
    );
    assert_eq!(
        cache(json!({ "op": "get", "key": "e51" })),
        json!({ "value": 51, "type": "number" })
    );

    // Bad arguments: Nakama's texts (ours where Nakama has no check).
    let errors = util(&http, "util.errors", "");
    let expect = json!({
        "cache_get_empty": "bad argument #1 to localcache_get (expects key string)",
        "cache_put_ttl": "bad argument #3 to localcache_put (ttl must be 0 or more)",
        "cache_put_function": "bad argument #2 to localcache_put (expects a nil, boolean, number, string or table value)",
        "cache_put_large": "bad argument #2 to localcache_put (value too large for the local cache)",
        "cache_delete_empty": "bad argument #1 to localcache_delete (expects key string)",
        "random_zero": "bad argument #1 to secure_random_bytes (count must be 1-1000)",
        "random_many": "bad argument #1 to secure_random_bytes (count must be 1-1000)",
        "jwt_algo": "bad argument #1 to jwt_generate (unsupported algo type - only allowed 'HS256', 'RS256'.)",
        "jwt_algo_empty": "bad argument #1 to jwt_generate (expects string)",
        "jwt_key": "bad argument #2 to jwt_generate (expects string)",
        "jwt_claims": "bad argument #3 to jwt_generate (table expected, got string)",
        "jwt_rs_key": "could not parse private key: no valid blocks found",
        "rsa_input": "bad argument #1 to rsa_sha256_hash (expects input string)",
        "rsa_key": "bad argument #2 to rsa_sha256_hash (expects key string)",
        "rsa_pem": "could not parse private key: no valid blocks found",
        "file_escape": "failed to open file: path is outside the runtime path",
        "file_empty": "bad argument #1 to file_read (expects relative path string)",
        "file_missing": "failed to open file: No such file or directory (os error 2)",
        "metric_tag": "bad argument #2 to metrics_counter_add (table values must be strings)",
        "metric_tag_key": "bad argument #2 to metrics_gauge_set (table keys must be strings)",
        "metric_delta": "bad argument #3 to metrics_counter_add (delta must be 0 or more)",
        "metric_name": "bad argument #1 to metrics_timer_record (expects name string)",
        "shutdown_fn": "bad argument #1 to register_shutdown (function expected, got string)",
    });
    for (name, want) in expect.as_object().unwrap() {
        let got = errors[name].as_str().unwrap_or_default();
        assert!(
            got.ends_with(want.as_str().unwrap()),
            "{name}: {got:?}, want {want}"
        );
    }

    // Signatures: RSA PKCS#1 v1.5 over SHA-256, checked with the public
    // key; JWTs decoded and their signatures checked.
    let out = util(&http, "util.crypto", "lua-user");
    let pair = ring::signature::RsaKeyPair::from_der(&pem_der("rsa_pkcs1.pem")).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        ring::signature::KeyPair::public_key(&pair)
            .as_ref()
            .to_vec(),
    );
    let rsa = base64::engine::general_purpose::STANDARD
        .decode(out["rsa"].as_str().unwrap())
        .unwrap();
    assert_eq!(rsa.len(), 256);
    public
        .verify(b"lua-user", &rsa)
        .expect("RSA signature verifies");
    assert!(public.verify(b"lua-usr", &rsa).is_err());
    let claims = json!({ "sub": "lua-user", "exp": 1700000000, "roles": ["a", "b"] });
    let (header, body) = jwt_parts(out["hs256"].as_str().unwrap(), |msg, sig| {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"lua-secret").unwrap();
        mac.update(msg);
        mac.verify_slice(sig).is_ok()
    });
    assert_eq!(header, json!({ "alg": "HS256", "typ": "JWT" }));
    assert_eq!(body, claims);
    let (header, body) = jwt_parts(out["rs256"].as_str().unwrap(), |msg, sig| {
        public.verify(msg, sig).is_ok()
    });
    assert_eq!(header, json!({ "alg": "RS256", "typ": "JWT" }));
    assert_eq!(body, claims);
    assert_eq!(out["random_len"], json!(32));
    assert_eq!(out["random_differs"], json!(true));

    // The configuration (no secrets) and the context.
    let out = util(&http, "util.config", "");
    let config = &out["config"];
    assert_eq!(config["name"], json!("kairos"), "{out}");
    assert_eq!(config["shutdown_grace_sec"], json!(3), "{out}");
    assert_eq!(config["logger"], json!({ "level": "info" }), "{out}");
    assert_eq!(config["socket"]["address"], json!("127.0.0.1"), "{out}");
    assert_eq!(config["session"]["token_expiry_sec"], json!(60), "{out}");
    let text = out.to_string();
    for secret in ["encryption_key", "server_key", "http_key", "defaultkey"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(out["context"]["execution_mode"], json!("run_once"), "{out}");
    assert_eq!(out["context"]["node"], json!("kairos"), "{out}");

    // A file under the runtime path.
    let r = call(&http, "util.file", None, "data/hello.txt");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["payload"], json!("hello from a file\n"));

    // Custom metrics on the Prometheus endpoint: tags as labels (a
    // reserved one renamed), one series per name and tags, and no more
    // series than the bound (20).
    util(&http, "util.metrics", r#"{"extra": 40}"#);
    let text = metrics.request("GET", "/metrics", None, None).text;
    let line = |prefix: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_string()
    };
    assert!(
        text.contains("# TYPE kairos_custom_util_hits counter"),
        "{text}"
    );
    assert_eq!(
        line("kairos_custom_util_hits{"),
        "kairos_custom_util_hits{node_name=\"kairos\",kind=\"a\",tag_le=\"x\"} 3"
    );
    assert_eq!(
        line("kairos_custom_util_level{"),
        "kairos_custom_util_level{node_name=\"kairos\"} 2.5"
    );
    assert_eq!(
        line("kairos_custom_util_wait_count{"),
        "kairos_custom_util_wait_count{node_name=\"kairos\",op=\"w\"} 1"
    );
    assert_eq!(
        line("kairos_custom_util_wait_sum{"),
        "kairos_custom_util_wait_sum{node_name=\"kairos\",op=\"w\"} 1.5"
    );
    let many = text
        .lines()
        .filter(|l| l.starts_with("kairos_custom_util_many{"))
        .count();
    assert_eq!(many, 20 - 3, "{text}");
    let dropped = line("kairos_lua_custom_metrics_dropped_total{");
    assert!(dropped.ends_with(" 23"), "{dropped}");
}

fn shutdown_hook_in_lua(backend: &Backend) {
    let (mut s, _) = start_utils(backend);
    let http = s.http();
    let key = unique("shutdown-");
    util(
        &http,
        "util.cache",
        &json!({ "op": "put", "key": "shutdown_key", "value": key }).to_string(),
    );
    // A graceful stop runs the hook (with the grace period) once, and
    // waits for it; the object it wrote is there after a restart.
    s.restart();
    assert_eq!(
        s.log().matches("shutdown hook finished").count(),
        1,
        "{}",
        s.log()
    );
    let http = s.http();
    assert_eq!(
        util(&http, "util.shutdown_read", &key),
        json!({ "mode": "shutdown", "grace": 3, "node": "kairos" })
    );
}

/// An RPC over a socket; the JSON it returned.
fn ws_rpc(ws: &mut Ws, cid: &str, id: &str, body: Value) -> Value {
    let r = ws.request(cid, "rpc", json!({ "id": id, "payload": body.to_string() }));
    let text = r["rpc"]["payload"]
        .as_str()
        .unwrap_or_else(|| panic!("rpc failed: {r}"));
    serde_json::from_str(text).unwrap()
}

const NIL: &str = "00000000-0000-0000-0000-000000000000";

fn chat_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let other = http.device(&unique("lua-"));
    let room = unique("lua-room-");
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let r = ws.request("1", "channel_join", json!({ "target": room, "type": 1 }));
    let channel = r["channel"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    let v = payload(&call(
        &http,
        "nksocial.chat",
        Some(&bearer(&me.token)),
        &json!({ "room": room, "other_id": other.user_id() }).to_string(),
    ));
    assert_eq!(v["room"], json!(channel), "{v}");
    let (one, two) = if me.user_id() < other.user_id() {
        (me.user_id(), other.user_id())
    } else {
        (other.user_id(), me.user_id())
    };
    assert_eq!(v["dm"], json!(format!("4.{one}.{two}.")));
    assert_eq!(
        v["group_as_server"],
        json!(format!("3.{}..", v["gid"].as_str().unwrap()))
    );
    // The acks, with Nakama's Lua field names.
    let sys_id = v["sys"]["messageId"].as_str().unwrap().to_string();
    let mine_id = v["mine"]["messageId"].as_str().unwrap().to_string();
    assert_eq!(
        (
            &v["sys"]["channelId"],
            &v["sys"]["code"],
            &v["sys"]["persistent"]
        ),
        (&json!(channel), &json!(0), &json!(true)),
        "{v}"
    );
    assert!(v["sys"]["createTime"].as_f64().unwrap() > 1.6e9, "{v}");
    assert_eq!(v["mine"]["username"], json!(me.username()));
    assert_eq!(
        (&v["upd"]["code"], &v["upd"]["messageId"]),
        (&json!(1), &json!(mine_id))
    );
    assert_eq!(
        v["eph"]["persistent"],
        json!(false),
        "persist defaults to false"
    );
    assert_eq!(v["rem"]["code"], json!(2));
    // History paged forward one at a time, then backward.
    assert_eq!(v["page1"][0]["messageId"], json!(sys_id), "{v}");
    assert_eq!(v["page1"][0]["senderId"], json!(NIL));
    assert_eq!(v["page1"][0]["roomName"], json!(room));
    assert_eq!(v["page2"][0]["messageId"], json!(mine_id));
    assert_eq!(v["page2"][0]["content"], json!(r#"{"text":"edited"}"#));
    assert_eq!(
        (
            &v["next1_is_string"],
            &v["prev1_is_nil"],
            &v["next2_is_nil"],
            &v["prev2_is_string"]
        ),
        (&json!(true), &json!(true), &json!(true), &json!(true)),
        "{v}"
    );
    assert_eq!(v["back"], json!([mine_id, sys_id]));
    // Nakama's refusals.
    for (key, text) in [
        (
            "bad_channel",
            "error converting channel identifier to stream: invalid channel id",
        ),
        (
            "bad_list_channel",
            "error converting leaderboard records: invalid channel id",
        ),
        (
            "bad_content",
            "bad argument #2 to channel_message_send (expects message content to be a valid JSON object)",
        ),
        (
            "bad_sender",
            "bad argument #3 to channel_message_send (expects sender id to either be not set, empty string or a valid UUID)",
        ),
        (
            "bad_type",
            "bad argument #3 to channel_id_build (invalid channel type: expects value 1-3)",
        ),
        (
            "long_room",
            "bad argument #1 to channel_id_build (Channel name is required and must be 1-64 chars: Invalid channel target)",
        ),
        (
            "dm_nobody",
            "bad argument #1 to channel_id_build (User ID not found: Invalid channel target)",
        ),
        (
            "dm_no_sender",
            "bad argument #1 to channel_id_build (A direct channel needs a sender: Invalid channel target)",
        ),
        (
            "group_not_member",
            "bad argument #1 to channel_id_build (Group not found: Invalid channel target)",
        ),
        (
            "update_missing",
            "failed to send channel message: channel message not found",
        ),
        (
            "remove_not_mine",
            "failed to send channel message: channel message not found",
        ),
        (
            "bad_message_id",
            "bad argument #2 to channel_message_remove (Invalid message identifier)",
        ),
        (
            "bad_limit",
            "bad argument #2 to channel_messages_list (limit must be 1-100)",
        ),
        (
            "bad_cursor",
            "failed to list channel messages: invalid channel cursor",
        ),
    ] {
        assert_eq!(v[key], json!(text), "{key}");
    }

    // The socket in the room received each message as a client's, in order.
    let mut got = Vec::new();
    while got.len() < 6 {
        got.push(ws.next_with("channel_message")["channel_message"].clone());
    }
    let content = |m: &Value| -> Value {
        serde_json::from_str(m["content"].as_str().unwrap_or("null")).unwrap()
    };
    let codes: Vec<&Value> = got.iter().map(|m| &m["code"]).collect();
    assert_eq!(
        codes,
        [
            &json!(0),
            &json!(0),
            &json!(1),
            &json!(0),
            &json!(0),
            &json!(2)
        ],
        "{got:?}"
    );
    assert_eq!(got[0]["message_id"], json!(sys_id));
    assert_eq!(got[0]["sender_id"], json!(NIL));
    assert_eq!(content(&got[0]), json!({ "text": "from the server" }));
    assert_eq!(got[0]["channel_id"], json!(channel));
    assert_eq!(got[0]["room_name"], json!(room));
    assert_eq!(got[1]["sender_id"], json!(me.user_id()));
    assert_eq!(got[1]["username"], json!(me.username()));
    assert_eq!(content(&got[2]), json!({ "text": "edited" }));
    assert_eq!(got[2]["message_id"], json!(mine_id));
    assert_eq!(got[3]["persistent"], json!(false));
    assert_eq!(got[5]["message_id"], got[4]["message_id"]);

    // The REST history holds what was kept: the server's message and the
    // edited one, not the unkept one nor the removed one.
    let r = http.get(&format!("/v2/channel/{channel}?limit=10"), &me.token);
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = r.body["messages"].as_array().unwrap();
    let listed_ids: Vec<&Value> = listed.iter().map(|m| &m["message_id"]).collect();
    assert_eq!(listed_ids, [&json!(sys_id), &json!(mine_id)], "{}", r.text);
    assert_eq!(listed[0]["sender_id"], json!(NIL));
    assert_eq!(content(&listed[1]), json!({ "text": "edited" }));
}

fn status_follow_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let friend = http.device(&unique("lua-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let v = ws_rpc(
        &mut ws,
        "1",
        "nksocial.status",
        json!({ "users": [friend.user_id()] }),
    );
    for (key, text) in [
        (
            "bad_session",
            "bad argument #1 to status_follow (expects a valid session id)",
        ),
        (
            "bad_user",
            "bad argument #2 to status_follow (each user id must be a valid id)",
        ),
        (
            "not_list",
            "bad argument #2 to status_unfollow (invalid user ids list)",
        ),
        (
            "not_string",
            "bad argument #2 to status_follow (each user id must be a string)",
        ),
        (
            "too_many",
            "Following 200 more users would take this session past 128 streams, the most it may join (kairos.session.max_streams).",
        ),
        ("unknown_session", "no error"),
    ] {
        assert_eq!(v[key], json!(text), "{key}: {v}");
    }
    // No `status` answer reaches the socket: only what follows.
    // The followed user comes online, on whichever shard: the follower
    // hears it; then a status change.
    let mut wf = Ws::open(&s.addr, &friend.token, "&status=true");
    let ev = ws.next_with("status_presence_event");
    assert_eq!(
        ev["status_presence_event"]["joins"][0]["user_id"],
        json!(friend.user_id()),
        "{ev}"
    );
    wf.send_json(&json!({"cid": "2", "status_update": {"status": "busy"}}));
    assert_eq!(wf.next_with("cid"), json!({"cid": "2"}));
    let ev = ws.next_with("status_presence_event");
    assert_eq!(ev["status_presence_event"]["joins"][0]["status"], "busy");

    // Unfollowed: the next change does not reach the socket.
    ws_rpc(
        &mut ws,
        "3",
        "nksocial.status",
        json!({ "users": [friend.user_id()], "unfollow": true }),
    );
    wf.send_json(&json!({"cid": "4", "status_update": {"status": "away"}}));
    wf.next_with("cid");
    ws.send_json(&json!({"cid": "5", "ping": {}}));
    let mut rest = Vec::new();
    loop {
        let m = ws.recv_json();
        if m["cid"] == "5" {
            break;
        }
        rest.push(m);
    }
    assert!(
        rest.iter().all(|m| m.get("status").is_none()
            && m["status_presence_event"]["joins"][0]["status"] != "away"),
        "{rest:?}"
    );
}

fn friends_groups_notifications_and_attempts_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let other = http.device(&unique("lua-"));
    let third = http.device(&unique("lua-"));
    let auth = bearer(&me.token);

    let v = payload(&call(
        &http,
        "nksocial.friends",
        Some(&auth),
        &json!({
            "other_id": other.user_id(),
            "other_username": other.username(),
            "third_id": third.user_id(),
            "third_username": third.username(),
        })
        .to_string(),
    ));
    assert_eq!(v["fof"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["fof"][0]["referrer"], json!(other.user_id()));
    assert_eq!(v["fof"][0]["user"]["user_id"], json!(third.user_id()));
    assert_eq!(v["cursor_is_nil"], json!(true));
    // The other user's friends (me and the third) know nobody else.
    assert_eq!(v["page_len"], json!(0), "{v}");
    // Only the edge to the other user exists; the note replaced.
    assert_eq!(v["status"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["status"][0]["user"]["user_id"], json!(other.user_id()));
    assert_eq!(v["status"][0]["state"], json!(0));
    assert_eq!(v["status"][0]["metadata"], json!({ "note": "updated" }));
    for (key, text) in [
        (
            "bad_limit",
            "bad argument #2 to friends_of_friends_list (expects limit to be 1-1000)",
        ),
        (
            "bad_cursor",
            "error while trying to list friends of friends for a user: friend cursor invalid",
        ),
        (
            "bad_user",
            "bad argument #1 to friends_of_friends_list (expects user ID to be a valid identifier)",
        ),
        (
            "bad_status_ids",
            "bad argument #2 to users_get_friend_status (invalid user id)",
        ),
        (
            "bad_status_user",
            "bad argument #1 to users_get_friend_status (invalid user id)",
        ),
        (
            "status_not_list",
            "bad argument #2 to users_get_friend_status (invalid user ids list)",
        ),
        (
            "no_metadata",
            "bad argument #3 to friend_metadata_update (table expected, got nil)",
        ),
        (
            "bad_friend",
            "bad argument #2 to friend_metadata_update (expects user ID to be a valid identifier)",
        ),
    ] {
        assert_eq!(v[key], json!(text), "{key}");
    }
    // Over REST: the note on the edge, and the friend of a friend.
    let r = http.get("/v2/friend", &me.token);
    let friend = r.body["friends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["user"]["id"] == json!(other.user_id()))
        .unwrap_or_else(|| panic!("{}", r.text))
        .clone();
    assert_eq!(friend["metadata"], json!(r#"{"note":"updated"}"#));
    let r = http.get("/v2/friend/friends", &me.token);
    assert_eq!(
        r.body["friends_of_friends"][0]["user"]["id"],
        json!(third.user_id()),
        "{}",
        r.text
    );

    let names = [unique("lua-random-"), unique("lua-random-")];
    let v = payload(&call(
        &http,
        "nksocial.groups_random",
        Some(&auth),
        &json!({ "names": names }).to_string(),
    ));
    let two = v["two"].as_array().unwrap();
    assert_eq!(two.len(), 2, "{v}");
    assert_ne!(two[0], two[1]);
    assert!(v["names"][0].is_string() && v["names"][1].is_string());
    assert_eq!(v["none"], json!(0));
    assert_eq!(
        v["bad_count"],
        json!("bad argument #1 to groups_get_random (count must be 0-1000)")
    );

    let v = payload(&call(
        &http,
        "nksocial.notifications_update",
        Some(&auth),
        "",
    ));
    assert_eq!(
        (&v["subject"], &v["content"], &v["sender"], &v["still"]),
        (
            &json!("after"),
            &json!({ "b": 2 }),
            &json!(me.user_id()),
            &json!("after")
        ),
        "{v}"
    );
    for (key, text) in [
        (
            "bad_id",
            "bad argument #1 to notifications_update (expects user_id to be a valid ID)",
        ),
        (
            "bad_entry",
            "bad argument #1 to notifications_update (expects a valid set of data)",
        ),
        (
            "empty_subject",
            "bad argument #1 to notifications_update (expects subject to be a non-empty string)",
        ),
        (
            "bad_content",
            "bad argument #1 to notifications_update (expects content to be table)",
        ),
        (
            "bad_sender",
            "bad argument #1 to notifications_update (expects sender to be a valid ID)",
        ),
    ] {
        assert_eq!(v[key], json!(text), "{key}");
    }
    let r = http.get("/v2/notification?limit=100", &me.token);
    let n = r.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == v["id"])
        .unwrap_or_else(|| panic!("{}", r.text))
        .clone();
    assert_eq!(
        (&n["subject"], &n["content"], &n["sender_id"]),
        (&json!("after"), &json!(r#"{"b":2}"#), &json!(me.user_id())),
        "{n}"
    );

    let tournament = unique("lua-attempts-");
    let v = payload(&call(
        &http,
        "nksocial.tournament_attempts",
        Some(&auth),
        &json!({ "tournament": tournament }).to_string(),
    ));
    assert_eq!(
        v["second"],
        json!("error writing tournament record: max number score count reached"),
        "{v}"
    );
    assert_eq!(
        (
            &v["score"],
            &v["num_score"],
            &v["max_num_score"],
            &v["lowered"]
        ),
        (&json!(2), &json!(2), &json!(3), &json!(1)),
        "{v}"
    );
    for (key, text) in [
        (
            "zero",
            "bad argument #3 to tournament_add_attempt (expects an attempt count number != 0)",
        ),
        (
            "unknown",
            "error adding tournament attempts: tournament not found",
        ),
        (
            "bad_owner",
            "bad argument #2 to tournament_add_attempt (expects owner ID to be a valid identifier)",
        ),
        (
            "no_id",
            "bad argument #1 to tournament_add_attempt (expects a tournament ID string)",
        ),
    ] {
        assert_eq!(v[key], json!(text), "{key}");
    }
}

fn stream_send_raw_from_lua(backend: &Backend) {
    let s = start(backend);
    let http = s.http();
    let me = http.device(&unique("lua-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let label = unique("lua-raw-");
    let message_id = "3f1c9a52-9d3e-4c55-8f1e-2b7d6f0a1c11";
    let v = ws_rpc(
        &mut ws,
        "1",
        "nksocial.stream_raw",
        json!({ "label": label, "message_id": message_id }),
    );
    for (key, text) in [
        (
            "unknown",
            "bad argument #2 to stream_send_raw (not a valid envelope: `nope` is not a message the server sends)",
        ),
        (
            "client_message",
            "bad argument #2 to stream_send_raw (not a valid envelope: `channel_join` is not a message the server sends)",
        ),
        (
            "empty",
            "bad argument #2 to stream_send_raw (not a valid envelope: no message)",
        ),
        (
            "bad_field",
            "bad argument #2 to stream_send_raw (not a valid envelope: field `data` is not a string)",
        ),
        (
            "too_many",
            "bad argument #3 to stream_send_raw (expects at most 1000 presences)",
        ),
        (
            "no_table",
            "bad argument #2 to stream_send_raw (table expected, got string)",
        ),
    ] {
        assert_eq!(v[key], json!(text), "{key}: {v}");
    }
    assert!(
        v["reserved"]
            .as_str()
            .is_some_and(|e| e.starts_with("stream send failed: ")),
        "{v}"
    );
    // What the socket received, in order, after its own join: the chat
    // message, the notification sent to it alone, and the last data (not
    // the data sent to another session).
    let chat = ws.next_with("channel_message");
    let m = &chat["channel_message"];
    assert_eq!(
        (
            &m["channel_id"],
            &m["room_name"],
            &m["sender_id"],
            &m["code"]
        ),
        (
            &json!("2...raw"),
            &json!("raw"),
            &json!(me.user_id()),
            &json!(0)
        ),
        "{chat}"
    );
    assert_eq!(m["persistent"], json!(false), "{chat}");
    assert_eq!(chat["channel_message"]["message_id"], json!(message_id));
    assert_eq!(chat["channel_message"]["content"], json!(r#"{"raw":true}"#));
    let note = ws.next_with("notifications");
    assert_eq!(
        note["notifications"]["notifications"][0]["subject"],
        json!("raw"),
        "{note}"
    );
    assert_eq!(
        note["notifications"]["notifications"][0]["code"],
        json!(101)
    );
    let data = ws.next_with("stream_data");
    assert_eq!(data["stream_data"]["data"], json!("last"), "{data}");
    assert_eq!(data["stream_data"]["stream"]["label"], json!(label));
}
