//! Wallets and the ledger on every backend (see `common`): updates add up
//! under concurrency, a negative result rejects the whole batch, the
//! account carries the wallet, and the ledger pages newest first.

#[macro_use]
mod common;

use kairos_core::error::ApiResult;
use kairos_core::wallet::{Wallet, WalletLedgerItem, WalletUpdate, WalletUpdateResult};
use uuid::Uuid;

use common::{Backend, auth, device, unique};

conformance!(
    updates_apply_and_show_in_the_account,
    negative_rejects_the_batch,
    concurrent_updates_add_up,
    ledger_pages_newest_first,
    ledger_metadata_updates_merge,
);

fn user(b: &Backend) -> Uuid {
    auth(b, device(&unique("dev-")), "", true).unwrap().user_id
}

fn change(user_id: Uuid, pairs: &[(&str, i64)]) -> WalletUpdate {
    WalletUpdate {
        user_id,
        changeset: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        metadata: r#"{"reason":"test"}"#.into(),
    }
}

fn update(b: &Backend, updates: Vec<WalletUpdate>) -> ApiResult<Vec<WalletUpdateResult>> {
    b.call(move |s| Box::pin(async move { s.wallets_update(updates, true).await }))
}

fn wallet(b: &Backend, user: Uuid) -> String {
    b.call(move |s| Box::pin(async move { s.get_account(user).await }))
        .unwrap()
        .wallet
}

fn ledger(
    b: &Backend,
    user: Uuid,
    before: Option<(i64, Uuid)>,
    limit: usize,
) -> Vec<WalletLedgerItem> {
    b.call(move |s| Box::pin(async move { s.wallet_ledger_list(user, before, limit).await }))
        .unwrap()
}

fn updates_apply_and_show_in_the_account(b: Backend) {
    let b = b.migrated();
    let (u1, u2) = (user(&b), user(&b));
    assert_eq!(wallet(&b, u1), "{}");
    let results = update(
        &b,
        vec![
            change(u1, &[("gold", 10)]),
            change(Uuid::now_v7(), &[("gold", 5)]),
            change(u2, &[("gems", 3)]),
            change(u1, &[("gold", -4), ("gems", 1)]),
        ],
    )
    .unwrap();
    // The unknown user is skipped; two updates of one user chain.
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[2].previous,
        Wallet::from([("gold".to_string(), 10)])
    );
    assert_eq!(wallet(&b, u1), r#"{"gems":1,"gold":6}"#);
    assert_eq!(wallet(&b, u2), r#"{"gems":3}"#);
    assert_eq!(ledger(&b, u1, None, 10).len(), 2);
}

fn negative_rejects_the_batch(b: Backend) {
    let b = b.migrated();
    let (u1, u2) = (user(&b), user(&b));
    update(&b, vec![change(u1, &[("gold", 5)])]).unwrap();
    let e = update(
        &b,
        vec![change(u2, &[("gold", 5)]), change(u1, &[("gold", -6)])],
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "wallet update rejected negative value at path 'gold'"
    );
    assert_eq!(wallet(&b, u1), r#"{"gold":5}"#);
    assert_eq!(wallet(&b, u2), "{}");
    assert!(ledger(&b, u2, None, 10).is_empty());
}

fn concurrent_updates_add_up(b: Backend) {
    let b = b.migrated();
    let (u1, u2) = (user(&b), user(&b));
    const WRITERS: i64 = 8;
    const EACH: i64 = 10;
    let replies: Vec<_> = (0..WRITERS)
        .map(|i| {
            // Half the batches name the users in the other order.
            let batch = if i % 2 == 0 {
                vec![change(u1, &[("c", 1)]), change(u2, &[("c", 2)])]
            } else {
                vec![change(u2, &[("c", 2)]), change(u1, &[("c", 1)])]
            };
            b.persist.run(move |s| async move {
                for _ in 0..EACH {
                    s.wallets_update(batch.clone(), true).await?;
                }
                Ok(())
            })
        })
        .collect();
    for r in replies {
        b.persist.block_on(r).unwrap();
    }
    assert_eq!(wallet(&b, u1), format!(r#"{{"c":{}}}"#, WRITERS * EACH));
    assert_eq!(wallet(&b, u2), format!(r#"{{"c":{}}}"#, 2 * WRITERS * EACH));
    assert_eq!(ledger(&b, u1, None, 1000).len() as i64, WRITERS * EACH);
}

fn ledger_pages_newest_first(b: Backend) {
    let b = b.migrated();
    let u = user(&b);
    for i in 1..=5 {
        update(&b, vec![change(u, &[("gold", i)])]).unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = ledger(&b, u, before, 2);
        let Some(last) = page.last() else { break };
        before = Some((last.create_time, last.id));
        seen.extend(
            page.into_iter()
                .map(|e| (e.create_time, e.id, e.changeset["gold"])),
        );
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| (w[0].0, w[0].1) > (w[1].0, w[1].1)));
    let mut golds: Vec<i64> = seen.iter().map(|s| s.2).collect();
    golds.sort();
    assert_eq!(golds, [1, 2, 3, 4, 5]);
}

fn ledger_metadata_updates_merge(b: Backend) {
    let b = b.migrated();
    let u = user(&b);
    update(&b, vec![change(u, &[("gold", 1)])]).unwrap();
    let entry = ledger(&b, u, None, 1).pop().unwrap();
    let id = entry.id;
    let updated = b
        .call(move |s| {
            Box::pin(async move { s.wallet_ledger_update(id, r#"{"order":7}"#.into()).await })
        })
        .unwrap()
        .unwrap();
    assert_eq!(updated.metadata, r#"{"order":7,"reason":"test"}"#);
    assert_eq!(ledger(&b, u, None, 1)[0].metadata, updated.metadata);
    let missing = b
        .call(|s| {
            Box::pin(async move { s.wallet_ledger_update(Uuid::now_v7(), "{}".into()).await })
        })
        .unwrap();
    assert!(missing.is_none());
}
