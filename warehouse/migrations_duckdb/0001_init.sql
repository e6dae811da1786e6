-- 0001: the incremental pipeline's tables. Never edit this file once applied: add 0002_*.sql instead.
-- Times are TIMESTAMPTZ in UTC. "run" columns name the runs.run_id that wrote the row.

-- One row per newsmon run: what it did and how long it took.
CREATE TABLE runs (
    run_id            VARCHAR PRIMARY KEY,      -- a UUID; also the Prefect flow run's name suffix
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
CREATE TABLE feeds (
    url                VARCHAR PRIMARY KEY,     -- as configured
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

-- Every feed entry ever seen. The key makes an entry "seen": it is never fetched again.
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
    -- refused: the link points at an address newsmon may not fetch
    state           VARCHAR NOT NULL,
    article_url     VARCHAR,                    -- articles.url once stored
    PRIMARY KEY (feed_url, entry_key)
);

-- Articles whose text was extracted. The analyst's main relation; its key is the canonical URL.
CREATE TABLE articles (
    url             VARCHAR PRIMARY KEY,        -- canonical URL; seeds without one: urn:newsmon:seed:<id>
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
    run_id          VARCHAR NOT NULL
);

-- Pages that could not be turned into an article: why, how often, and when newsmon tries again.
CREATE TABLE page_failures (
    url             VARCHAR PRIMARY KEY,        -- the canonical link that was requested
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
