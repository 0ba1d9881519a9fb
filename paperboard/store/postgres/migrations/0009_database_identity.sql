-- Who this database is: every index kept outside it (the keyword index under the data dir)
-- records this id and is rebuilt, never used, when it differs. Its own table, not a
-- checkpoints row: `db copy` copies checkpoints and gives the copy a new id.
CREATE TABLE database_identity (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    id TEXT NOT NULL
);
INSERT INTO database_identity (id) VALUES (replace(gen_random_uuid()::text, '-', ''));
