-- The admin audit log: who did what to which thing, and when (hide or unhide a paper or a
-- comment, delete someone else's comment, promote or revoke an admin, decide an authorship
-- claim). Rows are only ever added. The actor's name is kept as text beside the id, so the
-- log still says who acted after that account is deleted (the id then becomes NULL); actions
-- taken from the command line have no account and name the operating-system user.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id);
CREATE INDEX audit_log_actor ON audit_log (actor_id);
