//! The harness the store's integration tests share: each test runs
//! against SQLite, and against PostgreSQL when `KAIROS_TEST_POSTGRES` names
//! a database (each PostgreSQL test in a schema of its own, dropped
//! afterwards).

// Each test file uses its own share of these helpers.
#![allow(dead_code)]

use std::sync::Arc;

use kairos_core::account::Identity;
use kairos_store::{Persist, Store, StoreConfig};
use uuid::Uuid;

pub struct Backend {
    pub persist: Persist,
    pub config: StoreConfig,
    cleanup: Option<Box<dyn FnOnce()>>,
}

/// Runs one SQL statement on the backend's database behind the store's
/// back (to ban a user, or age a row), on a connection of its own.
pub fn raw_sql(config: &StoreConfig, sql: &str) {
    match (&config.address, &config.pg_schema) {
        (None, _) => {
            let c = rusqlite::Connection::open(config.data_dir.join("kairos.db")).expect("open");
            c.execute_batch(sql).expect("raw sql");
        }
        (Some(url), schema) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                if let Some(schema) = schema {
                    client
                        .batch_execute(&format!("SET search_path TO {schema}"))
                        .await
                        .expect("search_path");
                }
                client.batch_execute(sql).await.expect("raw sql");
            });
        }
    }
}

/// The single integer a query behind the store's back returns (a count).
pub fn query_int(config: &StoreConfig, sql: &str) -> i64 {
    match (&config.address, &config.pg_schema) {
        (None, _) => {
            let c = rusqlite::Connection::open(config.data_dir.join("kairos.db")).expect("open");
            c.query_row(sql, [], |r| r.get(0)).expect("query")
        }
        (Some(url), schema) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                if let Some(schema) = schema {
                    client
                        .batch_execute(&format!("SET search_path TO {schema}"))
                        .await
                        .expect("search_path");
                }
                client.query_one(sql, &[]).await.expect("query").get(0)
            })
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.persist.shutdown();
        if let Some(f) = self.cleanup.take() {
            f();
        }
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::new_v4().simple())
}

pub fn sqlite() -> Backend {
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

/// The PostgreSQL backend, in a schema of its own. Its tests are ignored
/// unless `KAIROS_TEST_POSTGRES` was set when they were built (see
/// `build.rs`); one that runs without it fails rather than passing unrun.
pub fn postgres() -> Backend {
    let url = std::env::var("KAIROS_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .expect("KAIROS_TEST_POSTGRES must name a database to run the PostgreSQL tests");
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
    Backend {
        persist,
        config,
        cleanup: Some(Box::new(cleanup)),
    }
}

impl Backend {
    pub fn call<T: Send + 'static, F>(&self, f: F) -> kairos_core::error::ApiResult<T>
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

    pub fn migrated(self) -> Self {
        self.call(|s| Box::pin(async move { s.migrate_up().await }))
            .expect("migrate");
        self
    }

    /// Reopens the same database with a new pool.
    pub fn reopen(self) -> Self {
        let mut me = self;
        me.persist.shutdown();
        me.persist = Persist::open(&me.config).expect("reopen");
        me
    }
}

/// Declares one test per backend for each named `fn(Backend)` of the
/// calling file: `sqlite_backend::<name>` and `postgres_backend::<name>`.
/// Files take it with `#[macro_use] mod common;`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[test] fn $name() { super::$name($crate::common::sqlite()); } )*
        }
        mod postgres_backend {
            $(
                #[test]
                #[cfg_attr(
                    not(kairos_test_postgres),
                    ignore = "KAIROS_TEST_POSTGRES is not set; set it to a database URL to run"
                )]
                fn $name() { super::$name($crate::common::postgres()); }
            )*
        }
    };
}

pub fn device(id: &str) -> Identity {
    Identity::Device { id: id.to_string() }
}

pub fn auth(
    b: &Backend,
    identity: Identity,
    username: &str,
    create: bool,
) -> kairos_core::error::ApiResult<kairos_core::account::Authenticated> {
    let username = username.to_string();
    b.call(move |s| Box::pin(async move { s.authenticate(identity, username, create).await }))
}
