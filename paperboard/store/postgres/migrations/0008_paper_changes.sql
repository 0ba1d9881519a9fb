-- The change feed of the searchable text, for the Tantivy keyword index kept next to the
-- database (search/keyword_index.py), with the semantics of SQLite's migration 0007: every
-- insert, every change of title/abstract/authors/hidden and every delete appends the
-- paper's rowid; the index remembers how far it applied the feed and catches up from there.
--
-- Commit order. SQLite has one writer, so its seqs become visible in order. PostgreSQL takes
-- a sequence value long before the transaction commits: a reader may see seq 10 committed
-- while seq 9's transaction is still open, and an index that applied "up to 10" would never
-- apply 9. So each change also records its transaction's id (xid8: 64 bits, never wraps),
-- and the feed is read in (xid, seq) order and only below the oldest transaction still
-- running (pg_snapshot_xmin of the reader's snapshot). Every transaction below that horizon
-- has ended, and every one that writes later gets a larger id, so the feed below the
-- horizon never changes again: the reader's position only moves forward and nothing is
-- skipped. A transaction left open delays the index (never loses a change).
-- store/postgres/changes.py reads it.
CREATE TABLE paper_changes (
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    paper_rowid BIGINT NOT NULL,
    PRIMARY KEY (xid, seq)
);

-- The epoch tells an index built for another database (or before a restore, or for the
-- database this one was cloned from: the reader adds the database's oid) that it must
-- start over. Its own table, not a checkpoints row: `db copy` copies SQLite's checkpoints.
CREATE TABLE paper_changes_epoch (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    epoch TEXT NOT NULL
);
INSERT INTO paper_changes_epoch (epoch) VALUES (replace(gen_random_uuid()::text, '-', ''));

-- Inserts and deletes per statement (a COPY of 75,000 papers is one INSERT here, not 75,000),
-- text changes per row, so the many updates that change none of it (votes) cost nothing.
CREATE FUNCTION paperboard_paper_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO paper_changes (paper_rowid) SELECT rowid FROM inserted_papers ORDER BY rowid;
    RETURN NULL;
END
$$;
CREATE TRIGGER paper_changes_insert AFTER INSERT ON papers
    REFERENCING NEW TABLE AS inserted_papers
    FOR EACH STATEMENT EXECUTE FUNCTION paperboard_paper_inserted();

CREATE FUNCTION paperboard_paper_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO paper_changes (paper_rowid) VALUES (NEW.rowid);
    RETURN NULL;
END
$$;
CREATE TRIGGER paper_changes_update AFTER UPDATE OF title, abstract, authors, hidden ON papers
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract
          OR OLD.authors IS DISTINCT FROM NEW.authors OR OLD.hidden IS DISTINCT FROM NEW.hidden)
    EXECUTE FUNCTION paperboard_paper_changed();

CREATE FUNCTION paperboard_paper_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO paper_changes (paper_rowid) SELECT rowid FROM deleted_papers ORDER BY rowid;
    RETURN NULL;
END
$$;
CREATE TRIGGER paper_changes_delete AFTER DELETE ON papers
    REFERENCING OLD TABLE AS deleted_papers
    FOR EACH STATEMENT EXECUTE FUNCTION paperboard_paper_deleted();

-- TRUNCATE (db copy --replace) removes papers without row triggers: a new epoch makes every
-- index start over from the papers as they are.
CREATE FUNCTION paperboard_papers_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE paper_changes_epoch SET epoch = replace(gen_random_uuid()::text, '-', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER paper_changes_truncate AFTER TRUNCATE ON papers
    FOR EACH STATEMENT EXECUTE FUNCTION paperboard_papers_truncated();

-- No initial fill (SQLite's 0007 has one): a new epoch means every index is built from the
-- papers themselves, so rows for the papers already here would only be skipped.
