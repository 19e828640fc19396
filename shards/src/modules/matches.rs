//! Authoritative matches: the game's own loop, run by the server.
//!
//! A game registers a [`MatchHandler`] factory under a name
//! (`ServerBuilder::match_handler("arena", Arena::create)`), and game code
//! creates matches of it with [`Nk::match_create`](super::Nk::match_create).
//! Each match lives on one shard (its owner), where its handler is called
//! with Nakama's callbacks: `join_attempt`, `join`, `leave`, `tick` (Nakama's
//! `match_loop`), `terminate` and `signal`. Callbacks are plain functions:
//! they run on the owner's executor between ticks and must not block.
//! What they want sent is put in the [`Dispatcher`] and sent as the
//! callback returns.
//!
//! A handler whose callbacks wait on the server (on [`Nk`]: storage,
//! wallets, leaderboards...) implements [`MatchHandler::step`] instead and
//! answers [`Step::Wait`] with a future; the match then runs no other
//! callback until that future is done (later calls wait their turn, in
//! order), and the shard goes on serving everything else meanwhile.
//! Kairos's Lua matches work this way.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use kairos_core::error::ApiError;
use serde_json::Value;
use uuid::Uuid;

use super::Nk;

/// A member of a match, as its handler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchPresence {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub username: String,
    pub node: String,
}

/// A message a member sent to the match, handed to the next `tick`.
#[derive(Clone, Debug)]
pub struct MatchMessage {
    pub sender: MatchPresence,
    pub op_code: i64,
    pub data: Bytes,
    pub reliable: bool,
    /// When it reached the match's owner, Unix milliseconds.
    pub receive_time_ms: i64,
}

/// What `match_init` decides, beside the handler's own state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchInit {
    /// Ticks per second, 1 to `kairos.runtime.max_tick_rate` (60 by
    /// default, as Nakama allows).
    pub tick_rate: u32,
    /// The match's label: what listings show and query.
    pub label: String,
}

/// What `Nk::match_get` tells of a match, as Nakama's `api.Match`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchInfo {
    pub match_id: String,
    pub authoritative: bool,
    /// Empty for a relayed match.
    pub label: String,
    /// Members now.
    pub size: usize,
    /// 0 for a relayed match.
    pub tick_rate: u32,
    /// The registered handler's name; empty for a relayed match.
    pub handler_name: String,
}

/// The context of a match's callbacks.
#[derive(Clone, Debug)]
pub struct MatchContext {
    /// `"<uuid>.<node>"`.
    pub match_id: String,
    pub node: String,
    /// The name the handler was registered under.
    pub module: String,
}

/// What a callback asks the server to do, sent when it returns.
#[derive(Default)]
pub struct Dispatcher {
    pub(crate) actions: Vec<Action>,
}

pub(crate) enum Action {
    Broadcast {
        op_code: i64,
        data: Bytes,
        to: Option<Vec<Uuid>>,
        sender: Option<MatchPresence>,
        reliable: bool,
        deferred: bool,
    },
    Kick(Vec<Uuid>),
    Label(String),
}

impl Dispatcher {
    /// Sends `match_data` to every member, or only to `to`, as from
    /// `sender` (none: from the server), once the callback returns.
    pub fn broadcast(
        &mut self,
        op_code: i64,
        data: impl Into<Bytes>,
        to: Option<&[MatchPresence]>,
        sender: Option<&MatchPresence>,
        reliable: bool,
    ) {
        self.push_broadcast(op_code, data.into(), to, sender, reliable, false);
    }

    /// As [`Dispatcher::broadcast`], sent at the end of the tick, after
    /// everything else the tick sends.
    pub fn broadcast_deferred(
        &mut self,
        op_code: i64,
        data: impl Into<Bytes>,
        to: Option<&[MatchPresence]>,
        sender: Option<&MatchPresence>,
        reliable: bool,
    ) {
        self.push_broadcast(op_code, data.into(), to, sender, reliable, true);
    }

    fn push_broadcast(
        &mut self,
        op_code: i64,
        data: Bytes,
        to: Option<&[MatchPresence]>,
        sender: Option<&MatchPresence>,
        reliable: bool,
        deferred: bool,
    ) {
        self.actions.push(Action::Broadcast {
            op_code,
            data,
            to: to.map(|p| p.iter().map(|p| p.session_id).collect()),
            sender: sender.cloned(),
            reliable,
            deferred,
        });
    }

    /// Removes these members from the match; the others hear them leave,
    /// and the handler's `leave` is called.
    pub fn kick(&mut self, presences: &[MatchPresence]) {
        self.actions.push(Action::Kick(
            presences.iter().map(|p| p.session_id).collect(),
        ));
    }

    /// Replaces the match's label.
    pub fn label_update(&mut self, label: impl Into<String>) {
        self.actions.push(Action::Label(label.into()));
    }
}

/// A match's game logic. The handler is the match's state: it is created
/// by the registered factory (Nakama's `match_init`) and dropped when the
/// match ends.
pub trait MatchHandler: 'static {
    /// May `presence` join? `Err(reason)` refuses it with
    /// MATCH_JOIN_REJECTED and the reason.
    fn join_attempt(
        &mut self,
        _d: &mut Dispatcher,
        _tick: u64,
        _presence: &MatchPresence,
        _metadata: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        Ok(())
    }

    /// These presences joined.
    fn join(&mut self, _d: &mut Dispatcher, _tick: u64, _presences: &[MatchPresence]) {}

    /// These presences left (or were kicked, or their sessions closed).
    fn leave(&mut self, _d: &mut Dispatcher, _tick: u64, _presences: &[MatchPresence]) {}

    /// One tick with the messages received since the last, in arrival
    /// order. Returning false ends the match.
    ///
    /// Every callback's `tick` is, as in Nakama, how many ticks ran before
    /// it: the first `tick` gets 0, and a callback between the first and
    /// the second gets 1.
    fn tick(&mut self, d: &mut Dispatcher, tick: u64, messages: Vec<MatchMessage>) -> bool;

    /// The server is stopping: the match has `grace_seconds` left.
    fn terminate(&mut self, _d: &mut Dispatcher, _tick: u64, _grace_seconds: u32) {}

    /// A signal from game code ([`Nk::match_signal`](super::Nk::match_signal)):
    /// its answer, or `Err(reason)` to refuse it.
    fn signal(&mut self, _d: &mut Dispatcher, _tick: u64, _data: &str) -> Result<String, String> {
        Ok(String::new())
    }

    /// Every callback goes through here. The default calls the plain
    /// callbacks above and is always [`Step::Ready`]. A handler whose
    /// callbacks wait on the server overrides it, calling `nk` in the
    /// future it returns as [`Step::Wait`].
    fn step(&mut self, _nk: &Nk, d: &mut Dispatcher, tick: u64, call: Call<'_>) -> Step<Answer> {
        Step::Ready(match call {
            Call::JoinAttempt { presence, metadata } => {
                Answer::JoinAttempt(self.join_attempt(d, tick, presence, metadata))
            }
            Call::Join(presences) => {
                self.join(d, tick, presences);
                Answer::Done
            }
            Call::Leave(presences) => {
                self.leave(d, tick, presences);
                Answer::Done
            }
            Call::Tick(messages) => Answer::Tick(self.tick(d, tick, messages)),
            Call::Terminate(grace_seconds) => {
                self.terminate(d, tick, grace_seconds);
                Answer::Done
            }
            Call::Signal(data) => Answer::Signal(self.signal(d, tick, data)),
        })
    }
}

/// One callback, as [`MatchHandler::step`] is asked it.
pub enum Call<'a> {
    JoinAttempt {
        presence: &'a MatchPresence,
        metadata: &'a BTreeMap<String, String>,
    },
    Join(&'a [MatchPresence]),
    Leave(&'a [MatchPresence]),
    Tick(Vec<MatchMessage>),
    Terminate(u32),
    Signal(&'a str),
}

/// A callback's answer, of the kind its [`Call`] asks: `JoinAttempt` for
/// a join attempt, `Tick` for a tick, `Signal` for a signal, `Done` for
/// the rest. An answer of another kind counts as the callback failing.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    JoinAttempt(Result<(), String>),
    Tick(bool),
    Signal(Result<String, String>),
    Done,
}

/// A callback's outcome: done now, or a future that waits on the server.
pub enum Step<T> {
    /// Done during the call; what it dispatched is in the dispatcher it
    /// was given.
    Ready(T),
    /// Still waiting: the future gives the answer and what it dispatched.
    /// It runs on the match's shard, within `kairos.runtime.rpc_timeout_ms`
    /// (past it, or on a panic, the match ends).
    Wait(Pin<Box<dyn Future<Output = (T, Dispatcher)>>>),
}

/// Creates a match's handler from the parameters given to
/// `match_create`: Nakama's `match_init`.
pub type MatchFactory = Arc<
    dyn Fn(&MatchContext, &Value) -> Result<(Box<dyn MatchHandler>, MatchInit), ApiError>
        + Send
        + Sync,
>;

/// A handler and what its `match_init` decided.
pub type Made = Result<(Box<dyn MatchHandler>, MatchInit), ApiError>;

/// A factory whose `match_init` may wait on the server (`nk`): Kairos's
/// Lua match modules.
pub type WaitingFactory =
    Arc<dyn Fn(Nk, MatchContext, Value) -> Pin<Box<dyn Future<Output = Made>>> + Send + Sync>;

/// A registered match handler's factory, of either kind.
#[derive(Clone)]
pub enum Factory {
    Plain(MatchFactory),
    Waiting(WaitingFactory),
}
