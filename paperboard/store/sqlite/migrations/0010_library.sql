-- "For you": a user's library (saved papers with a private note), collections (reading
-- lists), dismissals ("not interested"), authorship claims, and imported ids the store did
-- not have yet. Every row belongs to one user and goes with them.
ALTER TABLE users ADD COLUMN display_name TEXT;

CREATE TABLE library_items (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON UPDATE CASCADE ON DELETE CASCADE,
    note TEXT,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
);
CREATE INDEX library_items_saved ON library_items (user_id, saved_at);
CREATE INDEX library_items_paper ON library_items (paper_id);

CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    is_public INTEGER NOT NULL DEFAULT 0,
    share_token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, name)
);

-- A paper in a collection is in the library: unsaving it takes it out of every collection.
CREATE TABLE collection_items (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    paper_id TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (collection_id, paper_id),
    FOREIGN KEY (user_id, paper_id) REFERENCES library_items (user_id, paper_id) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX collection_items_library ON collection_items (user_id, paper_id);

CREATE TABLE dismissals (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON UPDATE CASCADE ON DELETE CASCADE,
    dismissed_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
);

CREATE TABLE authorship_claims (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON UPDATE CASCADE ON DELETE CASCADE,
    author_name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
    created_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (user_id, paper_id)
);
CREATE INDEX authorship_claims_status ON authorship_claims (status, created_at);
CREATE INDEX authorship_claims_paper ON authorship_claims (paper_id);

-- Imported arXiv ids the store lacked (offline, or not yet fetched): saved when they arrive.
CREATE TABLE library_pending (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    arxiv_id TEXT NOT NULL,
    collection_id INTEGER REFERENCES collections (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, arxiv_id)
);
CREATE INDEX library_pending_id ON library_pending (arxiv_id);
