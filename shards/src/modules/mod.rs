//! Server-side game code: the registry of what a game adds to the server
//! (RPCs now; hooks and match handlers register here too), how it is
//! called, and the typed API it calls back into.
//!
//! A game links Kairos as a library and registers its code before the
//! server starts ([`ServerBuilder`]); the stock `kairos` binary registers
//! the examples of [`examples`] when `kairos.runtime.examples` is set.
//! The registry is built once, frozen, and shared by every shard
//! (`Shared::modules`): a lookup is a hash map read, no lock.
//!
//! Game code runs on the shard that received the call, as a future on the
//! shard's executor, so it must not block: waiting on the store or another
//! shard is an `.await` ([`Nk`]), and CPU-heavy work goes to the
//! persistence pool with [`Nk::blocking`]. Every call has a deadline
//! (`kairos.runtime.rpc_timeout_ms`) and a panic inside game code ends
//! that call with an internal error, never the shard ([`guard`]).

mod accounts;
mod builder;
mod channels;
mod context;
pub mod examples;
mod friends;
mod groups;
pub(crate) mod guard;
pub mod hooks;
pub mod http_request;
pub mod leaderboards;
pub mod matches;
pub mod matchmaker;
mod nk;
mod parties;
pub(crate) mod rpc;
pub mod storage_index;
pub mod streams;
mod tournaments;

use std::collections::HashMap;
use std::sync::Arc;

pub use accounts::{LogoutError, MAX_BAN_IDS};
pub use builder::ServerBuilder;
pub use channels::{ChannelMessageAck, MAX_CHANNEL_LIST};
pub use context::{CallMode, Context};
pub use hooks::{AfterApi, AfterRt, ApiRequest, Before, BeforeApi, BeforeRt, ShutdownFn};
pub use http_request::{HttpError, HttpRequest, HttpResponse};
pub use kairos_core::account::AccountUpdate;
pub use kairos_core::channel::{ChannelMessage, HistoryPage};
pub use kairos_core::error::{ApiError as Error, Code};
pub use kairos_core::group::{
    Group, GroupFilter, GroupMember, GroupUpdate, NewGroup, UserGroup, state as group_state,
};
pub use kairos_core::multi::{AccountChange, MAX_ITEMS as MULTI_UPDATE_MAX_ITEMS};
pub use kairos_core::storage::{StorageAck, StorageId, StorageObject, StorageWrite};
pub use kairos_core::wallet::{Wallet, WalletLedgerItem, WalletUpdate, WalletUpdateResult};
/// The realtime messages hooks see ([`rtapi::Incoming`]).
pub use kairos_schema::rtapi;
pub use leaderboards::{
    LeaderboardInfo, LeaderboardRecord, LeaderboardRecordList, LeaderboardResetFn, Operator,
    SortOrder,
};
pub use matches::{
    Answer, Call, Dispatcher, MatchContext, MatchFactory, MatchHandler, MatchInfo, MatchInit,
    MatchMessage, MatchPresence, Step,
};
pub use matchmaker::{MatchedResult, MatchmakerEntry, MatchmakerMatchedFn};
pub use nk::{MAX_NOTIFICATION_UPDATES, Nk};
pub use rpc::{RpcFn, RpcFuture, RpcResult};
pub use storage_index::{StorageIndexDef, StorageIndexFilterFn};
pub use streams::{Stream, StreamPresence};
pub use tournaments::TournamentHookFn;

/// Everything registered by game code. Built before the server starts and
/// never changed after, so shards read it without locks.
#[derive(Default)]
pub struct Modules {
    /// By lower-cased id, as Nakama looks RPCs up.
    rpcs: HashMap<String, Arc<dyn RpcFn>>,
    /// Realtime hooks by message name (`match_data_send`).
    before_rt: HashMap<&'static str, Arc<dyn BeforeRt>>,
    after_rt: HashMap<&'static str, Arc<dyn AfterRt>>,
    /// REST hooks by Nakama's method name (`AuthenticateDevice`); the
    /// server checks the names against its routes when it starts.
    before_api: HashMap<String, Arc<dyn BeforeApi>>,
    after_api: HashMap<String, Arc<dyn AfterApi>>,
    /// Authoritative match handlers by name.
    match_handlers: HashMap<String, matches::Factory>,
    /// The matchmaker-matched hook, if any.
    matchmaker_matched: Option<Arc<dyn MatchmakerMatchedFn>>,
    /// The leaderboard-reset hook, if any.
    leaderboard_reset: Option<Arc<dyn LeaderboardResetFn>>,
    /// The tournament end and reset hooks, if any.
    tournament_end: Option<Arc<dyn TournamentHookFn>>,
    tournament_reset: Option<Arc<dyn TournamentHookFn>>,
    /// The Lua program cell when Lua modules reload
    /// (`kairos.runtime.lua_reload`), for the metrics of its reloads.
    lua_program: Option<Arc<crate::lua::ProgramCell>>,
    /// What the Lua states of the node share, for the custom metrics'
    /// exposition.
    lua_node: Option<Arc<crate::lua::node::Node>>,
    /// The shutdown hook, if any.
    shutdown: Option<Arc<dyn ShutdownFn>>,
    /// Where RPC ids the registry lacks are looked up: the ids reloaded
    /// Lua modules added.
    rpc_fallback: Option<rpc::RpcFallback>,
    /// Storage indexes, in the order registered.
    storage_indexes: Vec<StorageIndexDef>,
    /// Storage index filters by index name.
    storage_index_filters: HashMap<String, Arc<dyn StorageIndexFilterFn>>,
}

/// The client message named `name`, as the realtime table spells it.
fn client_message(name: &str) -> Result<&'static str, String> {
    kairos_schema::rtapi::CLIENT_MESSAGES
        .iter()
        .find(|m| **m == name)
        .copied()
        .ok_or_else(|| format!("{name:?} is not a realtime message a client sends"))
}

impl Modules {
    /// Registers a storage index; its name must be new (Nakama's
    /// "cannot create index: index with name \"x\" already exists").
    pub fn register_storage_index(&mut self, def: StorageIndexDef) -> Result<(), String> {
        if self.storage_indexes.iter().any(|d| d.name == def.name) {
            return Err(format!(
                "cannot create index: index with name {:?} already exists",
                def.name
            ));
        }
        self.storage_indexes.push(def);
        Ok(())
    }

    /// The storage indexes, in the order registered.
    pub fn storage_indexes(&self) -> &[StorageIndexDef] {
        &self.storage_indexes
    }

    /// Registers the filter of storage index `name`; a second replaces
    /// the first. A filter of an index never registered is never called.
    pub fn register_storage_index_filter(&mut self, name: &str, f: Arc<dyn StorageIndexFilterFn>) {
        self.storage_index_filters.insert(name.to_string(), f);
    }

    /// The filter of storage index `name`, if any.
    pub fn storage_index_filter(&self, name: &str) -> Option<&Arc<dyn StorageIndexFilterFn>> {
        if self.storage_index_filters.is_empty() {
            return None;
        }
        self.storage_index_filters.get(name)
    }

    /// Registers the leaderboard-reset hook; a second replaces the first.
    pub fn register_leaderboard_reset(&mut self, f: Arc<dyn LeaderboardResetFn>) {
        self.leaderboard_reset = Some(f);
    }

    /// The leaderboard-reset hook, if any.
    pub fn leaderboard_reset(&self) -> Option<&Arc<dyn LeaderboardResetFn>> {
        self.leaderboard_reset.as_ref()
    }

    /// Registers the tournament-end hook; a second replaces the first.
    pub fn register_tournament_end(&mut self, f: Arc<dyn TournamentHookFn>) {
        self.tournament_end = Some(f);
    }

    /// The tournament-end hook, if any.
    pub fn tournament_end(&self) -> Option<&Arc<dyn TournamentHookFn>> {
        self.tournament_end.as_ref()
    }

    /// Registers the tournament-reset hook; a second replaces the first.
    pub fn register_tournament_reset(&mut self, f: Arc<dyn TournamentHookFn>) {
        self.tournament_reset = Some(f);
    }

    /// The tournament-reset hook, if any.
    pub fn tournament_reset(&self) -> Option<&Arc<dyn TournamentHookFn>> {
        self.tournament_reset.as_ref()
    }

    /// Registers the matchmaker-matched hook; a second replaces the first.
    pub fn register_matchmaker_matched(&mut self, f: Arc<dyn MatchmakerMatchedFn>) {
        self.matchmaker_matched = Some(f);
    }

    /// The matchmaker-matched hook, if any.
    pub fn matchmaker_matched(&self) -> Option<&Arc<dyn MatchmakerMatchedFn>> {
        self.matchmaker_matched.as_ref()
    }

    /// Registers an RPC under `id` (case-insensitive, as in Nakama); a
    /// second registration of the same id replaces the first.
    pub fn register_rpc(&mut self, id: &str, f: Arc<dyn RpcFn>) {
        self.rpcs.insert(id.to_lowercase(), f);
    }

    /// The RPC registered under `id`, if any. `id` is lower-cased first.
    pub fn rpc(&self, id: &str) -> Option<&Arc<dyn RpcFn>> {
        if id.bytes().any(|b| b.is_ascii_uppercase()) {
            self.rpcs.get(&id.to_lowercase())
        } else {
            self.rpcs.get(id)
        }
    }

    /// Registers an authoritative match handler under `name`.
    pub fn register_match_handler(&mut self, name: &str, f: MatchFactory) {
        self.match_handlers
            .insert(name.to_string(), matches::Factory::Plain(f));
    }

    /// Registers an authoritative match handler whose `match_init` may
    /// wait on the server.
    pub fn register_waiting_match_handler(&mut self, name: &str, f: matches::WaitingFactory) {
        self.match_handlers
            .insert(name.to_string(), matches::Factory::Waiting(f));
    }

    /// The match handler registered as `name`.
    pub fn match_handler(&self, name: &str) -> Option<&matches::Factory> {
        self.match_handlers.get(name)
    }

    /// Registers a before hook on the client message `name`
    /// (`"match_data_send"`); the message must be one clients send.
    pub fn register_before_rt(&mut self, name: &str, f: Arc<dyn BeforeRt>) -> Result<(), String> {
        self.before_rt.insert(client_message(name)?, f);
        Ok(())
    }

    /// Registers an after hook on the client message `name`.
    pub fn register_after_rt(&mut self, name: &str, f: Arc<dyn AfterRt>) -> Result<(), String> {
        self.after_rt.insert(client_message(name)?, f);
        Ok(())
    }

    /// Registers a before hook on the REST method `route` (Nakama's name,
    /// `AuthenticateDevice`).
    pub fn register_before_api(&mut self, route: &str, f: Arc<dyn BeforeApi>) {
        self.before_api.insert(route.to_string(), f);
    }

    /// Registers an after hook on the REST method `route`.
    pub fn register_after_api(&mut self, route: &str, f: Arc<dyn AfterApi>) {
        self.after_api.insert(route.to_string(), f);
    }

    /// Whether any realtime hook is registered: when none is, serving a
    /// message costs no lookup.
    pub fn has_rt_hooks(&self) -> bool {
        !self.before_rt.is_empty() || !self.after_rt.is_empty()
    }

    pub fn before_rt(&self, name: &str) -> Option<&Arc<dyn BeforeRt>> {
        self.before_rt.get(name)
    }

    pub fn after_rt(&self, name: &str) -> Option<&Arc<dyn AfterRt>> {
        self.after_rt.get(name)
    }

    /// The before hook of REST method `route`; no hashing when no REST
    /// hook is registered at all, as on most servers.
    pub fn before_api(&self, route: &str) -> Option<&Arc<dyn BeforeApi>> {
        if self.before_api.is_empty() {
            return None;
        }
        self.before_api.get(route)
    }

    /// The after hook of REST method `route` (no hashing without any).
    pub fn after_api(&self, route: &str) -> Option<&Arc<dyn AfterApi>> {
        if self.after_api.is_empty() {
            return None;
        }
        self.after_api.get(route)
    }

    /// The REST method names that have hooks, for the server to check.
    pub fn api_hook_routes(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .before_api
            .keys()
            .chain(self.after_api.keys())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The RPC registered under `id`, or else the one `id` names among
    /// those registered since the start (reloaded Lua modules'), if any.
    pub(crate) fn rpc_or_fallback(&self, id: &str) -> Option<Arc<dyn RpcFn>> {
        if let Some(f) = self.rpc(id) {
            return Some(f.clone());
        }
        self.rpc_fallback.as_ref().and_then(|find| find(id))
    }

    /// Sets where RPC ids the registry lacks are looked up.
    pub(crate) fn set_rpc_fallback(&mut self, find: rpc::RpcFallback) {
        self.rpc_fallback = Some(find);
    }

    /// Keeps the Lua program cell, whose reloads the metrics count.
    pub(crate) fn set_lua_node(&mut self, node: Arc<crate::lua::node::Node>) {
        self.lua_node = Some(node);
    }

    pub(crate) fn lua_node(&self) -> Option<&Arc<crate::lua::node::Node>> {
        self.lua_node.as_ref()
    }

    /// Registers the shutdown hook; a second replaces the first.
    pub fn register_shutdown(&mut self, f: Arc<dyn ShutdownFn>) {
        self.shutdown = Some(f);
    }

    /// The shutdown hook, if any.
    pub fn shutdown(&self) -> Option<&Arc<dyn ShutdownFn>> {
        self.shutdown.as_ref()
    }

    pub(crate) fn set_lua_program(&mut self, cell: Arc<crate::lua::ProgramCell>) {
        self.lua_program = Some(cell);
    }

    /// The Lua program cell, when Lua modules reload.
    pub(crate) fn lua_program(&self) -> Option<&Arc<crate::lua::ProgramCell>> {
        self.lua_program.as_ref()
    }

    /// The ids of every registered RPC, sorted.
    pub fn rpc_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.rpcs.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rt: Vec<&str> = self
            .before_rt
            .keys()
            .chain(self.after_rt.keys())
            .copied()
            .collect();
        rt.sort_unstable();
        rt.dedup();
        f.debug_struct("Modules")
            .field("rpcs", &self.rpc_ids())
            .field("rt_hooks", &rt)
            .field("api_hooks", &self.api_hook_routes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_schema::rtapi::Incoming;

    async fn pass(_ctx: Context, m: Incoming) -> Before<Incoming> {
        Ok(Some(m))
    }

    async fn echo(_ctx: Context, p: String) -> RpcResult {
        Ok(p)
    }

    #[test]
    fn rpc_ids_are_case_insensitive() {
        let mut m = Modules::default();
        m.register_rpc("Game.Echo", Arc::new(echo));
        assert!(m.rpc("game.echo").is_some());
        assert!(m.rpc("GAME.ECHO").is_some());
        assert!(m.rpc("game.other").is_none());
        assert_eq!(m.rpc_ids(), ["game.echo"]);
    }

    #[test]
    fn realtime_hooks_name_client_messages_only() {
        let mut m = Modules::default();
        assert!(!m.has_rt_hooks());
        assert!(
            m.register_before_rt("match_data_send", Arc::new(pass))
                .is_ok()
        );
        assert!(m.has_rt_hooks());
        // A server message, and no message at all, are refused.
        assert!(m.register_before_rt("match_data", Arc::new(pass)).is_err());
        assert!(m.register_before_rt("no_such", Arc::new(pass)).is_err());
        assert!(m.before_rt("match_data_send").is_some());
        assert!(m.after_rt("match_data_send").is_none());
    }

    #[test]
    fn a_builder_with_a_bad_storage_index_does_not_start() {
        let args = || vec!["--data_dir".into(), "/nonexistent/never-used".into()];
        let bad = ServerBuilder::new().storage_index("i", "c", "", &[], &[], 10, false);
        assert_eq!(bad.run_with_args(args()), 2);
        let twice = ServerBuilder::new()
            .storage_index("i", "c", "", &["a"], &[], 10, false)
            .storage_index("i", "d", "", &["a"], &[], 10, false);
        assert_eq!(twice.modules().storage_indexes().len(), 1);
        assert_eq!(twice.run_with_args(args()), 2);
        let good = ServerBuilder::new().storage_index("i", "c", "k", &["a"], &["a"], 100_000, true);
        assert_eq!(good.modules().storage_indexes()[0].max_entries, 100_000);
        let big = ServerBuilder::new().storage_index("i", "c", "", &["a"], &[], 100_001, false);
        assert_eq!(big.run_with_args(args()), 2);
    }

    #[test]
    fn a_builder_with_a_bad_hook_does_not_start() {
        let code = ServerBuilder::new()
            .before_rt("not_a_message", pass)
            .run_with_args(vec!["--data_dir".into(), "/nonexistent/never-used".into()]);
        assert_eq!(code, 2);
    }
}
