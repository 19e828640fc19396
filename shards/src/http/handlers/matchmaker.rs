//! Nakama's `GET /v2/matchmaker/stats`.

use kairos_core::error::ApiResult;
use kairos_core::time::rfc3339_micros;
use serde_json::{Map, Value, json};

use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::shard::Shard;

/// `GET /v2/matchmaker/stats`: `api.MatchmakerStats`, the tickets in the
/// pool, the oldest one's creation time and the last passes' start and
/// end times (zero and empty fields left out, as protojson does).
pub(super) async fn stats(shard: &Shard, _caller: Caller, _call: Call) -> ApiResult<HttpResponse> {
    let stats = shard.shared.matchmaker.stats().await;
    let time = |ms: u64| Value::String(rfc3339_micros(ms as i64 * 1000));
    let mut out = Map::new();
    if stats.ticket_count > 0 {
        out.insert("ticket_count".into(), json!(stats.ticket_count));
    }
    if let Some(ms) = stats.oldest_ticket_create_ms {
        out.insert("oldest_ticket_create_time".into(), time(ms));
    }
    if !stats.completions.is_empty() {
        let completions: Vec<Value> = stats
            .completions
            .iter()
            .map(|c| {
                json!({
                    "create_time": time(c.create_time_ms),
                    "complete_time": time(c.complete_time_ms),
                })
            })
            .collect();
        out.insert("completions".into(), Value::Array(completions));
    }
    Ok(response::json(&Value::Object(out)))
}
