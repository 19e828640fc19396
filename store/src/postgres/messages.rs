//! Chat history on PostgreSQL / CockroachDB. A message is addressed by its
//! id, its sender and its whole stream, so nobody edits another's message
//! or one elsewhere.

use std::sync::LazyLock;

use kairos_core::channel::{ChannelMessage, MessageKey};
use kairos_core::error::ApiResult;
use kairos_core::stream::StreamId;
use tokio_postgres::Row;
use uuid::Uuid;

use super::rows::get;
use super::{PgStore, db_err};
use crate::common::{self, internal};
use crate::{BoxFuture, MessageStore};

/// Inserts only if the sender exists, in one statement: the sender's row
/// is share-locked, so an account deletion either waits for this insert
/// or, once committed, leaves it nothing to insert. The server's messages
/// (nil sender) go through [`INSERT_SERVER`].
const INSERT: &str =
    "INSERT INTO message (id, code, sender_id, username, stream_mode, stream_subject,
       stream_subcontext, stream_label, content, create_time, update_time)
     SELECT $1::UUID, $2::INTEGER, $3::UUID, $4::TEXT, $5::SMALLINT, $6::TEXT, $7::TEXT,
       $8::TEXT, $9::TEXT, $10::BIGINT, $11::BIGINT
     FROM users WHERE id = $3 FOR SHARE";

/// A message from the server (nil sender), which has no account.
const INSERT_SERVER: &str =
    "INSERT INTO message (id, code, sender_id, username, stream_mode, stream_subject,
       stream_subcontext, stream_label, content, create_time, update_time)
     VALUES ($1::UUID, $2::INTEGER, $3::UUID, $4::TEXT, $5::SMALLINT, $6::TEXT, $7::TEXT,
       $8::TEXT, $9::TEXT, $10::BIGINT, $11::BIGINT)";

const UPDATE: &str = "UPDATE message SET username = $1, content = $2, update_time = $3
     WHERE id = $4 AND sender_id = $5 AND stream_mode = $6 AND stream_subject = $7
       AND stream_subcontext = $8 AND stream_label = $9
     RETURNING create_time";

const REMOVE: &str = "DELETE FROM message
     WHERE id = $1 AND sender_id = $2 AND stream_mode = $3 AND stream_subject = $4
       AND stream_subcontext = $5 AND stream_label = $6
     RETURNING create_time, update_time";

/// History listings: `[ascending, descending]` x `[from the end, after a key]`.
static LIST: LazyLock<[[String; 2]; 2]> = LazyLock::new(|| {
    let select = "SELECT id, code, sender_id, username, stream_mode, stream_subject, stream_subcontext,
         stream_label, content, create_time, update_time
       FROM message
       WHERE stream_mode = $1 AND stream_subject = $2 AND stream_subcontext = $3 AND stream_label = $4";
    let variant = |op: &str, order: &str| {
        [
            format!("{select} ORDER BY {order} LIMIT $5"),
            format!(
                "{select} AND (create_time, id) {op} ($5::BIGINT, $6::UUID) ORDER BY {order} LIMIT $7"
            ),
        ]
    };
    [
        variant(">", "create_time, id"),
        variant("<", "create_time DESC, id DESC"),
    ]
});

const SENT_BY: &str = "SELECT id, code, sender_id, username, stream_mode, stream_subject,
       stream_subcontext, stream_label, content, create_time, update_time
     FROM message WHERE sender_id = $1 ORDER BY create_time, id";

/// Every message `sender` sent, oldest first (an account export).
pub(super) async fn sent_by(
    conn: &mut super::pool::PgConn,
    sender: Uuid,
) -> ApiResult<Vec<ChannelMessage>> {
    let stmt = conn.prepare(SENT_BY).await?;
    let rows = conn.client.query(&stmt, &[&sender]).await.map_err(db_err)?;
    rows.iter().map(message_from_row).collect()
}

fn message_from_row(r: &Row) -> ApiResult<ChannelMessage> {
    let mode: i16 = get(r, 4)?;
    Ok(ChannelMessage {
        id: get(r, 0)?,
        code: get(r, 1)?,
        sender_id: get(r, 2)?,
        username: get(r, 3)?,
        stream: StreamId {
            mode: u8::try_from(mode).map_err(|e| internal("reading a message's stream mode", e))?,
            subject: get(r, 5)?,
            subcontext: get(r, 6)?,
            label: get(r, 7)?,
        },
        content: get(r, 8)?,
        create_time: get(r, 9)?,
        update_time: get(r, 10)?,
    })
}

impl MessageStore for PgStore {
    fn insert_message(&self, m: ChannelMessage) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let m = &m;
            let mode = i16::from(m.stream.mode);
            let mut conn = self.pool.get().await?;
            let sql = if m.sender_id.is_nil() {
                INSERT_SERVER
            } else {
                INSERT
            };
            let stmt = conn.prepare(sql).await?;
            conn.client
                .execute(
                    &stmt,
                    &[
                        &m.id,
                        &m.code,
                        &m.sender_id,
                        &m.username,
                        &mode,
                        &m.stream.subject,
                        &m.stream.subcontext,
                        &m.stream.label,
                        &m.content,
                        &m.create_time,
                        &m.update_time,
                    ],
                )
                .await
                .map_err(db_err)
                .and_then(|n| match n {
                    0 => Err(common::user_not_found()),
                    _ => Ok(()),
                })
        })
    }

    /// Returns the message's create time, or `None` when `sender` has no
    /// message `id` in `stream`.
    fn update_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
        username: String,
        content: String,
        update_time: i64,
    ) -> BoxFuture<'_, ApiResult<Option<i64>>> {
        Box::pin(async move {
            let (stream, username, content) = (&stream, username.as_str(), content.as_str());
            let mode = i16::from(stream.mode);
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(UPDATE).await?;
            let row = conn
                .client
                .query_opt(
                    &stmt,
                    &[
                        &username,
                        &content,
                        &update_time,
                        &id,
                        &sender,
                        &mode,
                        &stream.subject,
                        &stream.subcontext,
                        &stream.label,
                    ],
                )
                .await
                .map_err(db_err)?;
            row.map(|r| get(&r, 0)).transpose()
        })
    }

    /// Returns the removed message's create and update times, or `None`
    /// when `sender` has no message `id` in `stream`.
    fn remove_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
    ) -> BoxFuture<'_, ApiResult<Option<(i64, i64)>>> {
        Box::pin(async move {
            let stream = &stream;
            let mode = i16::from(stream.mode);
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(REMOVE).await?;
            let row = conn
                .client
                .query_opt(
                    &stmt,
                    &[
                        &id,
                        &sender,
                        &mode,
                        &stream.subject,
                        &stream.subcontext,
                        &stream.label,
                    ],
                )
                .await
                .map_err(db_err)?;
            row.map(|r| Ok((get(&r, 0)?, get(&r, 1)?))).transpose()
        })
    }

    /// Messages of `stream` by `(create_time, id)`: ascending after
    /// `after`, or descending before it.
    fn list_messages(
        &self,
        stream: StreamId,
        ascending: bool,
        after: Option<MessageKey>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<ChannelMessage>>> {
        Box::pin(async move {
            let stream = &stream;
            let mode = i16::from(stream.mode);
            let limit = common::sql_limit(limit);
            let sql = &LIST[usize::from(!ascending)][usize::from(after.is_some())];
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(sql.as_str()).await?;
            let rows = match after {
                None => {
                    conn.client
                        .query(
                            &stmt,
                            &[
                                &mode,
                                &stream.subject,
                                &stream.subcontext,
                                &stream.label,
                                &limit,
                            ],
                        )
                        .await
                }
                Some((time, id)) => {
                    conn.client
                        .query(
                            &stmt,
                            &[
                                &mode,
                                &stream.subject,
                                &stream.subcontext,
                                &stream.label,
                                &time,
                                &id,
                                &limit,
                            ],
                        )
                        .await
                }
            }
            .map_err(db_err)?;
            rows.iter().map(message_from_row).collect()
        })
    }
}
