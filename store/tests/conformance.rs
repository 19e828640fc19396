//! One conformance suite for every backend: each test runs against SQLite,
//! and against PostgreSQL when `KAIROS_TEST_POSTGRES` names a database
//! (each PostgreSQL test in a schema of its own, dropped afterwards; see
//! `common`).

#[macro_use]
mod common;

use kairos_core::account::{AccountUpdate, Identity};
use kairos_core::error::Code;
use kairos_store::Persist;
use uuid::Uuid;

use common::{Backend, auth, device, raw_sql, unique};

conformance!(
    migrations_are_idempotent,
    concurrent_migrations,
    device_accounts,
    usernames,
    concurrent_creation_makes_one_account,
    concurrent_email_creation_makes_one_account,
    concurrent_sign_ups_with_collisions,
    email_accounts,
    emails_are_lowercased,
    long_passwords,
    custom_accounts,
    banned_accounts,
    bans_set_and_clear,
    tombstones_only_when_recorded,
    link_and_unlink,
    link_edge_cases,
    account_updates,
    updates_only_write_changes,
    delete_account,
    get_users,
    user_ids_after,
    revocations,
    data_survives_reopening,
    pool_runs_jobs,
);

fn migrations_are_idempotent(b: Backend) {
    let before = b
        .call(|s| Box::pin(async move { s.migrate_status().await }))
        .unwrap();
    assert!(!before.is_empty());
    assert!(before.iter().all(|m| m.applied_at.is_none()), "{before:?}");
    let first = b
        .call(|s| Box::pin(async move { s.migrate_up().await }))
        .unwrap();
    let again = b
        .call(|s| Box::pin(async move { s.migrate_status().await }))
        .unwrap();
    assert_eq!(first, again);
    assert!(again.iter().all(|m| m.applied_at.is_some()));
}

fn device_accounts(b: Backend) {
    let b = b.migrated();
    let d = unique("dev-");
    assert_eq!(
        auth(&b, device(&d), "", false).unwrap_err().code,
        Code::NotFound
    );
    let created = auth(&b, device(&d), "", true).unwrap();
    assert!(created.created);
    let again = auth(&b, device(&d), "ignored", true).unwrap();
    assert!(!again.created);
    assert_eq!(again.user_id, created.user_id);
    assert_eq!(again.username, created.username);
}

fn usernames(b: Backend) {
    let b = b.migrated();
    let name = unique("n");
    let a = auth(&b, device(&unique("dev-")), &name, true).unwrap();
    assert_eq!(a.username, name);
    let e = auth(&b, device(&unique("dev-")), &name, true).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_ref()),
        (Code::AlreadyExists, "Username is already in use.")
    );
    let g = auth(&b, device(&unique("dev-")), "", true).unwrap();
    assert_eq!(g.username.len(), 10);
}

fn concurrent_creation_makes_one_account(b: Backend) {
    let b = b.migrated();
    let d = unique("dev-");
    let replies: Vec<_> = (0..8)
        .map(|_| {
            let d = d.clone();
            b.persist
                .run(move |s| async move { s.authenticate(device(&d), String::new(), true).await })
        })
        .collect();
    let results: Vec<_> = replies
        .into_iter()
        .map(|r| b.persist.block_on(r).unwrap())
        .collect();
    assert!(
        results.iter().all(|r| r.user_id == results[0].user_id),
        "{results:?}"
    );
    assert_eq!(results.iter().filter(|r| r.created).count(), 1);
}

fn email_accounts(b: Backend) {
    let b = b.migrated();
    let email = format!("{}@example.com", unique("e"));
    let email_id = |password: &str| Identity::Email {
        email: email.clone(),
        username: String::new(),
        password: password.into(),
    };
    let created = auth(&b, email_id("password1"), "", true).unwrap();
    assert!(created.created);
    assert_eq!(
        auth(&b, email_id("password1"), "", false).unwrap().user_id,
        created.user_id
    );
    let e = auth(&b, email_id("password2"), "", true).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_ref()),
        (Code::Unauthenticated, "Invalid credentials.")
    );
    // Login by username.
    let by_name = Identity::Email {
        email: String::new(),
        username: created.username.clone(),
        password: "password1".into(),
    };
    assert_eq!(
        auth(&b, by_name, &created.username, false).unwrap().user_id,
        created.user_id
    );
    let unknown = Identity::Email {
        email: String::new(),
        username: unique("nobody"),
        password: "password1".into(),
    };
    assert_eq!(
        auth(&b, unknown, "x", true).unwrap_err().code,
        Code::NotFound
    );
}

fn custom_accounts(b: Backend) {
    let b = b.migrated();
    let c = unique("custom-");
    let a = auth(&b, Identity::Custom { id: c.clone() }, "", true).unwrap();
    assert!(a.created);
    assert_eq!(
        auth(&b, Identity::Custom { id: c }, "", false)
            .unwrap()
            .user_id,
        a.user_id
    );
}

fn link_and_unlink(b: Backend) {
    let b = b.migrated();
    let d = unique("dev-");
    let user = auth(&b, device(&d), "", true).unwrap().user_id;
    let other = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    let call = |user: Uuid, identity: Identity, link: bool| {
        b.call(move |s| {
            Box::pin(async move {
                if link {
                    s.link(user, identity).await
                } else {
                    s.unlink(user, identity).await
                }
            })
        })
    };
    assert_eq!(
        call(user, device(&d), false).unwrap_err().code,
        Code::PermissionDenied,
        "last identifier"
    );
    let custom = unique("custom-");
    call(user, Identity::Custom { id: custom.clone() }, true).unwrap();
    call(user, device(&d), true).unwrap(); // already linked to this user: no-op
    assert_eq!(
        call(other, device(&d), true).unwrap_err().message,
        "Device ID already in use."
    );
    assert_eq!(
        call(other, Identity::Custom { id: custom.clone() }, true)
            .unwrap_err()
            .message,
        "Custom ID is already in use."
    );
    let email = format!("{}@example.com", unique("l"));
    call(
        user,
        Identity::Email {
            email: email.clone(),
            username: String::new(),
            password: "password9".into(),
        },
        true,
    )
    .unwrap();
    assert_eq!(
        call(
            other,
            Identity::Email {
                email: email.clone(),
                username: String::new(),
                password: "password9".into()
            },
            true
        )
        .unwrap_err()
        .message,
        "Email is already in use."
    );
    // The linked email logs in with its password.
    let login = Identity::Email {
        email: email.clone(),
        username: String::new(),
        password: "password9".into(),
    };
    assert_eq!(auth(&b, login, "", false).unwrap().user_id, user);

    call(user, device(&d), false).unwrap();
    call(user, Identity::Custom { id: custom }, false).unwrap();
    assert_eq!(
        call(
            user,
            Identity::Email {
                email,
                username: String::new(),
                password: String::new()
            },
            false
        )
        .unwrap_err()
        .code,
        Code::PermissionDenied
    );
    assert_eq!(
        call(
            user,
            Identity::Custom {
                id: "not-mine".into()
            },
            false
        )
        .unwrap_err()
        .code,
        Code::PermissionDenied
    );
    let acct = b
        .call(move |s| Box::pin(async move { s.get_account(user).await }))
        .unwrap();
    assert!(acct.devices.is_empty() && acct.custom_id.is_empty() && !acct.email.is_empty());
}

fn account_updates(b: Backend) {
    let b = b.migrated();
    let user = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    let taken = auth(&b, device(&unique("dev-")), "", true)
        .unwrap()
        .username;
    let name = unique("upd");
    let update = AccountUpdate {
        username: Some(name.clone()),
        display_name: Some("Ada".into()),
        timezone: Some("UTC".into()),
        lang_tag: Some("fr".into()),
        ..Default::default()
    };
    b.call(move |s| Box::pin(async move { s.update_account(user, update).await }))
        .unwrap();
    let acct = b
        .call(move |s| Box::pin(async move { s.get_account(user).await }))
        .unwrap();
    assert_eq!(
        (
            acct.user.username.as_str(),
            acct.user.display_name.as_str(),
            acct.user.lang_tag.as_str()
        ),
        (name.as_str(), "Ada", "fr")
    );
    assert_eq!(acct.wallet, "{}");
    let clear = AccountUpdate {
        display_name: Some(String::new()),
        ..Default::default()
    };
    b.call(move |s| Box::pin(async move { s.update_account(user, clear).await }))
        .unwrap();
    let acct = b
        .call(move |s| Box::pin(async move { s.get_account(user).await }))
        .unwrap();
    assert_eq!(acct.user.display_name, "");
    let clash = AccountUpdate {
        username: Some(taken),
        ..Default::default()
    };
    let e = b
        .call(move |s| Box::pin(async move { s.update_account(user, clash).await }))
        .unwrap_err();
    assert_eq!(e.code, Code::AlreadyExists);
    let status = b
        .call(move |s| Box::pin(async move { s.user_status(user).await }))
        .unwrap();
    assert_eq!(status.username, name);
    assert!(!status.disabled);
}

fn delete_account(b: Backend) {
    let b = b.migrated();
    let d = unique("dev-");
    let user = auth(&b, device(&d), "", true).unwrap().user_id;
    b.call(move |s| Box::pin(async move { s.delete_account(user, true).await }))
        .unwrap();
    b.call(move |s| Box::pin(async move { s.delete_account(user, true).await }))
        .unwrap();
    assert_eq!(
        b.call(move |s| Box::pin(async move { s.get_account(user).await }))
            .unwrap_err()
            .code,
        Code::NotFound
    );
    assert_eq!(
        b.call(move |s| Box::pin(async move { s.user_status(user).await }))
            .unwrap_err()
            .code,
        Code::NotFound
    );
    let again = auth(&b, device(&d), "", true).unwrap();
    assert!(again.created);
    assert_ne!(again.user_id, user);
}

/// Ids after a given one, in order, at most the limit asked.
fn user_ids_after(b: Backend) {
    let b = b.migrated();
    let mut made: Vec<Uuid> = (0..3)
        .map(|_| auth(&b, device(&unique("dev-")), "", true).unwrap().user_id)
        .collect();
    made.sort();
    let after = |start: Uuid, limit: usize| {
        b.call(move |s| Box::pin(async move { s.user_ids_after(start, limit).await }))
            .unwrap()
    };
    let all = after(Uuid::nil(), 100_000);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in id order");
    assert!(!all.contains(&Uuid::nil()));
    assert!(made.iter().all(|id| all.contains(id)));
    let from = after(made[0], 100_000);
    assert!(from.iter().all(|id| *id > made[0]));
    assert!(from.contains(&made[1]) && from.contains(&made[2]));
    assert_eq!(after(Uuid::nil(), 2).len(), 2);
    assert!(after(Uuid::max(), 10).is_empty());
}

fn get_users(b: Backend) {
    let b = b.migrated();
    let a = auth(&b, device(&unique("dev-")), "", true).unwrap();
    let c = auth(&b, device(&unique("dev-")), "", true).unwrap();
    let ids = vec![a.user_id, Uuid::new_v4()];
    let names = vec![c.username.clone(), unique("ghost")];
    let mut users = b
        .call(move |s| Box::pin(async move { s.get_users(ids, names).await }))
        .unwrap();
    users.sort_by_key(|u| u.username.clone());
    let mut expected = vec![a.username.clone(), c.username];
    expected.sort();
    assert_eq!(
        users.iter().map(|u| u.username.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(
        users
            .iter()
            .all(|u| u.lang_tag == "en" && u.metadata == "{}" && u.create_time > 0)
    );
    // A user named by id and by username comes back once.
    let (id, name) = (a.user_id, a.username.clone());
    let once = b
        .call(move |s| Box::pin(async move { s.get_users(vec![id], vec![name]).await }))
        .unwrap();
    assert_eq!(once.len(), 1);
    let none = b
        .call(|s| Box::pin(async move { s.get_users(Vec::new(), Vec::new()).await }))
        .unwrap();
    assert!(none.is_empty());
}

fn revocations(b: Backend) {
    let b = b.migrated();
    let (user, t1, t2) = (Uuid::new_v4(), Uuid::now_v7(), Uuid::now_v7());
    b.call(move |s| Box::pin(async move { s.revoke_token(user, t1, 100).await }))
        .unwrap();
    b.call(move |s| Box::pin(async move { s.revoke_token(user, t2, 5000).await }))
        .unwrap();
    b.call(move |s| Box::pin(async move { s.revoke_all(user, 42).await }))
        .unwrap();
    b.call(move |s| Box::pin(async move { s.revoke_all(user, 7).await }))
        .unwrap();
    let r = b
        .call(|s| Box::pin(async move { s.load_revocations(1000).await }))
        .unwrap();
    assert!(r.tokens.contains(&(t2, user, 5000)));
    assert!(
        !r.tokens.iter().any(|(t, _, _)| *t == t1),
        "expired revocations are pruned"
    );
    assert!(
        r.cutoffs.contains(&(user, 42)),
        "the cutoff only moves forward"
    );
}

fn data_survives_reopening(b: Backend) {
    let b = b.migrated();
    let d = unique("dev-");
    let user = auth(&b, device(&d), "", true).unwrap().user_id;
    let t = Uuid::now_v7();
    b.call(move |s| Box::pin(async move { s.revoke_token(user, t, i64::MAX / 2).await }))
        .unwrap();
    let b = b.reopen();
    assert_eq!(auth(&b, device(&d), "", false).unwrap().user_id, user);
    let r = b
        .call(|s| Box::pin(async move { s.load_revocations(0).await }))
        .unwrap();
    assert!(r.tokens.iter().any(|(tid, _, _)| *tid == t));
}

fn get_account(
    b: &Backend,
    user: Uuid,
) -> kairos_core::error::ApiResult<kairos_core::account::Account> {
    b.call(move |s| Box::pin(async move { s.get_account(user).await }))
}

fn update(b: &Backend, user: Uuid, u: AccountUpdate) -> kairos_core::error::ApiResult<()> {
    b.call(move |s| Box::pin(async move { s.update_account(user, u).await }))
}

fn link(b: &Backend, user: Uuid, identity: Identity) -> kairos_core::error::ApiResult<()> {
    b.call(move |s| Box::pin(async move { s.link(user, identity).await }))
}

fn unlink(b: &Backend, user: Uuid, identity: Identity) -> kairos_core::error::ApiResult<()> {
    b.call(move |s| Box::pin(async move { s.unlink(user, identity).await }))
}

fn email(address: &str, password: &str) -> Identity {
    Identity::Email {
        email: address.to_string(),
        username: String::new(),
        password: password.to_string(),
    }
}

/// Two pools migrating one database at once both succeed, once.
fn concurrent_migrations(b: Backend) {
    let other = Persist::open(&b.config).expect("second pool");
    let r1 = b.persist.run(|s| async move { s.migrate_up().await });
    let r2 = other.run(|s| async move { s.migrate_up().await });
    let (a, c) = (b.persist.block_on(r1).unwrap(), other.block_on(r2).unwrap());
    assert_eq!(a, c);
    assert!(a.iter().all(|m| m.applied_at.is_some()));
    other.shutdown();
}

fn concurrent_email_creation_makes_one_account(b: Backend) {
    let b = b.migrated();
    let address = format!("{}@example.com", unique("race"));
    let replies: Vec<_> = (0..6)
        .map(|_| {
            let id = email(&address, "password1");
            b.persist
                .run(move |s| async move { s.authenticate(id, String::new(), true).await })
        })
        .collect();
    let results: Vec<_> = replies
        .into_iter()
        .map(|r| b.persist.block_on(r).unwrap())
        .collect();
    assert!(results.iter().all(|r| r.user_id == results[0].user_id));
    assert_eq!(results.iter().filter(|r| r.created).count(), 1);
}

/// Many sign-ups at once (on SQLite they share transactions: group
/// commit), some racing for the same device, username or email: each race
/// has one winner, every loser sees the winner or "Username is already in
/// use.", and nothing half-written is left behind.
fn concurrent_sign_ups_with_collisions(b: Backend) {
    let b = b.migrated();
    let taken_name = unique("n");
    let address = format!("{}@example.com", unique("batch"));
    let shared: Vec<String> = (0..16).map(|_| unique("shared-")).collect();
    let solo: Vec<String> = (0..16).map(|_| unique("solo-")).collect();
    let named: Vec<String> = (0..4).map(|_| unique("named-")).collect();
    // (identity, wanted username): every shared device twice, the named
    // devices all after the same username, the email four times.
    let mut requests: Vec<(Identity, String)> = Vec::new();
    for d in shared.iter().chain(&shared).chain(&solo) {
        requests.push((device(d), String::new()));
    }
    for d in &named {
        requests.push((device(d), taken_name.clone()));
    }
    for _ in 0..4 {
        requests.push((email(&address, "password1"), String::new()));
    }
    let replies: Vec<_> = requests
        .iter()
        .cloned()
        .map(|(identity, username)| {
            b.persist
                .run(move |s| async move { s.authenticate(identity, username, true).await })
        })
        .collect();
    let results: Vec<_> = replies.into_iter().map(|r| b.persist.block_on(r)).collect();

    let mut creators = std::collections::HashMap::new();
    let mut owner = std::collections::HashMap::new();
    for ((identity, _), result) in requests.iter().zip(&results) {
        let key = format!("{identity:?}");
        if let Identity::Device { id } = identity
            && named.contains(id)
        {
            continue;
        }
        let r = result.as_ref().expect("sign-up");
        if r.created {
            assert!(
                creators.insert(key.clone(), r.user_id).is_none(),
                "{key} created twice"
            );
        }
        assert_eq!(*owner.entry(key).or_insert(r.user_id), r.user_id);
    }
    assert_eq!(creators.len(), shared.len() + solo.len() + 1);
    assert_eq!(owner, creators, "each winner is everyone's account");

    let named_results: Vec<_> = results[results.len() - 8..results.len() - 4].to_vec();
    let winners: Vec<_> = named_results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .collect();
    assert_eq!(winners.len(), 1, "{named_results:?}");
    assert!(winners[0].created);
    assert_eq!(winners[0].username, taken_name);
    for e in named_results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(
            (e.code, e.message.as_ref()),
            (Code::AlreadyExists, "Username is already in use.")
        );
    }
    // The losers of the username left no account behind.
    for d in &named {
        match auth(&b, device(d), "", false) {
            Ok(a) => assert_eq!(a.user_id, winners[0].user_id),
            Err(e) => assert_eq!(e.code, Code::NotFound),
        }
    }
    // Every account holds its identifier and only it, with no edges.
    for d in shared.iter().chain(&solo) {
        let id = creators[&format!("{:?}", device(d))];
        let account = get_account(&b, id).unwrap();
        assert_eq!(account.devices, vec![d.clone()]);
        assert_eq!(account.user.edge_count, 0);
    }
    let email_owner = creators[&format!("{:?}", email(&address, "password1"))];
    let account = get_account(&b, email_owner).unwrap();
    assert_eq!(
        (account.email.as_str(), account.devices.len()),
        (address.as_str(), 0)
    );
    assert_eq!(
        auth(&b, email(&address, "password1"), "", false)
            .unwrap()
            .user_id,
        email_owner
    );
}

fn emails_are_lowercased(b: Backend) {
    let b = b.migrated();
    let lower = format!("{}@example.com", unique("mixed"));
    let upper = lower.to_uppercase();
    let created = auth(&b, email(&upper, "password1"), "", true).unwrap();
    assert_eq!(get_account(&b, created.user_id).unwrap().email, lower);
    let again = auth(&b, email(&lower, "password1"), "", false).unwrap();
    assert_eq!(again.user_id, created.user_id);
    // Linking and unlinking compare lowercased too.
    let other = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    let e = link(&b, other, email(&upper, "password2")).unwrap_err();
    assert_eq!(e.message, "Email is already in use.");
    link(&b, created.user_id, device(&unique("dev-"))).unwrap();
    unlink(&b, created.user_id, email(&upper, "")).unwrap();
    assert_eq!(get_account(&b, created.user_id).unwrap().email, "");
}

fn long_passwords(b: Backend) {
    let b = b.migrated();
    let long = "p".repeat(73);
    let e = auth(
        &b,
        email(&format!("{}@example.com", unique("long")), &long),
        "",
        true,
    )
    .unwrap_err();
    assert_eq!(e.code, Code::Internal);
    // 72 bytes is fine.
    let ok = format!("{}@example.com", unique("ok"));
    auth(&b, email(&ok, &"p".repeat(72)), "", true).unwrap();
    // Nakama's link ignores the hashing error and stores no password.
    let user = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    let linked = format!("{}@example.com", unique("linked"));
    link(&b, user, email(&linked, &long)).unwrap();
    let e = auth(&b, email(&linked, &long), "", false).unwrap_err();
    assert_eq!(e.message, "Invalid credentials.");
}

fn banned_accounts(b: Backend) {
    let b = b.migrated();
    let d = unique("dev-");
    let address = format!("{}@example.com", unique("ban"));
    let user = auth(&b, device(&d), "", true).unwrap().user_id;
    link(&b, user, email(&address, "password1")).unwrap();
    raw_sql(
        &b.config,
        &format!("UPDATE users SET disable_time = 1700000000 WHERE id = '{user}'"),
    );
    let banned = |id: Identity| {
        let e = auth(&b, id, "", true).unwrap_err();
        (e.code, e.message.to_string())
    };
    let expected = (Code::PermissionDenied, "User account banned.".to_string());
    assert_eq!(banned(device(&d)), expected);
    // The ban is checked before the password.
    assert_eq!(banned(email(&address, "wrong-password")), expected);
    let status = b
        .call(move |s| Box::pin(async move { s.user_status(user).await }))
        .unwrap();
    assert!(status.disabled);
    assert_eq!(
        get_account(&b, user).unwrap().disable_time,
        Some(1700000000)
    );
}

fn link_edge_cases(b: Backend) {
    let b = b.migrated();
    let d1 = unique("dev-");
    let user = auth(&b, device(&d1), "", true).unwrap().user_id;
    let other = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    // Another user's device cannot be unlinked.
    let e = unlink(&b, other, device(&d1)).unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied);
    // A second device makes the first removable.
    let d2 = unique("dev-");
    link(&b, user, device(&d2)).unwrap();
    unlink(&b, user, device(&d1)).unwrap();
    assert_eq!(get_account(&b, user).unwrap().devices, vec![d2.clone()]);
    // Custom id: relinking overwrites; "" clears whatever is there.
    link(&b, user, Identity::Custom { id: unique("c1-") }).unwrap();
    let c2 = unique("c2-");
    link(&b, user, Identity::Custom { id: c2.clone() }).unwrap();
    link(&b, user, Identity::Custom { id: c2.clone() }).unwrap();
    assert_eq!(get_account(&b, user).unwrap().custom_id, c2);
    unlink(&b, user, Identity::Custom { id: String::new() }).unwrap();
    assert_eq!(get_account(&b, user).unwrap().custom_id, "");
    // The device is now the last identifier.
    let e = unlink(&b, user, device(&d2)).unwrap_err();
    assert_eq!(
        e.message,
        "Cannot unlink last account identifier. Check profile exists and is not last link."
    );
    // A deleted caller: Nakama reports the custom id as in use; a device
    // link reports the account missing.
    let gone = Uuid::new_v4();
    assert_eq!(
        link(&b, gone, Identity::Custom { id: unique("c3-") })
            .unwrap_err()
            .code,
        Code::AlreadyExists
    );
    assert_eq!(
        link(&b, gone, device(&unique("dev-"))).unwrap_err().code,
        Code::NotFound
    );
    // The relinked email's password replaces the old one.
    let address = format!("{}@example.com", unique("re"));
    link(&b, user, email(&address, "password1")).unwrap();
    link(&b, user, email(&address, "password2")).unwrap();
    assert_eq!(
        auth(&b, email(&address, "password1"), "", false)
            .unwrap_err()
            .code,
        Code::Unauthenticated
    );
    assert_eq!(
        auth(&b, email(&address, "password2"), "", false)
            .unwrap()
            .user_id,
        user
    );
}

fn updates_only_write_changes(b: Backend) {
    let b = b.migrated();
    let user = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    update(
        &b,
        user,
        AccountUpdate {
            location: Some("Paris".into()),
            ..Default::default()
        },
    )
    .unwrap();
    raw_sql(
        &b.config,
        &format!("UPDATE users SET update_time = 1 WHERE id = '{user}'"),
    );
    // Same values: nothing is written.
    update(
        &b,
        user,
        AccountUpdate {
            location: Some("Paris".into()),
            avatar_url: Some(String::new()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(get_account(&b, user).unwrap().user.update_time, 1);
    update(
        &b,
        user,
        AccountUpdate {
            location: Some(String::new()),
            ..Default::default()
        },
    )
    .unwrap();
    let acct = get_account(&b, user).unwrap();
    assert!(acct.user.update_time > 1);
    assert_eq!(acct.user.location, "");
    // lang_tag can't be NULL: Nakama answers with an internal error.
    let e = update(
        &b,
        user,
        AccountUpdate {
            lang_tag: Some(String::new()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.code, Code::Internal);
    // An update of a missing account is a silent success, as in Nakama.
    update(
        &b,
        Uuid::new_v4(),
        AccountUpdate {
            location: Some("x".into()),
            ..Default::default()
        },
    )
    .unwrap();
}

fn pool_runs_jobs(b: Backend) {
    let b = b.migrated();
    let before = b
        .persist
        .stats()
        .submitted
        .load(std::sync::atomic::Ordering::Relaxed);
    // A job runs on a pool thread; its reply resolves on another thread.
    let reply = b.persist.run(|_| async {
        Ok(std::thread::current()
            .name()
            .unwrap_or_default()
            .to_string())
    });
    let waiter = b.persist.clone();
    let name = std::thread::spawn(move || waiter.block_on(reply))
        .join()
        .expect("waiter thread")
        .unwrap();
    assert!(name.starts_with("kairos-persist-"), "{name}");
    let stats = b.persist.stats();
    assert!(stats.submitted.load(std::sync::atomic::Ordering::Relaxed) > before);
    assert!(stats.completed.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    // Errors come back as they are.
    let e = b
        .call(|s| Box::pin(async move { s.get_account(Uuid::new_v4()).await }))
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_ref()),
        (Code::NotFound, "User account not found.")
    );
    // A stopped pool answers Unavailable, on every clone.
    let clone = b.persist.clone();
    b.persist.shutdown();
    let e = clone
        .block_on(clone.run(|s| async move { s.get_account(Uuid::new_v4()).await }))
        .unwrap_err();
    assert_eq!(e.code, Code::Unavailable);
}

/// `set_disabled` bans and unbans the users named, skipping unknown ones.
fn bans_set_and_clear(b: Backend) {
    let b = b.migrated();
    let (d1, d2) = (unique("dev-"), unique("dev-"));
    let one = auth(&b, device(&d1), "", true).unwrap().user_id;
    let two = auth(&b, device(&d2), "", true).unwrap().user_id;
    let set = |ids: Vec<Uuid>, disabled: bool| {
        b.call(move |s| Box::pin(async move { s.set_disabled(ids, disabled).await }))
            .unwrap()
    };
    let disabled = |user: Uuid| {
        b.call(move |s| Box::pin(async move { s.user_status(user).await }))
            .unwrap()
            .disabled
    };
    set(vec![one, two, Uuid::new_v4()], true);
    assert!(disabled(one) && disabled(two));
    assert!(get_account(&b, one).unwrap().disable_time.is_some());
    assert_eq!(
        auth(&b, device(&d1), "", true).unwrap_err().message,
        "User account banned."
    );
    set(vec![one], false);
    assert!(!disabled(one) && disabled(two));
    assert_eq!(get_account(&b, one).unwrap().disable_time, None);
    assert_eq!(auth(&b, device(&d1), "", true).unwrap().user_id, one);
    set(Vec::new(), true);
    assert!(!disabled(one));
}

/// A deletion leaves a tombstone only when recorded.
fn tombstones_only_when_recorded(b: Backend) {
    let b = b.migrated();
    let kept = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    let quiet = auth(&b, device(&unique("dev-")), "", true).unwrap().user_id;
    b.call(move |s| Box::pin(async move { s.delete_account(kept, true).await }))
        .unwrap();
    b.call(move |s| Box::pin(async move { s.delete_account(quiet, false).await }))
        .unwrap();
    let count = |user: Uuid| {
        common::query_int(
            &b.config,
            &format!("SELECT COUNT(*) FROM user_tombstone WHERE user_id = '{user}'"),
        )
    };
    let (rows, none) = (count(kept), count(quiet));
    assert_eq!((rows, none), (1, 0));
}
