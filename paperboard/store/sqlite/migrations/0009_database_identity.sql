-- Who this database is: every index kept outside it (the vector graph, the keyword index,
-- under the data dir) records this id and is rebuilt, never used, when it differs, so two
-- databases sharing one data dir never answer from each other's index. Its own table, not
-- a checkpoints row: `db copy` copies checkpoints, and a copy must get an id of its own.
CREATE TABLE database_identity (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    id TEXT NOT NULL
);
INSERT INTO database_identity (one, id) VALUES (1, lower(hex(randomblob(16))));
