//! The storage engine on every backend (see `common` for the harness):
//! version checks, batch atomicity, permissions, listings, and many
//! concurrent writers to one object.

#[macro_use]
mod common;

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::storage::{
    StorageAck, StorageCaller, StorageCursor, StorageId, StorageObject, StorageWrite,
    permission_rejected, version_of, version_rejected,
};
use uuid::Uuid;

use common::{Backend, auth, device, unique};

conformance!(
    versions_and_last_write_wins,
    batches_are_all_or_nothing,
    permissions_against_other_users,
    listings_page_by_read_key_owner,
    deletes_check_version_and_permission,
    concurrent_writers_lose_nothing,
    concurrent_creates_make_one,
    deleting_an_account_deletes_its_objects,
    scans_take_the_newest,
);

// ---- helpers -------------------------------------------------------------

const SYSTEM: StorageCaller = StorageCaller::System;

fn user(b: &Backend) -> Uuid {
    auth(b, device(&unique("dev-")), "", true).unwrap().user_id
}

fn obj(collection: &str, key: &str, owner: Uuid, value: &str, version: &str) -> StorageWrite {
    StorageWrite {
        collection: collection.into(),
        key: key.into(),
        user_id: owner,
        value: value.into(),
        version: version.into(),
        permission_read: 1,
        permission_write: 1,
    }
}

fn id(collection: &str, key: &str, owner: Uuid) -> StorageId {
    StorageId {
        collection: collection.into(),
        key: key.into(),
        user_id: owner,
        version: String::new(),
    }
}

fn write(
    b: &Backend,
    caller: StorageCaller,
    writes: Vec<StorageWrite>,
) -> ApiResult<Vec<StorageAck>> {
    b.call(move |s| Box::pin(async move { s.storage_write(caller, writes).await }))
}

fn read(b: &Backend, caller: StorageCaller, ids: Vec<StorageId>) -> Vec<StorageObject> {
    b.call(move |s| Box::pin(async move { s.storage_read(caller, ids).await }))
        .unwrap()
}

fn read_one(b: &Backend, i: StorageId) -> Option<StorageObject> {
    read(b, SYSTEM, vec![i]).pop()
}

fn list(
    b: &Backend,
    collection: &str,
    owner: Option<Uuid>,
    min_read: i32,
    after: Option<StorageCursor>,
    limit: usize,
) -> Vec<StorageObject> {
    let c = collection.to_string();
    b.call(move |s| Box::pin(async move { s.storage_list(c, owner, min_read, after, limit).await }))
        .unwrap()
}

fn delete(b: &Backend, caller: StorageCaller, ids: Vec<StorageId>) -> Result<(), ApiError> {
    b.call(move |s| Box::pin(async move { s.storage_delete(caller, ids).await }))
}

// ---- tests ---------------------------------------------------------------

fn versions_and_last_write_wins(b: Backend) {
    let b = b.migrated();
    let me = user(&b);
    let c = unique("c");
    let acks = write(
        &b,
        StorageCaller::User(me),
        vec![obj(&c, "k", me, r#"{"a":1}"#, "*")],
    )
    .unwrap();
    assert_eq!(acks[0].version, version_of(r#"{"a":1}"#));
    assert_eq!(acks[0].user_id, me);
    // `*` on an existing object, or a stale hash: rejected.
    let stale = acks[0].version.clone();
    for v in ["*", "0123456789abcdef0123456789abcdef"] {
        let e = write(
            &b,
            StorageCaller::User(me),
            vec![obj(&c, "k", me, r#"{"a":2}"#, v)],
        )
        .unwrap_err();
        assert_eq!(e, version_rejected());
    }
    // The current hash: accepted, and the old one no longer is.
    let next = write(
        &b,
        StorageCaller::User(me),
        vec![obj(&c, "k", me, r#"{"a":2}"#, &stale)],
    )
    .unwrap();
    assert_eq!(next[0].version, version_of(r#"{"a":2}"#));
    assert_eq!(next[0].create_time, acks[0].create_time);
    let e = write(
        &b,
        StorageCaller::User(me),
        vec![obj(&c, "k", me, r#"{"a":3}"#, &stale)],
    )
    .unwrap_err();
    assert_eq!(e, version_rejected());
    // Empty: last write wins, whatever is stored.
    write(
        &b,
        StorageCaller::User(me),
        vec![obj(&c, "k", me, r#"{"a":4}"#, "")],
    )
    .unwrap();
    let stored = read_one(&b, id(&c, "k", me)).unwrap();
    assert_eq!(
        (stored.value.as_str(), stored.version),
        (r#"{"a":4}"#, version_of(r#"{"a":4}"#))
    );
    // A hash on an absent object: rejected.
    let e = write(&b, SYSTEM, vec![obj(&c, "absent", me, "{}", &stale)]).unwrap_err();
    assert_eq!(e, version_rejected());
    // System-owned objects live under the nil id.
    write(
        &b,
        SYSTEM,
        vec![obj(&c, "k", Uuid::nil(), r#"{"s":1}"#, "")],
    )
    .unwrap();
    assert_eq!(
        read_one(&b, id(&c, "k", Uuid::nil())).unwrap().value,
        r#"{"s":1}"#
    );
}

fn batches_are_all_or_nothing(b: Backend) {
    let b = b.migrated();
    let me = user(&b);
    let c = unique("c");
    write(&b, SYSTEM, vec![obj(&c, "taken", me, r#"{"v":0}"#, "")]).unwrap();
    // Acks come in the order of the writes, whatever order they apply in.
    let acks = write(
        &b,
        StorageCaller::User(me),
        vec![
            obj(&c, "z", me, r#"{"z":1}"#, ""),
            obj(&c, "a", me, r#"{"a":1}"#, ""),
        ],
    )
    .unwrap();
    assert_eq!((acks[0].key.as_str(), acks[1].key.as_str()), ("z", "a"));
    // The last write of a batch fails its check: none of it is kept.
    let e = write(
        &b,
        StorageCaller::User(me),
        vec![
            obj(&c, "new", me, r#"{"n":1}"#, "*"),
            obj(&c, "a", me, r#"{"a":2}"#, ""),
            obj(&c, "taken", me, r#"{"v":1}"#, "*"),
        ],
    )
    .unwrap_err();
    assert_eq!(e, version_rejected());
    assert!(read_one(&b, id(&c, "new", me)).is_none());
    assert_eq!(read_one(&b, id(&c, "a", me)).unwrap().value, r#"{"a":1}"#);
    assert_eq!(
        read_one(&b, id(&c, "taken", me)).unwrap().value,
        r#"{"v":0}"#
    );
    // Deletes too: one rejected id keeps every object.
    let e = delete(
        &b,
        StorageCaller::User(me),
        vec![id(&c, "a", me), id(&c, "missing", me)],
    )
    .unwrap_err();
    assert_eq!(e.code, kairos_core::error::Code::InvalidArgument);
    assert!(read_one(&b, id(&c, "a", me)).is_some());
}

fn permissions_against_other_users(b: Backend) {
    let b = b.migrated();
    let (me, other) = (user(&b), user(&b));
    let c = unique("c");
    let mut writes = Vec::new();
    for (key, read) in [("r0", 0), ("r1", 1), ("r2", 2)] {
        let mut w = obj(&c, key, me, "{}", "");
        w.permission_read = read;
        writes.push(w);
    }
    let mut locked = obj(&c, "w0", me, "{}", "");
    locked.permission_write = 0;
    writes.push(locked);
    write(&b, SYSTEM, writes).unwrap();
    let ids = || ["r0", "r1", "r2", "w0"].map(|k| id(&c, k, me)).to_vec();
    let keys = |objs: Vec<StorageObject>| {
        let mut k: Vec<String> = objs.into_iter().map(|o| o.key).collect();
        k.sort();
        k
    };
    assert_eq!(keys(read(&b, SYSTEM, ids())), ["r0", "r1", "r2", "w0"]);
    assert_eq!(
        keys(read(&b, StorageCaller::User(me), ids())),
        ["r1", "r2", "w0"]
    );
    assert_eq!(keys(read(&b, StorageCaller::User(other), ids())), ["r2"]);
    // Write permission 0: the owner cannot overwrite nor delete it; game code can.
    let e = write(
        &b,
        StorageCaller::User(me),
        vec![obj(&c, "w0", me, r#"{"x":1}"#, "")],
    )
    .unwrap_err();
    assert_eq!(e, permission_rejected());
    assert!(delete(&b, StorageCaller::User(me), vec![id(&c, "w0", me)]).is_err());
    write(&b, SYSTEM, vec![obj(&c, "w0", me, r#"{"x":1}"#, "")]).unwrap();
    // Listing: game code sees all, the owner from read 1, others only public.
    let min = |caller: StorageCaller| caller.min_list_read(Some(me));
    assert_eq!(keys(list(&b, &c, Some(me), min(SYSTEM), None, 10)).len(), 4);
    assert_eq!(
        keys(list(
            &b,
            &c,
            Some(me),
            min(StorageCaller::User(me)),
            None,
            10
        ))
        .len(),
        3
    );
    assert_eq!(
        keys(list(
            &b,
            &c,
            Some(me),
            min(StorageCaller::User(other)),
            None,
            10
        )),
        ["r2"]
    );
    assert_eq!(
        keys(list(
            &b,
            &c,
            None,
            StorageCaller::User(other).min_list_read(None),
            None,
            10
        )),
        ["r2"]
    );
}

fn listings_page_by_read_key_owner(b: Backend) {
    let b = b.migrated();
    let (u1, u2) = (user(&b), user(&b));
    let c = unique("c");
    let mut writes = Vec::new();
    for owner in [u1, u2] {
        for k in 0..5 {
            let mut w = obj(&c, &format!("k{k}"), owner, "{}", "");
            w.permission_read = if k % 2 == 0 { 2 } else { 1 };
            writes.push(w);
        }
    }
    write(&b, SYSTEM, writes).unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = list(&b, &c, None, 0, after.clone(), 3);
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(StorageCursor {
            read: last.permission_read,
            key: last.key.clone(),
            user_id: last.user_id,
        });
        seen.extend(
            page.into_iter()
                .map(|o| (o.permission_read, o.key, o.user_id)),
        );
    }
    assert_eq!(seen.len(), 10);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ordered without repeats: {seen:?}"
    );
    assert_eq!(list(&b, &c, Some(u1), 2, None, 10).len(), 3);
    assert!(list(&b, "no-such-collection", None, 0, None, 10).is_empty());
}

fn deletes_check_version_and_permission(b: Backend) {
    let b = b.migrated();
    let (me, other) = (user(&b), user(&b));
    let c = unique("c");
    let acks = write(&b, SYSTEM, vec![obj(&c, "k", me, r#"{"d":1}"#, "")]).unwrap();
    let mut stale = id(&c, "k", me);
    stale.version = version_of("{}");
    assert!(delete(&b, StorageCaller::User(me), vec![stale]).is_err());
    // Another user's id names their own (absent) object: rejected.
    assert!(delete(&b, StorageCaller::User(other), vec![id(&c, "k", other)]).is_err());
    let mut current = id(&c, "k", me);
    current.version = acks[0].version.clone();
    delete(&b, StorageCaller::User(me), vec![current]).unwrap();
    assert!(read_one(&b, id(&c, "k", me)).is_none());
    // Game code deleting an absent object without a version: a no-op.
    delete(&b, SYSTEM, vec![id(&c, "k", me)]).unwrap();
}

/// Each writer increments a counter by read, then write with the version
/// read, retrying on a version clash. The final count equals the number of
/// accepted writes: no accepted write was lost, none applied twice.
fn concurrent_writers_lose_nothing(b: Backend) {
    let b = b.migrated();
    let c = unique("c");
    write(
        &b,
        SYSTEM,
        vec![obj(&c, "counter", Uuid::nil(), r#"{"n":0}"#, "")],
    )
    .unwrap();
    const WRITERS: usize = 8;
    const ATTEMPTS: usize = 15;
    let replies: Vec<_> = (0..WRITERS)
        .map(|_| {
            let c = c.clone();
            b.persist.run(move |s| async move {
                let mut accepted = 0usize;
                for _ in 0..ATTEMPTS {
                    let current = s
                        .storage_read(SYSTEM, vec![id(&c, "counter", Uuid::nil())])
                        .await?;
                    let current = &current[0];
                    let n: u64 = current
                        .value
                        .trim_start_matches(r#"{"n":"#)
                        .trim_end_matches('}')
                        .parse()
                        .unwrap();
                    let next = obj(
                        &c,
                        "counter",
                        Uuid::nil(),
                        &format!(r#"{{"n":{}}}"#, n + 1),
                        &current.version,
                    );
                    match s.storage_write(SYSTEM, vec![next]).await {
                        Ok(_) => accepted += 1,
                        Err(e) if e == version_rejected() => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(accepted)
            })
        })
        .collect();
    let accepted: usize = replies
        .into_iter()
        .map(|r| b.persist.block_on(r).unwrap())
        .sum();
    assert!(accepted > 0);
    let last = read_one(&b, id(&c, "counter", Uuid::nil())).unwrap();
    assert_eq!(last.value, format!(r#"{{"n":{accepted}}}"#));
    assert_eq!(last.version, version_of(&last.value));
}

fn concurrent_creates_make_one(b: Backend) {
    let b = b.migrated();
    let c = unique("c");
    let replies: Vec<_> = (0..8)
        .map(|i| {
            let w = obj(&c, "once", Uuid::nil(), &format!(r#"{{"by":{i}}}"#), "*");
            b.persist
                .run(move |s| async move { s.storage_write(SYSTEM, vec![w]).await })
        })
        .collect();
    let results: Vec<_> = replies.into_iter().map(|r| b.persist.block_on(r)).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| *e == version_rejected())
    );
}

fn deleting_an_account_deletes_its_objects(b: Backend) {
    let b = b.migrated();
    let me = user(&b);
    let c = unique("c");
    write(
        &b,
        SYSTEM,
        vec![
            obj(&c, "k", me, "{}", ""),
            obj(&c, "k", Uuid::nil(), "{}", ""),
        ],
    )
    .unwrap();
    b.call(move |s| Box::pin(async move { s.delete_account(me, true).await }))
        .unwrap();
    assert!(read_one(&b, id(&c, "k", me)).is_none());
    assert!(read_one(&b, id(&c, "k", Uuid::nil())).is_some());
}

fn scans_take_the_newest(b: Backend) {
    let b = b.migrated();
    let me = user(&b);
    let c = unique("c");
    write(
        &b,
        SYSTEM,
        vec![obj(&c, "a", me, "{}", ""), obj(&c, "b", me, "{}", "")],
    )
    .unwrap();
    // Update times are seconds: the next objects are a second newer.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write(
        &b,
        SYSTEM,
        vec![
            obj(&c, "d", me, "{}", ""),
            obj(&c, "c", Uuid::nil(), "{}", ""),
            obj(&c, "a", Uuid::nil(), "{}", ""),
        ],
    )
    .unwrap();
    let scan = |key: &str, limit: usize| -> Vec<(String, Uuid)> {
        let (c, key) = (c.clone(), key.to_string());
        b.call(move |s| Box::pin(async move { s.storage_scan_newest(c, key, limit).await }))
            .unwrap()
            .into_iter()
            .map(|o| (o.key, o.user_id))
            .collect()
    };
    // Newest first, ties by key and owner.
    assert_eq!(
        scan("", 3),
        [
            ("a".to_string(), Uuid::nil()),
            ("c".to_string(), Uuid::nil()),
            ("d".to_string(), me)
        ]
    );
    assert_eq!(scan("", 10).len(), 5);
    assert_eq!(
        scan("a", 10),
        [("a".to_string(), Uuid::nil()), ("a".to_string(), me)]
    );
    assert!(scan("z", 10).is_empty());
}
