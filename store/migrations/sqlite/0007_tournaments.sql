-- Tournaments: a leaderboard (same id, deleted with it) with Nakama's
-- extra fields. Times are unix seconds; `end_time` 0 never ends; `size`
-- counts the players held against `max_size` (2147483647: no cap).
CREATE TABLE IF NOT EXISTS tournament (
    id            TEXT    PRIMARY KEY REFERENCES leaderboard (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL DEFAULT '',
    description   TEXT    NOT NULL DEFAULT '',
    category      INTEGER NOT NULL DEFAULT 0 CHECK (category >= 0 AND category < 128),
    duration      BIGINT  NOT NULL CHECK (duration > 0),
    start_time    BIGINT  NOT NULL DEFAULT 0,
    end_time      BIGINT  NOT NULL DEFAULT 0,
    max_size      INTEGER NOT NULL DEFAULT 2147483647 CHECK (max_size > 0),
    max_num_score INTEGER NOT NULL DEFAULT 1000000 CHECK (max_num_score > 0),
    join_required INTEGER NOT NULL DEFAULT 0,
    size          INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0)
);
CREATE INDEX IF NOT EXISTS tournament_list_idx ON tournament (category, start_time, end_time, id);
