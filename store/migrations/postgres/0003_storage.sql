-- Storage objects (see kairos_core::storage). `user_id` is the owner, the
-- nil id for system-owned objects, so it has no foreign key; account
-- deletion removes a user's objects itself. `version` is the MD5 hex of
-- `value`; `read` is 0, 1 or 2 and `write` 0 or 1; times are unix seconds.
CREATE TABLE IF NOT EXISTS storage (
    collection  TEXT     NOT NULL,
    key         TEXT     NOT NULL,
    user_id     UUID     NOT NULL,
    value       TEXT     NOT NULL,
    version     TEXT     NOT NULL,
    read        SMALLINT NOT NULL,
    write       SMALLINT NOT NULL,
    create_time BIGINT   NOT NULL,
    update_time BIGINT   NOT NULL,
    PRIMARY KEY (collection, key, user_id)
);
-- Listings: a collection by (read, key, user_id), and one owner's objects.
CREATE INDEX IF NOT EXISTS storage_list_idx ON storage (collection, read, key, user_id);
CREATE INDEX IF NOT EXISTS storage_owner_idx ON storage (user_id, collection, read, key);
