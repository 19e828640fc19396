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
    email                    VARCHAR(255) UNIQUE,
    password                 BYTEA,
    custom_id                VARCHAR(128) UNIQUE,
    facebook_id              VARCHAR(128) UNIQUE,
    google_id                VARCHAR(128) UNIQUE,
    gamecenter_id            VARCHAR(128) UNIQUE,
    steam_id                 VARCHAR(128) UNIQUE,
    apple_id                 VARCHAR(128) UNIQUE,
    facebook_instant_game_id VARCHAR(128) UNIQUE,
    edge_count               INTEGER      NOT NULL DEFAULT 0,
    create_time              BIGINT       NOT NULL,
    update_time              BIGINT       NOT NULL,
    verify_time              BIGINT,
    disable_time             BIGINT
);

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
