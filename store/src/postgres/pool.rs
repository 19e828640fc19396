//! A small PostgreSQL connection pool for the persistence threads: at most
//! `max` connections, idle ones reused, broken ones dropped, prepared
//! statements cached per connection.

use std::collections::HashMap;
use std::sync::Mutex;

use kairos_core::error::ApiResult;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::{Client, Config, NoTls, Statement};

use crate::common::internal;

/// One connection and its prepared statements.
pub struct PgConn {
    pub client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl PgConn {
    /// A prepared statement for `sql`, prepared once per connection.
    pub async fn prepare(&mut self, sql: &'static str) -> ApiResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self
            .client
            .prepare(sql)
            .await
            .map_err(|e| internal("preparing a statement", e))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

/// At most `max` connections; idle ones are reused.
pub struct PgPool {
    config: Config,
    idle: Mutex<Vec<PgConn>>,
    permits: Semaphore,
}

/// A checked-out connection; goes back to the pool when dropped.
pub struct Lease<'a> {
    pool: &'a PgPool,
    conn: Option<PgConn>,
    _permit: SemaphorePermit<'a>,
}

// `conn` is `Some` from creation until `drop`, so these never panic.
impl std::ops::Deref for Lease<'_> {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut PgConn {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !conn.client.is_closed()
            && let Ok(mut idle) = self.pool.idle.lock()
        {
            idle.push(conn);
        }
    }
}

impl PgPool {
    /// A pool of at most `max` connections opened with `config` (which
    /// carries any `search_path` option).
    pub fn new(config: Config, max: usize) -> PgPool {
        PgPool {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max.max(1)),
        }
    }

    /// Checks out a connection, opening one if none is idle.
    pub async fn get(&self) -> ApiResult<Lease<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| internal("database pool", e))?;
        let reused = loop {
            let conn = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            match conn {
                Some(c) if c.client.is_closed() => continue,
                other => break other,
            }
        };
        let conn = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok(Lease {
            pool: self,
            conn: Some(conn),
            _permit: permit,
        })
    }

    /// A connection of its own, outside the pool and its limit: closed
    /// when dropped, so session state (such as an advisory lock) never
    /// leaks into pooled connections.
    pub async fn dedicated(&self) -> ApiResult<PgConn> {
        self.connect().await
    }

    async fn connect(&self) -> ApiResult<PgConn> {
        let (client, connection) = self.config.connect(NoTls).await.map_err(|e| {
            tracing::error!(error = %e, "cannot connect to PostgreSQL");
            kairos_core::error::ApiError::unavailable(format!(
                "cannot connect to the database: {e}"
            ))
        })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "database connection closed");
            }
        });
        Ok(PgConn {
            client,
            statements: HashMap::new(),
        })
    }
}
