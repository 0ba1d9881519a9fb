-- Housekeeping for the change feed (0007), which otherwise grows with every write for ever.
-- Each index that reads the feed reports how far it has applied it (one row per index
-- directory: several web hosts each keep their own); store/change_feed.py deletes the changes
-- every live reader has passed. A reader silent for longer than the retention no longer holds
-- the feed back, and rebuilds from the papers if it finds its position pruned.
-- Positions are numbers (PostgreSQL's need 128 bits: NUMERIC there).
CREATE TABLE change_feed_readers (
    reader TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    epoch TEXT NOT NULL,
    position INTEGER NOT NULL,
    reported_at TEXT NOT NULL
);

-- How far the feed has been pruned: changes before ``below`` may be gone, so a reader whose
-- position is lower must rebuild instead of catching up. Written in the same transaction as
-- each batch it deletes. Its name keeps it out of `db copy` with the feed (another numbering).
CREATE TABLE paper_changes_pruned (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    below INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    pruned_at TEXT NOT NULL
);
