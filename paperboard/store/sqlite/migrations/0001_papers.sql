-- Papers, their full-text index, aliases of merged local ids, and job checkpoints.
CREATE TABLE papers (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL DEFAULT 1,
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    abstract TEXT NOT NULL DEFAULT '',
    authors TEXT NOT NULL DEFAULT '[]',
    author_count INTEGER,
    categories TEXT NOT NULL DEFAULT '[]',
    primary_category TEXT,
    published TEXT,
    updated TEXT,
    comment TEXT,
    journal_ref TEXT,
    doi TEXT,
    license TEXT,
    code_urls TEXT NOT NULL DEFAULT '[]',
    project_urls TEXT NOT NULL DEFAULT '[]',
    organization TEXT,
    feed_day TEXT NOT NULL,
    submitted_by TEXT,
    base_upvotes INTEGER NOT NULL DEFAULT 0,
    upvotes INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL
);
CREATE INDEX papers_day_upvotes ON papers (feed_day, upvotes DESC);
CREATE INDEX papers_day_published ON papers (feed_day, published DESC);
CREATE INDEX papers_organization ON papers (organization COLLATE NOCASE);
CREATE INDEX papers_title_key ON papers (title_key);
CREATE INDEX papers_primary_category ON papers (primary_category);
CREATE INDEX papers_local ON papers (id) WHERE id LIKE 'pb-%';

CREATE VIRTUAL TABLE papers_fts USING fts5 (
    title, abstract, authors,
    content='papers', content_rowid='rowid',
    tokenize='porter unicode61 remove_diacritics 2'
);
-- New rows are indexed by the store in one INSERT ... SELECT per batch (about twice as fast
-- as a per-row trigger); updates and deletes keep the index in sync through triggers.
CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
    VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
END;
CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors ON papers
WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract OR old.authors IS NOT new.authors
BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
    VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
    INSERT INTO papers_fts (rowid, title, abstract, authors)
    VALUES (new.rowid, new.title, new.abstract, new.authors);
END;

CREATE TABLE paper_aliases (
    alias TEXT PRIMARY KEY,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE checkpoints (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
