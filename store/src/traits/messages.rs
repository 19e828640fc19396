//! Chat history.

use kairos_core::channel::{ChannelMessage, MessageKey};
use kairos_core::error::ApiResult;
use kairos_core::stream::StreamId;
use uuid::Uuid;

use super::BoxFuture;

/// Channel messages.
pub trait MessageStore: Send + Sync + 'static {
    /// Stores a chat message. Refused with NotFound when its sender has
    /// no account (deleted, even concurrently): checked in the same
    /// statement, so no message is ever stored under a deleted id. The
    /// nil sender is the server (game code's messages) and needs none.
    fn insert_message(&self, message: ChannelMessage) -> BoxFuture<'_, ApiResult<()>>;

    /// Replaces the content and username of `sender`'s message `id` in
    /// `stream`, and its update time (unix micros). Returns its create time,
    /// or `None` when `sender` has no such message there.
    fn update_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
        username: String,
        content: String,
        update_time: i64,
    ) -> BoxFuture<'_, ApiResult<Option<i64>>>;

    /// Deletes `sender`'s message `id` in `stream`. Returns its create and
    /// update times, or `None` when `sender` has no such message there.
    fn remove_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
    ) -> BoxFuture<'_, ApiResult<Option<(i64, i64)>>>;

    /// Messages of `stream` by `(create_time, id)`: ascending and strictly
    /// after `after`, or descending and strictly before it; at most `limit`.
    fn list_messages(
        &self,
        stream: StreamId,
        ascending: bool,
        after: Option<MessageKey>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<ChannelMessage>>>;
}
