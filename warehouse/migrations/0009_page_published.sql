-- 0009: the page's own publication date beside the one the warehouse uses. articles.published_at stays the feed
-- entry's date, else the page's; page_published is what the page itself says (extractors/dates.py: a labelled
-- publication date, htmldate's original date, never an "updated" or relative one), so the two can be compared.
ALTER TABLE articles ADD COLUMN page_published DATE;  -- NULL: the page states no date (and seeds)
