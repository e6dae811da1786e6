-- 0017: what has been checked over the whole history once, so that later runs check only what came after
-- (issue 12: an idle run's SQL follows what is new, not what is stored). warehouse/marks.py reads and writes it.
--
-- A mark says: every row older than `settled_before` was found settled for `name` (qualified by `value`), and
-- `count` is what those older rows add to the figure the mark stands for. Names: 'unscored', 'unfingerprinted'
-- (articles older than the mark all have a score, a fingerprint), 'scored_with' (value: the scorer's version;
-- count: the older articles scored otherwise), 'stories' (count: the older relevant originals), 'seeds'
-- (value: the digest of the seed ids, all stored), 'alerts:<recipient>' (every older alert was sent to that
-- recipient). A mark is a cache: without one the whole history is checked, so deleting rows here is always
-- safe, and every later migration empties it.
CREATE TABLE marks (
    name            VARCHAR NOT NULL,
    value           VARCHAR,
    count           BIGINT NOT NULL,
    settled_before  TIMESTAMPTZ NOT NULL,
    written_at      TIMESTAMPTZ NOT NULL
);
