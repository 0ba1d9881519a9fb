-- The "For you" digest: a user's personal recommendations by email, daily (weekdays) or
-- weekly, through the same outbox as the other digests.
--
-- The choice is a column on subscribers, not a user setting: an email goes to an address,
-- and the address row already carries what sending needs (double opt-in status, bounces,
-- the one-click unsubscribe link, the outbox's foreign key). A user setting would need a
-- second place to say "which address" and a join to keep the two in step. The address
-- must belong to the user (user_id), and a partial unique index keeps it to one address per
-- user, so nobody gets the same recommendations twice. Leaving the list (unsubscribe)
-- turns it off too; the foryou unsubscribe link turns off only this.
ALTER TABLE subscribers ADD COLUMN foryou TEXT NOT NULL DEFAULT 'off'
    CHECK (foryou IN ('off', 'daily', 'weekly'));
CREATE UNIQUE INDEX subscribers_foryou_user ON subscribers (user_id) WHERE foryou <> 'off';

-- The outbox's kind CHECK admits 'foryou' (PostgreSQL swaps the constraint in place; every
-- row and index stays).
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('daily', 'weekly', 'alerts', 'confirm', 'foryou'));
