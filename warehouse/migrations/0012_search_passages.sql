-- 0012: the indexed articles' texts again, cut into passages, for the search's snippets (issue 11).
--
-- A search cuts each of its 20 results' snippet from the article's text. Read from `articles`, every result
-- decodes its whole Parquet row group's text column (2,048 articles, ~4.5 MB: DuckDB reads no single string
-- out of a row group for less, whatever the filter, compression or encoding; measured with bench/analysis.py
-- at 100,000 articles: 264 ms of a 340 ms search). Here a row is a passage of at most 128 characters, so a
-- row group of 2,048 passages holds ~0.3 MB, and an article's passages are adjacent rows (the table is in
-- `doc` order): a result costs a fifth (migration 0013). The snippet is cut from the passages put back together
-- (string_agg in `part` order), which is the text exactly.
-- One row per indexed article and passage, written with its search_docs row (warehouse/search.py).
CREATE TABLE search_passages (
    doc     INTEGER NOT NULL,   -- search_docs.doc
    part    INTEGER NOT NULL,   -- 0, 1, …: the passage's place in the text
    passage VARCHAR NOT NULL    -- characters part * 128 + 1 to (part + 1) * 128 of articles.text
);
-- (Filled by migration 0013: a table's options cannot be set in the transaction that creates it.)
