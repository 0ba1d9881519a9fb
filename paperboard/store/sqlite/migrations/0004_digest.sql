-- Email digests: subscribers (double opt-in), users' saved-search alerts, and the outbox
-- that makes sending exactly-once: one row per (subscriber, kind, period), planned once.
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL CHECK (kind IN ('daily', 'weekly', 'none')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bouncing')),
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    bounces INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    confirmed_at TEXT,
    unsubscribed_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX subscribers_status_kind ON subscribers (status, kind);
CREATE INDEX subscribers_user ON subscribers (user_id);

-- last_day: the newest feed day already covered by an alert email (or seen when saved).
CREATE TABLE saved_searches (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    query TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    last_day TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, query, category)
);
CREATE INDEX saved_searches_subscriber ON saved_searches (subscriber_id);

-- status: pending -> sending (the terminating dot is about to go out) -> sent | failed;
-- skipped when the address stopped being deliverable between planning and sending.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('daily', 'weekly', 'alerts', 'confirm')),
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
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox (status);
CREATE INDEX outbox_kind_period ON outbox (kind, period);
