//! `Nk`: the server-side API that game code calls, typed. Named after
//! Nakama's `nk` module, which its runtime hands to every function.
//!
//! Every call that touches the store goes through the persistence pool and
//! is awaited, so the shard keeps serving while it waits. Further areas
//! (streams, matches, storage, leaderboards, groups) are added here as
//! their features land.

use std::rc::Rc;

use kairos_core::account::{Account, User};
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::notification::Notification;
use uuid::Uuid;

use crate::shard::Shard;

/// The server API for one call of game code. Cheap to clone; it lives on
/// the shard that runs the call and is not `Send`.
#[derive(Clone)]
pub struct Nk {
    shard: Rc<Shard>,
}

impl Nk {
    pub(crate) fn new(shard: Rc<Shard>) -> Nk {
        Nk { shard }
    }

    /// This node's name (`name` in the configuration), as in match ids.
    pub fn node(&self) -> &str {
        &self.shard.shared.config.name
    }

    /// The shard running this call.
    pub fn shard(&self) -> usize {
        self.shard.id
    }

    /// A user's account, with its devices and email.
    pub async fn account_get_id(&self, user_id: Uuid) -> ApiResult<Account> {
        self.shard
            .shared
            .persist
            .run(move |store| async move { store.get_account(user_id).await })
            .await
            .map_err(hide_internal)
    }

    /// Users by id and by username, in no particular order; unknown ones
    /// are left out.
    pub async fn users_get(&self, ids: Vec<Uuid>, usernames: Vec<String>) -> ApiResult<Vec<User>> {
        if ids.is_empty() && usernames.is_empty() {
            return Ok(Vec::new());
        }
        self.shard
            .shared
            .persist
            .run(move |store| async move { store.get_users(ids, usernames).await })
            .await
            .map_err(hide_internal)
    }

    /// Whether a user has a realtime session open on any shard.
    pub fn user_online(&self, user_id: Uuid) -> bool {
        self.shard.shared.registry.is_online(user_id)
    }

    /// Sends one notification to a user from the server (no sender):
    /// stored if `persistent`, and delivered at once to each of the
    /// user's live sockets, on whichever shard.
    pub async fn notification_send(
        &self,
        user_id: Uuid,
        subject: &str,
        content: serde_json::Value,
        code: i32,
        persistent: bool,
    ) -> ApiResult<()> {
        if !content.is_object() {
            return Err(ApiError::invalid(
                "expects content to be a JSON object".to_string(),
            ));
        }
        let note = Notification {
            id: Uuid::new_v4(),
            user_id,
            subject: subject.to_string(),
            content: content.to_string(),
            code,
            sender_id: None,
            create_time: kairos_core::time::now_micros(),
            persistent,
        };
        note.validate()?;
        crate::realtime::notifications::send(&self.shard, vec![note])
            .await
            .map_err(hide_internal)
    }

    /// Creates an authoritative match of the handler registered as
    /// `module`, with `params` for its `match_init`, on this shard; returns
    /// its id, `"<uuid>.<node>"`, which clients `match_join`.
    pub fn match_create(&self, module: &str, params: &serde_json::Value) -> ApiResult<String> {
        crate::realtime::matches::authoritative::create(&self.shard, module, params)
    }

    /// Sends `data` to the handler of authoritative match `match_id`, on
    /// whichever shard runs it, and returns its answer. A match that does
    /// not exist (or has ended) is NOT_FOUND; a handler that refuses the
    /// signal gives FAILED_PRECONDITION with its reason.
    pub async fn match_signal(&self, match_id: &str, data: &str) -> ApiResult<String> {
        crate::realtime::matches::authoritative::send_signal(
            &self.shard,
            match_id,
            data.to_string(),
        )
        .await
    }

    /// What match `match_id` is now, relayed or authoritative, from the
    /// shard that owns it; `None` when it does not exist.
    pub async fn match_get(&self, match_id: &str) -> ApiResult<Option<super::MatchInfo>> {
        crate::realtime::matches::authoritative::get(&self.shard, match_id).await
    }

    /// Waits `d` without holding the shard: a timer on its executor.
    pub async fn sleep(&self, d: std::time::Duration) {
        crate::rt::sleep(d).await;
    }

    /// Runs `f` on the persistence pool's threads and awaits its result:
    /// the way to do CPU-heavy or blocking work (a slow hash, a blocking
    /// client library) without stalling the shard.
    pub async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shard
            .shared
            .persist
            .run(move |_store| async move { Ok(f()) })
            .await
            .map_err(hide_internal)
    }
}

/// A store failure's detail is for the log, not for whoever called the
/// game code: game code that passes an error on with `?` shows its
/// caller only "Internal Server Error", as the REST handlers do.
fn hide_internal(e: ApiError) -> ApiError {
    if e.code == kairos_core::error::Code::Internal {
        tracing::error!(error = %e.message, "server API call failed");
        ApiError::internal("Internal Server Error")
    } else {
        e
    }
}
