-- Similar papers, computed once per paper and kept (the paper page's slowest part: scoring
-- ~100 candidates costs tens of milliseconds, reading a row well under one). ``signature``
-- names the scoring and the vectors it used, ``head`` the change feed's position when it was
-- computed: a newer corpus or stronger vectors make the row stale, and it is recomputed.
CREATE TABLE similar_cache (
    paper_rowid BIGINT PRIMARY KEY REFERENCES papers (rowid) ON DELETE CASCADE,
    signature TEXT NOT NULL,
    head TEXT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL,
    neighbours TEXT NOT NULL
);
