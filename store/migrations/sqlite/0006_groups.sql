-- Groups (see kairos_core::group). `open` is 1 or 0; `edge_count` counts
-- the members (states 0 to 2) and is kept by every change in the same
-- transaction; times are unix seconds. The name is unique, as in Nakama.
CREATE TABLE IF NOT EXISTS groups (
    id          TEXT    PRIMARY KEY,
    creator_id  TEXT    NOT NULL,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    avatar_url  TEXT    NOT NULL DEFAULT '',
    lang_tag    TEXT    NOT NULL DEFAULT 'en',
    metadata    TEXT    NOT NULL DEFAULT '{}',
    open        INTEGER NOT NULL,
    edge_count  INTEGER NOT NULL CHECK (edge_count >= 0),
    max_count   INTEGER NOT NULL CHECK (max_count >= 1),
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
-- The listings' orders: by update time, by language, by members.
CREATE INDEX IF NOT EXISTS groups_update_idx ON groups (update_time, edge_count, id);
CREATE INDEX IF NOT EXISTS groups_lang_idx ON groups (lang_tag, edge_count, id);
CREATE INDEX IF NOT EXISTS groups_edge_idx ON groups (edge_count, id);

-- A user's place in a group: `state` 0 superadmin, 1 admin, 2 member,
-- 3 join request, 4 banned; `position` (unix nanoseconds when the edge
-- was made) orders the edges of one state.
CREATE TABLE IF NOT EXISTS group_edge (
    group_id    TEXT    NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state       INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS group_edge_group_idx ON group_edge (group_id, state, position, user_id);
CREATE INDEX IF NOT EXISTS group_edge_user_idx ON group_edge (user_id, state, position, group_id);
