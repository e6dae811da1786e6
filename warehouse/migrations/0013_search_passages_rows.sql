-- 0013: search_passages (0012) in row groups of 2,048 passages, and the articles indexed before 0012, once.
--
-- Texts are written with zstd rather than DuckLake's default snappy, here and for `articles` from now on (their
-- files written before stay as they are until merged): on the shared corpora's unique real texts (237
-- articles, 1.17 MB) snappy keeps 58% of the bytes and zstd 37%, and a full scan of either takes the same time
-- (docs/analysis.md). A passage is 128 characters: in 2,048-row groups a search's 20 snippets decode ~20 small
-- groups (bench/analysis.py at 100,000 articles: 47 ms; 92 ms with 256 characters, 264 ms from `articles`).
CALL newsmon.set_option('parquet_row_group_size', 2048, table_name => 'search_passages');
CALL newsmon.set_option('parquet_compression', 'zstd', table_name => 'search_passages');
CALL newsmon.set_option('parquet_compression', 'zstd', table_name => 'articles');

INSERT INTO search_passages
SELECT doc, part, substr(text, part * 128 + 1, 128)
FROM (
    SELECT d.doc, a.text, unnest(range(0, (length(a.text) + 127) // 128)) AS part
    FROM search_docs d JOIN articles a ON a.first_seen_at = d.first_seen_at AND a.url = d.url
)
ORDER BY doc, part;
