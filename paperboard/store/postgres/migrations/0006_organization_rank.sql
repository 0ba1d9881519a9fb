-- Where a paper's organization came from: the newness (is arXiv, updated, version) of the
-- record that named it, as JSON. Merging keeps the newest record's organization whatever
-- order the records arrive in; a version that omits it no longer decides.
ALTER TABLE papers ADD COLUMN organization_rank TEXT;
