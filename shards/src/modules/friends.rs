//! `Nk`'s friend calls, as Nakama's runtime has them (`FriendsList`,
//! `FriendsAdd`, `FriendsDelete`, `FriendsBlock`): game code acts for a
//! user, named by id and username, with the rules and store calls of the
//! REST friend calls (`http/handlers/friends.rs`), the same notifications
//! and ended direct chats (`realtime::friends`), and the runtime's
//! messages.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::friend::{self, FofCursor, Friend, FriendCursor, FriendOfFriend, FriendState};
use uuid::Uuid;

use super::Nk;
use crate::realtime::friends as follow;

/// Most users one add, delete or block names, ids and usernames together
/// (Kairos's bound; Nakama has none).
pub const MAX_NAMED: usize = 1000;

/// Which friend change a call makes, for its words.
#[derive(Clone, Copy)]
enum Change {
    Add,
    Delete,
    Block,
}

impl Change {
    /// Nakama runtime's refusal of naming oneself.
    fn self_error(self) -> ApiError {
        ApiError::invalid(match self {
            Change::Add => "cannot add self as friend",
            Change::Delete => "cannot delete self",
            Change::Block => "cannot block self",
        })
    }

    fn verb(self) -> &'static str {
        match self {
            Change::Add => "add",
            Change::Delete => "delete",
            Change::Block => "block",
        }
    }
}

impl Nk {
    /// One page (at most `limit`, 1 to 1,000) of `user_id`'s friend
    /// edges, of one `state` (0 friend, 1 invite sent, 2 invite received,
    /// 3 blocked) or all, after `cursor` (`""`: from the start). Returns
    /// them and the next page's cursor (`""` at the end).
    pub async fn friends_list(
        &self,
        user_id: Uuid,
        limit: usize,
        state: Option<i32>,
        cursor: &str,
    ) -> ApiResult<(Vec<Friend>, String)> {
        if !(1..=friend::MAX_LIST).contains(&limit) {
            return Err(ApiError::invalid("expects limit to be 1-1000"));
        }
        let state = match state {
            None => None,
            Some(s) => Some(
                FriendState::from_i32(s)
                    .ok_or_else(|| ApiError::invalid("expects state to be 0-3"))?,
            ),
        };
        let after = (!cursor.is_empty())
            .then(|| FriendCursor::parse(cursor, state))
            .transpose()?;
        let mut rows = self
            .store(move |store| async move {
                store.list_friends(user_id, state, after, limit + 1).await
            })
            .await?;
        let mut next = String::new();
        if rows.len() > limit {
            rows.truncate(limit);
            if let Some(last) = rows.last() {
                next = FriendCursor::after(last).encode();
            }
        }
        Ok((rows, next))
    }

    /// `user_id` (named `username` in the notifications) invites the
    /// users named by `ids` and `usernames`, or accepts their invites;
    /// `metadata` (a JSON object, or empty) goes on `user_id`'s edges.
    /// Unknown usernames are left out; naming nobody does nothing.
    pub async fn friends_add(
        &self,
        user_id: Uuid,
        username: &str,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
        metadata: &str,
    ) -> ApiResult<()> {
        if !metadata.is_empty() && !kairos_core::channel::is_json_object(metadata) {
            return Err(ApiError::invalid("Metadata must be a valid JSON object."));
        }
        let Some(ids) = self
            .named_users(user_id, username, ids, usernames, Change::Add)
            .await?
        else {
            return Ok(());
        };
        let metadata = metadata.to_string();
        let added = self
            .store(move |store| async move { store.add_friends(user_id, ids, metadata).await })
            .await?;
        follow::after_add(&self.shard, user_id, username, added).await;
        Ok(())
    }

    /// `user_id` removes the named users: friendships and invites either
    /// way go, and `user_id`'s own blocks are lifted (see
    /// [`Nk::friends_add`] for the naming).
    pub async fn friends_delete(
        &self,
        user_id: Uuid,
        username: &str,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> ApiResult<()> {
        let Some(ids) = self
            .named_users(user_id, username, ids, usernames, Change::Delete)
            .await?
        else {
            return Ok(());
        };
        let removed = self
            .store(move |store| async move { store.delete_friends(user_id, ids).await })
            .await?;
        follow::after_delete(&self.shard, user_id, username, removed).await;
        Ok(())
    }

    /// `user_id` blocks the named users (see [`Nk::friends_add`] for the
    /// naming); direct conversations with them end.
    pub async fn friends_block(
        &self,
        user_id: Uuid,
        username: &str,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> ApiResult<()> {
        let Some(ids) = self
            .named_users(user_id, username, ids, usernames, Change::Block)
            .await?
        else {
            return Ok(());
        };
        let blocked = self
            .store(move |store| async move { store.block_friends(user_id, ids).await })
            .await?;
        follow::after_block(&self.shard, user_id, blocked);
        Ok(())
    }

    /// One page (at most `limit`, 1 to 1,000) of the friends of
    /// `user_id`'s friends who are neither `user_id` nor already its
    /// friends, by referrer and user, after `cursor` (`""`: from the
    /// start), as `GET /v2/friend/friends` lists them. Returns them and the
    /// next page's cursor (`""` at the end). A cursor that does not parse
    /// is "friend cursor invalid", Nakama's runtime error.
    pub async fn friends_of_friends_list(
        &self,
        user_id: Uuid,
        limit: usize,
        cursor: &str,
    ) -> ApiResult<(Vec<FriendOfFriend>, String)> {
        if !(1..=friend::MAX_LIST).contains(&limit) {
            return Err(ApiError::invalid("expects limit to be 1-1000"));
        }
        let after = match cursor {
            "" => None,
            c => Some(FofCursor::parse(c).map_err(|_| ApiError::invalid("friend cursor invalid"))?),
        };
        let mut rows = self
            .store(move |store| async move {
                store
                    .list_friends_of_friends(user_id, after, limit + 1)
                    .await
            })
            .await?;
        let mut next = String::new();
        if rows.len() > limit {
            rows.truncate(limit);
            if let Some(last) = rows.last() {
                next = FofCursor {
                    referrer: last.referrer,
                    user: last.user.id,
                }
                .encode();
            }
        }
        Ok((rows, next))
    }

    /// Replaces the metadata (a JSON object) `user_id` keeps on its edge to
    /// `friend_id`, whatever the edge's state, as Nakama's
    /// `FriendMetadataUpdate`; no edge is no error.
    pub async fn friend_metadata_update(
        &self,
        user_id: Uuid,
        friend_id: Uuid,
        metadata: &str,
    ) -> ApiResult<()> {
        if !kairos_core::channel::is_json_object(metadata) {
            return Err(ApiError::invalid("Metadata must be a valid JSON object."));
        }
        let metadata = metadata.to_string();
        self.store(move |store| async move {
            store
                .update_friend_metadata(user_id, friend_id, metadata)
                .await
        })
        .await
    }

    /// `user_id`'s edges to the users among `ids` (at most [`MAX_NAMED`])
    /// that have one, with their state, as Nakama's `GetFriends`
    /// (`users_get_friend_status`); in no particular order.
    pub async fn users_get_friend_status(
        &self,
        user_id: Uuid,
        ids: Vec<Uuid>,
    ) -> ApiResult<Vec<Friend>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_NAMED {
            return Err(ApiError::invalid(format!(
                "expects at most {MAX_NAMED} user IDs"
            )));
        }
        self.store(move |store| async move { store.get_friends(user_id, ids).await })
            .await
    }

    /// The users a friend change names, resolved to ids, with Nakama
    /// runtime's checks: `None` when nobody is named; refused when one is
    /// the nil id or `user_id` itself, a username is empty or `username`,
    /// or none of them exists.
    async fn named_users(
        &self,
        user_id: Uuid,
        username: &str,
        mut ids: Vec<Uuid>,
        usernames: Vec<String>,
        change: Change,
    ) -> ApiResult<Option<Vec<Uuid>>> {
        if user_id.is_nil() {
            return Err(ApiError::invalid(
                "expects user ID to be a valid identifier",
            ));
        }
        if ids.is_empty() && usernames.is_empty() {
            return Ok(None);
        }
        if ids.len() + usernames.len() > MAX_NAMED {
            return Err(ApiError::invalid(format!(
                "expects at most {MAX_NAMED} user IDs and usernames"
            )));
        }
        for id in &ids {
            if *id == user_id {
                return Err(change.self_error());
            }
            if id.is_nil() {
                return Err(ApiError::invalid(format!("invalid user ID '{id}'")));
            }
        }
        for name in &usernames {
            if name.is_empty() {
                return Err(ApiError::invalid(format!(
                    "username to {} must not be empty",
                    change.verb()
                )));
            }
            if name == username {
                return Err(change.self_error());
            }
        }
        if !usernames.is_empty() {
            let found = self
                .store(move |store| async move { store.get_users(Vec::new(), usernames).await })
                .await?;
            for u in found {
                if u.id == user_id {
                    return Err(change.self_error());
                }
                ids.push(u.id);
            }
        }
        if ids.is_empty() {
            return Err(ApiError::invalid("no valid ID or username was provided"));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(Some(ids))
    }
}
