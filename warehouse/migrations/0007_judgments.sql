-- 0007: the analyst's judgments: "on topic" / "not on topic" for a stored article or a judged text. They teach
-- the relevance model (flows/judging.py fits it from the shipped parameters and these rows) and no rescore
-- touches them. Rows are only added: a later judgment of the same `what` wins, the earlier stays as history.
-- Plain SQL, no keys (the warehouse moves to DuckLake): inserts avoid exact repeats with an anti-join.
CREATE TABLE judgments (
    what VARCHAR NOT NULL,         -- the article's canonical URL, or 'text:<sha256 of title and text>' without one
    label VARCHAR NOT NULL,        -- 'on' or 'off'
    who VARCHAR,                   -- the analyst (their user name or e-mail address); NULL: not known
    judged_at TIMESTAMPTZ NOT NULL,
    title VARCHAR,                 -- the text judged, as it was judged: the model learns from it, not from
    text VARCHAR NOT NULL,         -- whatever the articles table holds later
    source VARCHAR NOT NULL        -- how it came: 'url' (newsmon label URL), 'file:<name>', 'email'
);
