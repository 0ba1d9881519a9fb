-- Accounts people can recover and leave: single-use tokens for a password reset and for an
-- email address change, a case-insensitive lookup of accounts by address, and comments that
-- can outlive their author (shown as "deleted user").
--
-- Only a SHA-256 of a token's random part is stored (as for sessions): a copied database
-- cannot reset anyone's password. ``email`` is the address the link was sent to: a reset
-- link dies when the account's address changes, an address change sets exactly it.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('reset', 'email')),
    email TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

CREATE INDEX users_email ON users (lower(email));

-- A deleted account's submissions stay but stop naming it: found without scanning papers.
CREATE INDEX papers_submitted_by ON papers (submitted_by) WHERE submitted_by IS NOT NULL;

-- A deleted account's comments may stay: user_id becomes NULL (the constraint is swapped in
-- place; every row and index stays).
ALTER TABLE comments ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE comments DROP CONSTRAINT comments_user_id_fkey;
ALTER TABLE comments ADD CONSTRAINT comments_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX comments_user ON comments (user_id);
