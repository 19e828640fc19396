//! The matchmaker-matched hook: game code told of each formed match, as
//! Nakama's `RegisterMatchmakerMatched`. It may create an authoritative
//! match for the players (`ctx.nk.match_create(..)`) and return its id:
//! every matched player then gets that `match_id` in `matchmaker_matched`.
//! `Ok(None)` (or an error, which is logged) leaves them a token to join a
//! relayed match with. It runs guarded on one shard (the shard of the
//! match's first player), with the RPC deadline, and never blocks it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use kairos_core::error::ApiError;

use super::Context;

/// One matched player, as the hook sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchmakerEntry {
    /// Its ticket's id (a party's members share one).
    pub ticket: String,
    pub user_id: String,
    pub session_id: String,
    pub username: String,
    pub node: String,
    /// Its party, empty for a solo ticket.
    pub party_id: String,
    pub string_properties: BTreeMap<String, String>,
    pub numeric_properties: BTreeMap<String, f64>,
    /// When its ticket was added, Unix milliseconds.
    pub create_time_ms: u64,
}

/// What the hook decides: a match id for the players, or `None` for a
/// token.
pub type MatchedResult = Result<Option<String>, ApiError>;

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// A matchmaker-matched hook.
pub trait MatchmakerMatchedFn: Send + Sync + 'static {
    fn call(&self, ctx: Context, entries: Vec<MatchmakerEntry>) -> Boxed<MatchedResult>;
}

impl<F, Fut> MatchmakerMatchedFn for F
where
    F: Fn(Context, Vec<MatchmakerEntry>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = MatchedResult> + 'static,
{
    fn call(&self, ctx: Context, entries: Vec<MatchmakerEntry>) -> Boxed<MatchedResult> {
        Box::pin(self(ctx, entries))
    }
}
