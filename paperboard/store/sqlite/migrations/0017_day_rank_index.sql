-- One day's feed by votes (the home page) read straight off an index: with (feed_day, upvotes)
-- alone, the day's ~300 rows were fetched whole and sorted for every request (0.86 ms a query
-- at 75k, 0.26 ms without the sort). Supersedes papers_day_upvotes.
CREATE INDEX papers_day_rank ON papers (feed_day, hidden, upvotes DESC, published DESC, id DESC);
DROP INDEX papers_day_upvotes;
