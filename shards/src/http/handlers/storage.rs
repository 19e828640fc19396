//! Nakama's storage calls: `PUT /v2/storage` (write), `POST /v2/storage`
//! (read), `PUT /v2/storage/delete`, and the listings
//! `GET /v2/storage/{collection}` (`?user_id=`) and
//! `GET /v2/storage/{collection}/{user_id}`.
//!
//! A client only ever writes and deletes its own objects; reads and
//! listings of others' follow the read permissions
//! (`kairos_core::storage`). Batches are bounded by the request body size.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::storage::{
    self, MAX_LIST, READ_OWNER, StorageCaller, StorageCursor, StorageId, StorageObject,
    StorageWrite, WRITE_OWNER,
};
use kairos_core::time::rfc3339;
use kairos_schema::api;
use uuid::Uuid;

use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::shard::Shard;

/// InvalidArgument "Invalid user ID - make sure user ID is a valid UUID."
fn bad_user_id() -> ApiError {
    ApiError::invalid("Invalid user ID - make sure user ID is a valid UUID.")
}

/// An object's wire form.
pub fn object_json(o: StorageObject) -> api::StorageObject {
    api::StorageObject {
        collection: o.collection,
        key: o.key,
        user_id: o.user_id.to_string(),
        value: o.value,
        version: o.version,
        permission_read: o.permission_read,
        permission_write: o.permission_write,
        create_time: rfc3339(o.create_time),
        update_time: rfc3339(o.update_time),
    }
}

/// `PUT /v2/storage {objects}`: writes the caller's objects, all or none.
pub(super) async fn write(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let body: api::WriteStorageObjectsRequest = call.json()?;
    let me = caller.user_id;
    let writes = body
        .objects
        .into_iter()
        .map(|o| {
            let w = StorageWrite {
                collection: o.collection,
                key: o.key,
                user_id: me,
                value: o.value,
                version: o.version,
                permission_read: o.permission_read.unwrap_or(READ_OWNER),
                permission_write: o.permission_write.unwrap_or(WRITE_OWNER),
            };
            storage::check_write(&w).map(|()| w)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if writes.is_empty() {
        return Ok(response::json(&api::StorageObjectAcks::default()));
    }
    let picked = shard.shared.storage_index.pick(&writes);
    let acks = shard
        .shared
        .persist
        .run(move |store| async move { store.storage_write(StorageCaller::User(me), writes).await })
        .await?;
    shard
        .shared
        .storage_index
        .written(shard, picked, &acks)
        .await;
    Ok(response::json(&api::StorageObjectAcks {
        acks: acks
            .into_iter()
            .map(|a| api::StorageObjectAck {
                collection: a.collection,
                key: a.key,
                version: a.version,
                user_id: a.user_id.to_string(),
                create_time: rfc3339(a.create_time),
                update_time: rfc3339(a.update_time),
            })
            .collect(),
    }))
}

/// The ids of a read or delete body. A read's empty `user_id` names a
/// system-owned object; a nil one is refused, as Nakama.
fn object_ids(body: api::StorageObjectIds, owner: Option<Uuid>) -> ApiResult<Vec<StorageId>> {
    body.object_ids
        .into_iter()
        .map(|id| {
            storage::check_names(&id.collection, &id.key)?;
            let user_id = match owner {
                Some(me) => me,
                None if id.user_id.is_empty() => Uuid::nil(),
                None => Uuid::parse_str(&id.user_id)
                    .ok()
                    .filter(|u| !u.is_nil())
                    .ok_or_else(bad_user_id)?,
            };
            Ok(StorageId {
                collection: id.collection,
                key: id.key,
                user_id,
                version: if owner.is_some() {
                    id.version
                } else {
                    String::new()
                },
            })
        })
        .collect()
}

/// `POST /v2/storage {object_ids}`: those objects the caller may read.
pub(super) async fn read(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let ids = object_ids(call.json()?, None)?;
    if ids.is_empty() {
        return Ok(response::json(&api::StorageObjects::default()));
    }
    let who = StorageCaller::User(caller.user_id);
    let objects = shard
        .shared
        .persist
        .run(move |store| async move { store.storage_read(who, ids).await })
        .await?;
    Ok(response::json(&api::StorageObjects {
        objects: objects.into_iter().map(object_json).collect(),
    }))
}

/// `PUT /v2/storage/delete {object_ids}`: deletes the caller's objects, all
/// or none (a `user_id` in the body is ignored: it is always the caller).
pub(super) async fn delete(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let me = caller.user_id;
    let ids = object_ids(call.json()?, Some(me))?;
    if ids.is_empty() {
        return Ok(response::empty());
    }
    let gone = ids.clone();
    shard
        .shared
        .persist
        .run(move |store| async move { store.storage_delete(StorageCaller::User(me), ids).await })
        .await?;
    shard.shared.storage_index.deleted(&gone);
    Ok(response::empty())
}

/// `GET /v2/storage/{collection}?user_id=&limit=&cursor=`.
pub(super) async fn list(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let owner = match call.param("user_id") {
        None | Some("") => None,
        Some(id) => Some(Uuid::parse_str(id).map_err(|_| bad_user_id())?),
    };
    list_for(shard, caller, &call, owner).await
}

/// `GET /v2/storage/{collection}/{user_id}?limit=&cursor=`.
pub(super) async fn list_user(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let owner = Uuid::parse_str(call.path("user_id")).map_err(|_| bad_user_id())?;
    list_for(shard, caller, &call, Some(owner)).await
}

/// One page of `owner`'s (or everyone's) objects of the path's collection
/// that the caller may read, and the cursor of the next page if any.
async fn list_for(
    shard: &Shard,
    caller: Caller,
    call: &Call,
    owner: Option<Uuid>,
) -> ApiResult<HttpResponse> {
    let limit = params::limit(call, 1, MAX_LIST)?;
    let collection = call.path("collection").to_string();
    if collection.chars().count() > storage::MAX_NAME_CHARS {
        // No such collection can exist.
        return Ok(response::json(&api::StorageObjectList::default()));
    }
    let after = match call.param("cursor") {
        None | Some("") => None,
        Some(c) => Some(StorageCursor::parse(c)?),
    };
    let min_read = StorageCaller::User(caller.user_id).min_list_read(owner);
    let rows = shard
        .shared
        .persist
        .run(move |store| async move {
            store
                .storage_list(collection, owner, min_read, after, limit + 1)
                .await
        })
        .await?;
    let (rows, cursor) = storage::page(rows, limit);
    Ok(response::json(&api::StorageObjectList {
        objects: rows.into_iter().map(object_json).collect(),
        cursor,
    }))
}
