-- PostgreSQL's migration 0008 adds the change feed SQLite got in 0007 (with its transaction
-- ids, for commit order). SQLite needs nothing more: this migration only keeps the two
-- backends' schema versions in step.
SELECT 1;
