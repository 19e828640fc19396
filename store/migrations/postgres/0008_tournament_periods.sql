-- Tournaments: `size` counts the players of one period, the one whose
-- records expire at `size_expiry` (a count for an older period reads as
-- 0, so a reset needs no write); `last_end` is the latest close of an
-- active window whose end hook was fired (0: none), compared and set so
-- each fires once, across restarts too.
ALTER TABLE tournament ADD COLUMN size_expiry BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tournament ADD COLUMN last_end BIGINT NOT NULL DEFAULT 0;
