//! Authentication over REST, on every backend.

use kairos_tests::{Backend, TestServer, backend_tests, basic, unique};
use serde_json::json;

backend_tests!(
    device_authentication,
    usernames_are_unique,
    email_and_custom_authentication
);

fn device_authentication(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let id = unique("device-");

    // create=false on an unknown device: NotFound.
    http.post_basic(
        "/v2/account/authenticate/device?create=false",
        &json!({"id": id}),
    )
    .assert_error(404, 5);

    let r = http.post_basic(
        "/v2/account/authenticate/device?username=",
        &json!({"id": id, "vars": {"region": "eu"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], json!(true));
    let first = kairos_tests::Session::from(&r);
    let claims = first.claims();
    assert_eq!(claims["vrs"]["region"], "eu");
    assert!(claims["tid"].is_string() && claims["uid"].is_string() && claims["usn"].is_string());
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert_eq!(
        claims["usn"].as_str().unwrap().len(),
        10,
        "generated usernames have 10 letters"
    );

    // Again: same user, `created` omitted.
    let r = http.post_basic("/v2/account/authenticate/device", &json!({"id": id}));
    assert_eq!(r.status, 200);
    assert!(
        r.body.get("created").is_none(),
        "created is omitted when false: {}",
        r.text
    );
    assert_eq!(kairos_tests::Session::from(&r).user_id(), first.user_id());
}

fn usernames_are_unique(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let name = unique("u");
    let r = http.post_basic(
        &format!("/v2/account/authenticate/device?username={name}"),
        &json!({"id": unique("device-")}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(kairos_tests::Session::from(&r).claims()["usn"], json!(name));
    let r = http.post_basic(
        &format!("/v2/account/authenticate/device?username={name}"),
        &json!({"id": unique("device-")}),
    );
    r.assert_error(409, 6);
    assert_eq!(r.message(), "Username is already in use.");
}

fn email_and_custom_authentication(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let email = format!("{}@Example.com", unique("Player"));
    let r = http.post_basic(
        "/v2/account/authenticate/email",
        &json!({"email": email, "password": "correct horse"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], json!(true));
    let uid = kairos_tests::Session::from(&r).user_id();

    // Emails are case-insensitive; wrong passwords are refused.
    let r = http.post_basic(
        "/v2/account/authenticate/email",
        &json!({"email": email.to_lowercase(), "password": "correct horse"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(kairos_tests::Session::from(&r).user_id(), uid);
    let r = http.post_basic(
        "/v2/account/authenticate/email",
        &json!({"email": email, "password": "wrong horse"}),
    );
    r.assert_error(401, 16);
    assert_eq!(r.message(), "Invalid credentials.");

    // Login by username instead of email.
    let username = kairos_tests::Session::from(&http.post_basic(
        "/v2/account/authenticate/email",
        &json!({"email": email, "password": "correct horse"}),
    ))
    .claims()["usn"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http.post_basic(
        &format!("/v2/account/authenticate/email?username={username}"),
        &json!({"password": "correct horse"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(kairos_tests::Session::from(&r).user_id(), uid);

    let custom = unique("custom-");
    let r = http.post_basic("/v2/account/authenticate/custom", &json!({"id": custom}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], json!(true));
}

#[test]
fn invalid_input_is_refused_with_nakamas_messages() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let cases = [
        (
            "/v2/account/authenticate/device",
            json!({}),
            "Device ID is required.",
        ),
        (
            "/v2/account/authenticate/device",
            json!({"id": "short"}),
            "Device ID invalid, must be 10-128 bytes.",
        ),
        (
            "/v2/account/authenticate/device",
            json!({"id": "has space 123"}),
            "Device ID invalid, no spaces or control characters allowed.",
        ),
        (
            "/v2/account/authenticate/custom",
            json!({"id": "abc"}),
            "Custom ID invalid, must be 6-128 bytes.",
        ),
        (
            "/v2/account/authenticate/email",
            json!({"email": "nope", "password": "12345678"}),
            "Invalid email address format.",
        ),
        (
            "/v2/account/authenticate/email",
            json!({"email": "a@example.com", "password": "short"}),
            "Password must be at least 8 characters long.",
        ),
        (
            // bcrypt takes 72 bytes: a longer password is refused with
            // 400, not a 500 from the hasher.
            "/v2/account/authenticate/email",
            json!({"email": "long@example.com", "password": "p".repeat(73)}),
            "Password must be at most 72 bytes long.",
        ),
        (
            "/v2/account/authenticate/email",
            json!({"password": "12345678"}),
            "Username is required when email address is not supplied.",
        ),
        (
            "/v2/account/authenticate/device?username=a%00b",
            json!({"id": "0123456789ab"}),
            "Username invalid, no spaces or control characters allowed.",
        ),
        (
            "/v2/account/authenticate/device?create=maybe",
            json!({"id": "0123456789ab"}),
            "",
        ),
    ];
    for (path, body, message) in cases {
        let r = http.post_basic(path, &body);
        r.assert_error(400, 3);
        if !message.is_empty() {
            assert_eq!(r.message(), message, "{path} {body}");
        }
    }
    // Wrong types and malformed JSON.
    let auth = basic("defaultkey");
    http.request(
        "POST",
        "/v2/account/authenticate/device",
        Some(&auth),
        Some(r#"{"id": 12345678901}"#),
    )
    .assert_error(400, 3);
    http.request(
        "POST",
        "/v2/account/authenticate/device",
        Some(&auth),
        Some(r#"{"id": "#),
    )
    .assert_error(400, 3);
    http.request(
        "POST",
        "/v2/account/authenticate/device",
        Some(&auth),
        Some("[1,2]"),
    )
    .assert_error(400, 3);
    // The server keeps serving.
    http.device(&unique("device-"));
}

#[test]
fn server_key_is_required() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let body = json!({"id": unique("device-")}).to_string();
    let path = "/v2/account/authenticate/device";
    let r = http.request("POST", path, None, Some(&body));
    r.assert_error(401, 16);
    assert_eq!(r.message(), "Server key required");
    assert_eq!(r.header("www-authenticate"), Some("Server key required"));
    let r = http.request("POST", path, Some(&basic("wrongkey")), Some(&body));
    r.assert_error(401, 16);
    assert_eq!(r.message(), "Server key invalid");
    http.request("POST", path, Some("Basic !!!notbase64"), Some(&body))
        .assert_error(401, 16);
    http.request("POST", path, Some("Bearer abc"), Some(&body))
        .assert_error(401, 16);

    let custom = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--socket.server_key", "s3cret"],
    );
    let r = custom
        .http()
        .request("POST", path, Some(&basic("s3cret")), Some(&body));
    assert_eq!(r.status, 200, "{}", r.text);
    custom
        .http()
        .request("POST", path, Some(&basic("defaultkey")), Some(&body))
        .assert_error(401, 16);
}
