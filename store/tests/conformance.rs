//! One conformance suite for every backend: each test runs against SQLite,
//! and against PostgreSQL when `KAIROS_TEST_POSTGRES` names a database
//! (each PostgreSQL test in a schema of its own, dropped afterwards).

use std::sync::Arc;

use kairos_core::account::{AccountUpdate, Identity};
use kairos_core::error::Code;
use kairos_store::{Persist, Store, StoreConfig};
use uuid::Uuid;

struct Backend {
    persist: Persist,
    config: StoreConfig,
    cleanup: Option<Box<dyn FnOnce()>>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.persist.shutdown();
        if let Some(f) = self.cleanup.take() {
            f();
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
}

fn sqlite() -> Backend {
    let dir = std::env::temp_dir().join(unique("kairos-store-"));
    let config = StoreConfig {
        address: None,
        data_dir: dir.clone(),
        threads: 2,
        max_open_conns: 4,
        password_hash_cost: 4,
        pg_schema: None,
    };
    let persist = Persist::open(&config).expect("open sqlite");
    Backend {
        persist,
        config,
        cleanup: Some(Box::new(move || drop(std::fs::remove_dir_all(dir)))),
    }
}

fn postgres() -> Option<Backend> {
    let url = match std::env::var("KAIROS_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!("skipped: KAIROS_TEST_POSTGRES is not set");
            return None;
        }
    };
    let schema = unique("kairos_test_");
    let config = StoreConfig {
        address: Some(url.clone()),
        data_dir: std::env::temp_dir(),
        threads: 2,
        max_open_conns: 4,
        password_hash_cost: 4,
        pg_schema: Some(schema.clone()),
    };
    let persist = Persist::open(&config).expect("open postgres");
    let cleanup = move || {
        // Drop the test's schema over a connection of its own.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await;
            }
        });
    };
    Some(Backend {
        persist,
        config,
        cleanup: Some(Box::new(cleanup)),
    })
}

impl Backend {
    fn call<T: Send + 'static, F>(&self, f: F) -> kairos_core::error::ApiResult<T>
    where
        F: FnOnce(
                Arc<dyn Store>,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = kairos_core::error::ApiResult<T>> + Send>,
            > + Send
            + 'static,
    {
        self.persist.block_on(self.persist.run(f))
    }

    fn migrated(self) -> Self {
        self.call(|s| Box::pin(async move { s.migrate_up().await }))
            .expect("migrate");
        self
    }

    /// Reopens the same database with a new pool.
    fn reopen(self) -> Self {
        let mut me = self;
        me.persist.shutdown();
        me.persist = Persist::open(&me.config).expect("reopen");
        me
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[test] fn $name() { super::$name(super::sqlite().migrated()); } )*
        }
        mod postgres_backend {
            $( #[test] fn $name() { if let Some(b) = super::postgres() { super::$name(b.migrated()); } } )*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    device_accounts,
    usernames,
    concurrent_creation_makes_one_account,
    email_accounts,
    custom_accounts,
    link_and_unlink,
    account_updates,
    delete_account,
    get_users,
    revocations,
    data_survives_reopening,
);

fn device(id: &str) -> Identity {
    Identity::Device { id: id.to_string() }
}

fn auth(
    b: &Backend,
    identity: Identity,
    username: &str,
    create: bool,
) -> kairos_core::error::ApiResult<kairos_core::account::Authenticated> {
    let username = username.to_string();
    b.call(move |s| Box::pin(async move { s.authenticate(identity, username, create).await }))
}

fn migrations_are_idempotent(b: Backend) {
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
    let d = unique("dev-");
    let user = auth(&b, device(&d), "", true).unwrap().user_id;
    b.call(move |s| Box::pin(async move { s.delete_account(user).await }))
        .unwrap();
    b.call(move |s| Box::pin(async move { s.delete_account(user).await }))
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

fn get_users(b: Backend) {
    let a = auth(&b, device(&unique("dev-")), "", true).unwrap();
    let c = auth(&b, device(&unique("dev-")), "", true).unwrap();
    let ids = vec![a.user_id, Uuid::new_v4()];
    let names = vec![c.username.clone(), unique("ghost")];
    let mut users = b
        .call(move |s| Box::pin(async move { s.get_users(ids, names).await }))
        .unwrap();
    users.sort_by_key(|u| u.username.clone());
    let mut expected = vec![a.username, c.username];
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
}

fn revocations(b: Backend) {
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
