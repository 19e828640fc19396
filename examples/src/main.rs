//! A game's own server: Kairos as a library, with the game's RPCs.
//! Run it as the stock server (`custom-server --data_dir /tmp/game`) and
//! call `POST /v2/rpc/daily_reward` with a session, or `rpc` on a socket.

use kairos_shards::ServerBuilder;
use kairos_shards::modules::{Code, Context, Error, RpcResult};
use serde_json::{Value, json};

/// `daily_reward`: sends the caller a notification with the reward they
/// asked for, if it is one the game offers, and answers what was granted.
async fn daily_reward(ctx: Context, payload: String) -> RpcResult {
    let Some(user) = ctx.user_id else {
        return Err(Error::new(
            Code::FailedPrecondition,
            "sign in to claim rewards",
        ));
    };
    let request: Value = serde_json::from_str(&payload)
        .map_err(|_| Error::invalid("expected {\"kind\": \"gold\" | \"gems\"}"))?;
    let amount = match request["kind"].as_str() {
        Some("gold") => 100,
        Some("gems") => 5,
        _ => return Err(Error::invalid("unknown reward kind")),
    };
    let reward = json!({ "kind": request["kind"], "amount": amount });
    ctx.nk
        .notification_send(user, "Daily reward", reward.clone(), 1, true)
        .await?;
    Ok(reward.to_string())
}

/// `server_time`: callable by other servers with the HTTP key, too.
async fn server_time(ctx: Context, _payload: String) -> RpcResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(json!({ "unix": now, "node": ctx.nk.node() }).to_string())
}

fn main() {
    let code = ServerBuilder::new()
        .rpc("daily_reward", daily_reward)
        .rpc("server_time", server_time)
        .run();
    std::process::exit(code);
}
