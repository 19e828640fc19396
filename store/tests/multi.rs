//! Nakama's multi-update on every backend (see `common`): account updates,
//! storage writes, storage deletes and wallet updates land together or not
//! at all, and on PostgreSQL concurrent multi-updates and account deletions
//! never deadlock.

#[macro_use]
mod common;

use kairos_core::account::{Account, AccountUpdate};
use kairos_core::error::{ApiResult, Code};
use kairos_core::multi::{AccountChange, MultiUpdate};
use kairos_core::storage::{StorageAck, StorageCaller, StorageId, StorageWrite};
use kairos_core::wallet::{WalletUpdate, WalletUpdateResult};
use uuid::Uuid;

use common::{Backend, auth, device, unique};

conformance!(
    storage_and_wallet_are_all_or_nothing,
    every_part_lands_together,
    a_failing_delete_rolls_back_the_rest,
    a_taken_username_rolls_back_the_rest,
    account_checks_run_in_the_transaction,
    concurrent_account_deletes_do_not_deadlock,
    crossed_writes_and_deletes_do_not_deadlock,
    storage_batches_and_account_deletes_do_not_deadlock,
);

fn user(b: &Backend) -> Uuid {
    auth(b, device(&unique("dev-")), "", true).unwrap().user_id
}

fn account(b: &Backend, user: Uuid) -> Account {
    b.call(move |s| Box::pin(async move { s.get_account(user).await }))
        .unwrap()
}

fn gold(user_id: Uuid, amount: i64) -> WalletUpdate {
    WalletUpdate {
        user_id,
        changeset: [("gold".to_string(), amount)].into(),
        metadata: r#"{"reason":"multi"}"#.into(),
    }
}

fn save(user_id: Uuid, key: &str, version: &str) -> StorageWrite {
    StorageWrite {
        collection: "inventory".into(),
        key: key.into(),
        user_id,
        value: r#"{"level":1}"#.into(),
        version: version.into(),
        permission_read: 1,
        permission_write: 1,
    }
}

fn id(user_id: Uuid, key: &str, version: &str) -> StorageId {
    StorageId {
        collection: "inventory".into(),
        key: key.into(),
        user_id,
        version: version.into(),
    }
}

fn rename(user_id: Uuid, display_name: &str) -> AccountChange {
    AccountChange {
        user_id,
        update: AccountUpdate {
            display_name: Some(display_name.into()),
            ..Default::default()
        },
    }
}

fn multi(
    b: &Backend,
    update: MultiUpdate,
) -> ApiResult<(Vec<StorageAck>, Vec<WalletUpdateResult>)> {
    b.call(move |s| Box::pin(async move { s.multi_update(update).await }))
}

fn write(b: &Backend, w: StorageWrite) -> StorageAck {
    b.call(move |s| Box::pin(async move { s.storage_write(StorageCaller::System, vec![w]).await }))
        .unwrap()
        .remove(0)
}

fn stored(b: &Backend, user_id: Uuid, key: &str) -> bool {
    let ids = vec![id(user_id, key, "")];
    !b.call(move |s| Box::pin(async move { s.storage_read(StorageCaller::System, ids).await }))
        .unwrap()
        .is_empty()
}

fn storage_and_wallet_are_all_or_nothing(b: Backend) {
    let b = b.migrated();
    let u = user(&b);
    multi(
        &b,
        MultiUpdate {
            wallets: vec![gold(u, 10)],
            ..Default::default()
        },
    )
    .unwrap();
    // The wallet goes negative: the storage write is not kept either.
    let e = multi(
        &b,
        MultiUpdate {
            writes: vec![save(u, "sword", "*")],
            wallets: vec![gold(u, -11)],
            ledger: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "wallet update rejected negative value at path 'gold'"
    );
    assert!(!stored(&b, u, "sword"));
    // Both hold: both are applied.
    let (acks, results) = multi(
        &b,
        MultiUpdate {
            writes: vec![save(u, "sword", "*")],
            wallets: vec![gold(u, -10)],
            ledger: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((acks.len(), results.len()), (1, 1));
    assert!(stored(&b, u, "sword"));
    assert_eq!(account(&b, u).wallet, r#"{"gold":0}"#);
    // The storage check fails: the wallet is not changed.
    let e = multi(
        &b,
        MultiUpdate {
            writes: vec![save(u, "sword", "*")],
            wallets: vec![gold(u, 5)],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e, kairos_core::storage::version_rejected());
    assert_eq!(account(&b, u).wallet, r#"{"gold":0}"#);
}

fn every_part_lands_together(b: Backend) {
    let b = b.migrated();
    let (u, v) = (user(&b), user(&b));
    let old = write(&b, save(u, "old", ""));
    let name = unique("multi");
    let (acks, results) = multi(
        &b,
        MultiUpdate {
            accounts: vec![
                AccountChange {
                    user_id: u,
                    update: AccountUpdate {
                        username: Some(name.clone()),
                        location: Some("Paris".into()),
                        metadata: Some(r#"{"tier":2}"#.into()),
                        ..Default::default()
                    },
                },
                rename(v, "Vee"),
            ],
            writes: vec![save(v, "b", ""), save(u, "a", "*")],
            deletes: vec![id(u, "old", &old.version), id(u, "never-was", "")],
            wallets: vec![gold(v, 3), gold(u, 2), gold(v, 4)],
            ledger: true,
        },
    )
    .unwrap();
    // Acks in the order of the writes, results in the order applied.
    assert_eq!(
        acks.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert_eq!(
        results
            .iter()
            .map(|r| (r.user_id, r.updated["gold"]))
            .collect::<Vec<_>>(),
        [(v, 3), (u, 2), (v, 7)]
    );
    let a = account(&b, u);
    assert_eq!(
        (
            a.user.username.as_str(),
            a.user.location.as_str(),
            a.user.metadata.as_str(),
            a.wallet.as_str()
        ),
        (name.as_str(), "Paris", r#"{"tier":2}"#, r#"{"gold":2}"#)
    );
    assert_eq!(account(&b, v).user.display_name, "Vee");
    assert!(stored(&b, u, "a") && stored(&b, v, "b"));
    assert!(!stored(&b, u, "old"));
    let ledger = b
        .call(move |s| Box::pin(async move { s.wallet_ledger_list(v, None, 10).await }))
        .unwrap();
    assert_eq!(ledger.len(), 2);
    // Nothing to do: nothing done, nothing failed.
    assert_eq!(
        multi(&b, MultiUpdate::default()).unwrap(),
        (Vec::new(), Vec::new())
    );
}

fn a_failing_delete_rolls_back_the_rest(b: Backend) {
    let b = b.migrated();
    let u = user(&b);
    let before = account(&b, u);
    write(&b, save(u, "kept", ""));
    let e = multi(
        &b,
        MultiUpdate {
            accounts: vec![rename(u, "Changed")],
            writes: vec![save(u, "new", "")],
            // A version that is not the stored one.
            deletes: vec![id(u, "kept", "not-the-version")],
            wallets: vec![gold(u, 5)],
            ledger: true,
        },
    )
    .unwrap_err();
    assert_eq!(e, kairos_core::storage::delete_rejected());
    let after = account(&b, u);
    assert_eq!(after.user.display_name, before.user.display_name);
    assert_eq!(after.user.update_time, before.user.update_time);
    assert_eq!(after.wallet, "{}");
    assert!(stored(&b, u, "kept"));
    assert!(!stored(&b, u, "new"));
    let ledger = b
        .call(move |s| Box::pin(async move { s.wallet_ledger_list(u, None, 10).await }))
        .unwrap();
    assert!(ledger.is_empty());
    // A rejected write and a rejected delete: the write's error, as
    // Nakama's writes-then-deletes reports it, even where the delete's
    // object comes first.
    let e = multi(
        &b,
        MultiUpdate {
            writes: vec![save(u, "kept", "*")],
            deletes: vec![id(u, "a-first", "some-version")],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e, kairos_core::storage::version_rejected());
    // A versioned delete of a missing object is rejected too.
    let e = multi(
        &b,
        MultiUpdate {
            deletes: vec![id(u, "missing", "some-version")],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e, kairos_core::storage::delete_rejected());
}

fn a_taken_username_rolls_back_the_rest(b: Backend) {
    let b = b.migrated();
    let (u, v) = (user(&b), user(&b));
    let taken = account(&b, v).user.username;
    let e = multi(
        &b,
        MultiUpdate {
            // The first update applies, the second fails: neither stays.
            accounts: vec![
                rename(u, "First"),
                AccountChange {
                    user_id: u,
                    update: AccountUpdate {
                        username: Some(taken),
                        ..Default::default()
                    },
                },
            ],
            writes: vec![save(u, "sword", "")],
            wallets: vec![gold(u, 1)],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        (e.code, &*e.message),
        (Code::AlreadyExists, "Username is already in use.")
    );
    let a = account(&b, u);
    assert_eq!(
        (a.user.display_name.as_str(), a.wallet.as_str()),
        ("", "{}")
    );
    assert!(!stored(&b, u, "sword"));
}

fn account_checks_run_in_the_transaction(b: Backend) {
    let b = b.migrated();
    let u = user(&b);
    let cases = [
        (AccountUpdate::default(), "No fields to update."),
        (
            AccountUpdate {
                username: Some(String::new()),
                ..Default::default()
            },
            "No fields to update.",
        ),
        (
            AccountUpdate {
                username: Some("bad\u{7}name".into()),
                ..Default::default()
            },
            "Username invalid, no spaces or control characters allowed.",
        ),
        (
            AccountUpdate {
                display_name: Some("x".repeat(256)),
                ..Default::default()
            },
            "Display name invalid, must be at most 255 characters.",
        ),
    ];
    for (update, message) in cases {
        let e = multi(
            &b,
            MultiUpdate {
                // An earlier, valid update: rolled back with the rest.
                accounts: vec![rename(u, "Kept?"), AccountChange { user_id: u, update }],
                wallets: vec![gold(u, 1)],
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!((e.code, &*e.message), (Code::InvalidArgument, message));
        let a = account(&b, u);
        assert_eq!(
            (a.user.display_name.as_str(), a.wallet.as_str()),
            ("", "{}")
        );
    }
    // An unknown user's account update changes nothing and is no error, as
    // in Nakama; so is an unknown user's wallet update.
    let (_, results) = multi(
        &b,
        MultiUpdate {
            accounts: vec![rename(Uuid::new_v4(), "Ghost")],
            wallets: vec![gold(Uuid::new_v4(), 1)],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(results.is_empty());
}

/// Multi-updates touching two users' rows and storage run against the
/// deletion of both accounts, over and over; on PostgreSQL each side locks
/// user rows and storage rows, so a multi-update that took a storage row
/// before its user row would deadlock with the deletion (`40P01`). Every
/// call here is one that cannot fail otherwise: versionless writes and
/// deletes, positive wallet changes, updates of users that may be gone.
fn concurrent_account_deletes_do_not_deadlock(b: Backend) {
    let b = b.migrated();
    const ROUNDS: usize = 40;
    for round in 0..ROUNDS {
        let (u, v) = (user(&b), user(&b));
        for owner in [u, v] {
            write(&b, save(owner, "sword", ""));
            write(&b, save(owner, "shield", ""));
        }
        let batch = |first: Uuid, second: Uuid| MultiUpdate {
            accounts: vec![rename(first, "A"), rename(second, "B")],
            writes: vec![save(first, "sword", ""), save(second, "sword", "")],
            deletes: vec![id(second, "shield", "")],
            wallets: vec![gold(second, 1), gold(first, 1)],
            ledger: true,
        };
        let replies = vec![
            b.persist
                .run(move |s| async move { s.multi_update(batch(u, v)).await.map(drop) }),
            b.persist
                .run(move |s| async move { s.delete_account(v, true).await }),
            b.persist
                .run(move |s| async move { s.multi_update(batch(v, u)).await.map(drop) }),
            b.persist
                .run(move |s| async move { s.delete_account(u, true).await }),
        ];
        for (i, reply) in replies.into_iter().enumerate() {
            if let Err(e) = b.persist.block_on(reply) {
                panic!("round {round}, call {i} failed: {e:?} (SQLSTATE 40P01 is a deadlock)");
            }
        }
        for gone in [u, v] {
            let e = b
                .call(move |s| Box::pin(async move { s.get_account(gone).await }))
                .unwrap_err();
            assert_eq!(e.code, Code::NotFound);
        }
    }
}

/// Multi-updates that write one object and delete another, crosswise,
/// against each other and a storage batch of both, over and over: on
/// PostgreSQL a multi-update that locked its writes' rows and then its
/// deletes' would deadlock (`40P01`) with the crossed one. System-owned
/// objects, so no user row orders them.
fn crossed_writes_and_deletes_do_not_deadlock(b: Backend) {
    let b = b.migrated();
    const ROUNDS: usize = 40;
    let system = Uuid::nil();
    for round in 0..ROUNDS {
        let (x, y) = (format!("x{round}"), format!("y{round}"));
        for key in [&x, &y] {
            write(&b, save(system, key, ""));
        }
        let crossed = |written: &str, deleted: &str| MultiUpdate {
            writes: vec![save(system, written, "")],
            deletes: vec![id(system, deleted, "")],
            ..Default::default()
        };
        let (a, c) = (crossed(&x, &y), crossed(&y, &x));
        let batch = vec![save(system, &x, ""), save(system, &y, "")];
        let replies = vec![
            b.persist
                .run(move |s| async move { s.multi_update(a).await.map(drop) }),
            b.persist
                .run(move |s| async move { s.multi_update(c).await.map(drop) }),
            b.persist.run(move |s| async move {
                s.storage_write(StorageCaller::System, batch)
                    .await
                    .map(drop)
            }),
        ];
        for (i, reply) in replies.into_iter().enumerate() {
            if let Err(e) = b.persist.block_on(reply) {
                panic!("round {round}, call {i} failed: {e:?} (SQLSTATE 40P01 is a deadlock)");
            }
        }
    }
}

/// A plain storage batch over a user's objects (locked in key order)
/// against that user's account deletion, over and over. The objects'
/// read permissions alternate, so the owner index (user, collection,
/// read, key) scans them in another order than the batch's: on
/// PostgreSQL a deletion that locked them as it scanned would deadlock
/// (`40P01`) with the batch.
fn storage_batches_and_account_deletes_do_not_deadlock(b: Backend) {
    let b = b.migrated();
    const ROUNDS: usize = 40;
    const OBJECTS: usize = 12;
    for round in 0..ROUNDS {
        let u = user(&b);
        let objects = move || -> Vec<StorageWrite> {
            (0..OBJECTS)
                .map(|i| StorageWrite {
                    permission_read: if i % 2 == 0 { 2 } else { 1 },
                    ..save(u, &format!("k{i:02}"), "")
                })
                .collect()
        };
        let first = objects();
        b.call(move |s| {
            Box::pin(async move { s.storage_write(StorageCaller::System, first).await })
        })
        .unwrap();
        let replies = vec![
            b.persist.run(move |s| async move {
                s.storage_write(StorageCaller::System, objects())
                    .await
                    .map(drop)
            }),
            b.persist
                .run(move |s| async move { s.delete_account(u, true).await }),
            b.persist.run(move |s| async move {
                s.storage_write(StorageCaller::System, objects())
                    .await
                    .map(drop)
            }),
        ];
        for (i, reply) in replies.into_iter().enumerate() {
            if let Err(e) = b.persist.block_on(reply) {
                panic!("round {round}, call {i} failed: {e:?} (SQLSTATE 40P01 is a deadlock)");
            }
        }
    }
}
