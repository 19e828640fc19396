//! Reading users out of SQLite rows.

use kairos_core::account::User;
use uuid::Uuid;

/// The `users` columns that make a [`User`], in [`user_from_row`]'s order.
pub const USER_COLUMNS: &str = "id, username, display_name, avatar_url, lang_tag, location, timezone, metadata, \
    facebook_id, google_id, gamecenter_id, steam_id, facebook_instant_game_id, apple_id, edge_count, create_time, update_time";

/// Reads a [`User`] from a row selected with [`USER_COLUMNS`].
pub fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let text = |i: usize| -> rusqlite::Result<String> {
        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
    };
    let id: String = r.get(0)?;
    Ok(User {
        id: Uuid::parse_str(&id).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?,
        username: r.get(1)?,
        display_name: text(2)?,
        avatar_url: text(3)?,
        lang_tag: text(4)?,
        location: text(5)?,
        timezone: text(6)?,
        metadata: text(7)?,
        facebook_id: text(8)?,
        google_id: text(9)?,
        gamecenter_id: text(10)?,
        steam_id: text(11)?,
        facebook_instant_game_id: text(12)?,
        apple_id: text(13)?,
        edge_count: r.get(14)?,
        create_time: r.get(15)?,
        update_time: r.get(16)?,
    })
}
