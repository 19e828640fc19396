//! `kairos-under-test`: Kairos built as a library, as a game's own server
//! would be (`ServerBuilder`), with the stock examples and two RPCs that
//! misbehave on purpose, for the isolation tests:
//!
//! * `test.panic` panics;
//! * `test.sleep` waits the number of milliseconds in its payload, then
//!   answers with it.
//!
//! and hooks that act only on marked input, so other tests never meet
//! them (`tests/tests/hooks.rs`):
//!
//! * before `channel_message_send`: content with `"kairos_test_hook"`
//!   set to `"rewrite"` is sent as `{"rewritten":true}`, `"drop"` is not
//!   served, `"reject"` is refused, `"panic"` panics;
//! * after `channel_message_send`: `"after"` sends the sender a live
//!   notification, code 102;
//! * before `AuthenticateCustom`: ids starting `hooked-` get the username
//!   `hooked_<rest of the id>`, `disabled-` ones are disabled, `refused-`
//!   ones refused with PERMISSION_DENIED;
//! * after `GetAccount` with `?kairos_test_after=1`: a stored
//!   notification to the caller, code 103;
//!
//! `test.stream`, every stream call of `Nk` on any session (payload
//! `{"op", "stream": {"mode", "subject", "subcontext", "label"},
//! "user_id", "session_id", "hidden", "persistence", "status",
//! "include_hidden", "include_not_hidden", "data", "presences",
//! "reliable"}`, with `op` one of `join`, `update`, `leave`, `kick`,
//! `get`, `list`, `count`, `close`, `send`; answers `{"joined"}`,
//! `{"presence"}`, `{"presences"}`, `{"count"}` or `{}`),
//! `test.match_list`, `Nk::match_list` with the payload's `limit`,
//! `authoritative`, `label`, `min_size`, `max_size` and `query`,
//! `test.storage`, the storage calls of `Nk` (payload `{"op"}` with `op`
//! `write` and `"objects": [{"collection", "key", "user_id", "value",
//! "version", "permission_read", "permission_write"}]`, `read` or `delete`
//! and `"ids": [{"collection", "key", "user_id", "version"}]`, or `list`
//! and `"caller", "owner", "collection", "limit", "cursor"`; answers
//! `{"acks"}`, `{"objects"}`, `{"objects", "cursor"}` or `{}`; an absent
//! `user_id`, `caller` or `owner` is the nil id or none),
//! `test.wallet`, the wallet calls of `Nk` (payload `{"op"}` with `op`
//! `update` and `"user_id", "changeset", "metadata", "ledger"` (answers
//! `{"updated", "previous"}`), `updates` and `"updates": [{"user_id",
//! "changeset", "metadata"}], "ledger"` (answers `{"results"}`), or
//! `ledger` and `"user_id", "limit", "cursor"` (answers `{"items",
//! "cursor"}`), or `multi`, `Nk::multi_update`, with `"accounts":
//! [{"user_id", "username", "display_name", "timezone", "location",
//! "lang_tag", "avatar_url", "metadata"}]`, `test.storage`'s `"objects"`,
//! `"deletes"` shaped as its `"ids"`, `"updates"` and `"ledger"` (answers
//! `{"acks": [{"key", "user_id", "version"}], "results": [{"user_id",
//! "updated", "previous"}]}`), or
//! `ledger_update` and `"id", "metadata"` (answers `{"metadata"}`)),
//! `test.groups`, the group calls of `Nk` (payload `{"op"}` with `op`
//! `create` (`"owner", "name", "open", "max_count", "metadata"`; answers
//! the group), `update` (`"id", "metadata", "max_count"`), `delete`
//! (`"id"`), `get` (`"ids"`; answers `{"groups"}`), `join` and `leave`
//! (`"id", "user", "username"`), `add`, `kick`, `ban`, `promote` and
//! `demote` (`"caller"` (absent: game code), `"id", "users"`), `users`
//! (`"id", "limit", "state", "cursor"`; answers `{"users": [{"id",
//! "state"}], "cursor"}`), `user_groups` (`"user"`, the rest as `users`;
//! answers `{"groups": [{"id", "state"}], "cursor"}`) or `list` (`"name",
//! "limit", "cursor"`; answers `{"groups", "cursor"}`)),
//! and the authoritative match handler `test.fragile` (created by the RPC
//! `test.create_fragile`, payload: its parameters, and `module` to create
//! another handler's match), which ticks at the
//! parameter `tick_rate` (default 20), is labelled with the parameter
//! `label` (a signal's data becomes its label), broadcasts its tick
//! number (op code 3) every tick, refuses a join whose metadata has `reject` (with its
//! value as the reason), panics on a message with op code 98, and on shutdown
//! broadcasts `terminating in <grace seconds>` (op code 4).

use std::time::Duration;

use kairos_shards::ServerBuilder;
use kairos_shards::modules::examples::stream_from_json;
use kairos_shards::modules::rtapi::Incoming;
use kairos_shards::modules::{
    AccountChange, AccountUpdate, ApiRequest, Before, Code, Context, Dispatcher, Error, Group,
    GroupFilter, GroupUpdate, MatchContext, MatchHandler, MatchInit, MatchMessage, NewGroup,
    RpcResult, StorageId, StorageObject, StorageWrite, StreamPresence, Wallet, WalletUpdate,
};
use serde_json::{Value, json};
use uuid::Uuid;

async fn panics(_ctx: Context, _payload: String) -> RpcResult {
    panic!("test.panic was called");
}

async fn sleeps(ctx: Context, payload: String) -> RpcResult {
    let ms: u64 = payload
        .trim()
        .parse()
        .map_err(|_| Error::invalid("the payload must be a number of milliseconds"))?;
    ctx.nk.sleep(Duration::from_millis(ms)).await;
    Ok(payload)
}

/// The `kairos_test_hook` marker of a chat message's content, if any.
fn marker(msg: &Incoming) -> Option<String> {
    let Incoming::ChannelMessageSend(m) = msg else {
        return None;
    };
    let content: Value = serde_json::from_str(&m.content).ok()?;
    content["kairos_test_hook"].as_str().map(str::to_owned)
}

async fn before_chat(_ctx: Context, mut msg: Incoming) -> Before<Incoming> {
    match marker(&msg).as_deref() {
        Some("rewrite") => {
            if let Incoming::ChannelMessageSend(m) = &mut msg {
                m.content = json!({ "rewritten": true }).to_string();
            }
            Ok(Some(msg))
        }
        Some("drop") => Ok(None),
        Some("reject") => Err(Error::new(Code::InvalidArgument, "rejected by hook")),
        Some("panic") => panic!("before hook panics on purpose"),
        _ => Ok(Some(msg)),
    }
}

async fn after_chat(ctx: Context, msg: Incoming) -> Result<(), Error> {
    if marker(&msg).as_deref() == Some("after")
        && let Some(user) = ctx.user_id
    {
        ctx.nk
            .notification_send(user, "after hook", json!({ "seen": true }), 102, false)
            .await?;
    }
    Ok(())
}

async fn before_custom(_ctx: Context, mut req: ApiRequest) -> Before<ApiRequest> {
    let id = req.body["id"].as_str().unwrap_or("").to_string();
    if let Some(rest) = id.strip_prefix("hooked-") {
        req.query.retain(|(k, _)| k != "username");
        req.query
            .push(("username".into(), format!("hooked_{rest}")));
        return Ok(Some(req));
    }
    if id.starts_with("disabled-") {
        return Ok(None);
    }
    if id.starts_with("refused-") {
        return Err(Error::new(Code::PermissionDenied, "refused by hook"));
    }
    Ok(Some(req))
}

async fn after_account(ctx: Context, req: ApiRequest, response: Value) -> Result<(), Error> {
    let marked = req
        .query
        .iter()
        .any(|(k, v)| k == "kairos_test_after" && v == "1");
    if let (true, Some(user)) = (marked, ctx.user_id) {
        let seen = json!({ "username": response["user"]["username"] });
        ctx.nk
            .notification_send(user, "after hook", seen, 103, true)
            .await?;
    }
    Ok(())
}

struct Fragile;

impl MatchHandler for Fragile {
    fn join_attempt(
        &mut self,
        _d: &mut Dispatcher,
        _tick: u64,
        _presence: &kairos_shards::modules::MatchPresence,
        metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), String> {
        match metadata.get("reject") {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }

    fn tick(&mut self, d: &mut Dispatcher, tick: u64, messages: Vec<MatchMessage>) -> bool {
        if messages.iter().any(|m| m.op_code == 98) {
            panic!("test.fragile panics on op code 98");
        }
        d.broadcast(3, tick.to_string().into_bytes(), None, None, false);
        true
    }

    fn terminate(&mut self, d: &mut Dispatcher, _tick: u64, grace_seconds: u32) {
        let note = format!("terminating in {grace_seconds}");
        d.broadcast(4, note.into_bytes(), None, None, true);
    }

    fn signal(&mut self, d: &mut Dispatcher, _tick: u64, data: &str) -> Result<String, String> {
        d.label_update(data.to_string());
        Ok(data.to_string())
    }
}

fn fragile(_ctx: &MatchContext, params: &Value) -> Result<(Fragile, MatchInit), Error> {
    let tick_rate = params["tick_rate"].as_u64().unwrap_or(20) as u32;
    Ok((
        Fragile,
        MatchInit {
            tick_rate,
            label: params["label"].as_str().unwrap_or("").to_string(),
        },
    ))
}

/// `test.match_list`: `Nk::match_list` with the payload's `limit`,
/// `authoritative`, `label`, `min_size`, `max_size` and `query`; answers
/// `{"matches": [{match_id, authoritative, label, size, tick_rate,
/// handler_name}]}`.
async fn match_list(ctx: Context, payload: String) -> RpcResult {
    let p: Value = serde_json::from_str(&payload).unwrap_or(json!({}));
    let size = |k: &str| p[k].as_u64().map(|v| v as usize);
    let found = ctx
        .nk
        .match_list(
            p["limit"].as_u64().unwrap_or(10) as usize,
            p["authoritative"].as_bool().unwrap_or(false),
            p["label"].as_str(),
            size("min_size"),
            size("max_size"),
            p["query"].as_str(),
        )
        .await?;
    let matches: Vec<Value> = found
        .iter()
        .map(|m| {
            json!({
                "match_id": m.match_id, "authoritative": m.authoritative,
                "label": m.label, "size": m.size, "tick_rate": m.tick_rate,
                "handler_name": m.handler_name,
            })
        })
        .collect();
    Ok(json!({ "matches": matches }).to_string())
}

async fn create_fragile(ctx: Context, payload: String) -> RpcResult {
    let params: Value = serde_json::from_str(&payload).unwrap_or(json!({}));
    let module = params["module"].as_str().unwrap_or("test.fragile");
    let id = ctx.nk.match_create(module, &params).await?;
    Ok(json!({ "match_id": id }).to_string())
}

fn presence_json(p: &StreamPresence) -> Value {
    json!({
        "user_id": p.user_id.to_string(),
        "session_id": p.session_id.to_string(),
        "username": p.username,
        "node": p.node,
        "hidden": p.hidden,
        "persistence": p.persistence,
        "status": p.status,
    })
}

async fn stream_op(ctx: Context, payload: String) -> RpcResult {
    let v: Value = serde_json::from_str(&payload).map_err(|_| Error::invalid("not JSON"))?;
    let stream = stream_from_json(&v["stream"])?;
    let id = |key: &str| {
        v[key]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| Error::invalid(format!("expects valid {key}")))
    };
    let flag = |key: &str, default: bool| v[key].as_bool().unwrap_or(default);
    let status = v["status"].as_str().unwrap_or("");
    let nk = &ctx.nk;
    let answer = match v["op"].as_str().unwrap_or("") {
        "join" => {
            let joined = nk
                .stream_user_join(
                    &stream,
                    id("user_id")?,
                    id("session_id")?,
                    flag("hidden", false),
                    flag("persistence", true),
                    status,
                )
                .await?;
            json!({ "joined": joined })
        }
        "update" => {
            nk.stream_user_update(
                &stream,
                id("user_id")?,
                id("session_id")?,
                flag("hidden", false),
                flag("persistence", true),
                status,
            )
            .await?;
            json!({})
        }
        "leave" => {
            nk.stream_user_leave(&stream, id("user_id")?, id("session_id")?)
                .await?;
            json!({})
        }
        "kick" => {
            let presence = StreamPresence {
                user_id: id("user_id")?,
                session_id: id("session_id")?,
                username: String::new(),
                node: String::new(),
                hidden: false,
                persistence: false,
                status: String::new(),
            };
            nk.stream_user_kick(&stream, &presence).await?;
            json!({})
        }
        "get" => {
            let p = nk
                .stream_user_get(&stream, id("user_id")?, id("session_id")?)
                .await?;
            json!({ "presence": p.as_ref().map(presence_json) })
        }
        "list" => {
            let ps = nk
                .stream_user_list(
                    &stream,
                    flag("include_hidden", true),
                    flag("include_not_hidden", true),
                )
                .await?;
            json!({ "presences": ps.iter().map(presence_json).collect::<Vec<_>>() })
        }
        "count" => json!({ "count": nk.stream_count(&stream).await? }),
        "close" => {
            nk.stream_close(&stream).await?;
            json!({})
        }
        "send" => {
            let to: Option<Vec<Uuid>> = v["presences"].as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                    .collect()
            });
            nk.stream_send(
                &stream,
                v["data"].as_str().unwrap_or(""),
                to.as_deref(),
                flag("reliable", true),
            )?;
            json!({})
        }
        other => return Err(Error::invalid(format!("unknown op {other:?}"))),
    };
    Ok(answer.to_string())
}

/// An optional id in a `test.storage` payload.
fn opt_id(v: &Value) -> Result<Option<Uuid>, Error> {
    match v.as_str() {
        None | Some("") => Ok(None),
        Some(s) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| Error::invalid("bad id")),
    }
}

fn storage_json(o: &StorageObject) -> Value {
    json!({
        "collection": o.collection, "key": o.key, "user_id": o.user_id.to_string(),
        "value": o.value, "version": o.version,
        "permission_read": o.permission_read, "permission_write": o.permission_write,
    })
}

/// The payload's `"objects"` as storage writes.
fn storage_writes(v: &Value) -> Result<Vec<StorageWrite>, Error> {
    let text = |o: &Value, k: &str| o[k].as_str().unwrap_or_default().to_string();
    let list = v["objects"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|o| {
            let perm = |k: &str, d: i64| o[k].as_i64().unwrap_or(d) as i32;
            Ok(StorageWrite {
                collection: text(o, "collection"),
                key: text(o, "key"),
                user_id: opt_id(&o["user_id"])?.unwrap_or_default(),
                value: text(o, "value"),
                version: text(o, "version"),
                permission_read: perm("permission_read", 1),
                permission_write: perm("permission_write", 1),
            })
        })
        .collect()
}

/// The payload's `"accounts"` as account changes: `{"user_id",
/// "username", "display_name", "timezone", "location", "lang_tag",
/// "avatar_url", "metadata"}`, each field absent to leave it as it is and
/// `metadata` a JSON object. A `user_id` that is no id is refused with
/// Nakama's Go runtime message.
fn account_changes(v: &Value) -> Result<Vec<AccountChange>, Error> {
    let list = v["accounts"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|a| {
            let user_id = a["user_id"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| Error::invalid("expects user ID to be a valid identifier"))?;
            let field = |k: &str| a[k].as_str().map(str::to_string);
            Ok(AccountChange {
                user_id,
                update: AccountUpdate {
                    username: field("username"),
                    display_name: field("display_name"),
                    avatar_url: field("avatar_url"),
                    lang_tag: field("lang_tag"),
                    location: field("location"),
                    timezone: field("timezone"),
                    metadata: a.get("metadata").map(Value::to_string),
                },
            })
        })
        .collect()
}

/// The payload's list `name` as storage ids (`{"collection", "key",
/// "user_id", "version"}`).
fn storage_ids(v: &Value, name: &str) -> Result<Vec<StorageId>, Error> {
    let text = |o: &Value, k: &str| o[k].as_str().unwrap_or_default().to_string();
    let list = v[name].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|i| {
            Ok(StorageId {
                collection: text(i, "collection"),
                key: text(i, "key"),
                user_id: opt_id(&i["user_id"])?.unwrap_or_default(),
                version: text(i, "version"),
            })
        })
        .collect()
}

/// The payload's `"updates"` as wallet updates.
fn wallet_updates(v: &Value) -> Result<Vec<WalletUpdate>, Error> {
    let list = v["updates"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|u| {
            Ok(WalletUpdate {
                user_id: opt_id(&u["user_id"])?.unwrap_or_default(),
                changeset: serde_json::from_value(u["changeset"].clone())
                    .map_err(|_| Error::invalid("bad changeset"))?,
                metadata: u.get("metadata").map(Value::to_string).unwrap_or_default(),
            })
        })
        .collect()
}

async fn storage_op(ctx: Context, payload: String) -> RpcResult {
    let v: Value = serde_json::from_str(&payload).map_err(|_| Error::invalid("not JSON"))?;
    let ids = || storage_ids(&v, "ids");
    let answer = match v["op"].as_str().unwrap_or_default() {
        "write" => {
            let acks = ctx.nk.storage_write(storage_writes(&v)?).await?;
            let acks: Vec<Value> = acks
                .iter()
                .map(|a| json!({"key": a.key, "user_id": a.user_id.to_string(), "version": a.version}))
                .collect();
            json!({ "acks": acks })
        }
        "read" => {
            let found = ctx.nk.storage_read(ids()?).await?;
            json!({ "objects": found.iter().map(storage_json).collect::<Vec<_>>() })
        }
        "list" => {
            let (found, cursor) = ctx
                .nk
                .storage_list(
                    opt_id(&v["caller"])?,
                    opt_id(&v["owner"])?,
                    v["collection"].as_str().unwrap_or_default(),
                    v["limit"].as_u64().unwrap_or(10) as usize,
                    v["cursor"].as_str().unwrap_or_default(),
                )
                .await?;
            json!({ "objects": found.iter().map(storage_json).collect::<Vec<_>>(), "cursor": cursor })
        }
        "delete" => {
            ctx.nk.storage_delete(ids()?).await?;
            json!({})
        }
        _ => return Err(Error::invalid("unknown op")),
    };
    Ok(answer.to_string())
}

fn group_json(g: &Group) -> Value {
    json!({
        "id": g.id.to_string(), "creator_id": g.creator_id.to_string(), "name": g.name,
        "metadata": g.metadata, "open": g.open, "edge_count": g.edge_count,
        "max_count": g.max_count,
    })
}

async fn groups_op(ctx: Context, payload: String) -> RpcResult {
    let v: Value = serde_json::from_str(&payload).map_err(|_| Error::invalid("not JSON"))?;
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let id = |k: &str| opt_id(&v[k]).map(Option::unwrap_or_default);
    let ids = |k: &str| -> Result<Vec<Uuid>, Error> {
        let list = v[k].as_array().cloned().unwrap_or_default();
        list.iter().map(id_of).collect()
    };
    let limit = v["limit"].as_u64().unwrap_or(100) as usize;
    let state = v["state"].as_i64().map(|s| s as i32);
    let nk = &ctx.nk;
    let out = match v["op"].as_str().unwrap_or_default() {
        "create" => group_json(
            &nk.group_create(NewGroup {
                owner: id("owner")?,
                name: text("name"),
                open: v["open"].as_bool().unwrap_or(false),
                max_count: v["max_count"].as_i64().unwrap_or(0) as i32,
                metadata: text("metadata"),
                ..NewGroup::default()
            })
            .await?,
        ),
        "update" => {
            let update = GroupUpdate {
                metadata: v["metadata"].as_str().map(str::to_string),
                max_count: v["max_count"].as_i64().map(|n| n as i32),
                ..GroupUpdate::default()
            };
            nk.group_update(id("id")?, update).await?;
            json!({})
        }
        "delete" => {
            nk.group_delete(id("id")?).await?;
            json!({})
        }
        "get" => {
            let groups = nk.groups_get_id(ids("ids")?).await?;
            json!({ "groups": groups.iter().map(group_json).collect::<Vec<_>>() })
        }
        "join" => {
            nk.group_user_join(id("id")?, id("user")?, &text("username"))
                .await?;
            json!({})
        }
        "leave" => {
            nk.group_user_leave(id("id")?, id("user")?, &text("username"))
                .await?;
            json!({})
        }
        op @ ("add" | "kick" | "ban" | "promote" | "demote") => {
            let (caller, group, users) = (opt_id(&v["caller"])?, id("id")?, ids("users")?);
            match op {
                "add" => nk.group_users_add(caller, group, users).await?,
                "kick" => nk.group_users_kick(caller, group, users).await?,
                "ban" => nk.group_users_ban(caller, group, users).await?,
                "promote" => nk.group_users_promote(caller, group, users).await?,
                _ => nk.group_users_demote(caller, group, users).await?,
            }
            json!({})
        }
        "users" => {
            let (users, cursor) = nk
                .group_users_list(id("id")?, limit, state, &text("cursor"))
                .await?;
            let users: Vec<Value> = users
                .iter()
                .map(|m| json!({"id": m.user.id.to_string(), "state": m.state}))
                .collect();
            json!({ "users": users, "cursor": cursor })
        }
        "user_groups" => {
            let (groups, cursor) = nk
                .user_groups_list(id("user")?, limit, state, &text("cursor"))
                .await?;
            let groups: Vec<Value> = groups
                .iter()
                .map(|g| json!({"id": g.group.id.to_string(), "state": g.state}))
                .collect();
            json!({ "groups": groups, "cursor": cursor })
        }
        "list" => {
            let filter = GroupFilter {
                name: v["name"].as_str().map(str::to_string),
                ..GroupFilter::default()
            };
            let (groups, cursor) = nk.groups_list(filter, limit, &text("cursor")).await?;
            json!({ "groups": groups.iter().map(group_json).collect::<Vec<_>>(), "cursor": cursor })
        }
        _ => return Err(Error::invalid("unknown op")),
    };
    Ok(out.to_string())
}

/// A required id in a `test.groups` payload.
fn id_of(v: &Value) -> Result<Uuid, Error> {
    opt_id(v)?.ok_or_else(|| Error::invalid("missing id"))
}

async fn wallet_op(ctx: Context, payload: String) -> RpcResult {
    let v: Value = serde_json::from_str(&payload).map_err(|_| Error::invalid("not JSON"))?;
    let user = |u: &Value| opt_id(&u["user_id"]).map(Option::unwrap_or_default);
    let changeset = |u: &Value| -> Result<Wallet, Error> {
        serde_json::from_value(u["changeset"].clone()).map_err(|_| Error::invalid("bad changeset"))
    };
    let metadata = |u: &Value| u.get("metadata").map(Value::to_string).unwrap_or_default();
    let ledger = v["ledger"].as_bool().unwrap_or(false);
    let answer = match v["op"].as_str().unwrap_or_default() {
        "update" => {
            let (updated, previous) = ctx
                .nk
                .wallet_update(user(&v)?, changeset(&v)?, &metadata(&v), ledger)
                .await?;
            json!({ "updated": updated, "previous": previous })
        }
        "updates" => {
            let results = ctx.nk.wallets_update(wallet_updates(&v)?, ledger).await?;
            let results: Vec<Value> = results
                .iter()
                .map(|r| json!({"user_id": r.user_id.to_string(), "updated": r.updated, "previous": r.previous}))
                .collect();
            json!({ "results": results })
        }
        "ledger_update" => {
            let id = opt_id(&v["id"])?.unwrap_or_default();
            let item = ctx.nk.wallet_ledger_update(id, &metadata(&v)).await?;
            json!({ "metadata": item.metadata })
        }
        "multi" => {
            let (acks, results) = ctx
                .nk
                .multi_update(
                    account_changes(&v)?,
                    storage_writes(&v)?,
                    storage_ids(&v, "deletes")?,
                    wallet_updates(&v)?,
                    ledger,
                )
                .await?;
            let acks: Vec<Value> = acks
                .iter()
                .map(|a| json!({"key": a.key, "user_id": a.user_id.to_string(), "version": a.version}))
                .collect();
            let results: Vec<Value> = results
                .iter()
                .map(|r| json!({"user_id": r.user_id.to_string(), "updated": r.updated, "previous": r.previous}))
                .collect();
            json!({ "acks": acks, "results": results })
        }
        "ledger" => {
            let (items, cursor) = ctx
                .nk
                .wallet_ledger_list(
                    user(&v)?,
                    v["limit"].as_u64().unwrap_or(10) as usize,
                    v["cursor"].as_str().unwrap_or_default(),
                )
                .await?;
            let items: Vec<Value> = items
                .iter()
                .map(|i| json!({"id": i.id.to_string(), "changeset": i.changeset, "metadata": i.metadata}))
                .collect();
            json!({ "items": items, "cursor": cursor })
        }
        _ => return Err(Error::invalid("unknown op")),
    };
    Ok(answer.to_string())
}

fn main() {
    let code = ServerBuilder::new()
        .with_examples()
        .rpc("test.panic", panics)
        .rpc("test.sleep", sleeps)
        .rpc("test.create_fragile", create_fragile)
        .rpc("test.stream", stream_op)
        .rpc("test.match_list", match_list)
        .rpc("test.storage", storage_op)
        .rpc("test.wallet", wallet_op)
        .rpc("test.groups", groups_op)
        .match_handler("test.fragile", fragile)
        .before_rt("channel_message_send", before_chat)
        .after_rt("channel_message_send", after_chat)
        .before_api("AuthenticateCustom", before_custom)
        .after_api("GetAccount", after_account)
        .run();
    std::process::exit(code);
}
