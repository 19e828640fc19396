-- The wallet ledger: one row per recorded wallet change (the wallet itself
-- is `users.wallet`). `changeset` and `metadata` are JSON objects; times
-- are unix microseconds, newest listed first.
CREATE TABLE IF NOT EXISTS wallet_ledger (
    id          UUID   PRIMARY KEY,
    user_id     UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    changeset   TEXT   NOT NULL,
    metadata    TEXT   NOT NULL DEFAULT '{}',
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS wallet_ledger_user_idx ON wallet_ledger (user_id, create_time, id);
