CREATE TABLE IF NOT EXISTS users (
    id                       UUID         PRIMARY KEY,
    username                 VARCHAR(128) NOT NULL UNIQUE,
    display_name             VARCHAR(255),
    avatar_url               VARCHAR(512),
    lang_tag                 VARCHAR(18)  NOT NULL DEFAULT 'en',
    location                 VARCHAR(255),
    timezone                 VARCHAR(255),
    metadata                 TEXT         NOT NULL DEFAULT '{}',
    wallet                   TEXT         NOT NULL DEFAULT '{}',
    email                    VARCHAR(255),
    password                 BYTEA,
    custom_id                VARCHAR(128),
    facebook_id              VARCHAR(128),
    google_id                VARCHAR(128),
    gamecenter_id            VARCHAR(128),
    steam_id                 VARCHAR(128),
    apple_id                 VARCHAR(128),
    facebook_instant_game_id VARCHAR(128),
    edge_count               INTEGER      NOT NULL DEFAULT 0,
    create_time              BIGINT       NOT NULL,
    update_time              BIGINT       NOT NULL,
    verify_time              BIGINT,
    disable_time             BIGINT
);

-- Optional identifiers are unique where present; partial indexes leave the
-- NULLs out, so creating an account touches only the indexes it uses.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_custom_id_key ON users (custom_id) WHERE custom_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_facebook_id_key ON users (facebook_id) WHERE facebook_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_google_id_key ON users (google_id) WHERE google_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_gamecenter_id_key ON users (gamecenter_id) WHERE gamecenter_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_steam_id_key ON users (steam_id) WHERE steam_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_apple_id_key ON users (apple_id) WHERE apple_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_facebook_instant_game_id_key ON users (facebook_instant_game_id) WHERE facebook_instant_game_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS user_device (
    id      VARCHAR(128) PRIMARY KEY,
    user_id UUID         NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS user_device_user_id_idx ON user_device (user_id);

CREATE TABLE IF NOT EXISTS user_tombstone (
    user_id     UUID   PRIMARY KEY,
    create_time BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS session_revocation (
    token_id   UUID   PRIMARY KEY,
    user_id    UUID   NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS session_cutoff (
    user_id   UUID   PRIMARY KEY,
    cutoff_ms BIGINT NOT NULL
);
