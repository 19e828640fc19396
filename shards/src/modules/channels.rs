//! `Nk`'s chat calls, as Nakama's runtime has them (`ChannelIdBuild`,
//! `ChannelMessageSend`, `ChannelMessageUpdate`, `ChannelMessageRemove`,
//! `ChannelMessagesList`): game code writes to a channel's history
//! through the store calls the realtime chat uses, and its messages reach
//! the members connected to the channel as `channel_message`, relayed by
//! the channel's owner (`realtime::chat::relay`) as a client's are.

use kairos_core::channel::{self, ChannelMessage, HistoryPage, MessageCursor, Target, code};
use kairos_core::error::{ApiError, ApiResult, Code};
use kairos_core::stream::StreamId;
use kairos_core::time::now_micros;
use uuid::Uuid;

use super::Nk;
use crate::realtime::chat;

/// Most messages one [`Nk::channel_messages_list`] page holds.
pub const MAX_CHANNEL_LIST: usize = 100;

/// What game code learns of a message it sent, updated or removed
/// (Nakama's `ChannelMessageAck`). Times are unix microseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMessageAck {
    pub channel_id: String,
    pub message_id: Uuid,
    /// 0 sent, 1 updated, 2 removed.
    pub code: i32,
    pub username: String,
    pub create_time: i64,
    pub update_time: i64,
    pub persistent: bool,
}

impl ChannelMessageAck {
    fn of(channel_id: &str, m: &ChannelMessage, persistent: bool) -> ChannelMessageAck {
        ChannelMessageAck {
            channel_id: channel_id.to_string(),
            message_id: m.id,
            code: m.code,
            username: m.username.clone(),
            create_time: m.create_time,
            update_time: m.update_time,
            persistent,
        }
    }
}

/// The stream of a channel id; "invalid channel id" (Nakama's runtime
/// error) when it is not one.
fn stream_of(channel_id: &str) -> ApiResult<StreamId> {
    channel::parse_channel_id(channel_id).ok_or_else(|| ApiError::invalid("invalid channel id"))
}

fn check_content(content: &str) -> ApiResult<()> {
    if channel::is_json_object(content) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "expects message content to be a valid JSON object",
        ))
    }
}

/// A store failure of a message write: logged, and reported with
/// Nakama's words.
fn persist_error(e: ApiError) -> ApiError {
    if e.code == Code::NotFound {
        // The store refuses a sender that has no account.
        return ApiError::not_found("error persisting channel message: sender not found");
    }
    tracing::warn!(error = %e.message, "game code's chat message was not stored");
    ApiError::internal("error persisting channel message")
}

impl Nk {
    /// The id of a channel (Nakama's `ChannelIdBuild`): a room named
    /// `target` (`kind` 0 or 1), the direct channel between `sender` and
    /// the user `target` (2), or group `target`'s channel (3). With a
    /// sender, a direct channel needs the other user to exist and neither
    /// to block the other, and a group channel needs the sender to be a
    /// member, as when a client joins; without one (the server), a group
    /// channel is not checked and a direct channel is refused, as it has
    /// only one user. Target errors are INVALID_ARGUMENT with Nakama's
    /// texts, ending in "Invalid channel target".
    pub async fn channel_id_build(
        &self,
        sender: Option<Uuid>,
        target: &str,
        kind: i32,
    ) -> ApiResult<String> {
        let stream = match channel::parse_target(kind, target)? {
            Target::Room(name) => channel::room(&name),
            Target::Direct(other) => {
                let Some(me) = sender else {
                    return Err(ApiError::invalid(
                        "A direct channel needs a sender: Invalid channel target",
                    ));
                };
                let allowed = self
                    .shard
                    .shared
                    .persist
                    .run(move |store| async move { store.can_message(me, other).await })
                    .await;
                match allowed {
                    Ok(true) => channel::direct(me, other),
                    Ok(false) => {
                        return Err(ApiError::invalid(
                            "User ID not found: Invalid channel target",
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "direct channel check failed");
                        return Err(ApiError::internal("Failed to look up user ID"));
                    }
                }
            }
            Target::Group(group) => {
                if let Some(me) = sender {
                    match chat::is_group_member(&self.shard, group, me).await {
                        Ok(true) => {}
                        Ok(false) => {
                            return Err(ApiError::invalid(
                                "Group not found: Invalid channel target",
                            ));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "group channel check failed");
                            return Err(ApiError::internal("Failed to look up group membership"));
                        }
                    }
                }
                channel::group(group)
            }
        };
        Ok(channel::channel_id(&stream))
    }

    /// Sends a chat message to channel `channel_id` as `sender` (the nil
    /// id: the server) named `username` (Nakama's `ChannelMessageSend`):
    /// stored in the channel's history when `persist` (a sender other
    /// than the server must have an account), then relayed to every
    /// member connected to the channel. `content` must be a JSON object.
    pub async fn channel_message_send(
        &self,
        channel_id: &str,
        content: &str,
        sender: Uuid,
        username: &str,
        persist: bool,
    ) -> ApiResult<ChannelMessageAck> {
        let stream = stream_of(channel_id)?;
        check_content(content)?;
        let now = now_micros();
        let message = ChannelMessage {
            id: Uuid::new_v4(),
            stream,
            code: code::CHAT,
            sender_id: sender,
            username: username.to_string(),
            content: content.to_string(),
            create_time: now,
            update_time: now,
        };
        if persist {
            let row = message.clone();
            self.shard
                .shared
                .persist
                .run(move |store| async move { store.insert_message(row).await })
                .await
                .map_err(persist_error)?;
        }
        chat::relay(&self.shard, &message, persist);
        Ok(ChannelMessageAck::of(channel_id, &message, persist))
    }

    /// Replaces the content (a JSON object) and username of `sender`'s
    /// message `message_id` in channel `channel_id` (Nakama's
    /// `ChannelMessageUpdate`): in the history when `persist` (NOT_FOUND
    /// "channel message not found" when `sender` has no such message
    /// there), then relayed to the channel's members.
    pub async fn channel_message_update(
        &self,
        channel_id: &str,
        message_id: Uuid,
        content: &str,
        sender: Uuid,
        username: &str,
        persist: bool,
    ) -> ApiResult<ChannelMessageAck> {
        let stream = stream_of(channel_id)?;
        check_content(content)?;
        let now = now_micros();
        let mut message = ChannelMessage {
            id: message_id,
            stream,
            code: code::CHAT_UPDATE,
            sender_id: sender,
            username: username.to_string(),
            content: content.to_string(),
            create_time: now,
            update_time: now,
        };
        if persist {
            let (stream, name, text) = (
                message.stream.clone(),
                message.username.clone(),
                message.content.clone(),
            );
            let stored = self
                .shard
                .shared
                .persist
                .run(move |store| async move {
                    store
                        .update_message(stream, message_id, sender, name, text, now)
                        .await
                })
                .await
                .map_err(persist_error)?;
            match stored {
                Some(created) => message.create_time = created,
                None => return Err(ApiError::not_found("channel message not found")),
            }
        }
        chat::relay(&self.shard, &message, persist);
        Ok(ChannelMessageAck::of(channel_id, &message, persist))
    }

    /// Removes `sender`'s message `message_id` from channel `channel_id`
    /// (Nakama's `ChannelMessageRemove`): from the history when `persist`
    /// (NOT_FOUND "channel message not found" when `sender` has no such
    /// message there), then the removal is relayed to the channel's
    /// members.
    pub async fn channel_message_remove(
        &self,
        channel_id: &str,
        message_id: Uuid,
        sender: Uuid,
        username: &str,
        persist: bool,
    ) -> ApiResult<ChannelMessageAck> {
        let stream = stream_of(channel_id)?;
        let now = now_micros();
        let mut message = ChannelMessage {
            id: message_id,
            stream,
            code: code::CHAT_REMOVE,
            sender_id: sender,
            username: username.to_string(),
            content: "{}".into(),
            create_time: now,
            update_time: now,
        };
        if persist {
            let stream = message.stream.clone();
            let removed =
                self.shard
                    .shared
                    .persist
                    .run(move |store| async move {
                        store.remove_message(stream, message_id, sender).await
                    })
                    .await
                    .map_err(persist_error)?;
            match removed {
                Some((created, updated)) => {
                    message.create_time = created;
                    message.update_time = updated;
                }
                None => return Err(ApiError::not_found("channel message not found")),
            }
        }
        chat::relay(&self.shard, &message, persist);
        Ok(ChannelMessageAck::of(channel_id, &message, persist))
    }

    /// One page (at most `limit`, 1 to [`MAX_CHANNEL_LIST`]) of channel
    /// `channel_id`'s history, oldest first when `forward`, from `cursor`
    /// (`""`: the start), as `GET /v2/channel/{id}` pages it but without
    /// a caller's access check (Nakama's `ChannelMessagesList` for the
    /// server). A cursor of another channel or direction is "invalid
    /// channel cursor".
    pub async fn channel_messages_list(
        &self,
        channel_id: &str,
        limit: usize,
        forward: bool,
        cursor: &str,
    ) -> ApiResult<HistoryPage> {
        if !(1..=MAX_CHANNEL_LIST).contains(&limit) {
            return Err(ApiError::invalid("limit must be 1-100"));
        }
        let stream = stream_of(channel_id)?;
        let cursor = match cursor {
            "" => None,
            c => Some(
                MessageCursor::parse(c, channel_id, forward)
                    .map_err(|_| ApiError::invalid("invalid channel cursor"))?,
            ),
        };
        let q = channel::history_query(forward, cursor.as_ref(), limit);
        let rows = self
            .store(move |store| async move {
                store
                    .list_messages(stream, q.ascending, q.after, q.limit)
                    .await
            })
            .await?;
        Ok(channel::history_page(
            channel_id, forward, cursor, limit, rows,
        ))
    }
}
