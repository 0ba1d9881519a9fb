-- The keyword index keeps the fields search filters read (feed day, publication date,
-- categories, organization, submitter) beside the text (search/keyword_index.py), so a
-- change of any of them is a change the index must apply, as a change of the text is.
DROP TRIGGER paper_changes_update;

CREATE TRIGGER paper_changes_update AFTER UPDATE OF title, abstract, authors, hidden, feed_day, published,
    primary_category, categories, organization, submitted_by ON papers
WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract
     OR old.authors IS NOT new.authors OR old.hidden IS NOT new.hidden
     OR old.feed_day IS NOT new.feed_day OR old.published IS NOT new.published
     OR old.primary_category IS NOT new.primary_category OR old.categories IS NOT new.categories
     OR old.organization IS NOT new.organization OR old.submitted_by IS NOT new.submitted_by
BEGIN
    INSERT INTO paper_changes (paper_rowid) VALUES (new.rowid);
END;
