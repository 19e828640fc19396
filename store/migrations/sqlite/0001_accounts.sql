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
    email                    TEXT   ,
    password                 BLOB,
    custom_id                TEXT   ,
    facebook_id              TEXT   ,
    google_id                TEXT   ,
    gamecenter_id            TEXT   ,
    steam_id                 TEXT   ,
    apple_id                 TEXT   ,
    facebook_instant_game_id TEXT   ,
    edge_count               INTEGER NOT NULL DEFAULT 0,
    create_time              INTEGER NOT NULL,
    update_time              INTEGER NOT NULL,
    verify_time              INTEGER,
    disable_time             INTEGER
);

-- Optional identifiers are unique where present. Partial indexes leave the
-- (many) NULLs out, so creating an account touches only the indexes it uses.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_custom_id_key ON users (custom_id) WHERE custom_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_facebook_id_key ON users (facebook_id) WHERE facebook_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_google_id_key ON users (google_id) WHERE google_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_gamecenter_id_key ON users (gamecenter_id) WHERE gamecenter_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_steam_id_key ON users (steam_id) WHERE steam_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_apple_id_key ON users (apple_id) WHERE apple_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_facebook_instant_game_id_key ON users (facebook_instant_game_id) WHERE facebook_instant_game_id IS NOT NULL;

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
