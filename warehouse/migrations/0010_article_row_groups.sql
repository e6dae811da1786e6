-- 0010: articles in Parquet row groups of 2,048 rows (DuckDB's smallest), in time order.
--
-- The search macros and first_reports read the title and text of a handful of articles (the 20 results, a
-- term's first users). A DuckLake scan reads a column a row group at a time, and finds the row groups it needs
-- by their min/max statistics: articles are stored in first_seen_at order, so the macros join on
-- first_seen_at as well as url (warehouse/sql/macros.sql), which singles out one row group per article. With
-- DuckLake's default of 122,880 rows per group, a whole warehouse of 100,000 articles was one row group, and
-- each search decompressed the text of every article (measured with bench/analysis.py at 100,000 articles:
-- the text fetch 0.83 s of a 0.96 s search; 0.25 s in groups of 2,048, where a group's text is ~4.5 MB).
-- Scans of every article (daily_volume, sources) are not measurably slower in small groups.
CALL newsmon.set_option('parquet_row_group_size', 2048, table_name => 'articles');

-- The articles already stored are rewritten once in the new layout: the sorted copy is appended, then the
-- rows that were there before it are deleted by row id (committed rows' ids are below the copy's).
SET VARIABLE newsmon_articles_top = (SELECT max(rowid) FROM articles);
INSERT INTO articles SELECT * FROM articles ORDER BY first_seen_at, url;
DELETE FROM articles WHERE rowid <= getvariable('newsmon_articles_top');
RESET VARIABLE newsmon_articles_top;
