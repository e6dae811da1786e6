-- 0002: every article gets a relevance score, its decision, and why (extractors/relevance.py).
-- Irrelevant articles are kept with their score, so that decisions can be audited and re-scored
-- (`newsmon rescore`) after the topic definition changes.
ALTER TABLE articles ADD COLUMN relevance DOUBLE;            -- in [0, 1]; NULL: not scored yet
ALTER TABLE articles ADD COLUMN is_relevant BOOLEAN;         -- relevance >= the threshold in force when scored
ALTER TABLE articles ADD COLUMN relevance_terms VARCHAR[];   -- topic terms found, most frequent first
ALTER TABLE articles ADD COLUMN nearest_seed VARCHAR;        -- seed_id of the most similar seed document
ALTER TABLE articles ADD COLUMN relevance_why VARCHAR;       -- one line: why this score
ALTER TABLE articles ADD COLUMN scored_at TIMESTAMPTZ;       -- when the score was computed
