//! Nakama's match listing: `GET /v2/match`.

use kairos_core::error::{ApiResult, Code};
use kairos_schema::api;

use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::listing::ListRequest;
use crate::modules::matches::MatchInfo;
use crate::shard::Shard;

/// `GET /v2/match?limit=&authoritative=&label=&min_size=&max_size=&query=`:
/// live matches on every shard ([`crate::listing`] has the rules).
///
/// Nakama's INTERNAL "Error listing matches." (a query that does not
/// parse) is answered as it is, not hidden as other internal errors are:
/// it is what a Nakama client sees.
pub(super) async fn list(shard: &Shard, _caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let request = ListRequest::new(
        params::int32(&call, "limit")?.map(i64::from),
        params::boolean(&call, "authoritative")?,
        call.param("label").map(str::to_string),
        params::int32(&call, "min_size")?.map(i64::from),
        params::int32(&call, "max_size")?.map(i64::from),
        call.param("query"),
    );
    let found = match request {
        Ok(request) => shard.shared.listing.list(request).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(matches) => Ok(response::json(&api::MatchList {
            matches: matches.iter().map(to_wire).collect(),
        })),
        Err(e) if e.code == Code::Internal => Ok(response::error(&e)),
        Err(e) => Err(e),
    }
}

/// A listed match on the wire.
pub fn to_wire(m: &MatchInfo) -> api::Match {
    api::Match {
        match_id: m.match_id.clone(),
        authoritative: m.authoritative,
        label: m.authoritative.then(|| m.label.clone()),
        size: i32::try_from(m.size).unwrap_or(i32::MAX),
        tick_rate: i32::try_from(m.tick_rate).unwrap_or(i32::MAX),
        handler_name: m.handler_name.clone(),
    }
}
