//! Resets on shard 0: each reset the thread announces is marked in the
//! store (`LeaderboardStore::leaderboard_mark_reset`, a compare-and-set
//! that only moves forward) and, if this call marked it, handed to the
//! `leaderboard_reset` hook, guarded, with the RPC deadline. So a reset
//! fires its hook once, across restarts too. A tournament's resets are
//! marked the same way but never reach the leaderboard hook (Nakama has a
//! tournament reset hook for them, which Kairos does not have yet).

use std::rc::Rc;
use std::time::Duration;

use futures_lite::StreamExt;
use kairos_core::leaderboard::schedule::Reset;

use super::ResetInbox;
use super::service::info;
use crate::modules::{CallMode, Context, guard};
use crate::rt;
use crate::shard::Shard;

/// Serves the thread's resets until it stops.
pub async fn drain(shard: Rc<Shard>, mut inbox: ResetInbox) {
    while let Some(reset) = inbox.next().await {
        let shard = shard.clone();
        rt::spawn(async move { announce(shard, reset).await });
    }
}

async fn announce(shard: Rc<Shard>, reset: Reset) {
    let Some(board) = shard.shared.leaderboards.get(&reset.id).await else {
        return;
    };
    let (id, at) = (reset.id.clone(), reset.at);
    let marked = shard
        .shared
        .persist
        .run(move |store| async move { store.leaderboard_mark_reset(id, at).await })
        .await;
    match marked {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::error!(error = %e.message, leaderboard = %reset.id, "cannot mark a leaderboard reset");
            return;
        }
    }
    let Some(hook) = shard.shared.modules.leaderboard_reset().cloned() else {
        return;
    };
    // A tournament's resets are not a leaderboard's: Nakama calls its
    // tournament reset hook for them, never the leaderboard one.
    let id = reset.id.clone();
    let tournament = shard
        .shared
        .persist
        .run(move |store| async move { store.tournaments_get(vec![id]).await })
        .await;
    match tournament {
        Ok(found) if found.is_empty() => {}
        Ok(_) => return,
        Err(e) => {
            tracing::error!(error = %e.message, leaderboard = %reset.id, "cannot tell a tournament from a leaderboard");
            return;
        }
    }
    // Nakama describes the board as of the second before the reset.
    let board = info(&board, at - 1);
    let ctx = Context::for_server(shard.clone(), CallMode::LeaderboardReset);
    let deadline = Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms);
    match guard::run(hook.call(ctx, board, at), deadline).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e.message, "leaderboard reset hook failed"),
        Err(failure) => tracing::warn!(?failure, "leaderboard reset hook failed"),
    }
}
