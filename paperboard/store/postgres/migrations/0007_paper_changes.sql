-- SQLite's migration 0007 adds a change feed for the keyword index kept next to its file.
-- PostgreSQL ranks keyword searches inside the database (tsvector + GIN), so it needs none:
-- this migration only keeps the two backends' schema versions in step.
SELECT 1;
