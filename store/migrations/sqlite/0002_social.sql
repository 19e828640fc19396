-- Friends: one directed edge per pair of users and direction. `state` is
-- 0 friend, 1 invite sent, 2 invite received, 3 blocked; `position` (unix
-- nanoseconds at creation) orders a user's edges within a state.
CREATE TABLE IF NOT EXISTS user_edge (
    source_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    destination_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state          INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    update_time    INTEGER NOT NULL,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (source_id, destination_id)
);
-- Listing a user's edges by (state, position, destination).
CREATE INDEX IF NOT EXISTS user_edge_list_idx ON user_edge (source_id, state, position, destination_id);
-- Edges pointing at a user: account deletion, and the cascade it triggers.
CREATE INDEX IF NOT EXISTS user_edge_destination_idx ON user_edge (destination_id);

-- Persistent notifications, kept until their user deletes them.
-- `sender_id` is NULL when the server sent it; `create_time` is unix micros.
CREATE TABLE IF NOT EXISTS notification (
    id          TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject     TEXT    NOT NULL,
    content     TEXT    NOT NULL DEFAULT '{}',
    code        INTEGER NOT NULL,
    sender_id   TEXT,
    create_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_user_idx ON notification (user_id, create_time, id);

-- Chat history. No foreign key on the sender: history outlives accounts.
-- Times are unix micros.
CREATE TABLE IF NOT EXISTS message (
    id                TEXT    PRIMARY KEY,
    code              INTEGER NOT NULL,
    sender_id         TEXT    NOT NULL,
    username          TEXT    NOT NULL,
    stream_mode       INTEGER NOT NULL,
    stream_subject    TEXT    NOT NULL,
    stream_subcontext TEXT    NOT NULL,
    stream_label      TEXT    NOT NULL,
    content           TEXT    NOT NULL,
    create_time       INTEGER NOT NULL,
    update_time       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS message_stream_idx ON message (stream_mode, stream_subject, stream_subcontext, stream_label, create_time, id);
