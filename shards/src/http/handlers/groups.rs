//! Nakama's group calls: create, update, delete, join, leave, add, kick,
//! ban, promote, demote (all under `/v2/group`), and the listings
//! `GET /v2/group`, `GET /v2/group/{id}/user` and
//! `GET /v2/user/{user_id}/group`.
//!
//! The rules are `kairos_core::group`'s, applied by the store in one
//! transaction per call. Once it commits, the membership messages it wrote
//! are relayed to the group's channel, users who are no longer members
//! leave it, and the notifications are sent: "group add" (-4) to users an
//! admin added, "join request" (-5) to the admins of a closed group.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::group::{
    self, EdgeCursor, Group, GroupCursor, GroupError, GroupFilter, GroupUpdate, MAX_LIST, MemberOp,
    NewGroup,
};
use kairos_core::time::rfc3339;
use kairos_schema::api;
use uuid::Uuid;

use super::params;
use super::users::{online, user_json};
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::realtime::chat::{self, after_change, after_join, after_leave};
use crate::shard::Shard;

/// A group's wire form.
pub fn group_json(g: Group) -> api::Group {
    api::Group {
        id: g.id.to_string(),
        creator_id: g.creator_id.to_string(),
        name: g.name,
        description: g.description,
        lang_tag: g.lang_tag,
        metadata: g.metadata,
        avatar_url: g.avatar_url,
        open: g.open,
        edge_count: g.edge_count,
        max_count: g.max_count,
        create_time: rfc3339(g.create_time),
        update_time: rfc3339(g.update_time),
    }
}

fn group_id(call: &Call) -> ApiResult<Uuid> {
    group::parse_group_id(call.path("group_id"))
}

/// `POST /v2/group {name, description, lang_tag, avatar_url, open,
/// max_count}`: the caller creates a group and is its superadmin.
pub(super) async fn create(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let body: api::CreateGroupRequest = call.json()?;
    let new = NewGroup {
        owner: caller.user_id,
        creator_id: caller.user_id,
        name: body.name,
        description: body.description,
        avatar_url: body.avatar_url,
        lang_tag: body.lang_tag,
        metadata: String::new(),
        open: body.open,
        max_count: body.max_count,
    }
    .check()?;
    let created = shard
        .shared
        .persist
        .run(move |store| async move { store.create_group(new).await })
        .await?;
    match created {
        Ok(g) => Ok(response::json(&group_json(g))),
        Err(GroupError::NameInUse) => Err(ApiError::exists("Group name is in use.")),
        Err(_) => Err(ApiError::internal("Error while trying to create group.")),
    }
}

/// `PUT /v2/group/{group_id}`: admins and superadmins change its fields.
pub(super) async fn update(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = group_id(&call)?;
    let body: api::UpdateGroupRequest = call.json()?;
    let update = GroupUpdate {
        name: body.name,
        description: body.description,
        avatar_url: body.avatar_url,
        lang_tag: body.lang_tag,
        open: body.open,
        ..GroupUpdate::default()
    };
    update.check()?;
    let me = caller.user_id;
    let updated = shard
        .shared
        .persist
        .run(move |store| async move { store.update_group(id, Some(me), update).await })
        .await?;
    match updated {
        Ok(()) => Ok(response::empty()),
        Err(GroupError::PermissionDenied) => Err(ApiError::not_found(
            "Group not found or you're not allowed to update.",
        )),
        Err(GroupError::NoUpdateOps) => {
            Err(ApiError::invalid("Specify at least one field to update."))
        }
        Err(GroupError::NotUpdated) => Err(ApiError::invalid("No new fields in group update.")),
        Err(GroupError::NameInUse) => Err(ApiError::invalid("Group name is in use.")),
        Err(_) => Err(ApiError::internal("Error while trying to update group.")),
    }
}

/// `DELETE /v2/group/{group_id}`: superadmins only; ends its channel.
pub(super) async fn delete(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = group_id(&call)?;
    let me = caller.user_id;
    let deleted = shard
        .shared
        .persist
        .run(move |store| async move { store.delete_group(id, Some(me)).await })
        .await?;
    match deleted {
        Ok(()) => {
            chat::close_group(shard, id);
            Ok(response::empty())
        }
        Err(GroupError::PermissionDenied) => Err(ApiError::invalid(
            "Group not found or you're not allowed to delete.",
        )),
        Err(_) => Err(ApiError::internal("Error while trying to delete group.")),
    }
}

/// `POST /v2/group/{group_id}/join`.
pub(super) async fn join(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = group_id(&call)?;
    let (me, name) = (caller.user_id, caller.username.clone());
    let joined = shard
        .shared
        .persist
        .run(move |store| async move { store.join_group(id, me, name).await })
        .await?;
    match joined {
        Ok(j) => {
            after_join(shard, id, me, &caller.username, j).await;
            Ok(response::empty())
        }
        Err(GroupError::NotFound) => Err(ApiError::not_found("Group not found.")),
        Err(GroupError::Full) => Err(ApiError::invalid("Group is full.")),
        Err(_) => Err(ApiError::internal("Error while trying to join group.")),
    }
}

/// `POST /v2/group/{group_id}/leave`.
pub(super) async fn leave(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = group_id(&call)?;
    let (me, name) = (caller.user_id, caller.username.clone());
    let left = shard
        .shared
        .persist
        .run(move |store| async move { store.leave_group(id, me, name).await })
        .await?;
    match left {
        Ok(l) => {
            after_leave(shard, id, me, l);
            Ok(response::empty())
        }
        Err(GroupError::LastSuperadmin) => Err(ApiError::invalid(
            "Cannot leave group when you are the last superadmin.",
        )),
        Err(_) => Err(ApiError::internal("Error while trying to leave group.")),
    }
}

/// The bulk calls: `POST /v2/group/{group_id}/<op>?user_ids=...`.
async fn change(
    shard: &Shard,
    caller: Caller,
    call: Call,
    op: MemberOp,
) -> ApiResult<HttpResponse> {
    let id = group_id(&call)?;
    let raw = call.params("user_ids");
    if raw.is_empty() {
        return if op == MemberOp::Demote {
            Err(ApiError::invalid("User IDs must be set."))
        } else {
            Ok(response::empty())
        };
    }
    let users = group::parse_user_ids(&raw)?;
    let me = caller.user_id;
    let changed = shard
        .shared
        .persist
        .run(move |store| async move { store.change_members(id, Some(me), op, users).await })
        .await?;
    let what = match op {
        MemberOp::Add => "add users to a group",
        MemberOp::Kick => "kick users from a group",
        MemberOp::Ban => "ban users from a group",
        MemberOp::Promote => "promote users in a group",
        MemberOp::Demote => "demote users in a group",
    };
    match changed {
        Ok(changes) => {
            after_change(shard, id, Some(me), changes).await;
            Ok(response::empty())
        }
        Err(GroupError::PermissionDenied | GroupError::NotFound) => {
            Err(ApiError::not_found("Group not found or permission denied."))
        }
        Err(GroupError::Full) => Err(ApiError::invalid("Group is full.")),
        Err(GroupError::UserNotFound) => Err(ApiError::invalid("One or more users not found.")),
        Err(_) => Err(ApiError::internal(format!("Error while trying to {what}."))),
    }
}

pub(super) async fn add(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    change(shard, caller, call, MemberOp::Add).await
}

pub(super) async fn kick(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    change(shard, caller, call, MemberOp::Kick).await
}

pub(super) async fn ban(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    change(shard, caller, call, MemberOp::Ban).await
}

pub(super) async fn promote(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    change(shard, caller, call, MemberOp::Promote).await
}

pub(super) async fn demote(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    change(shard, caller, call, MemberOp::Demote).await
}

/// `GET /v2/group?name=&lang_tag=&members=&open=&limit=&cursor=`.
pub(super) async fn list(shard: &Shard, _caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let limit = params::limit(&call, 1, MAX_LIST)?;
    let filter = GroupFilter {
        name: call.param("name").map(str::to_string),
        lang_tag: call.param("lang_tag").map(str::to_string),
        // A negative count is no filter, as in Nakama.
        members: params::int32(&call, "members")?.filter(|m| *m >= 0),
        open: params::boolean(&call, "open")?,
    }
    .check()?;
    let after = match call.param("cursor") {
        None | Some("") => None,
        Some(c) => Some(GroupCursor::parse(c)?),
    };
    let mut rows = shard
        .shared
        .persist
        .run(move |store| async move { store.list_groups(filter, after, limit + 1).await })
        .await?;
    let mut cursor = String::new();
    if rows.len() > limit {
        rows.truncate(limit);
        if let Some(last) = rows.last() {
            cursor = GroupCursor::after(last).encode();
        }
    }
    Ok(response::json(&api::GroupList {
        groups: rows.into_iter().map(group_json).collect(),
        cursor,
    }))
}

/// The `limit`, `state` and `cursor` of the member listings.
fn edge_page(call: &Call) -> ApiResult<(usize, Option<i32>, Option<EdgeCursor>)> {
    let limit = params::limit(call, MAX_LIST, MAX_LIST)?;
    let state = group::check_state_filter(params::int32(call, "state")?)?;
    let after = match call.param("cursor") {
        None | Some("") => None,
        Some(c) => Some(EdgeCursor::parse(c, state)?),
    };
    Ok((limit, state, after))
}

/// `GET /v2/group/{group_id}/user?limit=&state=&cursor=`.
pub(super) async fn list_users(
    shard: &Shard,
    _caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let id = group_id(&call)?;
    let (limit, state, after) = edge_page(&call)?;
    let mut rows = shard
        .shared
        .persist
        .run(move |store| async move { store.list_group_users(id, state, after, limit + 1).await })
        .await?;
    let mut cursor = String::new();
    if rows.len() > limit {
        rows.truncate(limit);
        if let Some(last) = rows.last() {
            cursor = EdgeCursor {
                state: last.state,
                position: last.position,
                id: last.user.id,
            }
            .encode();
        }
    }
    let group_users = rows
        .into_iter()
        .map(|m| {
            let uid = m.user.id;
            api::GroupUser {
                user: online(shard, user_json(m.user), uid),
                state: m.state,
            }
        })
        .collect();
    Ok(response::json(&api::GroupUserList {
        group_users,
        cursor,
    }))
}

/// `GET /v2/user/{user_id}/group?limit=&state=&cursor=`.
pub(super) async fn list_user_groups(
    shard: &Shard,
    _caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let raw = call.path("user_id");
    if raw.is_empty() {
        return Err(ApiError::invalid("User ID must be set."));
    }
    // Nakama's message for a bad user id names the group.
    let user =
        Uuid::parse_str(raw).map_err(|_| ApiError::invalid("Group ID must be a valid ID."))?;
    let (limit, state, after) = edge_page(&call)?;
    let mut rows = shard
        .shared
        .persist
        .run(
            move |store| async move { store.list_user_groups(user, state, after, limit + 1).await },
        )
        .await?;
    let mut cursor = String::new();
    if rows.len() > limit {
        rows.truncate(limit);
        if let Some(last) = rows.last() {
            cursor = EdgeCursor {
                state: last.state,
                position: last.position,
                id: last.group.id,
            }
            .encode();
        }
    }
    Ok(response::json(&api::UserGroupList {
        user_groups: rows
            .into_iter()
            .map(|ug| api::UserGroup {
                group: group_json(ug.group),
                state: ug.state,
            })
            .collect(),
        cursor,
    }))
}
