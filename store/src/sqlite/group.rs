//! Group commit for account creation.
//!
//! SQLite has one writer, and part of what creating an account costs is
//! per transaction, not per account: `BEGIN` and `COMMIT`, the WAL frames
//! of the pages every new account touches (the last leaf of `users` and of
//! `user_device`, whose rowids grow, and the interior pages above the
//! index leaves), and the WAL bookkeeping of a commit. Sign-ups that arrive
//! while the writer is busy therefore share one transaction. (The leaves of
//! the indexes on random keys, ids and usernames, are still written once
//! per account.)
//!
//! # The scheme
//!
//! A queue with one leader at a time:
//!
//! 1. A sign-up builds its request ([`NewAccount`], its id and time already
//!    chosen) and a oneshot reply channel, and appends both to the queue
//!    ([`GroupCommit::submit`]). If no leader is active, that caller starts
//!    one: [`Db::lead`] on a blocking thread. Either way the caller then
//!    awaits its reply, as an async task: waiting holds no thread.
//! 2. The leader takes the writer connection and only then takes up to
//!    `limit` requests ([`DEFAULT_LIMIT`]) from the front of the queue, so
//!    that everything that arrived while it waited for the writer joins the
//!    batch. It runs them in ONE transaction, each inside its own
//!    `SAVEPOINT`: a unique violation (username, device, email or custom id
//!    taken, by an existing account or by an earlier request of the same
//!    batch) rolls back to that savepoint only, and is that request's
//!    outcome, [`Inserted::Taken`], exactly as without batching. Then it
//!    commits once. (A batch of one runs without a savepoint, as before.)
//! 3. The leader releases the writer, sends each request of the batch its
//!    outcome, and goes back to step 2 for what queued meanwhile. When it
//!    finds the queue empty, it retires.
//!
//! Releasing the writer between batches lets every other write path (which
//! takes the writer as before, one transaction per call) run in between.
//! With `limit` 1 there is no queue: each sign-up runs its own transaction
//! on a blocking thread, the code path from before group commit
//! (measurements use it as their baseline).
//!
//! # Invariants
//!
//! * **Replies only after the commit.** A reply is sent once the batch's
//!   transaction has committed or has been rolled back. `Created(id)` means
//!   the row is committed; `Taken(kind)` means the conflicting row is
//!   committed too, so the caller's follow-up lookup (on a reader) finds
//!   the account that won.
//! * **All or nothing on failure.** Any error other than a unique violation
//!   (a failed `SAVEPOINT`, `RELEASE`, `ROLLBACK TO` or `COMMIT`, an I/O
//!   error, a deferred constraint failing at commit) rolls the whole
//!   transaction back, and every request of the batch gets the same internal
//!   error, the `Taken` ones included. Nothing of the batch is written.
//! * **One leader at a time, and one whenever requests wait.** `leading` is
//!   set by the submit that finds it clear (whose caller starts the leader)
//!   and cleared by the leader only when it finds the queue empty, both
//!   under the queue lock. So a request is never queued without a leader
//!   that will take it, and only the leader takes requests.
//! * **Exactly one reply per request.** A request leaves the queue, under
//!   the queue lock, into one batch of the one leader, which answers it. If
//!   the leader unwinds, or is dropped unstarted (runtime shutdown), its
//!   guard clears `leading` and drops what is queued; a dropped reply
//!   channel is an internal error to its caller.
//! * **Order.** Requests are served first in, first out, and run in that
//!   order inside a batch: of two requests for the same identifier or
//!   username, the one queued first wins.
//! * **Lock order:** writer, then queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use kairos_core::account::Identity;
use kairos_core::error::ApiResult;
use kairos_core::time::now_secs;
use rusqlite::Connection;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::db::{Db, exec, violation};
use crate::auth::Inserted;
use crate::common::internal;

/// Most account creations committed in one transaction.
pub const DEFAULT_LIMIT: usize = 64;

/// The limit databases opened from now on take.
static LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_LIMIT);

/// Sets the most account creations SQLite commits in one transaction, for
/// databases opened after the call (process-wide). 1 (or 0) turns group
/// commit off: one transaction per account, as before it; measurements use
/// that as their baseline. The default is [`DEFAULT_LIMIT`].
pub fn set_group_commit_limit(limit: usize) {
    LIMIT.store(limit.max(1), Ordering::Relaxed);
}

/// One account to create.
pub struct NewAccount {
    pub id: Uuid,
    pub identity: Identity,
    pub username: String,
    pub password: Option<Vec<u8>>,
    pub now: i64,
}

impl NewAccount {
    /// A new account, with a fresh id, created now.
    pub fn new(identity: Identity, username: String, password: Option<Vec<u8>>) -> NewAccount {
        NewAccount {
            id: Uuid::new_v4(),
            identity,
            username,
            password,
            now: now_secs(),
        }
    }
}

/// Where the outcome of a queued request arrives. A closed channel (its
/// leader unwound) is an internal error.
pub type Reply = oneshot::Receiver<ApiResult<Inserted>>;

struct Pending {
    account: NewAccount,
    reply: oneshot::Sender<ApiResult<Inserted>>,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Pending>,
    leading: bool,
}

/// The queue of account creations waiting for the writer.
pub struct GroupCommit {
    queue: Mutex<Queue>,
    limit: usize,
    batches: AtomicU64,
    accounts: AtomicU64,
}

impl Default for GroupCommit {
    /// A queue with the limit last set by [`set_group_commit_limit`].
    fn default() -> GroupCommit {
        GroupCommit {
            queue: Mutex::default(),
            limit: LIMIT.load(Ordering::Relaxed),
            batches: AtomicU64::new(0),
            accounts: AtomicU64::new(0),
        }
    }
}

impl GroupCommit {
    /// False when the limit is 1: sign-ups then run alone
    /// ([`Db::insert_alone`]), as before group commit.
    pub fn batching(&self) -> bool {
        self.limit > 1
    }

    /// Queues a request. When the second value is true the caller must
    /// start the leader, [`Db::lead`], on a thread that may block.
    pub fn submit(&self, account: NewAccount) -> (Reply, bool) {
        let (tx, rx) = oneshot::channel();
        let mut queue = lock(&self.queue);
        queue.pending.push_back(Pending { account, reply: tx });
        (rx, !std::mem::replace(&mut queue.leading, true))
    }

    /// The next batch from the front of the queue; `None` when the queue is
    /// empty, and then the leader has retired.
    fn take_or_retire(&self) -> Option<Vec<Pending>> {
        let mut queue = lock(&self.queue);
        if queue.pending.is_empty() {
            queue.leading = false;
            return None;
        }
        let n = queue.pending.len().min(self.limit);
        Some(queue.pending.drain(..n).collect())
    }

    /// Transactions committed (or attempted) and the requests they carried.
    #[cfg(test)]
    pub fn counts(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.accounts.load(Ordering::Relaxed),
        )
    }

    /// Requests waiting in the queue.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        lock(&self.queue).pending.len()
    }
}

/// The lead, held by [`Db::lead`]. Unless the leader retired (found the
/// queue empty), dropping it clears the lead and fails what is queued (by
/// dropping the reply channels), so that a later sign-up starts a new
/// leader: this covers a leader that unwinds, and one that never ran.
struct Leadership<'a> {
    group: &'a GroupCommit,
    retired: bool,
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        if !self.retired {
            let mut queue = lock(&self.group.queue);
            queue.leading = false;
            queue.pending.clear();
        }
    }
}

/// A leader to start: [`Db::lead`] on a blocking thread, handed to
/// `tokio::task::spawn_blocking`. Dropped without running (the runtime is
/// shutting down), it gives the lead up as [`Leadership`] does.
pub struct StartLeader(Option<Arc<Db>>);

impl StartLeader {
    pub fn new(db: Arc<Db>) -> StartLeader {
        StartLeader(Some(db))
    }

    pub fn run(mut self) {
        if let Some(db) = self.0.take() {
            db.lead();
        }
    }
}

impl Drop for StartLeader {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            drop(Leadership {
                group: db.group(),
                retired: false,
            });
        }
    }
}

impl Db {
    /// The leader: serves the queue, batch after batch, until it finds it
    /// empty. Blocks; run it only when [`GroupCommit::submit`] says so.
    pub fn lead(&self) {
        let group = self.group();
        let mut leadership = Leadership {
            group,
            retired: false,
        };
        loop {
            let served = self.write(|conn| {
                Ok(group.take_or_retire().map(|batch| {
                    let accounts: Vec<&NewAccount> = batch.iter().map(|p| &p.account).collect();
                    let outcome = run_batch(conn, &accounts);
                    (batch, outcome)
                }))
            });
            let (batch, outcome) = match served {
                Ok(Some(served)) => served,
                Ok(None) => {
                    leadership.retired = true;
                    return;
                }
                // `write` fails only if its closure does, which this one
                // never does; were it to, the lead is given up on return.
                Err(_) => return,
            };
            group.batches.fetch_add(1, Ordering::Relaxed);
            group
                .accounts
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            match outcome {
                Ok(outcomes) => {
                    for (p, inserted) in batch.into_iter().zip(outcomes) {
                        let _ = p.reply.send(Ok(inserted));
                    }
                }
                Err(e) => {
                    for p in batch {
                        let _ = p.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// Creates the account in a transaction of its own: sign-ups without
    /// group commit (limit 1).
    pub fn insert_alone(&self, account: NewAccount) -> ApiResult<Inserted> {
        self.write(|conn| Ok(run_batch(conn, &[&account])?.remove(0)))
    }

    /// Creates the account through the queue from a thread that may block,
    /// leading on this thread if no leader is active.
    #[cfg(test)]
    pub fn insert(&self, account: NewAccount) -> ApiResult<Inserted> {
        if !self.group().batching() {
            return self.insert_alone(account);
        }
        let (reply, lead) = self.group().submit(account);
        if lead {
            self.lead();
        }
        settle(reply.blocking_recv())
    }
}

/// A received reply; a closed channel is an internal error.
pub fn settle(
    reply: Result<ApiResult<Inserted>, oneshot::error::RecvError>,
) -> ApiResult<Inserted> {
    reply.unwrap_or_else(|_| {
        Err(internal(
            "account creation",
            "the group-commit leader failed",
        ))
    })
}

/// Runs the batch in one transaction, each request inside its own savepoint
/// (a batch of one needs none), and commits. `Ok`: every request's outcome,
/// committed. `Err`: nothing was written.
fn run_batch(conn: &mut Connection, accounts: &[&NewAccount]) -> ApiResult<Vec<Inserted>> {
    let result = (|| {
        let tx = conn.transaction()?;
        if let [only] = accounts {
            return match super::accounts::insert_account(&tx, only) {
                Ok(()) => tx.commit().map(|()| vec![Inserted::Created(only.id)]),
                Err(e) => match violation(&e) {
                    Some(kind) => tx.rollback().map(|()| vec![Inserted::Taken(kind)]),
                    None => Err(e),
                },
            };
        }
        let mut outcomes = Vec::with_capacity(accounts.len());
        for account in accounts {
            exec(&tx, "SAVEPOINT account", [])?;
            match super::accounts::insert_account(&tx, account) {
                Ok(()) => outcomes.push(Inserted::Created(account.id)),
                Err(e) => match violation(&e) {
                    Some(kind) => {
                        // Fails (and so fails the batch) if SQLite had
                        // dropped the transaction instead.
                        exec(&tx, "ROLLBACK TO account", [])?;
                        outcomes.push(Inserted::Taken(kind));
                    }
                    // Returning drops (so rolls back) the transaction.
                    None => return Err(e),
                },
            }
            exec(&tx, "RELEASE account", [])?;
        }
        // On failure the dropped transaction rolls back.
        tx.commit()?;
        Ok(outcomes)
    })();
    result.map_err(|e| {
        if !conn.is_autocommit() {
            // The rollback on drop failed: do not leave the writer inside
            // the batch's transaction.
            let _ = conn.execute_batch("ROLLBACK");
        }
        internal("account creation", e)
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use kairos_core::error::Code;
    use rusqlite::OptionalExtension;

    use super::*;
    use crate::auth::authenticate_with;
    use crate::common::{Unique, generate_username};
    use crate::sqlite::SqliteStore;

    /// A migrated database in a directory of its own, removed on drop.
    struct TempDb {
        db: Arc<Db>,
        dir: PathBuf,
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("kairos-group-{}", Uuid::new_v4().simple()))
    }

    fn temp_db() -> TempDb {
        temp_db_with_limit(DEFAULT_LIMIT)
    }

    fn temp_db_with_limit(limit: usize) -> TempDb {
        let dir = temp_dir();
        let mut db = Db::open(&dir.join("kairos.db"), 2).expect("open");
        db.group_mut().limit = limit;
        db.migrate_up().expect("migrate");
        TempDb {
            db: Arc::new(db),
            dir,
        }
    }

    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn device(id: &str) -> Identity {
        Identity::Device { id: id.into() }
    }

    fn custom(id: &str) -> Identity {
        Identity::Custom { id: id.into() }
    }

    fn email(address: &str) -> Identity {
        Identity::Email {
            email: address.into(),
            username: String::new(),
            password: String::new(),
        }
    }

    /// Creates an account through the queue from this thread.
    fn insert(db: &Db, identity: Identity, username: &str) -> ApiResult<Inserted> {
        db.insert(NewAccount::new(identity, username.to_string(), None))
    }

    /// Inserts `requests` as ONE batch, queued in the order given: all are
    /// submitted before this thread leads.
    fn one_batch(db: &Db, requests: Vec<(Identity, &str)>) -> Vec<ApiResult<Inserted>> {
        let (batches, _) = db.group().counts();
        let mut replies = Vec::new();
        for (i, (identity, username)) in requests.into_iter().enumerate() {
            let password = matches!(identity, Identity::Email { .. }).then(|| b"hash".to_vec());
            let (reply, lead) =
                db.group()
                    .submit(NewAccount::new(identity, username.to_string(), password));
            assert_eq!(lead, i == 0, "the first submit starts the leader");
            replies.push(reply);
        }
        db.lead();
        assert_eq!(db.group().counts().0, batches + 1, "one transaction");
        assert_eq!(db.group().queued(), 0);
        replies
            .into_iter()
            .map(|r| settle(r.blocking_recv()))
            .collect()
    }

    fn count(db: &Db, sql: &str) -> i64 {
        db.read(|c| {
            c.query_row(sql, [], |r| r.get(0))
                .map_err(super::super::db::db_err)
        })
        .unwrap()
    }

    fn username_of(db: &Db, id: Uuid) -> Option<String> {
        db.read(|c| {
            c.query_row(
                "SELECT username FROM users WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(super::super::db::db_err)
        })
        .unwrap()
    }

    fn owner_of_device(db: &Db, device: &str) -> Option<String> {
        db.read(|c| {
            c.query_row(
                "SELECT user_id FROM user_device WHERE id = ?1",
                [device],
                |r| r.get(0),
            )
            .optional()
            .map_err(super::super::db::db_err)
        })
        .unwrap()
    }

    /// No account without an identifier (a user row whose device insert was
    /// refused but not rolled back), no orphan device, no friend count.
    fn assert_consistent(db: &Db) {
        assert_eq!(
            count(
                db,
                "SELECT count(*) FROM users u WHERE email IS NULL AND custom_id IS NULL
                 AND NOT EXISTS (SELECT 1 FROM user_device d WHERE d.user_id = u.id)"
            ),
            0,
            "accounts without an identifier"
        );
        assert_eq!(
            count(
                db,
                "SELECT count(*) FROM user_device d WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id)"
            ),
            0,
            "orphan devices"
        );
        assert_eq!(
            count(db, "SELECT count(*) FROM users WHERE edge_count <> 0"),
            0
        );
    }

    fn created(outcome: &ApiResult<Inserted>) -> Uuid {
        match outcome {
            Ok(Inserted::Created(id)) => *id,
            other => panic!("expected Created, got {other:?}"),
        }
    }

    #[test]
    fn collisions_in_one_batch_are_reported_each() {
        let t = temp_db();
        let db = &t.db;
        let existing = created(&insert(db, device("old-dev"), "old-name"));
        let mut requests = vec![
            (device("dev-a"), "name-a"),        // 0: created
            (device("dev-b"), "name-a"),        // 1: username taken by 0
            (device("dev-a"), "name-c"),        // 2: device taken by 0
            (device("old-dev"), "name-d"),      // 3: device taken by an older account
            (device("dev-e"), "old-name"),      // 4: username taken by an older account
            (custom("cust-1"), "name-f"),       // 5: created
            (custom("cust-1"), "name-g"),       // 6: custom id taken by 5
            (email("a@example.com"), "name-h"), // 7: created
            (email("a@example.com"), "name-i"), // 8: email taken by 7
            (custom("cust-2"), "name-h"),       // 9: username taken by 7
        ];
        let others: Vec<String> = (0..20).map(|i| format!("dev-{i:02}")).collect();
        for d in &others {
            requests.push((device(d), d.as_str()));
        }
        let n = requests.len();
        let outcomes = one_batch(db, requests);
        assert_eq!(outcomes.len(), n);
        let expect_taken = [
            (1, Unique::Username),
            (2, Unique::Device),
            (3, Unique::Device),
            (4, Unique::Username),
            (6, Unique::CustomId),
            (8, Unique::Email),
            (9, Unique::Username),
        ];
        for (i, kind) in expect_taken {
            assert_eq!(outcomes[i], Ok(Inserted::Taken(kind)), "request {i}");
        }
        let a = created(&outcomes[0]);
        let f = created(&outcomes[5]);
        let h = created(&outcomes[7]);
        assert_eq!(username_of(db, a).as_deref(), Some("name-a"));
        assert_eq!(username_of(db, f).as_deref(), Some("name-f"));
        assert_eq!(username_of(db, h).as_deref(), Some("name-h"));
        assert_eq!(owner_of_device(db, "dev-a"), Some(a.to_string()));
        assert_eq!(owner_of_device(db, "old-dev"), Some(existing.to_string()));
        assert_eq!(owner_of_device(db, "dev-b"), None);
        assert_eq!(owner_of_device(db, "dev-e"), None);
        for (i, d) in others.iter().enumerate() {
            let id = created(&outcomes[10 + i]);
            assert_eq!(username_of(db, id).as_deref(), Some(d.as_str()));
            assert_eq!(owner_of_device(db, d), Some(id.to_string()));
        }
        // The old account, 0, 5, 7 and the 20 others; nothing of the rest.
        assert_eq!(count(db, "SELECT count(*) FROM users"), 24);
        assert_eq!(count(db, "SELECT count(*) FROM user_device"), 22);
        for name in ["name-c", "name-d", "name-g", "name-i"] {
            assert_eq!(
                count(
                    db,
                    &format!("SELECT count(*) FROM users WHERE username = '{name}'")
                ),
                0,
                "{name}"
            );
        }
        assert_eq!(
            count(db, "SELECT count(*) FROM users WHERE custom_id = 'cust-2'"),
            0
        );
        assert_consistent(db);
        assert_eq!(db.group().counts(), (2, 1 + n as u64));
    }

    #[test]
    fn generated_username_collision_in_a_batch_is_retried() {
        let dir = temp_dir();
        let store = Arc::new(SqliteStore::open(&dir.join("kairos.db"), 2, 4).expect("open"));
        store.db.migrate_up().expect("migrate");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let n = 12;
        // Every request's first generated username is the same, and all
        // first attempts share one batch: one wins, the others retry.
        let tasks = store
            .db
            .write(|_| {
                let tasks: Vec<_> = (0..n)
                    .map(|i| {
                        let store = store.clone();
                        let mut first = true;
                        let generate = move || {
                            if std::mem::take(&mut first) {
                                "collide".to_string()
                            } else {
                                generate_username()
                            }
                        };
                        rt.spawn(async move {
                            authenticate_with(
                                &*store,
                                device(&format!("gen-{i}")),
                                String::new(),
                                true,
                                4,
                                generate,
                            )
                            .await
                        })
                    })
                    .collect();
                wait_until("every first attempt to queue", || {
                    store.db.group().queued() == n
                });
                Ok(tasks)
            })
            .unwrap();
        let results: Vec<_> = tasks
            .into_iter()
            .map(|t| rt.block_on(t).unwrap().expect("authenticate"))
            .collect();
        assert!(results.iter().all(|r| r.created));
        assert_eq!(
            results.iter().filter(|r| r.username == "collide").count(),
            1
        );
        let mut ids: Vec<Uuid> = results.iter().map(|r| r.user_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(username_of(&store.db, r.user_id), Some(r.username.clone()));
            assert_eq!(
                owner_of_device(&store.db, &format!("gen-{i}")),
                Some(r.user_id.to_string())
            );
        }
        assert_eq!(count(&store.db, "SELECT count(*) FROM users"), n as i64);
        assert_consistent(&store.db);
        // The first batch held every first attempt; the n - 1 losers retried.
        let (batches, accounts) = store.db.group().counts();
        assert!(batches >= 2, "{batches}");
        assert_eq!(accounts, 2 * n as u64 - 1);
        rt.shutdown_background();
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Many sign-ups through the store (async callers, the leader on a
    /// blocking thread), with small batches, racing for shared devices.
    #[test]
    fn racing_sign_ups_through_the_store() {
        let dir = temp_dir();
        let mut store = SqliteStore::open(&dir.join("kairos.db"), 2, 4).expect("open");
        Arc::get_mut(&mut store.db).unwrap().group_mut().limit = 3;
        store.db.migrate_up().expect("migrate");
        let store = Arc::new(store);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(8)
            .enable_all()
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let store = store.clone();
                // Every fourth sign-up is for one of four shared devices.
                let d = if i % 4 == 0 {
                    format!("shared-{}", i % 16)
                } else {
                    format!("own-{i}")
                };
                rt.spawn(async move {
                    let r = crate::auth::authenticate(&*store, device(&d), String::new(), true, 4)
                        .await;
                    (d, r)
                })
            })
            .collect();
        let mut owners = std::collections::HashMap::new();
        let mut created_count = 0;
        for t in tasks {
            let (d, r) = rt.block_on(t).unwrap();
            let r = r.expect("authenticate");
            created_count += usize::from(r.created);
            assert_eq!(*owners.entry(d).or_insert(r.user_id), r.user_id);
        }
        assert_eq!(owners.len(), 4 + 300);
        assert_eq!(created_count, owners.len());
        for (d, id) in &owners {
            assert_eq!(owner_of_device(&store.db, d), Some(id.to_string()));
        }
        assert_eq!(
            count(&store.db, "SELECT count(*) FROM users"),
            owners.len() as i64
        );
        assert_consistent(&store.db);
        assert_eq!(store.db.group().queued(), 0);
        rt.shutdown_background();
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A leader that never runs (its blocking task dropped at shutdown)
    /// fails what is queued and leaves the queue free for a new leader.
    #[test]
    fn a_leader_dropped_unstarted_fails_the_queue() {
        let t = temp_db();
        let db = &t.db;
        let (first, lead) =
            db.group()
                .submit(NewAccount::new(device("dev-1"), "name-1".into(), None));
        assert!(lead);
        let (second, lead) =
            db.group()
                .submit(NewAccount::new(device("dev-2"), "name-2".into(), None));
        assert!(!lead);
        drop(StartLeader::new(db.clone()));
        for reply in [first, second] {
            assert_eq!(
                settle(reply.blocking_recv()).unwrap_err().code,
                Code::Internal
            );
        }
        assert_eq!(db.group().queued(), 0);
        assert_eq!(count(db, "SELECT count(*) FROM users"), 0);
        // The next sign-up leads again, and succeeds.
        let (reply, lead) =
            db.group()
                .submit(NewAccount::new(device("dev-1"), "name-1".into(), None));
        assert!(lead);
        StartLeader::new(db.clone()).run();
        created(&settle(reply.blocking_recv()));
    }

    #[test]
    fn commit_failure_fails_the_whole_batch() {
        let t = temp_db();
        let db = &t.db;
        created(&insert(db, device("old-dev"), "old-name"));
        // A deferred foreign key is checked at COMMIT: an account named
        // "poison" makes the commit of its batch fail.
        db.write(|c| {
            c.execute_batch(
                "CREATE TABLE poison (ref TEXT REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED);
                 CREATE TRIGGER poison_commit AFTER INSERT ON users WHEN NEW.username = 'poison'
                 BEGIN INSERT INTO poison (ref) VALUES ('no such user'); END;",
            )
            .map_err(super::super::db::db_err)
        })
        .unwrap();
        let outcomes = one_batch(
            db,
            vec![
                (device("dev-1"), "name-1"),
                (device("old-dev"), "name-2"), // taken, but the batch fails
                (device("dev-3"), "poison"),
                (custom("cust-4"), "name-4"),
            ],
        );
        for (i, outcome) in outcomes.iter().enumerate() {
            let e = outcome.as_ref().expect_err("the commit failed");
            assert_eq!(e.code, Code::Internal, "request {i}");
        }
        assert_eq!(count(db, "SELECT count(*) FROM users"), 1);
        assert_eq!(count(db, "SELECT count(*) FROM user_device"), 1);
        assert_eq!(count(db, "SELECT count(*) FROM poison"), 0);
        assert_consistent(db);
        // The writer is left outside any transaction: the next batch works.
        let again = one_batch(
            db,
            vec![(device("dev-1"), "name-1"), (custom("cust-4"), "name-4")],
        );
        let id = created(&again[0]);
        created(&again[1]);
        assert_eq!(owner_of_device(db, "dev-1"), Some(id.to_string()));
        assert_eq!(count(db, "SELECT count(*) FROM users"), 3);
    }

    #[test]
    fn long_queues_are_split_into_limited_batches() {
        let t = temp_db();
        let db = &t.db;
        let limit = db.group().limit;
        let n = 2 * limit + 5;
        let handles = db
            .write(|_| {
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let db = db.clone();
                        std::thread::spawn(move || {
                            insert(&db, device(&format!("dev-{i}")), &format!("name-{i}"))
                        })
                    })
                    .collect();
                wait_until("every request to queue", || db.group().queued() == n);
                Ok(handles)
            })
            .unwrap();
        for h in handles {
            created(&h.join().unwrap());
        }
        assert_eq!(db.group().counts(), (3, n as u64));
        assert_eq!(count(db, "SELECT count(*) FROM users"), n as i64);
        assert_consistent(db);
    }

    #[test]
    fn racing_inserts_create_each_device_once() {
        racing_inserts(DEFAULT_LIMIT, 8, 60);
    }

    /// Small batches and more threads than batch room: leaders that serve
    /// several batches, and new arrivals taking the lead from nudged ones.
    #[test]
    fn racing_inserts_with_small_batches() {
        racing_inserts(3, 16, 40);
    }

    fn racing_inserts(limit: usize, threads: usize, per_thread: usize) {
        let t = temp_db_with_limit(limit);
        let db = &t.db;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let db = db.clone();
                std::thread::spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            // Every thread races for the even devices; the
                            // odd ones are its own.
                            let d = if i % 2 == 0 {
                                format!("shared-{i}")
                            } else {
                                format!("own-{t}-{i}")
                            };
                            let outcome = insert(&db, device(&d), &generate_username());
                            (d, outcome.expect("insert"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut winners = std::collections::HashMap::new();
        for h in handles {
            for (d, outcome) in h.join().unwrap() {
                match outcome {
                    Inserted::Created(id) => {
                        assert!(winners.insert(d, id).is_none(), "created twice");
                    }
                    Inserted::Taken(kind) => {
                        assert!(d.starts_with("shared-"), "{d}");
                        assert_eq!(kind, Unique::Device);
                    }
                }
            }
        }
        let expected = per_thread / 2 + threads * per_thread / 2;
        assert_eq!(winners.len(), expected);
        for (d, id) in &winners {
            assert_eq!(owner_of_device(db, d), Some(id.to_string()));
        }
        assert_eq!(count(db, "SELECT count(*) FROM users"), expected as i64);
        assert_consistent(db);
        let (batches, accounts) = db.group().counts();
        assert_eq!(accounts, (threads * per_thread) as u64);
        println!("{accounts} inserts in {batches} transactions");
    }
}
