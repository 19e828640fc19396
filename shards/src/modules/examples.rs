//! The stock binary's example game code, registered with
//! `--kairos.runtime.examples true` (or [`ServerBuilder::with_examples`](super::ServerBuilder::with_examples)).
//! Each shows one part of the API and is what the tests and the nakama-js
//! scripts call.
//!
//! * `example.echo`: answers with its payload.
//! * `example.whoami`: answers `{"user_id","username","vars","mode",
//!   "node","query"}` from its context (an empty user id for a call made
//!   with the HTTP key; `query` lists an HTTP call's query parameters).
//! * `example.notify_me`: sends the caller a live, non-persistent
//!   notification (code 101) whose content is the payload, a JSON object.
//! * `example.fail`: returns the error its payload names,
//!   `{"code": 3, "message": "..."}`, as typed game code would.
//! * `example.arena`: an authoritative match handler ([`Arena`]), created
//!   by the RPC `example.create_arena` (payload: its parameters),
//!   signalled through `example.signal_match`; `example.match_get`
//!   (payload `{"match_id"}`) describes any match, relayed or not.
//! * `example.stream_join`: joins the calling socket's session to the
//!   stream its payload names (`{"mode", "subject", "subcontext",
//!   "label", "hidden", "status"}`, all optional; mode 20 by default) and
//!   answers `{"joined", "session_id", "count"}`; the members then hear
//!   a `stream_presence_event`.
//! * `example.stream_send`: sends `stream_data` with the payload's
//!   `"data"` (and `"reliable"`) to the members of the stream it names,
//!   from any caller; answers `{}`.
//! * the matchmaker-matched hook ([`matchmaker_matched`]): a match whose
//!   players all queued with the string property `mode` = `arena` gets an
//!   `example.arena` match, whose id they receive in `matchmaker_matched`;
//!   any other match is left to a token (a relayed match).
//! * `example.leaderboard_create`: creates the leaderboard its payload
//!   describes (`{"id", "authoritative", "sort_order", "operator",
//!   "reset_schedule", "metadata", "enable_ranks"}`; `desc`, `best`, no
//!   reset and ranks enabled by default) and answers `{}`.
//! * `example.tournament_create`: creates the tournament its payload
//!   describes (`Nk::tournament_create`'s arguments in snake_case;
//!   `desc`, `best`, a duration of 3600 s and no cap by default) and
//!   answers `{}`.
//! * `example.tournament_write`: a tournament write as game code makes
//!   it (the same payload as `example.leaderboard_write`; authoritative
//!   tournaments too), answering the record.
//! * `example.leaderboard_delete`: `{"id"}`, deletes a leaderboard or a
//!   tournament and its records.
//! * `example.leaderboard_cursor_from_rank`: `{"id", "rank", "expiry"}`,
//!   answers `{"cursor"}` (`Nk::leaderboard_records_list_cursor_from_rank`).
//! * `example.ranks_disable`: `{"id", "tournament"}`, turns a
//!   leaderboard's (or tournament's) ranks off.
//! * `example.leaderboard_write`: an authoritative write as game code
//!   makes it (`{"id", "owner_id", "username", "score", "subscore",
//!   "metadata", "operator"}`), answering the record.
//! * `example.leaderboards`: `{"list": [...]}`, every leaderboard as
//!   `Nk::leaderboard_list` gives it (`{"id", "sort_order", "operator",
//!   "reset_schedule", "prev_reset", "next_reset", "authoritative"}`).
//! * the leaderboard-reset hook ([`leaderboard_reset`]) remembers each
//!   reset; `example.leaderboard_resets` answers `{"<id>": [<reset>...]}`.
//! * the tournament end and reset hooks ([`tournament_end`],
//!   [`tournament_reset`]) remember each call;
//!   `example.tournament_hooks` answers `{"<id>": [{"hook": "end" or
//!   "reset", "end", "reset", "size", "mode"}...]}`, in the order called.
//!
//! Each remembers at most [`HEARD`] calls, the latest.

use std::collections::VecDeque;

use kairos_core::error::{ApiError, Code};
use serde_json::{Value, json};

use super::{CallMode, Context, MatchedResult, MatchmakerEntry, Modules, RpcResult};

/// Registers every example into `modules`.
pub fn register(modules: &mut Modules) {
    modules.register_rpc("example.echo", std::sync::Arc::new(echo));
    modules.register_rpc("example.whoami", std::sync::Arc::new(whoami));
    modules.register_rpc("example.notify_me", std::sync::Arc::new(notify_me));
    modules.register_rpc("example.fail", std::sync::Arc::new(fail));
    modules.register_rpc("example.create_arena", std::sync::Arc::new(create_arena));
    modules.register_rpc("example.signal_match", std::sync::Arc::new(signal_match));
    modules.register_rpc("example.match_get", std::sync::Arc::new(match_get));
    modules.register_rpc("example.stream_join", std::sync::Arc::new(stream_join));
    modules.register_rpc("example.stream_send", std::sync::Arc::new(stream_send));
    modules.register_matchmaker_matched(std::sync::Arc::new(matchmaker_matched));
    modules.register_rpc(
        "example.leaderboard_create",
        std::sync::Arc::new(leaderboard_create),
    );
    modules.register_rpc(
        "example.leaderboard_delete",
        std::sync::Arc::new(leaderboard_delete),
    );
    modules.register_rpc(
        "example.leaderboard_cursor_from_rank",
        std::sync::Arc::new(leaderboard_cursor_from_rank),
    );
    modules.register_rpc("example.ranks_disable", std::sync::Arc::new(ranks_disable));
    modules.register_rpc(
        "example.tournament_create",
        std::sync::Arc::new(tournament_create),
    );
    modules.register_rpc(
        "example.tournament_write",
        std::sync::Arc::new(tournament_write),
    );
    modules.register_rpc(
        "example.leaderboard_write",
        std::sync::Arc::new(leaderboard_write),
    );
    modules.register_rpc("example.leaderboards", std::sync::Arc::new(leaderboards));
    modules.register_rpc(
        "example.leaderboard_resets",
        std::sync::Arc::new(leaderboard_resets),
    );
    modules.register_leaderboard_reset(std::sync::Arc::new(leaderboard_reset));
    modules.register_rpc(
        "example.tournament_hooks",
        std::sync::Arc::new(tournament_hooks),
    );
    modules.register_tournament_end(std::sync::Arc::new(tournament_end));
    modules.register_tournament_reset(std::sync::Arc::new(tournament_reset));
    modules.register_match_handler(
        "example.arena",
        std::sync::Arc::new(|ctx, params| {
            let (arena, init) = Arena::init(ctx, params)?;
            Ok((Box::new(arena) as Box<dyn super::MatchHandler>, init))
        }),
    );
}

async fn echo(_ctx: Context, payload: String) -> RpcResult {
    Ok(payload)
}

async fn whoami(ctx: Context, _payload: String) -> RpcResult {
    Ok(json!({
        "user_id": ctx.user_id.map(|u| u.to_string()).unwrap_or_default(),
        "username": ctx.username,
        "vars": ctx.vars,
        "mode": match ctx.mode {
            CallMode::Http => "http",
            CallMode::Socket => "socket",
            CallMode::Matchmaker => "matchmaker",
            CallMode::LeaderboardReset => "leaderboard_reset",
            CallMode::TournamentEnd => "tournament_end",
            CallMode::TournamentReset => "tournament_reset",
            CallMode::Shutdown => "shutdown",
            CallMode::StorageIndexFilter => "storage_index_filter",
        },
        "node": ctx.nk.node(),
        "query": ctx.query.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
    .to_string())
}

async fn notify_me(ctx: Context, payload: String) -> RpcResult {
    let Some(user) = ctx.user_id else {
        return Err(ApiError::new(
            Code::FailedPrecondition,
            "a session is required",
        ));
    };
    let content: Value = serde_json::from_str(&payload)
        .map_err(|_| ApiError::invalid("the payload must be a JSON object"))?;
    ctx.nk
        .notification_send(user, "example", content, 101, false)
        .await?;
    Ok(String::new())
}

async fn fail(_ctx: Context, payload: String) -> RpcResult {
    let v: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
    let code = v.get("code").and_then(Value::as_i64).unwrap_or(13);
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("example failure")
        .to_string();
    let code = Code::from_i32(code as i32).unwrap_or(Code::Unknown);
    Err(ApiError::new(code, message))
}

/// `example.arena`: a small authoritative game. Players send their moves
/// (op code 1, `{"dx": i, "dy": i}`, each axis clamped to ±1 per move);
/// the server applies them and broadcasts every player's position each
/// tick (op code 2, `{"tick": n, "players": {"<user id>": [x, y]}}`).
/// Joins past `max_players` (a creation parameter, default 8) are
/// rejected with "match full". Op code 99 from a player ends the match;
/// a match nobody has been in for 30 seconds ends too. The label is
/// `{"mode":"arena","players":n}`; a signal answers the label.
pub struct Arena {
    max_players: usize,
    tick_rate: u32,
    positions: std::collections::BTreeMap<uuid::Uuid, (i64, i64)>,
    empty_ticks: u64,
}

impl Arena {
    /// `match_init`: parameters `{"max_players": n, "tick_rate": r}`.
    pub fn init(
        _ctx: &super::MatchContext,
        params: &Value,
    ) -> Result<(Arena, super::MatchInit), ApiError> {
        let max_players = params["max_players"].as_u64().unwrap_or(8).clamp(1, 64) as usize;
        let tick_rate = params["tick_rate"].as_u64().unwrap_or(10) as u32;
        let arena = Arena {
            max_players,
            tick_rate,
            positions: Default::default(),
            empty_ticks: 0,
        };
        let label = arena.label();
        Ok((arena, super::MatchInit { tick_rate, label }))
    }

    fn label(&self) -> String {
        json!({ "mode": "arena", "players": self.positions.len() }).to_string()
    }
}

impl super::MatchHandler for Arena {
    fn join_attempt(
        &mut self,
        _d: &mut super::Dispatcher,
        _tick: u64,
        _presence: &super::MatchPresence,
        _metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), String> {
        if self.positions.len() >= self.max_players {
            return Err("match full".into());
        }
        Ok(())
    }

    fn join(&mut self, d: &mut super::Dispatcher, _tick: u64, presences: &[super::MatchPresence]) {
        for p in presences {
            self.positions.insert(p.user_id, (0, 0));
        }
        d.label_update(self.label());
    }

    fn leave(&mut self, d: &mut super::Dispatcher, _tick: u64, presences: &[super::MatchPresence]) {
        for p in presences {
            self.positions.remove(&p.user_id);
        }
        d.label_update(self.label());
    }

    fn tick(
        &mut self,
        d: &mut super::Dispatcher,
        tick: u64,
        messages: Vec<super::MatchMessage>,
    ) -> bool {
        for m in messages {
            match m.op_code {
                1 => {
                    let Ok(mv) = serde_json::from_slice::<Value>(&m.data) else {
                        continue;
                    };
                    let step = |v: &Value| v.as_i64().unwrap_or(0).clamp(-1, 1);
                    if let Some(pos) = self.positions.get_mut(&m.sender.user_id) {
                        pos.0 += step(&mv["dx"]);
                        pos.1 += step(&mv["dy"]);
                    }
                }
                99 => return false,
                _ => {}
            }
        }
        if self.positions.is_empty() {
            self.empty_ticks += 1;
            return self.empty_ticks < 30 * u64::from(self.tick_rate);
        }
        self.empty_ticks = 0;
        let players: serde_json::Map<String, Value> = self
            .positions
            .iter()
            .map(|(id, (x, y))| (id.to_string(), json!([x, y])))
            .collect();
        let state = json!({ "tick": tick, "players": players }).to_string();
        d.broadcast(2, state.into_bytes(), None, None, false);
        true
    }

    fn signal(
        &mut self,
        _d: &mut super::Dispatcher,
        _tick: u64,
        _data: &str,
    ) -> Result<String, String> {
        Ok(self.label())
    }
}

/// The matchmaker-matched hook: an `example.arena` match for players who
/// all asked for `mode: arena`; `None` (a token) for anyone else.
async fn matchmaker_matched(ctx: Context, entries: Vec<MatchmakerEntry>) -> MatchedResult {
    let arena = entries
        .iter()
        .all(|e| e.string_properties.get("mode").map(String::as_str) == Some("arena"));
    if !arena {
        return Ok(None);
    }
    let players: Vec<&str> = entries.iter().map(|e| e.user_id.as_str()).collect();
    let id = ctx
        .nk
        .match_create("example.arena", &json!({ "matched": players }))
        .await?;
    Ok(Some(id))
}

/// `example.create_arena`: creates an `example.arena` match with the
/// payload as its parameters; answers `{"match_id": ...}`.
async fn create_arena(ctx: Context, payload: String) -> RpcResult {
    let params: Value = if payload.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&payload).map_err(|_| ApiError::invalid("parameters must be JSON"))?
    };
    let id = ctx.nk.match_create("example.arena", &params).await?;
    Ok(json!({ "match_id": id }).to_string())
}

/// `example.signal_match`: `{"match_id", "data"}` → the handler's answer,
/// from whichever shard runs the match. A `GET` call (nakama-js's
/// `rpcHttpKey`) has no payload, as in Nakama; its `payload` query
/// parameter is read instead.
async fn signal_match(ctx: Context, payload: String) -> RpcResult {
    let payload = if payload.is_empty() {
        ctx.query_param("payload").unwrap_or("").to_string()
    } else {
        payload
    };
    let v: Value =
        serde_json::from_str(&payload).map_err(|_| ApiError::invalid("expected a JSON object"))?;
    let id = v["match_id"].as_str().unwrap_or("");
    let data = v["data"].as_str().unwrap_or("");
    let answer = ctx.nk.match_signal(id, data).await?;
    Ok(json!({ "answer": answer }).to_string())
}

/// `example.match_get`: `{"match_id"}` → the match as `Nk::match_get`
/// sees it, or `{}` when it does not exist.
async fn match_get(ctx: Context, payload: String) -> RpcResult {
    let v: Value =
        serde_json::from_str(&payload).map_err(|_| ApiError::invalid("expected a JSON object"))?;
    let id = v["match_id"].as_str().unwrap_or("");
    let Some(m) = ctx.nk.match_get(id).await? else {
        return Ok("{}".into());
    };
    Ok(json!({
        "match_id": m.match_id,
        "authoritative": m.authoritative,
        "label": m.label,
        "size": m.size,
        "tick_rate": m.tick_rate,
        "handler_name": m.handler_name,
    })
    .to_string())
}

/// The stream a JSON object names: `"mode"` (20 when absent),
/// `"subject"` and `"subcontext"` (UUIDs, or absent or empty), `"label"`.
pub fn stream_from_json(v: &Value) -> Result<super::Stream, ApiError> {
    let id = |key: &str| -> Result<Option<uuid::Uuid>, ApiError> {
        match v[key].as_str().unwrap_or("") {
            "" => Ok(None),
            text => uuid::Uuid::parse_str(text)
                .map(Some)
                .map_err(|_| ApiError::invalid(format!("stream {key} must be a valid identifier"))),
        }
    };
    let mode = v["mode"].as_u64().unwrap_or(20);
    let mode = u8::try_from(mode).map_err(|_| ApiError::invalid("stream mode must be 0 to 255"))?;
    Ok(super::Stream {
        mode,
        subject: id("subject")?,
        subcontext: id("subcontext")?,
        label: v["label"].as_str().unwrap_or("").to_string(),
    })
}

/// `example.stream_join`: the calling socket joins the payload's stream.
async fn stream_join(ctx: Context, payload: String) -> RpcResult {
    let (Some(user), Some(session)) = (ctx.user_id, ctx.session_id) else {
        return Err(ApiError::new(
            Code::FailedPrecondition,
            "a realtime session is required",
        ));
    };
    let v: Value =
        serde_json::from_str(&payload).map_err(|_| ApiError::invalid("expected a JSON object"))?;
    let stream = stream_from_json(&v)?;
    let hidden = v["hidden"].as_bool().unwrap_or(false);
    let status = v["status"].as_str().unwrap_or("");
    let joined = ctx
        .nk
        .stream_user_join(&stream, user, session, hidden, true, status)
        .await?;
    let count = ctx.nk.stream_count(&stream).await?;
    Ok(json!({ "joined": joined, "session_id": session.to_string(), "count": count }).to_string())
}

/// `example.stream_send`: `stream_data` with `"data"` to the payload's
/// stream.
async fn stream_send(ctx: Context, payload: String) -> RpcResult {
    let v: Value =
        serde_json::from_str(&payload).map_err(|_| ApiError::invalid("expected a JSON object"))?;
    let stream = stream_from_json(&v)?;
    let data = v["data"].as_str().unwrap_or("");
    let reliable = v["reliable"].as_bool().unwrap_or(true);
    ctx.nk.stream_send(&stream, data, None, reliable)?;
    Ok("{}".into())
}

fn parse_payload(payload: &str) -> Result<Value, ApiError> {
    serde_json::from_str(payload).map_err(|_| ApiError::invalid("payload must be JSON"))
}

/// `{"id"}`: deletes a leaderboard (or a tournament) and its records.
async fn leaderboard_delete(ctx: Context, payload: String) -> RpcResult {
    let p = parse_payload(&payload)?;
    let id = p["id"].as_str().unwrap_or_default();
    if id.is_empty() {
        return Err(ApiError::invalid("expects a leaderboard ID string"));
    }
    ctx.nk.leaderboard_delete(id).await?;
    Ok("{}".into())
}

/// `{"id", "rank", "expiry"}`: `{"cursor"}` for a listing from `rank`.
async fn leaderboard_cursor_from_rank(ctx: Context, payload: String) -> RpcResult {
    let p = parse_payload(&payload)?;
    let cursor = ctx
        .nk
        .leaderboard_records_list_cursor_from_rank(
            p["id"].as_str().unwrap_or_default(),
            p["rank"].as_i64().unwrap_or(0),
            p["expiry"].as_i64().unwrap_or(0),
        )
        .await?;
    Ok(json!({ "cursor": cursor }).to_string())
}

/// `{"id", "tournament"}`: turns the board's ranks off.
async fn ranks_disable(ctx: Context, payload: String) -> RpcResult {
    let p = parse_payload(&payload)?;
    let id = p["id"].as_str().unwrap_or_default();
    if p["tournament"].as_bool().unwrap_or(false) {
        ctx.nk.tournament_ranks_disable(id).await?;
    } else {
        ctx.nk.leaderboard_ranks_disable(id).await?;
    }
    Ok("{}".into())
}

async fn leaderboard_create(ctx: Context, payload: String) -> RpcResult {
    let p = parse_payload(&payload)?;
    let text = |k: &str, default: &str| p[k].as_str().unwrap_or(default).to_string();
    ctx.nk
        .leaderboard_create(
            &text("id", ""),
            p["authoritative"].as_bool().unwrap_or(false),
            &text("sort_order", "desc"),
            &text("operator", "best"),
            &text("reset_schedule", ""),
            p["metadata"].clone(),
            p["enable_ranks"].as_bool().unwrap_or(true),
        )
        .await?;
    Ok("{}".into())
}

/// Creates the tournament its payload describes (Nakama's
/// `TournamentCreate` arguments, snake_case; defaults: `desc`, `best`, a
/// duration of one hour, no cap), so clients can try tournaments.
async fn tournament_create(ctx: Context, payload: String) -> RpcResult {
    let p = parse_payload(&payload)?;
    let text = |k: &str, default: &str| p[k].as_str().unwrap_or(default).to_string();
    let int = |k: &str, default: i64| p[k].as_i64().unwrap_or(default);
    let (id, sort_order, operator, reset_schedule, title, description) = (
        text("id", ""),
        text("sort_order", "desc"),
        text("operator", "best"),
        text("reset_schedule", ""),
        text("title", ""),
        text("description", ""),
    );
    let metadata = match &p["metadata"] {
        Value::Null => String::new(),
        v @ Value::Object(_) => v.to_string(),
        _ => return Err(ApiError::invalid("expects metadata to be a JSON object")),
    };
    ctx.nk
        .tournament_create(kairos_core::tournament::CreateArgs {
            id: &id,
            authoritative: p["authoritative"].as_bool().unwrap_or(false),
            sort_order: &sort_order,
            operator: &operator,
            reset_schedule: &reset_schedule,
            metadata: &metadata,
            title: &title,
            description: &description,
            category: int("category", 0),
            start_time: int("start_time", 0),
            end_time: int("end_time", 0),
            duration: int("duration", 3600),
            max_size: int("max_size", 0),
            max_num_score: int("max_num_score", 0),
            join_required: p["join_required"].as_bool().unwrap_or(false),
            enable_ranks: p["enable_ranks"].as_bool().unwrap_or(true),
        })
        .await?;
    Ok("{}".into())
}

/// A record as the examples answer it.
fn record_value(r: &super::LeaderboardRecord) -> Value {
    json!({
        "leaderboard_id": r.leaderboard_id,
        "owner_id": r.owner_id.to_string(),
        "username": r.username,
        "score": r.score,
        "subscore": r.subscore,
        "num_score": r.num_score,
        "metadata": r.metadata,
        "rank": r.rank,
        "expiry_time": r.expiry_time,
    })
}

async fn leaderboard_write(ctx: Context, payload: String) -> RpcResult {
    let p = parse_payload(&payload)?;
    let owner = p["owner_id"]
        .as_str()
        .and_then(|o| uuid::Uuid::parse_str(o).ok())
        .ok_or_else(|| ApiError::invalid("expects owner ID to be a valid identifier"))?;
    let metadata = (!p["metadata"].is_null()).then(|| p["metadata"].clone());
    let operator = p["operator"].as_i64().map(|o| o as i32);
    let record = ctx
        .nk
        .leaderboard_record_write(
            p["id"].as_str().unwrap_or(""),
            owner,
            p["username"].as_str().unwrap_or(""),
            p["score"].as_i64().unwrap_or(0),
            p["subscore"].as_i64().unwrap_or(0),
            metadata,
            operator,
        )
        .await?;
    Ok(record_value(&record).to_string())
}

/// Game code's tournament write (`{"id", "owner_id", "username",
/// "score", "subscore", "metadata", "operator"}`), answering the record.
async fn tournament_write(ctx: Context, payload: String) -> RpcResult {
    let p = parse_payload(&payload)?;
    let owner = p["owner_id"]
        .as_str()
        .and_then(|o| uuid::Uuid::parse_str(o).ok())
        .ok_or_else(|| ApiError::invalid("expects owner ID to be a valid identifier"))?;
    let metadata = (!p["metadata"].is_null()).then(|| p["metadata"].clone());
    let operator = p["operator"].as_i64().map(|o| o as i32);
    let record = ctx
        .nk
        .tournament_record_write(
            p["id"].as_str().unwrap_or(""),
            owner,
            p["username"].as_str().unwrap_or(""),
            p["score"].as_i64().unwrap_or(0),
            p["subscore"].as_i64().unwrap_or(0),
            metadata,
            operator,
        )
        .await?;
    Ok(record_value(&record).to_string())
}

async fn leaderboards(ctx: Context, _payload: String) -> RpcResult {
    let mut list = Vec::new();
    let mut cursor = String::new();
    loop {
        let (page, next) = ctx.nk.leaderboard_list(100, &cursor).await?;
        list.extend(page.into_iter().map(|b| {
            json!({
                "id": b.id,
                "sort_order": b.sort_order.as_i32(),
                "operator": b.operator.as_api(),
                "reset_schedule": b.reset_schedule,
                "prev_reset": b.prev_reset,
                "next_reset": b.next_reset,
                "authoritative": b.authoritative,
            })
        }));
        if next.is_empty() {
            break;
        }
        cursor = next;
    }
    Ok(json!({ "list": list }).to_string())
}

/// Resets heard by [`leaderboard_reset`], by board.
static RESETS: std::sync::Mutex<VecDeque<(String, i64)>> = std::sync::Mutex::new(VecDeque::new());

/// The leaderboard-reset hook: remembers the reset.
pub async fn leaderboard_reset(
    _ctx: Context,
    board: super::LeaderboardInfo,
    reset: i64,
) -> Result<(), ApiError> {
    if let Ok(mut resets) = RESETS.lock() {
        remember(&mut resets, (board.id, reset));
    }
    Ok(())
}

/// Most calls each example hook remembers.
pub const HEARD: usize = 10_000;

fn remember<T>(heard: &mut VecDeque<T>, item: T) {
    if heard.len() >= HEARD {
        heard.pop_front();
    }
    heard.push_back(item);
}

/// Calls heard by the tournament hooks: the tournament's id and the call.
static TOURNAMENT_HOOKS: std::sync::Mutex<VecDeque<(String, Value)>> =
    std::sync::Mutex::new(VecDeque::new());

fn heard_tournament(
    ctx: &Context,
    hook: &str,
    t: kairos_core::tournament::Tournament,
    end: i64,
    reset: i64,
) {
    let mode = match ctx.mode {
        CallMode::TournamentEnd => "tournament_end",
        CallMode::TournamentReset => "tournament_reset",
        _ => "other",
    };
    let call = json!({"hook": hook, "end": end, "reset": reset, "size": t.size, "mode": mode});
    if let Ok(mut heard) = TOURNAMENT_HOOKS.lock() {
        remember(&mut heard, (t.leaderboard.id, call));
    }
}

/// The tournament-end hook: remembers the call.
pub async fn tournament_end(
    ctx: Context,
    t: kairos_core::tournament::Tournament,
    end: i64,
    reset: i64,
) -> Result<(), ApiError> {
    heard_tournament(&ctx, "end", t, end, reset);
    Ok(())
}

/// The tournament-reset hook: remembers the call.
pub async fn tournament_reset(
    ctx: Context,
    t: kairos_core::tournament::Tournament,
    end: i64,
    reset: i64,
) -> Result<(), ApiError> {
    heard_tournament(&ctx, "reset", t, end, reset);
    Ok(())
}

async fn tournament_hooks(_ctx: Context, _payload: String) -> RpcResult {
    let mut by_id = serde_json::Map::new();
    if let Ok(heard) = TOURNAMENT_HOOKS.lock() {
        for (id, call) in heard.iter() {
            if let Value::Array(v) = by_id
                .entry(id.clone())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                v.push(call.clone());
            }
        }
    }
    Ok(Value::Object(by_id).to_string())
}

async fn leaderboard_resets(_ctx: Context, _payload: String) -> RpcResult {
    let mut by_board = serde_json::Map::new();
    if let Ok(resets) = RESETS.lock() {
        for (id, at) in resets.iter() {
            if let Value::Array(v) = by_board
                .entry(id.clone())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                v.push(json!(at));
            }
        }
    }
    Ok(Value::Object(by_board).to_string())
}
