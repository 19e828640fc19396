//! Session tokens: refresh, logout, revocation across restarts.

use kairos_tests::{Backend, Session, TestServer, backend_tests, bearer, unique};
use serde_json::json;

backend_tests!(
    refresh_keeps_the_session_and_picks_up_changes,
    logout_revokes_and_survives_restart
);

fn refresh_keeps_the_session_and_picks_up_changes(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let sess = http.device(&unique("device-"));
    let name = unique("fresh");
    assert_eq!(
        http.send(
            "PUT",
            "/v2/account",
            &sess.token,
            &json!({"username": name})
        )
        .status,
        200
    );

    let r = http.post_basic(
        "/v2/account/session/refresh",
        &json!({"token": sess.refresh_token, "vars": {"k": "v"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = Session::from(&r);
    let (old, new) = (sess.claims(), fresh.claims());
    assert_eq!(old["tid"], new["tid"]);
    assert_eq!(new["usn"], json!(name));
    assert_eq!(new["vrs"]["k"], "v");
    assert_eq!(http.get("/v2/account", &fresh.token).status, 200);

    // A session token is not a refresh token, and garbage is refused.
    http.post_basic("/v2/account/session/refresh", &json!({"token": sess.token}))
        .assert_error(401, 16);
    http.post_basic("/v2/account/session/refresh", &json!({"token": "x.y.z"}))
        .assert_error(401, 16);
    let r = http.post_basic("/v2/account/session/refresh", &json!({}));
    r.assert_error(400, 3);
    assert_eq!(r.message(), "Refresh token is required.");
}

#[test]
fn bad_tokens_are_refused() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let r = http.request("GET", "/v2/account", None, None);
    r.assert_error(401, 16);
    assert_eq!(r.message(), "Auth token required");
    let r = http.request("GET", "/v2/account", Some("Bearer nonsense"), None);
    r.assert_error(401, 16);
    assert_eq!(r.message(), "Auth token invalid");
    http.request(
        "GET",
        "/v2/account",
        Some(&kairos_tests::basic("defaultkey")),
        None,
    )
    .assert_error(401, 16);

    // A token signed with another key.
    let other = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--session.encryption_key", "another-key"],
    );
    let foreign = other.http().device(&unique("device-"));
    http.get("/v2/account", &foreign.token)
        .assert_error(401, 16);

    // An expired token.
    let short = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--session.token_expiry_sec", "1"],
    );
    let sess = short.http().device(&unique("device-"));
    assert_eq!(short.http().get("/v2/account", &sess.token).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    short
        .http()
        .get("/v2/account", &sess.token)
        .assert_error(401, 16);
}

fn logout_revokes_and_survives_restart(b: &Backend) {
    let mut s = TestServer::start(b);
    let http = s.http();
    let device = unique("device-");
    let a = http.device(&device);
    let b2 = http.device(&device);

    // Log out session A only.
    let r = http.send(
        "POST",
        "/v2/session/logout",
        &a.token,
        &json!({"token": a.token, "refresh_token": a.refresh_token}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    http.get("/v2/account", &a.token).assert_error(401, 16);
    http.post_basic(
        "/v2/account/session/refresh",
        &json!({"token": a.refresh_token}),
    )
    .assert_error(401, 16);
    assert_eq!(
        http.get("/v2/account", &b2.token).status,
        200,
        "other sessions stay valid"
    );

    // Someone else's token can't be logged out.
    let stranger = http.device(&unique("device-"));
    http.send(
        "POST",
        "/v2/session/logout",
        &stranger.token,
        &json!({"token": b2.token}),
    )
    .assert_error(400, 3);

    // Revocations survive a restart.
    s.restart();
    let http = s.http();
    http.get("/v2/account", &a.token).assert_error(401, 16);
    assert_eq!(http.get("/v2/account", &b2.token).status, 200);

    // Logging out with no tokens ends every session of the user.
    let c = http.device(&device);
    assert_eq!(
        http.send("POST", "/v2/session/logout", &b2.token, &json!({}))
            .status,
        200
    );
    http.get("/v2/account", &b2.token).assert_error(401, 16);
    http.get("/v2/account", &c.token).assert_error(401, 16);
    s.restart();
    let http = s.http();
    http.request("GET", "/v2/account", Some(&bearer(&c.token)), None)
        .assert_error(401, 16);
    // A new login works again and sees the same account.
    let d = http.device(&device);
    assert_eq!(d.user_id(), a.user_id());
    assert_eq!(http.get("/v2/account", &d.token).status, 200);
}

/// A token signed with the server's key but whose token id is not a UUID
/// could never be revoked by a logout, so it is refused everywhere: REST,
/// the socket and refresh.
#[test]
fn tokens_whose_id_cannot_be_revoked_are_refused() {
    use kairos_core::token::{Claims, TokenKey};
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let real = http.device(&unique("device-"));
    let forge = |key: &[u8], tid: &str| {
        TokenKey::new(key).sign(&Claims {
            tid: tid.into(),
            uid: real.user_id(),
            usn: real.username(),
            vrs: Default::default(),
            exp: kairos_core::time::now_secs() + 600,
            iat: kairos_core::time::now_secs(),
        })
    };
    // The same claims with a UUID token id pass: the forgery itself works.
    let good = forge(
        b"defaultencryptionkey",
        &kairos_core::token::new_token_id().to_string(),
    );
    assert_eq!(http.get("/v2/account", &good).status, 200);

    let bad = forge(b"defaultencryptionkey", "not-a-uuid");
    http.get("/v2/account", &bad).assert_error(401, 16);
    match kairos_tests::Ws::connect(&s.addr, &format!("token={bad}")) {
        kairos_tests::Connect::Refused(status, _) => assert_eq!(status, 401),
        kairos_tests::Connect::Open(_) => panic!("socket opened with an unrevocable token"),
    }
    let refresh = forge(b"defaultrefreshencryptionkey", "not-a-uuid");
    http.post_basic("/v2/account/session/refresh", &json!({ "token": refresh }))
        .assert_error(401, 16);
}
