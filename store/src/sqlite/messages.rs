//! Chat history on SQLite. A message is addressed by its id, its sender and
//! its whole stream, so nobody edits another's message or one elsewhere.

use kairos_core::channel::{ChannelMessage, MessageKey};
use kairos_core::error::ApiResult;
use kairos_core::stream::StreamId;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec};
use super::rows::uuid_at;
use crate::common;
use crate::{BoxFuture, MessageStore};

impl MessageStore for SqliteStore {
    fn insert_message(&self, message: ChannelMessage) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.insert_message(message)))
    }

    fn update_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
        username: String,
        content: String,
        update_time: i64,
    ) -> BoxFuture<'_, ApiResult<Option<i64>>> {
        Box::pin(self.blocking(move |db| {
            db.update_message(&stream, id, sender, &username, &content, update_time)
        }))
    }

    fn remove_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
    ) -> BoxFuture<'_, ApiResult<Option<(i64, i64)>>> {
        Box::pin(self.blocking(move |db| db.remove_message(&stream, id, sender)))
    }

    fn list_messages(
        &self,
        stream: StreamId,
        ascending: bool,
        after: Option<MessageKey>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<ChannelMessage>>> {
        Box::pin(self.blocking(move |db| db.list_messages(&stream, ascending, after, limit)))
    }
}

impl Db {
    /// Stores a message if its sender exists (or is the server's nil
    /// id), in one statement: SQLite
    /// runs one writer at a time, so an account deletion is wholly before
    /// or after it, and no row is left under a deleted sender.
    pub fn insert_message(&self, m: ChannelMessage) -> ApiResult<()> {
        let inserted = self.write(|c| {
            exec(
                c,
                "INSERT INTO message (id, code, sender_id, username, stream_mode, stream_subject, stream_subcontext,
                   stream_label, content, create_time, update_time)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
                 WHERE ?12 OR EXISTS (SELECT 1 FROM users WHERE id = ?3)",
                params![
                    m.id.to_string(),
                    m.code,
                    m.sender_id.to_string(),
                    m.username,
                    m.stream.mode,
                    m.stream.subject,
                    m.stream.subcontext,
                    m.stream.label,
                    m.content,
                    m.create_time,
                    m.update_time,
                    m.sender_id.is_nil()
                ],
            )
            .map_err(db_err)
        })?;
        if inserted == 0 {
            return Err(common::user_not_found());
        }
        Ok(())
    }

    /// Returns the message's create time, or `None` when `sender` has no
    /// message `id` in `stream`.
    pub fn update_message(
        &self,
        stream: &StreamId,
        id: Uuid,
        sender: Uuid,
        username: &str,
        content: &str,
        update_time: i64,
    ) -> ApiResult<Option<i64>> {
        self.write(|c| {
            c.prepare_cached(
                "UPDATE message SET username = ?1, content = ?2, update_time = ?3
                 WHERE id = ?4 AND sender_id = ?5 AND stream_mode = ?6 AND stream_subject = ?7
                   AND stream_subcontext = ?8 AND stream_label = ?9
                 RETURNING create_time",
            )
            .map_err(db_err)?
            .query_row(
                params![
                    username,
                    content,
                    update_time,
                    id.to_string(),
                    sender.to_string(),
                    stream.mode,
                    stream.subject,
                    stream.subcontext,
                    stream.label
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
        })
    }

    /// Returns the removed message's create and update times, or `None`
    /// when `sender` has no message `id` in `stream`.
    pub fn remove_message(
        &self,
        stream: &StreamId,
        id: Uuid,
        sender: Uuid,
    ) -> ApiResult<Option<(i64, i64)>> {
        self.write(|c| {
            c.prepare_cached(
                "DELETE FROM message
                 WHERE id = ?1 AND sender_id = ?2 AND stream_mode = ?3 AND stream_subject = ?4
                   AND stream_subcontext = ?5 AND stream_label = ?6
                 RETURNING create_time, update_time",
            )
            .map_err(db_err)?
            .query_row(
                params![
                    id.to_string(),
                    sender.to_string(),
                    stream.mode,
                    stream.subject,
                    stream.subcontext,
                    stream.label
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)
        })
    }

    /// Messages of `stream` by `(create_time, id)`: ascending after
    /// `after`, or descending before it.
    pub fn list_messages(
        &self,
        stream: &StreamId,
        ascending: bool,
        after: Option<MessageKey>,
        limit: usize,
    ) -> ApiResult<Vec<ChannelMessage>> {
        let mut sql = String::from(
            "SELECT id, code, sender_id, username, stream_mode, stream_subject, stream_subcontext, stream_label,
               content, create_time, update_time
             FROM message
             WHERE stream_mode = ?1 AND stream_subject = ?2 AND stream_subcontext = ?3 AND stream_label = ?4",
        );
        let mut args: Vec<Value> = vec![
            Value::Integer(stream.mode.into()),
            Value::Text(stream.subject.clone()),
            Value::Text(stream.subcontext.clone()),
            Value::Text(stream.label.clone()),
        ];
        let (op, order) = if ascending {
            (">", "create_time, id")
        } else {
            ("<", "create_time DESC, id DESC")
        };
        if let Some((time, id)) = after {
            args.push(Value::Integer(time));
            args.push(Value::Text(id.to_string()));
            sql.push_str(&format!(" AND (create_time, id) {op} (?5, ?6)"));
        }
        args.push(Value::Integer(common::sql_limit(limit)));
        sql.push_str(&format!(" ORDER BY {order} LIMIT ?{}", args.len()));
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), message_from_row)
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
    }
}

const MESSAGE_COLUMNS: &str = "id, code, sender_id, username, stream_mode, stream_subject, \
    stream_subcontext, stream_label, content, create_time, update_time";

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChannelMessage> {
    Ok(ChannelMessage {
        id: uuid_at(r, 0)?,
        code: r.get(1)?,
        sender_id: uuid_at(r, 2)?,
        username: r.get(3)?,
        stream: StreamId {
            mode: r.get(4)?,
            subject: r.get(5)?,
            subcontext: r.get(6)?,
            label: r.get(7)?,
        },
        content: r.get(8)?,
        create_time: r.get(9)?,
        update_time: r.get(10)?,
    })
}

/// Every message `sender` sent, oldest first (an account export).
pub(super) fn sent_by(c: &Connection, sender: &str) -> ApiResult<Vec<ChannelMessage>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM message WHERE sender_id = ?1 ORDER BY create_time, id"
    );
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt.query_map([sender], message_from_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err)
}
