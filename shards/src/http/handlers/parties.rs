//! Nakama's party listing: `GET /v2/party`.

use kairos_core::error::{ApiResult, Code};

use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::realtime::parties;
use crate::shard::Shard;

/// `GET /v2/party?limit=&open=&query=&cursor=`: visible parties of every
/// shard (`realtime::parties::list` has the rules). `limit` is 1 to 100,
/// 10 when absent. As in Nakama, a query or cursor it cannot use answers
/// INTERNAL "Error listing matches.", shown as it is.
pub(super) async fn list(shard: &Shard, _caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let limit = params::limit(&call, 10, 100)?;
    let open = params::boolean(&call, "open")?;
    let query = call.param("query").unwrap_or_default().to_string();
    let cursor = call.param("cursor").unwrap_or_default().to_string();
    match parties::list(shard, limit, open, false, &query, &cursor).await {
        Ok(list) => Ok(response::json(&list)),
        Err(e) if e.code == Code::Internal => Ok(response::error(&e)),
        Err(e) => Err(e),
    }
}
