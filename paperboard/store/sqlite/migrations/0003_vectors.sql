-- Embedding vectors per (model, paper). ``seq`` orders writes so search indexes catch up
-- incrementally. Keyed by the paper's rowid, which survives a seed card's id change.
CREATE TABLE paper_vectors (
    model TEXT NOT NULL,
    paper_rowid INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, paper_rowid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX paper_vectors_seq ON paper_vectors (model, seq);
