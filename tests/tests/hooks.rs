//! Before and after hooks of game code (`tests/harness/bin.rs` registers
//! them; they act only on marked input): a realtime before hook rewrites,
//! disables, rejects or panics; a realtime after hook sees what was served; a
//! REST before hook rewrites a request, disables a call or refuses it; a
//! REST after hook sees the response.

use kairos_tests::{Backend, Http, Session, TestServer, Ws, basic, unique};
use serde_json::{Value, json};

fn chat(ws: &mut Ws, cid: &str, channel: &str, marker: &str) -> Value {
    ws.request(
        cid,
        "channel_message_send",
        json!({
            "channel_id": channel,
            "content": json!({ "kairos_test_hook": marker, "text": "hi" }).to_string(),
        }),
    )
}

#[test]
fn realtime_hooks_rewrite_drop_reject_and_observe() {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let (a, b) = (
        http.device(&unique("device-")),
        http.device(&unique("device-")),
    );
    let mut wa = Ws::open(&s.addr, &a.token, "");
    let mut wb = Ws::open(&s.addr, &b.token, "");
    let room = unique("room");
    let join = json!({ "target": room, "type": 1, "persistence": false });
    let channel = wa.request("j", "channel_join", join.clone())["channel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    wb.request("j", "channel_join", join);

    // Rewritten: the other member receives what the hook made of it.
    let r = chat(&mut wa, "1", &channel, "rewrite");
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    let got = wb.next_with("channel_message");
    assert_eq!(got["channel_message"]["content"], r#"{"rewritten":true}"#);

    // Rejected (by an error or a panic): RUNTIME_FUNCTION_EXCEPTION with the
    // hook's message, nothing relayed; the session goes on.
    let r = chat(&mut wa, "2", &channel, "reject");
    assert_eq!(
        r["error"],
        json!({ "code": 7, "message": "rejected by hook" }),
        "{r}"
    );
    let r = chat(&mut wa, "3", &channel, "panic");
    assert_eq!(r["error"]["code"], 7, "{r}");

    // After: the hook runs once the message was served.
    let r = chat(&mut wa, "6", &channel, "after");
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    let n = wa.next_with("notifications")["notifications"]["notifications"][0].clone();
    assert_eq!(n["code"], 102);
    // ... and the message itself went out as usual.
    let got = wb.next_with("channel_message");
    assert!(
        got["channel_message"]["content"]
            .as_str()
            .unwrap()
            .contains("after")
    );

    // Disabled (the hook returns `None`): Nakama's error, then the
    // session ends; nothing is relayed, the other member goes on.
    let r = chat(&mut wa, "4", &channel, "drop");
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
            .all(|c| !c.contains("drop")),
        "{seen:?} {close:?}"
    );
    let r = chat(&mut wb, "5", &channel, "none");
    assert!(r.get("channel_message_ack").is_some(), "{r}");
    let got = wb.next_with("channel_message");
    assert!(
        got["channel_message"]["content"]
            .as_str()
            .unwrap()
            .contains("\"none\""),
        "{got}"
    );
}

fn custom(http: &Http, id: &str) -> kairos_tests::Reply {
    http.request(
        "POST",
        "/v2/account/authenticate/custom?create=true",
        Some(&basic("defaultkey")),
        Some(&json!({ "id": id }).to_string()),
    )
}

#[test]
fn rest_hooks_rewrite_disable_refuse_and_observe() {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let tag = unique("x").replace('-', "");

    // Rewritten: the hook set the username.
    let r = custom(&http, &format!("hooked-{tag}"));
    assert_eq!(r.status, 200, "{}", r.text);
    let me = Session::from(&r);
    assert_eq!(me.username(), format!("hooked_{tag}"));

    // Disabled: NOT_FOUND, as a Nakama before hook returning nil gives.
    let r = custom(&http, &format!("disabled-{tag}"));
    r.assert_error(404, 5);
    assert_eq!(r.message(), "Requested resource was not found.");
    // Refused: the hook's code and message.
    let r = custom(&http, &format!("refused-{tag}"));
    r.assert_error(403, 7);
    assert_eq!(r.message(), "refused by hook");
    // Unmarked calls pass untouched.
    let r = custom(&http, &format!("plain-{tag}"));
    assert_eq!(r.status, 200, "{}", r.text);

    // After: the hook saw the response (the caller's username) and stored
    // a notification about it.
    let r = http.get("/v2/account?kairos_test_after=1", &me.token);
    assert_eq!(r.status, 200, "{}", r.text);
    let list = http.get("/v2/notification?limit=10", &me.token);
    let notes = list.body["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let n = notes
        .iter()
        .find(|n| n["code"] == 103)
        .unwrap_or_else(|| panic!("{}", list.text));
    let content: Value = serde_json::from_str(n["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["username"], json!(format!("hooked_{tag}")));
}
