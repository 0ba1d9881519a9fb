-- A one-sentence TL;DR per paper (paperboard/summarize), computed when a paper is stored.
-- Papers stored before this migration have none until `paperboard tldr backfill` fills them.
ALTER TABLE papers ADD COLUMN tldr TEXT;
