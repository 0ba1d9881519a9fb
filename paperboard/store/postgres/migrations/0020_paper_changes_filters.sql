-- The keyword index keeps the fields search filters read (feed day, publication date,
-- categories, organization, submitter) beside the text (search/keyword_index.py), so a
-- change of any of them is a change the index must apply, as a change of the text is.
DROP TRIGGER paper_changes_update ON papers;

CREATE TRIGGER paper_changes_update AFTER UPDATE OF title, abstract, authors, hidden, feed_day, published,
    primary_category, categories, organization, submitted_by ON papers
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract
          OR OLD.authors IS DISTINCT FROM NEW.authors OR OLD.hidden IS DISTINCT FROM NEW.hidden
          OR OLD.feed_day IS DISTINCT FROM NEW.feed_day OR OLD.published IS DISTINCT FROM NEW.published
          OR OLD.primary_category IS DISTINCT FROM NEW.primary_category
          OR OLD.categories IS DISTINCT FROM NEW.categories
          OR OLD.organization IS DISTINCT FROM NEW.organization
          OR OLD.submitted_by IS DISTINCT FROM NEW.submitted_by)
    EXECUTE FUNCTION paperboard_paper_changed();
