-- Leaderboards (created by game code) and their records: one per owner
-- per period, the period named by its expiry (unix seconds, 0 for a board
-- that never resets). Scores are never negative, as Nakama's CHECKs.
-- Times are unix seconds. `last_reset` is the latest reset whose hook was
-- fired, so a reset fires once across restarts.
CREATE TABLE IF NOT EXISTS leaderboard (
    id             TEXT    PRIMARY KEY,
    authoritative  INTEGER NOT NULL DEFAULT 0,
    sort_order     INTEGER NOT NULL DEFAULT 1,
    operator       INTEGER NOT NULL DEFAULT 0,
    reset_schedule TEXT    NOT NULL DEFAULT '',
    metadata       TEXT    NOT NULL DEFAULT '{}',
    create_time    BIGINT  NOT NULL,
    enable_ranks   INTEGER NOT NULL DEFAULT 1,
    last_reset     BIGINT  NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS leaderboard_record (
    leaderboard_id TEXT    NOT NULL REFERENCES leaderboard (id) ON DELETE CASCADE,
    expiry_time    BIGINT  NOT NULL DEFAULT 0,
    owner_id       TEXT    NOT NULL,
    username       TEXT,
    score          BIGINT  NOT NULL DEFAULT 0 CHECK (score >= 0),
    subscore       BIGINT  NOT NULL DEFAULT 0 CHECK (subscore >= 0),
    num_score      INTEGER NOT NULL DEFAULT 1 CHECK (num_score >= 0),
    max_num_score  INTEGER NOT NULL DEFAULT 1000000,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    create_time    BIGINT  NOT NULL,
    update_time    BIGINT  NOT NULL,
    PRIMARY KEY (leaderboard_id, expiry_time, owner_id)
);
CREATE INDEX IF NOT EXISTS leaderboard_record_order_idx
    ON leaderboard_record (leaderboard_id, expiry_time, score, subscore, owner_id);
CREATE INDEX IF NOT EXISTS leaderboard_record_owner_idx ON leaderboard_record (owner_id);
