-- 0003: syndicated copies. Each article carries a MinHash fingerprint of its text; its 64 band hashes are
-- indexed in article_bands for candidate lookup; a copy points at the first article seen of its text.
ALTER TABLE articles ADD COLUMN duplicate_of VARCHAR;       -- url of the original; NULL: not a copy
ALTER TABLE articles ADD COLUMN minhash UINTEGER[];          -- 128 MinHash values of the text's word 5-grams;
                                                             -- NULL: text too short to compare, or not yet indexed
ALTER TABLE articles ADD COLUMN shingles INTEGER;            -- the number of distinct word 5-grams

-- One row per article and band: two articles sharing a (band, hash) are candidate copies.
-- Serves the join in warehouse.store.duplicate_candidates.
CREATE TABLE article_bands (
    url   VARCHAR NOT NULL,
    band  SMALLINT NOT NULL,
    hash  BIGINT NOT NULL
);

-- Each relevant story once: relevant articles that are not copies, with their copies folded in.
CREATE VIEW stories AS
SELECT
    a.url,
    a.title,
    a.source,
    a.published_at,
    a.first_seen_at,
    a.language,
    a.relevance,
    a.relevance_why,
    a.is_seed,
    count(c.url) AS copies,                                                   -- syndicated copies stored
    list(c.source ORDER BY c.first_seen_at) FILTER (WHERE c.url IS NOT NULL) AS copy_sources,
    list(c.url ORDER BY c.first_seen_at) FILTER (WHERE c.url IS NOT NULL) AS copy_urls
FROM articles a
LEFT JOIN articles c ON c.duplicate_of = a.url
WHERE a.is_relevant AND a.duplicate_of IS NULL
GROUP BY ALL;
