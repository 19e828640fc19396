//! The filters and cursors of the group listings.

use super::*;

/// The filters of `GET /v2/group`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupFilter {
    /// A name pattern, `%` a wildcard, case-insensitive (a trailing `%`
    /// makes it a prefix); leading `%` and spaces are dropped, as Nakama
    /// does. May not be combined with the other filters.
    pub name: Option<String>,
    pub lang_tag: Option<String>,
    /// At most this many members.
    pub members: Option<i32>,
    pub open: Option<bool>,
}

/// The order a listing takes, by its filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupOrder {
    /// By name (the name filter).
    Name,
    /// Fullest first, then by id descending (any filter on members).
    MembersDesc,
    /// Emptiest first, then by id (a language filter).
    MembersAsc,
    /// Least recently updated first, then by members and id (no filter,
    /// or openness alone).
    Updated,
}

impl GroupFilter {
    /// Checks the filters (Nakama's message) and normalizes the name.
    pub fn check(mut self) -> ApiResult<GroupFilter> {
        if let Some(name) = &self.name {
            let trimmed = name.trim_start_matches(['%', ' ']).to_string();
            if trimmed.chars().count() > MAX_NAME {
                return Err(ApiError::invalid(format!(
                    "Group name must be at most {MAX_NAME} characters."
                )));
            }
            self.name = (!name.is_empty()).then_some(trimmed);
        }
        if self.lang_tag.as_deref() == Some("") {
            self.lang_tag = None;
        }
        if self.name.is_some()
            && (self.lang_tag.is_some() || self.open.is_some() || self.members.is_some())
        {
            return Err(ApiError::invalid(
                "name filter cannot be combined with any other filter",
            ));
        }
        Ok(self)
    }

    pub fn order(&self) -> GroupOrder {
        if self.name.is_some() {
            GroupOrder::Name
        } else if self.members.is_some() {
            GroupOrder::MembersDesc
        } else if self.lang_tag.is_some() {
            GroupOrder::MembersAsc
        } else {
            GroupOrder::Updated
        }
    }
}

/// Where a group listing resumes: the last group of the previous page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCursor {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "e")]
    pub edge_count: i32,
    #[serde(rename = "u")]
    pub update_time: i64,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl GroupCursor {
    pub fn after(g: &Group) -> GroupCursor {
        GroupCursor {
            name: g.name.clone(),
            edge_count: g.edge_count,
            update_time: g.update_time,
            id: g.id,
        }
    }

    /// Parses a cursor (Nakama's message for a bad one).
    pub fn parse(text: &str) -> ApiResult<GroupCursor> {
        cursor::decode(text).ok_or_else(|| ApiError::invalid("Malformed cursor was used."))
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }
}

/// Where a member or user-group listing resumes: the last edge of the
/// previous page, by `(state, position, id)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeCursor {
    #[serde(rename = "s")]
    pub state: i32,
    #[serde(rename = "p")]
    pub position: i64,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl EdgeCursor {
    /// Parses a cursor; one taken with another `state` filter is refused,
    /// as in Nakama ("Cursor is invalid.").
    pub fn parse(text: &str, filter: Option<i32>) -> ApiResult<EdgeCursor> {
        let c: EdgeCursor =
            cursor::decode(text).ok_or_else(|| ApiError::invalid("Cursor is invalid."))?;
        if filter.is_some_and(|s| s != c.state) {
            return Err(ApiError::invalid("Cursor is invalid."));
        }
        Ok(c)
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }
}
