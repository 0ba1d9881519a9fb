-- The newest-first listing (the API's default order, feeds, `ls`) read straight off an index:
-- without it the newest day's papers were sorted for every request. Same order as _order("date").
CREATE INDEX papers_newest ON papers (feed_day DESC, published DESC NULLS LAST, id COLLATE "C" DESC);
