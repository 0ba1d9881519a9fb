-- Embedding vectors per (model, paper) in a pgvector column. ``seq`` orders writes so search
-- indexes catch up incrementally. Keyed by the paper's rowid, which survives a seed card's
-- id change. The column has no fixed dimension (models differ); the store adds one HNSW
-- index per model, on ``vector::vector(dim)`` restricted to that model, when the model's
-- first vectors arrive (see postgres/vectors.py).
-- pgvector is not a trusted extension: a superuser must run CREATE EXTENSION vector once
-- if the application's role may not (IF NOT EXISTS then needs no privilege).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE paper_vectors (
    model TEXT NOT NULL,
    paper_rowid BIGINT NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    vector vector NOT NULL,
    PRIMARY KEY (model, paper_rowid)
);
CREATE UNIQUE INDEX paper_vectors_seq ON paper_vectors (model, seq);
