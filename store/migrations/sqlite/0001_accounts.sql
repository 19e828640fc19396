CREATE TABLE IF NOT EXISTS users (
    id                       TEXT    PRIMARY KEY,
    username                 TEXT    NOT NULL UNIQUE,
    display_name             TEXT,
    avatar_url               TEXT,
    lang_tag                 TEXT    NOT NULL DEFAULT 'en',
    location                 TEXT,
    timezone                 TEXT,
    metadata                 TEXT    NOT NULL DEFAULT '{}',
    wallet                   TEXT    NOT NULL DEFAULT '{}',
    email                    TEXT    UNIQUE,
    password                 BLOB,
    custom_id                TEXT    UNIQUE,
    facebook_id              TEXT    UNIQUE,
    google_id                TEXT    UNIQUE,
    gamecenter_id            TEXT    UNIQUE,
    steam_id                 TEXT    UNIQUE,
    apple_id                 TEXT    UNIQUE,
    facebook_instant_game_id TEXT    UNIQUE,
    edge_count               INTEGER NOT NULL DEFAULT 0,
    create_time              INTEGER NOT NULL,
    update_time              INTEGER NOT NULL,
    verify_time              INTEGER,
    disable_time             INTEGER
);

CREATE TABLE IF NOT EXISTS user_device (
    id      TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS user_device_user_id_idx ON user_device (user_id);

CREATE TABLE IF NOT EXISTS user_tombstone (
    user_id     TEXT    PRIMARY KEY,
    create_time INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS session_revocation (
    token_id   TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS session_cutoff (
    user_id   TEXT    PRIMARY KEY,
    cutoff_ms INTEGER NOT NULL
);
