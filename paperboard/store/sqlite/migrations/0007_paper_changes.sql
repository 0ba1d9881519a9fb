-- A change feed of the searchable text, for the keyword index kept next to the database
-- (search/keyword_index.py): every insert, every change of title/abstract/authors/hidden and
-- every delete appends the paper's rowid. The index remembers the last seq it applied and
-- catches up from there; AUTOINCREMENT never reuses a seq. The epoch tells an index built
-- for another database (or before a restore) that it must start over.
CREATE TABLE paper_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    paper_rowid INTEGER NOT NULL
);

CREATE TRIGGER paper_changes_insert AFTER INSERT ON papers BEGIN
    INSERT INTO paper_changes (paper_rowid) VALUES (new.rowid);
END;

CREATE TRIGGER paper_changes_update AFTER UPDATE OF title, abstract, authors, hidden ON papers
WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract
     OR old.authors IS NOT new.authors OR old.hidden IS NOT new.hidden
BEGIN
    INSERT INTO paper_changes (paper_rowid) VALUES (new.rowid);
END;

CREATE TRIGGER paper_changes_delete AFTER DELETE ON papers BEGIN
    INSERT INTO paper_changes (paper_rowid) VALUES (old.rowid);
END;

INSERT INTO paper_changes (paper_rowid) SELECT rowid FROM papers ORDER BY rowid;

INSERT INTO checkpoints (name, value, updated_at)
VALUES ('paper_changes_epoch', lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
