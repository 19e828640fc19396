//! Accounts, users, linking, on every backend.

use kairos_tests::{Backend, TestServer, backend_tests, unique};
use serde_json::json;

backend_tests!(get_update_and_delete_account, link_and_unlink);

fn get_update_and_delete_account(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let device = unique("device-");
    let sess = http.device(&device);

    let r = http.get("/v2/account", &sess.token);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], json!(sess.user_id()));
    assert_eq!(r.body["user"]["lang_tag"], "en");
    assert_eq!(r.body["devices"][0]["id"], json!(device));
    assert_eq!(r.body["wallet"], "{}");
    assert_eq!(r.body["user"]["metadata"], "{}");
    let created = r.body["user"]["create_time"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && created.len() == 20,
        "RFC 3339 without fraction: {created}"
    );
    assert!(r.body.get("email").is_none() && r.body.get("custom_id").is_none());

    let name = unique("renamed");
    let r = http.send(
        "PUT",
        "/v2/account",
        &sess.token,
        &json!({"username": name, "display_name": "Ada", "avatar_url": "https://x/y.png", "lang_tag": "fr", "location": "Paris", "timezone": "Europe/Paris"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({}));
    let u = http.get("/v2/account", &sess.token).body["user"].clone();
    assert_eq!(u["username"], json!(name));
    assert_eq!(u["display_name"], "Ada");
    assert_eq!(u["lang_tag"], "fr");
    assert_eq!(u["timezone"], "Europe/Paris");

    // Clearing a field; nothing to update; bad username.
    assert_eq!(
        http.send(
            "PUT",
            "/v2/account",
            &sess.token,
            &json!({"display_name": ""})
        )
        .status,
        200
    );
    assert!(
        http.get("/v2/account", &sess.token).body["user"]
            .get("display_name")
            .is_none()
    );
    let r = http.send("PUT", "/v2/account", &sess.token, &json!({}));
    r.assert_error(400, 3);
    assert_eq!(r.message(), "No fields to update.");
    http.send("PUT", "/v2/account", &sess.token, &json!({"username": ""}))
        .assert_error(400, 3);
    http.send(
        "PUT",
        "/v2/account",
        &sess.token,
        &json!({"display_name": "x".repeat(256)}),
    )
    .assert_error(400, 3);
    // A taken username.
    let other = http.device(&unique("device-"));
    let other_name = other.claims()["usn"].as_str().unwrap().to_string();
    http.send(
        "PUT",
        "/v2/account",
        &sess.token,
        &json!({"username": other_name}),
    )
    .assert_error(409, 6);

    // Users by id and username.
    let r = http.get(
        &format!("/v2/user?ids={}&usernames={other_name}", sess.user_id()),
        &sess.token,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let users = r.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    let r = http.get("/v2/user?ids=not-a-uuid", &sess.token);
    r.assert_error(400, 3);
    assert_eq!(r.message(), "ID 'not-a-uuid' is not a valid system ID.");
    assert_eq!(http.get("/v2/user", &sess.token).body, json!({}));
    assert_eq!(
        http.get(&format!("/v2/user?ids={}", uuid_nil()), &sess.token)
            .body,
        json!({})
    );

    // Delete: the account goes, the token stops working, the device is free again.
    let r = http.send("DELETE", "/v2/account", &sess.token, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    http.get("/v2/account", &sess.token).assert_error(401, 16);
    let again = http.device(&device);
    assert!(again.created);
    assert_ne!(again.user_id(), sess.user_id());
}

fn uuid_nil() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

fn link_and_unlink(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let device = unique("device-");
    let sess = http.device(&device);
    let t = &sess.token;

    // The last identifier can't be unlinked.
    let r = http.send(
        "POST",
        "/v2/account/unlink/device",
        t,
        &json!({"id": device}),
    );
    r.assert_error(403, 7);

    let custom = unique("custom-");
    assert_eq!(
        http.send("POST", "/v2/account/link/custom", t, &json!({"id": custom}))
            .status,
        200
    );
    let email = format!("{}@example.com", unique("link"));
    let r = http.send(
        "POST",
        "/v2/account/link/email",
        t,
        &json!({"email": email, "password": "password123"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let second_device = unique("device-");
    assert_eq!(
        http.send(
            "POST",
            "/v2/account/link/device",
            t,
            &json!({"id": second_device})
        )
        .status,
        200
    );

    let acct = http.get("/v2/account", t).body;
    assert_eq!(acct["custom_id"], json!(custom));
    assert_eq!(acct["email"], json!(email));
    assert_eq!(acct["devices"].as_array().unwrap().len(), 2);

    // Each linked identifier now logs into the same account.
    let r = http.post_basic(
        "/v2/account/authenticate/custom?create=false",
        &json!({"id": custom}),
    );
    assert_eq!(kairos_tests::Session::from(&r).user_id(), sess.user_id());
    let r = http.post_basic(
        "/v2/account/authenticate/email?create=false",
        &json!({"email": email, "password": "password123"}),
    );
    assert_eq!(kairos_tests::Session::from(&r).user_id(), sess.user_id());

    // Identifiers held by another account can't be linked.
    let other = http.device(&unique("device-"));
    http.send(
        "POST",
        "/v2/account/link/device",
        &other.token,
        &json!({"id": device}),
    )
    .assert_error(409, 6);
    http.send(
        "POST",
        "/v2/account/link/custom",
        &other.token,
        &json!({"id": custom}),
    )
    .assert_error(409, 6);
    http.send(
        "POST",
        "/v2/account/link/email",
        &other.token,
        &json!({"email": email, "password": "password123"}),
    )
    .assert_error(409, 6);
    // Bad input.
    http.send("POST", "/v2/account/link/custom", t, &json!({"id": "abc"}))
        .assert_error(400, 3);
    http.send(
        "POST",
        "/v2/account/link/email",
        t,
        &json!({"email": email}),
    )
    .assert_error(400, 3);
    http.send("POST", "/v2/account/unlink/device", t, &json!({}))
        .assert_error(400, 3);

    for (path, body) in [
        ("/v2/account/unlink/custom", json!({"id": custom})),
        ("/v2/account/unlink/email", json!({"email": email})),
        ("/v2/account/unlink/device", json!({"id": second_device})),
    ] {
        let r = http.send("POST", path, t, &body);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let acct = http.get("/v2/account", t).body;
    assert!(
        acct.get("custom_id").is_none() && acct.get("email").is_none(),
        "{acct}"
    );
    assert_eq!(acct["devices"].as_array().unwrap().len(), 1);
    http.send(
        "POST",
        "/v2/account/unlink/device",
        t,
        &json!({"id": device}),
    )
    .assert_error(403, 7);
}
