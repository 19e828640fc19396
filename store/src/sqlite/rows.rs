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
    Ok(User {
        id: uuid_at(r, 0)?,
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

/// Column `i` as a stored id (lowercase hyphenated text).
pub fn uuid_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let text: String = r.get(i)?;
    Uuid::parse_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Column `i` as a nullable stored id.
pub fn opt_uuid_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(_) => uuid_at(r, i).map(Some),
    }
}
