//! Users as others see them: `GET /v2/user`, and the public profile
//! every listing of users (friends, ...) shares.

use kairos_core::account::User;
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::time::rfc3339;
use kairos_schema::api;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::shard::Shard;

pub fn user_json(u: User) -> api::User {
    api::User {
        id: u.id.to_string(),
        username: u.username,
        display_name: u.display_name,
        avatar_url: u.avatar_url,
        lang_tag: u.lang_tag,
        location: u.location,
        timezone: u.timezone,
        metadata: u.metadata,
        facebook_id: u.facebook_id,
        google_id: u.google_id,
        gamecenter_id: u.gamecenter_id,
        steam_id: u.steam_id,
        online: false,
        edge_count: u.edge_count,
        create_time: rfc3339(u.create_time),
        update_time: rfc3339(u.update_time),
        facebook_instant_game_id: u.facebook_instant_game_id,
        apple_id: u.apple_id,
    }
}

pub fn online(shard: &Shard, mut u: api::User, id: Uuid) -> api::User {
    u.online = shard.shared.registry.is_online(id);
    u
}

pub(super) async fn get_users(
    shard: &Shard,
    _caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let raw_ids = call.params("ids");
    let usernames: Vec<String> = call
        .params("usernames")
        .into_iter()
        .filter(|u| !u.is_empty())
        .collect();
    let facebook_ids = call.params("facebook_ids");
    if raw_ids.is_empty() && usernames.is_empty() && facebook_ids.is_empty() {
        return Ok(response::empty());
    }
    let mut ids = Vec::with_capacity(raw_ids.len());
    for id in &raw_ids {
        ids.push(
            Uuid::parse_str(id)
                .map_err(|_| ApiError::invalid(format!("ID '{id}' is not a valid system ID.")))?,
        );
    }
    if ids.is_empty() && usernames.is_empty() {
        // Facebook ids can't match until social linking exists.
        return Ok(response::empty());
    }
    let users = shard
        .shared
        .persist
        .run(move |store| async move { store.get_users(ids, usernames).await })
        .await?;
    let users = users
        .into_iter()
        .map(|u| {
            let id = u.id;
            online(shard, user_json(u), id)
        })
        .collect();
    Ok(response::json(&api::Users { users }))
}
