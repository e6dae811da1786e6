-- 0001: the warehouse as a DuckLake (docs/storage.md): the tables of the DuckDB-file releases
-- (warehouse/migrations_duckdb/0001-0006), in one file. Never edit this file once applied: add 0002_*.sql.
-- Times are TIMESTAMPTZ in UTC. "run" columns name the runs.run_id that wrote the row.
--
-- DuckLake has no PRIMARY KEY, UNIQUE or index: each "key" named below is kept by the statements in
-- warehouse/ (an insert adds only rows whose key is absent, inside the transaction that reads it); lookups
-- use Parquet min/max statistics and DuckDB's hash joins instead of an index.

-- One row, rewritten by every transaction that adds keyed rows (warehouse.db.in_transaction). Two writers
-- committing such transactions at once then conflict in DuckLake, and the later one runs again against the
-- newer snapshot: a key is never added twice, whatever the number of writers (docs/storage.md).
CREATE TABLE write_turns (
    commits         BIGINT NOT NULL,        -- keyed transactions committed so far
    last_commit_at  TIMESTAMPTZ             -- NULL: none yet
);
INSERT INTO write_turns VALUES (0, NULL);

-- One row per newsmon run: what it did and how long it took. Key: run_id.
CREATE TABLE runs (
    run_id            VARCHAR NOT NULL,         -- a UUID; also the Prefect flow run's name suffix
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,              -- NULL: still running, or the process was killed
    forced            BOOLEAN NOT NULL DEFAULT false,  -- run with --force (stored validators ignored)
    feeds_polled      INTEGER NOT NULL DEFAULT 0,
    feeds_not_modified INTEGER NOT NULL DEFAULT 0,
    feeds_failed      INTEGER NOT NULL DEFAULT 0,
    entries_new       INTEGER NOT NULL DEFAULT 0,
    pages_fetched     INTEGER NOT NULL DEFAULT 0,  -- page requests that returned a body
    articles_stored   INTEGER NOT NULL DEFAULT 0,  -- new rows in articles
    articles_known    INTEGER NOT NULL DEFAULT 0,  -- entries whose page was already an article
    pages_failed      INTEGER NOT NULL DEFAULT 0,
    seeds_loaded      INTEGER NOT NULL DEFAULT 0
);

-- One row per configured feed, with its incremental state (miniflux's model: state lives on the feed's row).
-- Key: url.
CREATE TABLE feeds (
    url                VARCHAR NOT NULL,        -- as configured
    name               VARCHAR,                 -- as configured; NULL: the feed's own title is used
    title              VARCHAR,                 -- the feed's <title> at the last successful poll
    etag               VARCHAR,                 -- validator from the last 200; NULL: the server sent none
    last_modified      VARCHAR,                 -- validator from the last 200 (HTTP date, as sent)
    last_checked_at    TIMESTAMPTZ,             -- last poll attempt, whatever its outcome; NULL: never polled
    next_check_at      TIMESTAMPTZ,             -- not polled before this time (interval, max-age, <ttl>)
    last_status        INTEGER,                 -- HTTP status of the last poll; NULL: no response at all
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    last_error         VARCHAR,                 -- NULL after a successful poll
    added_at           TIMESTAMPTZ NOT NULL
);

-- Every feed entry ever seen. The key (feed_url, entry_key) makes an entry "seen": it is never fetched again.
CREATE TABLE entries (
    feed_url        VARCHAR NOT NULL,
    entry_key       VARCHAR NOT NULL,           -- GUID, else link, else sha256 of title and summary
    link            VARCHAR,                    -- as the feed gives it; NULL: the entry has no link
    canonical_link  VARCHAR,                    -- canonical spelling of link; NULL: no http(s) link
    title           VARCHAR,
    summary         VARCHAR,                    -- plain text of the feed's summary
    published_at    TIMESTAMPTZ,                -- as the feed states it; NULL: not stated
    first_seen_at   TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR NOT NULL,
    -- pending: page still to fetch; stored: its article is in articles (article_url);
    -- failed: gave up after the maximum attempts (see page_failures); no_link: nothing to fetch;
    -- refused: the link points at an address newsmon may not fetch; skipped: the prefilter judged it off topic
    state           VARCHAR NOT NULL,
    article_url     VARCHAR,                    -- articles.url once stored
    prefilter_score DOUBLE,                     -- relevance of title + summary; NULL: not prefiltered
    prefilter_why   VARCHAR                     -- why it was skipped (or passed)
);

-- Articles whose text was extracted. The analyst's main relation; its key is the canonical URL.
CREATE TABLE articles (
    url             VARCHAR NOT NULL,           -- canonical URL; seeds without one: urn:newsmon:seed:<id>
    title           VARCHAR,
    source          VARCHAR,                    -- the outlet: the page's site name, else the feed's name
    author          VARCHAR,
    published_at    TIMESTAMPTZ,                -- the feed entry's date, else the page's; NULL: unknown
    language        VARCHAR,                    -- ISO 639-1 code: the page's lang attribute, else detected
    description     VARCHAR,
    text            VARCHAR NOT NULL,           -- the extracted main text, paragraphs separated by newlines
    is_seed         BOOLEAN NOT NULL DEFAULT false,
    seed_id         VARCHAR,                    -- the seed's file name stem; NULL for fetched articles
    first_seen_at   TIMESTAMPTZ NOT NULL,
    feed_url        VARCHAR,                    -- the feed whose entry brought it; NULL for seeds
    entry_link      VARCHAR,                    -- the link as the feed listed it, before redirects
    fetched_url     VARCHAR,                    -- where the last redirect ended
    run_id          VARCHAR NOT NULL,
    relevance       DOUBLE,                     -- in [0, 1]; NULL: not scored yet
    is_relevant     BOOLEAN,                    -- relevance >= the threshold in force when scored
    relevance_terms VARCHAR[],                  -- topic terms found, most frequent first
    nearest_seed    VARCHAR,                    -- seed_id of the most similar seed document
    relevance_why   VARCHAR,                    -- one line: why this score
    scored_with     VARCHAR,                    -- digest of the definition and scorer that made the score
    scored_at       TIMESTAMPTZ,                -- when the score was computed
    duplicate_of    VARCHAR,                    -- url of the original; NULL: not a copy
    minhash         UINTEGER[],                 -- 128 MinHash values of the text's word 5-grams;
                                                -- NULL: text too short to compare, or not yet indexed
    shingles        INTEGER                     -- the number of distinct word 5-grams; NULL: not fingerprinted
);

-- Pages that could not be turned into an article: why, how often, and when newsmon tries again. Key: url.
CREATE TABLE page_failures (
    url             VARCHAR NOT NULL,           -- the canonical link that was requested
    feed_url        VARCHAR,
    reason          VARCHAR NOT NULL,           -- the last failure, in words
    http_status     INTEGER,                    -- NULL: no HTTP response (DNS, timeout, refused address)
    attempts        INTEGER NOT NULL,
    first_failed_at TIMESTAMPTZ NOT NULL,
    last_failed_at  TIMESTAMPTZ NOT NULL,
    next_retry_at   TIMESTAMPTZ,                -- NULL: given up (attempts reached the maximum)
    resolved_at     TIMESTAMPTZ,                -- set when a later attempt stored the article
    run_id          VARCHAR NOT NULL            -- the run of the last attempt
);

-- One row per article and band: two articles sharing a (band, hash) are candidate copies.
-- Serves the join in warehouse.articles.mark_copies.
CREATE TABLE article_bands (
    url   VARCHAR NOT NULL,
    band  SMALLINT NOT NULL,
    hash  BIGINT NOT NULL
);

-- The alert outbox. A new relevant article that is no copy gets one row here, in the same transaction that
-- stores it. Key: url.
CREATE TABLE alerts (
    url         VARCHAR NOT NULL,      -- articles.url of the story
    created_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL,      -- the run that stored the article
    claimed_at  TIMESTAMPTZ            -- when a sender last began a delivery of it (its rewrite makes two
                                       -- writers starting the same alert conflict); NULL: never sent
);

-- One row per alert and recipient once sending has begun (key: url, recipient). The guarantee is at most once
-- per recipient: the row is written, with the Message-ID, before the message goes to the SMTP server, and
-- marked 'sent' once the server accepted it. A server that refuses the message deletes the row again (the
-- alert is pending for the next run). A process killed between the two leaves 'sending': never sent again
-- automatically, listed by `newsmon alerts` (`newsmon alerts --retry-uncertain` puts it back in the queue).
-- An alert is pending for a recipient while no row exists for the pair.
CREATE TABLE alert_deliveries (
    url         VARCHAR NOT NULL,
    recipient   VARCHAR NOT NULL,
    state       VARCHAR NOT NULL,      -- 'sending' or 'sent'
    message_id  VARCHAR NOT NULL,      -- the Message-ID header of the message that carried it
    started_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ            -- when the SMTP server accepted the message; NULL while 'sending'
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
