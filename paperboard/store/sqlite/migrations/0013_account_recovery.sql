-- Accounts people can recover and leave: single-use tokens for a password reset and for an
-- email address change, a case-insensitive lookup of accounts by address, and comments that
-- can outlive their author (shown as "deleted user").
--
-- Only a SHA-256 of a token's random part is stored (as for sessions): a copied database
-- cannot reset anyone's password. ``email`` is the address the link was sent to: a reset
-- link dies when the account's address changes, an address change sets exactly it.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'email')),
    email TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

CREATE INDEX users_email ON users (lower(email));

-- A deleted account's submissions stay but stop naming it: found without scanning papers.
CREATE INDEX papers_submitted_by ON papers (submitted_by) WHERE submitted_by IS NOT NULL;

-- A deleted account's comments may stay: user_id becomes NULL. SQLite cannot relax a NOT
-- NULL or change a foreign key's action, so the table is rebuilt: the same columns in the
-- same order, every row and id copied, then its index. Nothing references comments.
CREATE TABLE comments_new (
    id INTEGER PRIMARY KEY,
    paper_id TEXT NOT NULL REFERENCES papers (id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0
);
INSERT INTO comments_new (id, paper_id, user_id, body, created_at, hidden)
SELECT id, paper_id, user_id, body, created_at, hidden FROM comments;
DROP TABLE comments;
ALTER TABLE comments_new RENAME TO comments;
CREATE INDEX comments_paper ON comments (paper_id, created_at);
CREATE INDEX comments_user ON comments (user_id);
