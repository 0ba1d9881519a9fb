-- One day's feed by votes (the home page) read straight off an index instead of sorting the
-- day's rows per request. Same order as _order("upvotes"). Supersedes papers_day_upvotes.
CREATE INDEX papers_day_rank ON papers (feed_day, hidden, upvotes DESC, published DESC NULLS LAST, id COLLATE "C" DESC);
DROP INDEX papers_day_upvotes;
