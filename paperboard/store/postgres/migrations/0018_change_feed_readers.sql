-- Housekeeping for the change feed (0008), which otherwise grows with every write for ever.
-- Each index that reads the feed reports how far it has applied it (one row per index
-- directory: several web hosts each keep their own); store/change_feed.py deletes the changes
-- every live reader has passed. A reader silent for longer than the retention no longer holds
-- the feed back, and rebuilds from the papers if it finds its position pruned.
-- Positions are xid * 2^64 + seq (store/postgres/changes.py): 128 bits, hence NUMERIC.
CREATE TABLE change_feed_readers (
    reader TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    epoch TEXT NOT NULL,
    position NUMERIC NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL
);

-- How far the feed has been pruned: changes before ``below`` may be gone, so a reader whose
-- position is lower must rebuild instead of catching up. Written in the same transaction as
-- each batch it deletes. Its name keeps it out of `db copy` with the feed (another numbering).
CREATE TABLE paper_changes_pruned (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    below NUMERIC NOT NULL,
    deleted BIGINT NOT NULL,
    pruned_at TIMESTAMPTZ NOT NULL
);
