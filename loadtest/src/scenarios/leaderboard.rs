//! `leaderboard`: every worker authenticates its own device account, then
//! loops on one keep-alive connection: nine record writes
//! (`POST /v2/leaderboard/{id}`, a random score) for each listing of the
//! records around its owner (`GET /v2/leaderboard/{id}/owner/{owner}`,
//! `limit=10`), the two a ranked game makes after every round.
//!
//! The board is `--leaderboard ID` when given (it must exist, e.g. made by
//! the target's own game code, as on Nakama); otherwise the run creates
//! `loadtest-<random>` at setup with the RPC `--rpc` (default
//! `example.leaderboard_create`, Kairos's stock example run with
//! `--kairos.runtime.examples true`), called with a session and the
//! payload `{"id": ...}`. A write is a success when it answers 200 with a
//! record; a listing when it answers 200 with the owner's record.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Outcome, resolve_target};
use crate::http::HttpClient;
use crate::nakama;
use crate::report::Kind;
use crate::rng::Rng;
use crate::runner::{Fleet, Run};

/// `--rpc`'s default here: Kairos's example that creates a board.
pub const DEFAULT_RPC: &str = "example.leaderboard_create";
/// Writes per around-owner listing.
pub const WRITES_PER_LISTING: u64 = 9;
/// Scores are drawn below this.
const MAX_SCORE: u64 = 1_000_000;

/// A write's body.
pub fn write_body(score: u64) -> String {
    json!({ "score": score.to_string() }).to_string()
}

/// Whether a reply's body is what its request asked for: a record for a
/// write, the owner's record among those listed around it.
fn answered(body: &[u8], owner: Option<&str>) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    match owner {
        None => v["owner_id"].is_string(),
        Some(owner) => v["owner_records"]
            .as_array()
            .into_iter()
            .chain(v["records"].as_array())
            .flatten()
            .any(|r| r["owner_id"] == owner),
    }
}

/// The user id a session token carries (its `uid` claim).
fn user_id(token: &str) -> Option<String> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["uid"].as_str().map(str::to_string)
}

/// Creates the board with `--rpc` as the session `token`.
async fn create_board(run: &Run, addr: SocketAddr, token: &str, id: &str) -> Result<(), String> {
    let mut client = HttpClient::new(addr, run.opts.target.clone());
    let auth = format!("Bearer {token}");
    let payload = Value::String(json!({ "id": id }).to_string()).to_string();
    let path = format!("/v2/rpc/{}", run.opts.rpc);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let resp = tokio::time::timeout(
        run.opts.timeout,
        client.request("POST", &path, &headers, payload.as_bytes()),
    )
    .await
    .map_err(|_| format!("{path} timed out"))?
    .map_err(|e| format!("{path}: {}", e.kind()))?;
    if resp.status != 200 {
        return Err(format!(
            "{path} answered {}: {} (pass --leaderboard ID for an existing board)",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        ));
    }
    Ok(())
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>) -> Result<Outcome, String> {
    let addr = resolve_target(run).await?;
    let auth_op = run.stats.register("authenticate_device", Kind::Setup);
    let write_op = run.stats.register("leaderboard_write", Kind::Measured);
    let around_op = run
        .stats
        .register("leaderboard_around_owner", Kind::Measured);
    let board: Arc<str> = match &run.opts.leaderboard {
        Some(id) => id.as_str().into(),
        None => {
            let mut rng = Rng::from_entropy(u64::MAX);
            let id = format!("loadtest-{:016x}", rng.next_u64());
            let mut client = HttpClient::new(addr, run.opts.target.clone());
            let token =
                nakama::authenticate_device(run, &mut client, auth_op, &rng.device_id(), true)
                    .await
                    .ok_or("could not authenticate the account that creates the board")?;
            create_board(run, addr, &token, &id).await?;
            id.into()
        }
    };
    let board_name = board.to_string();
    let fleet = Fleet::spawn(run, run.opts.concurrency, move |mut w| {
        let board = board.clone();
        async move {
            let run = w.run.clone();
            let mut client = HttpClient::new(addr, run.opts.target.clone());
            let mut rng = Rng::from_entropy(w.id as u64);
            let token =
                nakama::authenticate_device(&run, &mut client, auth_op, &rng.device_id(), true)
                    .await;
            w.ready();
            let Some((token, owner)) = token.and_then(|t| Some((t.clone(), user_id(&t)?))) else {
                return;
            };
            let auth = format!("Bearer {token}");
            let write_path = format!("/v2/leaderboard/{board}");
            let around_path = format!("/v2/leaderboard/{board}/owner/{owner}?limit=10");
            let mut n = 0u64;
            while !run.is_stopped() {
                n += 1;
                let ok = if n.is_multiple_of(WRITES_PER_LISTING + 1) {
                    let req = ("GET", around_path.as_str(), "");
                    super::timed_http(&run, &mut client, around_op, req, &auth, |b| {
                        answered(b, Some(&owner))
                    })
                    .await
                } else {
                    let body = write_body(rng.next_u64() % MAX_SCORE);
                    let req = ("POST", write_path.as_str(), body.as_str());
                    super::timed_http(&run, &mut client, write_op, req, &auth, |b| {
                        answered(b, None)
                    })
                    .await
                };
                if !ok {
                    // Refused or timed out: back off instead of spinning.
                    run.until_stopped(tokio::time::sleep(Duration::from_millis(100)))
                        .await;
                }
            }
        }
    });
    fleet.wait_ready().await;
    if run.stats.ok_count(auth_op) == 0 {
        return Err(format!(
            "no account could be created on {} (see the authenticate_device errors)",
            run.opts.target
        ));
    }
    fleet.measure().await;
    Ok(Outcome {
        target: run.opts.target.clone(),
        extra: vec![
            ("leaderboard".into(), json!(board_name)),
            ("writes_per_listing".into(), json!(WRITES_PER_LISTING)),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_send_scores_as_int64_strings() {
        let v: Value = serde_json::from_str(&write_body(42)).unwrap();
        assert_eq!(v, json!({ "score": "42" }));
    }

    #[test]
    fn replies_are_checked_for_what_was_asked() {
        assert!(answered(br#"{"owner_id":"u","score":"3"}"#, None));
        assert!(!answered(br#"{"code":3}"#, None));
        let around = br#"{"records":[{"owner_id":"a"},{"owner_id":"u"}]}"#;
        assert!(answered(around, Some("u")));
        assert!(!answered(around, Some("z")));
        assert!(answered(
            br#"{"owner_records":[{"owner_id":"u"}]}"#,
            Some("u")
        ));
        assert!(!answered(b"nope", Some("u")));
    }

    #[test]
    fn the_owner_is_read_from_the_token() {
        use base64::Engine;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"uid":"0190-user","usn":"x"}"#);
        assert_eq!(
            user_id(&format!("h.{claims}.s")).as_deref(),
            Some("0190-user")
        );
        assert_eq!(user_id("garbage"), None);
    }
}
