//! Authoritative matches: a game's [`MatchHandler`] run by its owner shard
//! on a steady tick clock.
//!
//! A match is the stream `(6, <uuid>, "", <node>)`; its id on the wire is
//! `"<uuid>.<node>"`. [`create`] (game code's `Nk::match_create`) picks an
//! id this shard owns, so the match starts where it was asked for without
//! a hop, and starts its loop ([`running`]). Joins and data reach the
//! owner as a relayed match's do (`matches::Msg`); the owner asks the
//! handler (`join_attempt`), keeps the membership in the shard's stream
//! table, and queues data for the next tick. Leaves come through the
//! fan-out like every stream's, then reach the handler ([`on_left`]).

mod running;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use kairos_core::error::{ApiError, Code};
use kairos_schema::rtapi::ErrorCode;
use serde_json::Value;
use uuid::Uuid;

pub use running::Running;

use super::{Data, Join, owner};
use crate::fanout::{Presence, StreamId, mode};
use crate::modules::matches::{Factory, MatchContext, MatchInfo, MatchMessage, MatchPresence};
use crate::modules::{Nk, guard};
use crate::shard::Shard;

/// Longest label a match may carry, in bytes (Nakama: 2048).
pub const MAX_LABEL: usize = 2048;

/// The authoritative matches this shard owns.
#[derive(Default)]
pub struct State {
    running: RefCell<HashMap<Uuid, Rc<Running>>>,
}

impl State {
    fn get(&self, id: &Uuid) -> Option<Rc<Running>> {
        self.running.borrow().get(id).cloned()
    }

    /// The running (not ended) match of an authoritative match stream.
    fn of(&self, stream: &StreamId) -> Option<Rc<Running>> {
        let id = Uuid::parse_str(&stream.subject).ok()?;
        self.get(&id).filter(|m| !m.ended())
    }
}

/// The stream of the authoritative match `id` on node `node`.
pub fn stream(id: Uuid, node: &str) -> StreamId {
    StreamId {
        mode: mode::MATCH_AUTHORITATIVE,
        subject: id.to_string(),
        subcontext: String::new(),
        label: node.to_string(),
    }
}

/// The wire id of an authoritative match's stream.
pub fn match_id(stream: &StreamId) -> String {
    format!("{}.{}", stream.subject, stream.label)
}

fn presence_of(p: &Presence, node: &str) -> MatchPresence {
    MatchPresence {
        user_id: p.user_id,
        session_id: p.session_id,
        username: p.username.clone(),
        node: node.to_string(),
    }
}

/// Creates a match of the handler registered as `module`, on this shard,
/// and starts its loop once its `match_init` has run (a waiting one
/// within `kairos.runtime.rpc_timeout_ms`). Returns its id.
pub async fn create(shard: &Rc<Shard>, module: &str, params: &Value) -> Result<String, ApiError> {
    let factory = shard
        .shared
        .modules
        .match_handler(module)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Match handler {module:?} not found")))?;
    let node = shard.shared.config.name.clone();
    let shards = shard.port.shards();
    // An id this shard owns: the match starts here, no hop.
    let (id, stream) = loop {
        let id = Uuid::new_v4();
        let stream = stream(id, &node);
        if stream.owner(shards) == shard.id {
            break (id, stream);
        }
    };
    let ctx = MatchContext {
        match_id: match_id(&stream),
        node,
        module: module.to_string(),
    };
    let made = match factory {
        Factory::Plain(factory) => guard::catch(|| factory(&ctx, params)),
        Factory::Waiting(factory) => {
            let deadline =
                std::time::Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms);
            let init = factory(Nk::new(shard.clone()), ctx.clone(), params.clone());
            guard::run(init, deadline).await.map_err(|f| match f {
                guard::Failure::Panicked(panic) => panic,
                guard::Failure::TimedOut => "match_init timed out".into(),
            })
        }
    };
    let (handler, init) = match made {
        Ok(Ok(made)) => made,
        Ok(Err(e)) => return Err(e),
        Err(panic) => {
            tracing::error!(module, panic = %panic, "match_init failed");
            return Err(ApiError::new(Code::Internal, "Internal Server Error"));
        }
    };
    let max = shard.config().kairos.runtime.max_tick_rate;
    if init.tick_rate == 0 || init.tick_rate > max {
        return Err(ApiError::invalid(format!(
            "Match tick rate must be between 1 and {max} (kairos.runtime.max_tick_rate), got {}",
            init.tick_rate
        )));
    }
    if init.label.len() > MAX_LABEL {
        return Err(ApiError::invalid(format!(
            "Match label longer than {MAX_LABEL} bytes"
        )));
    }
    let running = Rc::new(Running::new(id, ctx, stream, handler, init));
    running.listed(shard);
    let mut all = shard.features.matches.running.borrow_mut();
    all.insert(id, running.clone());
    shard.metrics.matches.set(all.len() as u64);
    drop(all);
    running::start(shard.rc(), running.clone());
    Ok(running.ctx.match_id.clone())
}

/// On the owner: a session asks to join. The handler decides; an accepted
/// presence joins the stream, gets the match, everyone hears of the join,
/// then the handler's `join` runs ([`Running::join`]).
pub(super) fn on_join(shard: &Shard, msg: Join) {
    let Some(m) = shard.features.matches.of(&msg.stream) else {
        owner::refuse_join(
            shard,
            &msg,
            ErrorCode::MatchNotFound,
            "Match not found".into(),
        );
        return;
    };
    let who = presence_of(&msg.presence, &m.ctx.node);
    m.join(shard, msg, who);
}

/// On the owner: data from a member, queued for the next tick (dropped,
/// and counted, past `kairos.runtime.match_input_queue`).
pub(super) fn on_data(shard: &Shard, msg: Data) {
    let member = shard
        .streams
        .borrow()
        .get(&msg.stream)
        .and_then(|s| s.get(msg.sender).cloned());
    let (Some(m), Some(sender)) = (shard.features.matches.of(&msg.stream), member) else {
        // Not a member: dropped without a word, as Nakama does.
        return;
    };
    let message = MatchMessage {
        sender: presence_of(&sender, &m.ctx.node),
        op_code: msg.op_code,
        data: msg.data,
        reliable: msg.reliable,
        receive_time_ms: kairos_core::time::now_millis(),
    };
    m.queue(
        shard,
        message,
        shard.config().kairos.runtime.match_input_queue,
    );
}

/// The server is stopping: every match on this shard hears it
/// (`terminate`, with the grace period left) while its members' sockets
/// are still open, so what it broadcasts goes out before they close.
pub fn terminate_all(shard: &Shard, grace_seconds: u32) {
    let running: Vec<Rc<Running>> = shard
        .features
        .matches
        .running
        .borrow()
        .values()
        .cloned()
        .collect();
    for m in running {
        m.terminate(shard, grace_seconds);
    }
}

/// On the owner, after `gone` left `stream` (and the others heard): the
/// match's handler hears it too.
pub fn on_left(shard: &Shard, stream: &StreamId, gone: &Presence) {
    let Some(m) = shard.features.matches.of(stream) else {
        return;
    };
    m.left(shard, vec![presence_of(gone, &m.ctx.node)]);
}

/// A signal for an authoritative match, to its owner, with where to
/// answer.
pub struct Signal {
    pub id: Uuid,
    pub data: String,
    pub reply: running::Reply,
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal").field("id", &self.id).finish()
    }
}

/// Signals match `match_id` on whichever shard runs it and awaits the
/// handler's answer (Nakama's `match_signal`).
pub async fn send_signal(shard: &Shard, match_id: &str, data: String) -> Result<String, ApiError> {
    let stream = match super::parse_match_id(match_id, &shard.shared.config.name) {
        Ok(s) if s.mode == mode::MATCH_AUTHORITATIVE => s,
        _ => return Err(ApiError::not_found("Match not found")),
    };
    let id =
        Uuid::parse_str(&stream.subject).map_err(|_| ApiError::not_found("Match not found"))?;
    let (tx, rx) = futures_channel::oneshot::channel();
    crate::fanout::membership::to_owner(
        shard,
        &stream,
        super::Msg::Signal(Signal {
            id,
            data,
            reply: tx,
        }),
    );
    rx.await
        .unwrap_or_else(|_| Err(ApiError::not_found("Match not found")))
}

/// A question for a match's owner: what is this match now?
pub struct Get {
    pub stream: StreamId,
    pub reply: futures_channel::oneshot::Sender<Option<MatchInfo>>,
}

impl std::fmt::Debug for Get {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Get").field("stream", &self.stream).finish()
    }
}

/// Looks match `match_id` up on whichever shard owns it (Nakama's
/// `match_get`): a relayed match exists while it has members; an
/// authoritative one while its handler runs. `None` when it does not
/// exist; a malformed id is BAD_INPUT.
pub async fn get(shard: &Shard, match_id: &str) -> Result<Option<MatchInfo>, ApiError> {
    let stream = match super::parse_match_id(match_id, &shard.shared.config.name) {
        Ok(s) => s,
        Err(super::BadMatchId::Elsewhere) => return Ok(None),
        Err(bad @ super::BadMatchId::Invalid) => return Err(ApiError::invalid(bad.refusal().1)),
    };
    let (tx, rx) = futures_channel::oneshot::channel();
    crate::fanout::membership::to_owner(
        shard,
        &stream.clone(),
        super::Msg::Get(Get { stream, reply: tx }),
    );
    Ok(rx.await.unwrap_or(None))
}

/// On the owner: what match `msg.stream` is now.
pub(super) fn on_get(shard: &Shard, msg: Get) {
    let size = shard
        .streams
        .borrow()
        .get(&msg.stream)
        .map_or(0, |m| m.members().len());
    let info = if msg.stream.mode == mode::MATCH_AUTHORITATIVE {
        shard.features.matches.of(&msg.stream).map(|m| MatchInfo {
            match_id: m.ctx.match_id.clone(),
            authoritative: true,
            label: m.label(),
            size,
            tick_rate: m.tick_rate(),
            handler_name: m.ctx.module.clone(),
        })
    } else {
        (size > 0).then(|| MatchInfo {
            match_id: super::wire_id(&msg.stream),
            authoritative: false,
            label: String::new(),
            size,
            tick_rate: 0,
            handler_name: String::new(),
        })
    };
    let _ = msg.reply.send(info);
}

/// On the owner: a signal for match `id`; the handler's answer goes to
/// its sender.
pub(super) fn on_signal(shard: &Shard, msg: Signal) {
    match shard.features.matches.get(&msg.id).filter(|m| !m.ended()) {
        Some(m) => m.signal(shard, msg.data, msg.reply),
        None => {
            let _ = msg.reply.send(Err(ApiError::not_found("Match not found")));
        }
    }
}
