//! HTTP JSON bodies: the request types of `kairos_schema::api`, decoded as
//! the router's `Call::json` decodes them (an all-whitespace body is the
//! empty message, anything else goes through `serde_json::from_slice`),
//! then checked by `kairos_core::validate` as the handlers check them. A
//! device body's session variables are signed into a session token, as
//! authentication does, and that token must verify.
//!
//! Input: the first byte picks the route, the rest is the body.

#![no_main]

use kairos_core::config::SessionConfig;
use kairos_core::session::SessionIssuer;
use kairos_core::validate;
use kairos_schema::api;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

/// A fixed clock, unix seconds.
const NOW: i64 = 1_760_000_000;

/// `Call::json`'s decoding (shards/src/http/router.rs).
fn json<T: DeserializeOwned + Default>(body: &[u8]) -> Option<T> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Some(T::default());
    }
    serde_json::from_slice(body).ok()
}

fn authenticate_device(body: &[u8]) {
    let Some(b) = json::<api::AccountDevice>(body) else {
        return;
    };
    if validate::device_id(&b.id).is_err() {
        return;
    }
    let issuer = SessionIssuer::new(&SessionConfig::default());
    let user = uuid::Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
    let issued = issuer.issue(user, "fuzz", b.vars.clone(), NOW);
    let claims = issuer
        .verify_session(&issued.token, NOW)
        .expect("a token the server issued verifies");
    assert_eq!(claims.vrs, b.vars);
    issuer
        .verify_refresh(&issued.refresh_token, NOW)
        .expect("a refresh token the server issued verifies");
}

fn authenticate_custom(body: &[u8]) {
    if let Some(b) = json::<api::AccountCustom>(body) {
        let _ = validate::custom_id(&b.id);
        let _ = validate::custom_id_for_link(&b.id);
    }
}

fn authenticate_email(body: &[u8]) {
    if let Some(b) = json::<api::AccountEmail>(body) {
        if !b.email.is_empty() {
            let _ = validate::email(&b.email);
        }
        let _ = validate::password(&b.password);
        let _ = b.email.to_lowercase();
    }
}

fn session_refresh(body: &[u8]) {
    if let Some(b) = json::<api::SessionRefreshRequest>(body) {
        let issuer = SessionIssuer::new(&SessionConfig::default());
        let _ = issuer.verify_refresh(&b.token, NOW);
    }
}

fn session_logout(body: &[u8]) {
    if let Some(b) = json::<api::SessionLogoutRequest>(body) {
        let issuer = SessionIssuer::new(&SessionConfig::default());
        let _ = issuer.verify_session(&b.token, NOW);
        let _ = issuer.verify_refresh(&b.refresh_token, NOW);
    }
}

/// `PUT /v2/account` (shards/src/http/handlers/account.rs, `update_account`).
fn update_account(body: &[u8]) {
    let Some(b) = json::<api::UpdateAccountRequest>(body) else {
        return;
    };
    if let Some(name) = &b.username {
        let _ = validate::username(name);
    }
    for (label, value, max) in [
        ("Display name", &b.display_name, 255),
        ("Avatar URL", &b.avatar_url, 512),
        ("Language tag", &b.lang_tag, 18),
        ("Location", &b.location, 255),
        ("Timezone", &b.timezone, 255),
    ] {
        if let Some(v) = value {
            let _ = validate::profile_field(label, v, max);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    match route % 6 {
        0 => authenticate_device(body),
        1 => authenticate_custom(body),
        2 => authenticate_email(body),
        3 => session_refresh(body),
        4 => session_logout(body),
        _ => update_account(body),
    }
});
