-- Kept similar lists are refreshed when a newer paper may belong in them, not on a timer:
-- ``newest_key`` is the newest paper key when the list was computed, ``dirty_since`` when a
-- newer paper listed this one among its own neighbours (or a neighbour was hidden, or the
-- scoring changed). The worker recomputes dirty lists; the page keeps showing the old one.
-- Lists kept before this migration count as computed over the papers there are now.
ALTER TABLE similar_cache ADD COLUMN newest_key BIGINT NOT NULL DEFAULT 0;
ALTER TABLE similar_cache ADD COLUMN dirty_since TIMESTAMPTZ;
UPDATE similar_cache SET newest_key = (SELECT COALESCE(MAX(rowid), 0) FROM papers);
CREATE INDEX similar_cache_dirty ON similar_cache (dirty_since) WHERE dirty_since IS NOT NULL;
