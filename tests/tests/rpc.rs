//! RPCs: game code called over HTTP (session, `?http_key=`, HTTP Basic;
//! `GET` and `POST`; wrapped and `?unwrap`) and on the socket, with
//! Nakama's codes for every refusal, and a panicking or overrunning
//! function costing only its own call.

use kairos_tests::{Backend, Http, TestServer, Ws, basic, bearer, unique};
use serde_json::{Value, json};

fn rpc(http: &Http, path: &str, auth: Option<&str>, body: Option<&str>) -> kairos_tests::Reply {
    let method = if body.is_some() { "POST" } else { "GET" };
    http.request(method, path, auth, body)
}

/// The JSON-string body Nakama's clients send: the payload, quoted.
fn quoted(payload: &str) -> String {
    Value::String(payload.to_string()).to_string()
}

#[test]
fn http_calls_with_a_session_or_the_http_key() {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let auth = bearer(&me.token);

    // A session: the payload round-trips, wrapped as {"payload": ...}.
    let r = rpc(
        &http,
        "/v2/rpc/example.echo",
        Some(&auth),
        Some(&quoted(r#"{"a":1}"#)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "payload": r#"{"a":1}"# }));
    // Ids are case-insensitive, as in Nakama.
    let r = rpc(
        &http,
        "/v2/rpc/EXAMPLE.Echo",
        Some(&auth),
        Some(&quoted("x")),
    );
    assert_eq!(r.body, json!({ "payload": "x" }));
    // An empty body is the empty payload, which is left out of the answer.
    let r = rpc(&http, "/v2/rpc/example.echo", Some(&auth), Some(""));
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({ "payload": "" })),
        "{}",
        r.text
    );

    // The context names the caller.
    let r = rpc(
        &http,
        "/v2/rpc/example.whoami",
        Some(&auth),
        Some(&quoted("")),
    );
    let who: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    assert_eq!(who["user_id"], json!(me.user_id()));
    assert_eq!(who["username"], json!(me.username()));
    assert_eq!(who["mode"], "http");

    // The HTTP key, as a query parameter (GET: no payload, the query
    // parameters reach the function without the key) ...
    let r = rpc(
        &http,
        "/v2/rpc/example.whoami?http_key=defaulthttpkey&level=3",
        None,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let who: Value = serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap();
    assert_eq!(who["user_id"], "");
    assert_eq!(who["query"], json!([["level", "3"]]));
    // ... or as HTTP Basic's user.
    let r = rpc(
        &http,
        "/v2/rpc/example.echo",
        Some(&basic("defaulthttpkey")),
        Some(&quoted("k")),
    );
    assert_eq!(r.body, json!({ "payload": "k" }), "{}", r.text);

    // ?unwrap: the body is the payload and the answer is the result, both
    // as they are, under the request's content type.
    let r = http.request(
        "POST",
        "/v2/rpc/example.echo?unwrap&http_key=defaulthttpkey",
        None,
        Some(r#"{"raw":true}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, r#"{"raw":true}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[test]
fn http_refusals_carry_nakamas_codes() {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let auth = bearer(&me.token);
    let body = quoted("{}");

    // Authentication: none, a wrong key (query or Basic), a bad token.
    rpc(&http, "/v2/rpc/example.echo", None, Some(&body)).assert_error(401, 16);
    let r = rpc(
        &http,
        "/v2/rpc/example.echo?http_key=wrong",
        None,
        Some(&body),
    );
    r.assert_error(401, 16);
    assert_eq!(r.message(), "HTTP key invalid");
    rpc(
        &http,
        "/v2/rpc/example.echo",
        Some(&basic("wrong")),
        Some(&body),
    )
    .assert_error(401, 16);
    rpc(
        &http,
        "/v2/rpc/example.echo",
        Some("Bearer nope"),
        Some(&body),
    )
    .assert_error(401, 16);

    // Unknown function; a body that is not a JSON string.
    let r = rpc(&http, "/v2/rpc/no.such.rpc", Some(&auth), Some(&body));
    r.assert_error(404, 5);
    assert_eq!(r.message(), "RPC function not found");
    rpc(
        &http,
        "/v2/rpc/example.echo",
        Some(&auth),
        Some(r#"{"a":1}"#),
    )
    .assert_error(400, 3);

    // A function's own error keeps its code and message.
    let fail = quoted(r#"{"code":7,"message":"not for you"}"#);
    let r = rpc(&http, "/v2/rpc/example.fail", Some(&auth), Some(&fail));
    r.assert_error(403, 7);
    assert_eq!(r.message(), "not for you");
    let fail = quoted(r#"{"code":13,"message":"game state corrupt"}"#);
    let r = rpc(&http, "/v2/rpc/example.fail", Some(&auth), Some(&fail));
    r.assert_error(500, 13);
    assert_eq!(r.message(), "game state corrupt");

    // A panic is an internal error for that call only: the same shards go
    // on serving.
    for _ in 0..4 {
        rpc(&http, "/v2/rpc/test.panic", Some(&auth), Some(&body)).assert_error(500, 13);
    }
    let r = rpc(
        &http,
        "/v2/rpc/example.echo",
        Some(&auth),
        Some(&quoted("alive")),
    );
    assert_eq!(r.body, json!({ "payload": "alive" }));
}

#[test]
fn an_rpc_past_its_deadline_is_dropped_with_deadline_exceeded() {
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &["--kairos.runtime.rpc_timeout_ms", "200"],
    );
    let http = s.http();
    let me = http.device(&unique("device-"));
    let auth = bearer(&me.token);
    let r = rpc(
        &http,
        "/v2/rpc/test.sleep",
        Some(&auth),
        Some(&quoted("60000")),
    );
    r.assert_error(504, 4);
    // Within its deadline it answers.
    let r = rpc(&http, "/v2/rpc/test.sleep", Some(&auth), Some(&quoted("1")));
    assert_eq!(r.body, json!({ "payload": "1" }), "{}", r.text);

    // On the socket the same overrun is RUNTIME_FUNCTION_EXCEPTION.
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let r = ws.request(
        "1",
        "rpc",
        json!({ "id": "test.sleep", "payload": "60000" }),
    );
    assert_eq!(r["error"]["code"], 7, "{r}");
}

#[test]
fn socket_calls_answer_rpc_or_nakamas_error_codes() {
    let s = TestServer::start(&Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");

    let r = ws.request(
        "1",
        "rpc",
        json!({ "id": "Example.Echo", "payload": "{\"hi\":2}" }),
    );
    assert_eq!(
        r["rpc"],
        json!({ "id": "Example.Echo", "payload": "{\"hi\":2}" }),
        "{r}"
    );

    let r = ws.request("2", "rpc", json!({ "id": "example.whoami" }));
    let who: Value = serde_json::from_str(r["rpc"]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(who["user_id"], json!(me.user_id()));
    assert_eq!(who["mode"], "socket");

    // No id: BAD_INPUT; unknown: RUNTIME_FUNCTION_NOT_FOUND; the
    // function's error or panic: RUNTIME_FUNCTION_EXCEPTION with its
    // message.
    let r = ws.request("3", "rpc", json!({ "payload": "x" }));
    assert_eq!(r["error"]["code"], 3, "{r}");
    let r = ws.request("4", "rpc", json!({ "id": "nope" }));
    assert_eq!(r["error"]["code"], 6, "{r}");
    assert_eq!(r["error"]["message"], "RPC function not found");
    let r = ws.request(
        "5",
        "rpc",
        json!({ "id": "example.fail", "payload": "{\"code\":3,\"message\":\"bad move\"}" }),
    );
    assert_eq!(
        r["error"],
        json!({ "code": 7, "message": "bad move" }),
        "{r}"
    );
    let r = ws.request("6", "rpc", json!({ "id": "test.panic" }));
    assert_eq!(r["error"]["code"], 7, "{r}");

    // The session survives all of it.
    let r = ws.request("7", "ping", json!({}));
    assert!(r.get("pong").is_some(), "{r}");

    // Game code reaches the caller's own sockets through the server API.
    let r = http.request(
        "POST",
        "/v2/rpc/example.notify_me",
        Some(&bearer(&me.token)),
        Some(&quoted(r#"{"reward":"gold"}"#)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let n = ws.next_with("notifications")["notifications"]["notifications"][0].clone();
    assert_eq!(n["code"], 101);
    assert_eq!(n["content"], r#"{"reward":"gold"}"#);
}

#[test]
fn socket_rpc_on_every_transport() {
    let s = TestServer::start(&Backend::Sqlite);
    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = kairos_client::Client::new("127.0.0.1", port, "defaultkey");
    use kairos_client::Transport::*;
    for transport in [WsJson, WsProtobuf, WsFlatBuffers, ReliableUdp, Quic] {
        let sess = client
            .authenticate_device(&unique("device-"), true, None)
            .expect("authenticates");
        let mut rt = client
            .connect(&sess, transport, kairos_client::ConnectOptions::default())
            .unwrap_or_else(|e| panic!("{transport} connects: {e}"));
        let out = rt
            .rpc("example.echo", r#"{"on":"every wire"}"#)
            .unwrap_or_else(|e| panic!("{transport} rpc: {e}"));
        assert_eq!(out.id, "example.echo", "{transport}");
        assert_eq!(out.payload, r#"{"on":"every wire"}"#, "{transport}");
        match rt.rpc("example.nothing", "") {
            Err(kairos_client::Error::Realtime { code, .. }) => assert_eq!(code, 6, "{transport}"),
            other => panic!("{transport}: {other:?}"),
        }
    }
}
