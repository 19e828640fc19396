//! Deadlines on shard 0: each deadline the thread announces is marked in
//! the store, then handed to its hook, guarded, with the RPC deadline:
//!
//! * a leaderboard's reset: marked with
//!   `LeaderboardStore::leaderboard_mark_reset` (a compare-and-set on
//!   `last_reset` that only moves forward), then the `leaderboard_reset`
//!   hook;
//! * a tournament's reset: marked the same way, then the
//!   `tournament_reset` hook (never the leaderboard one, as in Nakama).
//!   The tournament's player count needs no write: it counts one period;
//! * a tournament's window closing: marked with
//!   `TournamentStore::tournament_mark_end` (on `last_end`), then the
//!   `tournament_end` hook.
//!
//! A hook runs only if this call marked its deadline, so each fires once,
//! across restarts too.

use std::rc::Rc;
use std::time::Duration;

use futures_lite::StreamExt;
use kairos_core::error::ApiError;
use kairos_core::leaderboard::deadlines::{Deadline, Kind};

use super::DeadlineInbox;
use super::service::info;
use crate::modules::{CallMode, Context, guard};
use crate::rt;
use crate::shard::Shard;

/// Serves the thread's deadlines until it stops.
pub async fn drain(shard: Rc<Shard>, mut inbox: DeadlineInbox) {
    while let Some(deadline) = inbox.next().await {
        let shard = shard.clone();
        rt::spawn(async move { announce(shard, deadline).await });
    }
}

async fn announce(shard: Rc<Shard>, due: Deadline) {
    let Some(board) = shard.shared.leaderboards.get(&due.id).await else {
        return;
    };
    let (id, at) = (due.id.clone(), due.at);
    let marked = shard
        .shared
        .persist
        .run(move |store| async move {
            match due.kind {
                Kind::Reset => store.leaderboard_mark_reset(id, at).await,
                Kind::End => store.tournament_mark_end(id, at).await,
            }
        })
        .await;
    match marked {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::error!(error = %e.message, leaderboard = %due.id, kind = ?due.kind, "cannot mark a leaderboard deadline");
            return;
        }
    }
    let deadline = Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms);
    let outcome = if board.is_tournament() {
        tournament_hook(&shard, &due, deadline).await
    } else {
        let Some(hook) = shard.shared.modules.leaderboard_reset().cloned() else {
            return;
        };
        // Nakama describes the board as of the second before the reset.
        let board = info(&board, at - 1);
        let ctx = Context::for_server(shard.clone(), CallMode::LeaderboardReset);
        guard::run(hook.call(ctx, board, at), deadline).await
    };
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e.message, leaderboard = %due.id, kind = ?due.kind, "leaderboard hook failed")
        }
        Err(failure) => {
            tracing::warn!(?failure, leaderboard = %due.id, kind = ?due.kind, "leaderboard hook failed")
        }
    }
}

/// Runs a tournament's end or reset hook, if one is registered, with the
/// tournament as it was the second before the deadline.
async fn tournament_hook(
    shard: &Rc<Shard>,
    due: &Deadline,
    deadline: Duration,
) -> Result<Result<(), ApiError>, guard::Failure> {
    let (hook, mode) = match due.kind {
        Kind::End => (
            shard.shared.modules.tournament_end(),
            CallMode::TournamentEnd,
        ),
        Kind::Reset => (
            shard.shared.modules.tournament_reset(),
            CallMode::TournamentReset,
        ),
    };
    let Some(hook) = hook.cloned() else {
        return Ok(Ok(()));
    };
    let ids = vec![due.id.clone()];
    let found = shard
        .shared
        .persist
        .run(move |store| async move { store.tournaments_get(ids).await })
        .await;
    let tournament = match found {
        Ok(mut found) => match found.pop() {
            Some(t) => t.at(due.at - 1),
            // Deleted since.
            None => return Ok(Ok(())),
        },
        Err(e) => return Ok(Err(e)),
    };
    let window = tournament.window(due.at - 1);
    let ctx = Context::for_server(shard.clone(), mode);
    guard::run(
        hook.call(ctx, tournament, window.end_active, window.expiry),
        deadline,
    )
    .await
}
