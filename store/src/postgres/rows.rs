//! Reading users out of PostgreSQL rows without panicking on a surprise
//! column type.

use kairos_core::account::User;
use kairos_core::error::ApiResult;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::common::internal;

/// The `users` columns that make a [`User`], in [`user_from_row`]'s order.
pub const USER_COLUMNS: &str = "id, username, display_name, avatar_url, lang_tag, location, timezone, metadata, \
    facebook_id, google_id, gamecenter_id, steam_id, facebook_instant_game_id, apple_id, edge_count, create_time, update_time";

/// Column `i` of `row`, or an internal error.
pub fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> ApiResult<T> {
    row.try_get(i).map_err(|e| internal("reading a row", e))
}

/// A nullable text column, `""` for NULL.
pub fn text(row: &Row, i: usize) -> ApiResult<String> {
    Ok(get::<Option<String>>(row, i)?.unwrap_or_default())
}

/// Reads a [`User`] from a row selected with [`USER_COLUMNS`] first.
pub fn user_from_row(r: &Row) -> ApiResult<User> {
    Ok(User {
        id: get(r, 0)?,
        username: get(r, 1)?,
        display_name: text(r, 2)?,
        avatar_url: text(r, 3)?,
        lang_tag: text(r, 4)?,
        location: text(r, 5)?,
        timezone: text(r, 6)?,
        metadata: text(r, 7)?,
        facebook_id: text(r, 8)?,
        google_id: text(r, 9)?,
        gamecenter_id: text(r, 10)?,
        steam_id: text(r, 11)?,
        facebook_instant_game_id: text(r, 12)?,
        apple_id: text(r, 13)?,
        edge_count: get(r, 14)?,
        create_time: get(r, 15)?,
        update_time: get(r, 16)?,
    })
}
