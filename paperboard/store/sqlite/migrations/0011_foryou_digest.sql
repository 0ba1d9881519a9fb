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

-- The outbox's kind CHECK must admit 'foryou'. SQLite cannot alter a CHECK, so the table is
-- rebuilt: the same columns in the same order, every row and id copied, then its indexes.
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('daily', 'weekly', 'alerts', 'confirm', 'foryou')),
    period TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    planned_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (subscriber_id, kind, period)
);
INSERT INTO outbox_new (id, subscriber_id, kind, period, payload, status, attempts, next_attempt_at,
                        last_error, planned_at, sent_at)
SELECT id, subscriber_id, kind, period, payload, status, attempts, next_attempt_at,
       last_error, planned_at, sent_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status);
CREATE INDEX outbox_kind_period ON outbox (kind, period);
