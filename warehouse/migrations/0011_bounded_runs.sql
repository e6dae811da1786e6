-- 0011: a run's statements touch what the run needs, not the whole history (issue 12, docs/scale.md).
--
-- article_bands gets the time its article was first seen, rows kept in that order: the copy lookup
-- (warehouse.articles.mark_copies) compares a new article with the articles of the last COPY_WINDOW_DAYS and
-- with the seed documents, and DuckLake skips every data file (and Parquet row group) whose min/max time lies
-- before the window. A seed document's bands carry 9999-12-31 (warehouse.articles.SEED_BANDS_AT): always in the
-- window, so one plain comparison serves both (DuckLake prunes no file by `IS NULL`: measured, it opened all 23
-- files of bench/scale.py's million where the comparison alone opened 3).
ALTER TABLE article_bands ADD COLUMN first_seen_at TIMESTAMPTZ;
-- The existing rows, rewritten once in time order.
INSERT INTO article_bands (url, band, hash, first_seen_at)
SELECT b.url, b.band, b.hash, CASE WHEN a.is_seed THEN TIMESTAMPTZ '9999-12-31 00:00:00+00' ELSE a.first_seen_at END
FROM article_bands b JOIN articles a ON a.url = b.url
ORDER BY 4, b.url, b.band;
DELETE FROM article_bands WHERE first_seen_at IS NULL;

-- (The articles' small row groups, which the lookups by time rely on, are migration 0010's: 2,048 rows.)
