-- Trending ranks every paper of the last 30 feed days: a covering index lets it read the
-- few columns it needs without touching the wide rows (an index-only scan once vacuumed).
CREATE INDEX papers_trending ON papers (feed_day, hidden, upvotes, id);
