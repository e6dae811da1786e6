-- 0008: the analyst's relations. Documented views over the pipeline's tables, and the search index.
-- Plain SQL (no keys, no indexes, no sequences) so that it runs the same on a DuckDB file and on DuckLake.
-- "Day" is the UTC calendar day of an article's publication, else of the day newsmon first saw it.

-- Articles on the topic, each once: relevant, not a syndicated copy, not a seed document.
CREATE OR REPLACE VIEW relevant_articles AS
SELECT
    url,              -- canonical URL (articles.url)
    title,
    source,           -- the outlet; NULL: neither the page nor the feed named one
    author,
    published_at,     -- NULL: neither the feed nor the page stated a date
    first_seen_at,    -- when newsmon stored it
    coalesce(published_at, first_seen_at)::DATE AS day,  -- UTC day of publication, else of first sight
    language,         -- ISO 639-1
    relevance,        -- in [0, 1]
    relevance_terms,  -- topic terms found, most frequent first
    relevance_why,    -- one line: why it was judged on the topic
    nearest_seed,     -- seed_id of the most similar seed document
    feed_url,         -- the feed whose entry brought it
    run_id            -- the run that stored it
FROM articles
WHERE is_relevant AND duplicate_of IS NULL AND NOT is_seed;

-- Each relevant story once, with the syndicated copies newsmon stored of it. Seed documents are no stories:
-- fetched copies of a seed form a story of their own, led by the first one seen (copy_of_seed names the
-- seed). Replaces 0003's view, which listed the seeds as stories.
CREATE OR REPLACE VIEW stories AS
WITH copies AS (
    -- the stored copies (3% of articles or so), numbered within their original: only they need sorting
    SELECT url, source, first_seen_at, duplicate_of,
        row_number() OVER (PARTITION BY duplicate_of ORDER BY first_seen_at, url) AS place
    FROM articles
    WHERE duplicate_of IS NOT NULL AND NOT is_seed
),
seeds AS (SELECT url, seed_id FROM articles WHERE is_seed),
leads AS (
    SELECT url, url AS story_key, NULL::VARCHAR AS copy_of_seed, title, source, published_at, first_seen_at,
        language, relevance, relevance_why
    FROM articles
    WHERE is_relevant AND duplicate_of IS NULL AND NOT is_seed
    UNION ALL
    SELECT a.url, c.duplicate_of AS story_key, s.seed_id AS copy_of_seed, a.title, a.source, a.published_at,
        a.first_seen_at, a.language, a.relevance, a.relevance_why
    FROM copies c JOIN seeds s ON s.url = c.duplicate_of JOIN articles a ON a.url = c.url
    WHERE c.place = 1 AND a.is_relevant
),
folded AS (
    SELECT
        duplicate_of AS story_key,
        count(*) AS copies,
        list(source ORDER BY first_seen_at, url) AS copy_sources,
        list(url ORDER BY first_seen_at, url) AS copy_urls
    FROM copies
    WHERE place > 1 OR duplicate_of NOT IN (SELECT url FROM seeds)
    GROUP BY duplicate_of
)
SELECT
    l.url,                  -- the story's lead article: the original, or the first copy seen of a seed
    l.title,
    l.source,
    l.published_at,
    l.first_seen_at,
    coalesce(l.published_at, l.first_seen_at)::DATE AS day,
    l.language,
    l.relevance,            -- the lead's score
    l.relevance_why,        -- why the lead was judged on the topic
    l.copy_of_seed,         -- the seed document this story copies; NULL: none
    coalesce(f.copies, 0) AS copies,  -- other stored articles carrying the same text (0: none)
    f.copy_sources,         -- their outlets, first seen first; NULL: none
    f.copy_urls             -- their urls, in the same order; NULL: none
FROM leads l
LEFT JOIN folded f ON f.story_key = l.story_key;

-- Coverage per day and language: how much came in, how much of it was on the topic.
CREATE OR REPLACE VIEW daily_volume AS
WITH fetched AS (
    SELECT coalesce(published_at, first_seen_at)::DATE AS day, language, source, is_relevant
    FROM articles
    WHERE NOT is_seed
),
volume AS (
    SELECT
        day,
        language,
        count(*) AS articles,
        count(DISTINCT source) AS outlets,
        count(*) FILTER (WHERE is_relevant) AS relevant,
        count(is_relevant) AS scored
    FROM fetched
    GROUP BY day, language
),
told AS (SELECT day, language, count(*) AS stories FROM stories GROUP BY day, language)
SELECT
    v.day,                                    -- UTC day of publication, else of first sight
    v.language,                               -- ISO 639-1; NULL: not detected
    v.articles,                               -- fetched articles (copies included, seeds not)
    coalesce(t.stories, 0) AS stories,        -- relevant stories led by an article of that day (see stories)
    v.outlets,                                -- distinct sources among those articles
    v.relevant / nullif(v.scored, 0) AS on_topic_share  -- relevant / scored articles; NULL: none scored
FROM volume v
LEFT JOIN told t ON t.day = v.day AND t.language IS NOT DISTINCT FROM v.language;

-- One row per outlet: how much it publishes, how much of it is on the topic, how fast newsmon sees it.
CREATE OR REPLACE VIEW sources AS
SELECT
    source,                                           -- the outlet; NULL: articles whose outlet is unknown
    count(*) AS articles,                             -- fetched articles, copies included
    count(*) FILTER (WHERE is_relevant) AS relevant,  -- of them on the topic
    count(*) FILTER (WHERE is_relevant) / nullif(count(is_relevant), 0) AS on_topic_share,  -- NULL: none scored
    min(first_seen_at) AS first_seen_at,              -- its first article stored
    max(first_seen_at) AS last_seen_at,               -- its latest article stored
    -- median of (first seen - published) in hours, over articles with a date; NULL: none dated. Negative:
    -- the outlet states times ahead of UTC.
    median(epoch(first_seen_at) - epoch(published_at)) / 3600 AS median_delay_hours
FROM articles
WHERE NOT is_seed
GROUP BY source;

-- One row per configured feed: is it working, when is it polled next, how much does it bring.
CREATE OR REPLACE VIEW feed_health AS
WITH recent AS (
    SELECT
        feed_url,
        count(*) AS entries,
        count(*) FILTER (WHERE first_seen_at >= now() - INTERVAL 7 DAY) AS entries_7d,
        max(first_seen_at) AS last_entry_at
    FROM entries
    GROUP BY feed_url
),
stored AS (SELECT feed_url, count(*) AS articles FROM articles WHERE feed_url IS NOT NULL GROUP BY feed_url)
SELECT
    f.url,                                  -- the feed as configured
    coalesce(f.name, f.title) AS name,      -- the configured name, else the feed's own title
    f.last_checked_at,                      -- last poll, whatever its outcome; NULL: never polled
    -- last successful poll: the last poll when it succeeded, else the latest new entry (a lower bound of the
    -- last success); NULL: never succeeded as far as the warehouse knows
    CASE WHEN f.last_checked_at IS NOT NULL AND f.consecutive_errors = 0 THEN f.last_checked_at
         ELSE r.last_entry_at END AS last_success_at,
    f.last_status,                          -- HTTP status of the last poll; NULL: no response, or never polled
    f.last_error,                           -- the last poll's error; NULL: it succeeded
    f.consecutive_errors AS consecutive_failures,
    f.next_check_at AS next_poll_at,        -- not polled before this time
    coalesce(r.entries, 0) AS entries,      -- entries ever seen
    coalesce(s.articles, 0) AS articles,    -- articles stored from its entries
    -- new entries per day over the last 7 days (over the feed's life when it was added less than 7 days ago,
    -- counting at least one day)
    coalesce(r.entries_7d, 0)
        / greatest(least(7.0, (epoch(now()) - epoch(f.added_at)) / 86400), 1.0) AS entries_per_day
FROM feeds f
LEFT JOIN recent r ON r.feed_url = f.url
LEFT JOIN stored s ON s.feed_url = f.url;

-- The search index (warehouse/search.py), kept current after each run by index_new_articles: only articles not
-- yet in search_docs are tokenised (extractors/tokens.py) and added, so a run costs what it adds. Articles are
-- never edited once stored, so an indexed article stays right.
-- One row per indexed article.
CREATE TABLE search_docs (
    doc        INTEGER NOT NULL,   -- the article's number in the index (max + 1 at each addition)
    url        VARCHAR NOT NULL,   -- articles.url
    language   VARCHAR,            -- articles.language at indexing time
    is_seed    BOOLEAN NOT NULL,   -- a seed document: indexed, but not among search results
    source     VARCHAR,            -- articles.source: term_trends and first_reports count outlets from here
    seen_at    TIMESTAMPTZ NOT NULL,  -- publication, else first sight (articles.published_at, first_seen_at)
    day        DATE NOT NULL,      -- seen_at's UTC day
    length     INTEGER NOT NULL,   -- tokens in the title (counted twice) and the text: BM25's document length
    first_seen_at TIMESTAMPTZ NOT NULL,  -- articles.first_seen_at: the watermark of the next update
    indexed_at TIMESTAMPTZ NOT NULL
);

-- One row per indexed article and distinct term, kept sorted by term up to the last compaction: a lookup then
-- reads only the row groups whose min/max statistics hold its terms (DuckDB's zone maps, Parquet's row-group
-- statistics on DuckLake), plus the unsorted tail that runs appended since (see warehouse/search.py). term is the first 8 bytes of the MD5 of the token as an
-- unsigned little-endian number: DuckDB's md5_number_upper(token), the same in Python (tokens.term_id).
-- Integers keep the postings small and their scan fast; md5 keeps them stable across DuckDB versions.
CREATE TABLE search_terms (
    doc   INTEGER NOT NULL,        -- search_docs.doc
    term  UBIGINT NOT NULL,        -- md5_number_upper(token)
    tf    USMALLINT NOT NULL       -- occurrences: each in the title counts twice
);

-- One row per compaction of search_terms (rewritten sorted by term): postings of docs up to through_doc are in
-- term order. No row: never compacted.
CREATE TABLE search_compactions (
    through_doc  INTEGER NOT NULL,   -- the highest search_docs.doc sorted in
    postings     BIGINT NOT NULL,    -- rows of search_terms after the compaction
    compacted_at TIMESTAMPTZ NOT NULL
);
