//! [`ServerBuilder`]: Kairos as a library. A game's own binary registers
//! its code and runs the server with the same command line and
//! configuration as the stock `kairos` binary:
//!
//! ```no_run
//! use kairos_shards::ServerBuilder;
//! use kairos_shards::modules::{Context, RpcResult};
//!
//! async fn echo(_ctx: Context, payload: String) -> RpcResult {
//!     Ok(payload)
//! }
//!
//! fn main() {
//!     std::process::exit(ServerBuilder::new().rpc("echo", echo).run());
//! }
//! ```

use std::sync::Arc;

use serde_json::Value;

use super::{
    AfterApi, AfterRt, BeforeApi, BeforeRt, Error, LeaderboardResetFn, MatchContext, MatchFactory,
    MatchHandler, MatchInit, MatchmakerMatchedFn, Modules, RpcFn, ShutdownFn, TournamentHookFn,
};

/// Collects a game's code, then runs the server with it.
#[derive(Default)]
pub struct ServerBuilder {
    modules: Modules,
    /// Registrations that named something that does not exist; `run`
    /// reports them and exits instead of starting.
    errors: Vec<String>,
}

impl ServerBuilder {
    pub fn new() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Registers an RPC under `id` (case-insensitive): an async function
    /// or closure taking the call's [`Context`](super::Context) and its
    /// payload.
    pub fn rpc(mut self, id: &str, f: impl RpcFn) -> ServerBuilder {
        self.modules.register_rpc(id, Arc::new(f));
        self
    }

    /// Runs `f` before the realtime message `name` (`"match_data_send"`)
    /// is served: it may rewrite, drop or reject it
    /// ([`hooks`](super::hooks)).
    pub fn before_rt(mut self, name: &str, f: impl BeforeRt) -> ServerBuilder {
        if let Err(e) = self.modules.register_before_rt(name, Arc::new(f)) {
            self.errors.push(e);
        }
        self
    }

    /// Runs `f` after the realtime message `name` was served.
    pub fn after_rt(mut self, name: &str, f: impl AfterRt) -> ServerBuilder {
        if let Err(e) = self.modules.register_after_rt(name, Arc::new(f)) {
            self.errors.push(e);
        }
        self
    }

    /// Runs `f` before the REST method `route` (Nakama's name,
    /// `"AuthenticateDevice"`) is served: it may rewrite the query and
    /// body, disable the call (`Ok(None)`) or reject it.
    pub fn before_api(mut self, route: &str, f: impl BeforeApi) -> ServerBuilder {
        self.modules.register_before_api(route, Arc::new(f));
        self
    }

    /// Runs `f` after the REST method `route` was served, with the JSON
    /// response the client got.
    pub fn after_api(mut self, route: &str, f: impl AfterApi) -> ServerBuilder {
        self.modules.register_after_api(route, Arc::new(f));
        self
    }

    /// Registers an authoritative match handler: `init` is Nakama's
    /// `match_init`, called for each match created with this name (its
    /// context and the creation's parameters); it returns the match's
    /// handler (its state) and its tick rate and label.
    pub fn match_handler<H, F>(mut self, name: &str, init: F) -> ServerBuilder
    where
        H: MatchHandler,
        F: Fn(&MatchContext, &Value) -> Result<(H, MatchInit), Error> + Send + Sync + 'static,
    {
        let factory: MatchFactory = Arc::new(move |ctx, params| {
            let (handler, init) = init(ctx, params)?;
            Ok((Box::new(handler) as Box<dyn MatchHandler>, init))
        });
        self.modules.register_match_handler(name, factory);
        self
    }

    /// Registers the matchmaker-matched hook (Nakama's
    /// `RegisterMatchmakerMatched`): told of every formed match, it may
    /// return the id of a match it created for the players.
    pub fn matchmaker_matched(mut self, f: impl MatchmakerMatchedFn) -> ServerBuilder {
        self.modules.register_matchmaker_matched(Arc::new(f));
        self
    }

    /// Registers the leaderboard-reset hook (Nakama's
    /// `RegisterLeaderboardReset`): called once for each reset of each
    /// board with a reset schedule, with the board and the reset's time.
    pub fn leaderboard_reset(mut self, f: impl LeaderboardResetFn) -> ServerBuilder {
        self.modules.register_leaderboard_reset(Arc::new(f));
        self
    }

    /// Registers the tournament-end hook (Nakama's
    /// `RegisterTournamentEnd`): called once each time a tournament's
    /// active window closes, with the tournament, the close and the
    /// period's expiry.
    pub fn tournament_end(mut self, f: impl TournamentHookFn) -> ServerBuilder {
        self.modules.register_tournament_end(Arc::new(f));
        self
    }

    /// Registers the tournament-reset hook (Nakama's
    /// `RegisterTournamentReset`): called once each time a tournament's
    /// period expires (each reset of its schedule, and its end time),
    /// with the tournament, the period's close and its expiry.
    pub fn tournament_reset(mut self, f: impl TournamentHookFn) -> ServerBuilder {
        self.modules.register_tournament_reset(Arc::new(f));
        self
    }

    /// Registers the shutdown hook (Nakama's `RegisterShutdown`): called
    /// once when the server stops gracefully with `shutdown_grace_sec`
    /// above 0, with the grace period; the stop waits for it at most that
    /// long.
    pub fn shutdown(mut self, f: impl ShutdownFn) -> ServerBuilder {
        self.modules.register_shutdown(Arc::new(f));
        self
    }

    /// Registers a storage index (Nakama's `RegisterStorageIndex`): the
    /// objects of `collection` (of `key` only, unless empty), their
    /// value's top-level `fields` indexed, `sortable_fields` usable to
    /// order a listing, at most `max_entries` (1 to 100,000) kept, and with
    /// `index_only` listings answered from the index alone. A bad one
    /// stops the start with Nakama's message.
    #[allow(clippy::too_many_arguments)]
    pub fn storage_index(
        mut self,
        name: &str,
        collection: &str,
        key: &str,
        fields: &[&str],
        sortable_fields: &[&str],
        max_entries: i64,
        index_only: bool,
    ) -> ServerBuilder {
        let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        let sortable_fields: Vec<String> = sortable_fields.iter().map(|s| s.to_string()).collect();
        let checked =
            super::StorageIndexDef::check(name, collection, max_entries, &fields, &sortable_fields)
                .and_then(|max_entries| {
                    self.modules.register_storage_index(super::StorageIndexDef {
                        name: name.to_string(),
                        collection: collection.to_string(),
                        key: key.to_string(),
                        fields,
                        sortable_fields,
                        max_entries,
                        index_only,
                    })
                });
        if let Err(e) = checked {
            self.errors
                .push(format!("failed to create storage index: {e}"));
        }
        self
    }

    /// Registers the filter of storage index `name` (Nakama's
    /// `RegisterStorageIndexFilter`): called on the writing shard with
    /// each object written that the index covers, it decides whether the
    /// index keeps it.
    pub fn storage_index_filter(
        mut self,
        name: &str,
        f: impl super::StorageIndexFilterFn,
    ) -> ServerBuilder {
        self.modules
            .register_storage_index_filter(name, Arc::new(f));
        self
    }

    /// Adds the stock examples (`example.echo`, ...) to this server's
    /// code.
    pub fn with_examples(mut self) -> ServerBuilder {
        super::examples::register(&mut self.modules);
        self
    }

    /// What has been registered so far.
    pub fn modules(&self) -> &Modules {
        &self.modules
    }

    /// Runs the server with the process's command line (`--config`,
    /// `--section.key value`, `migrate up`, as `kairos` takes them) until
    /// SIGINT or SIGTERM; returns the exit code.
    pub fn run(self) -> i32 {
        self.run_with_args(std::env::args().skip(1).collect())
    }

    /// As [`ServerBuilder::run`], with the arguments given.
    pub fn run_with_args(self, args: Vec<String>) -> i32 {
        if !self.errors.is_empty() {
            for e in &self.errors {
                eprintln!("kairos: game code: {e}");
            }
            return 2;
        }
        crate::cli::main_with(args, Some(self.modules))
    }
}
