-- 0004: the optional relevance prefilter on feed entries ([topic] prefilter = true). An entry it judges
-- clearly off the topic is not fetched: its state becomes 'skipped', with the score and the reason.
ALTER TABLE entries ADD COLUMN prefilter_score DOUBLE;   -- relevance of title + summary; NULL: not prefiltered
ALTER TABLE entries ADD COLUMN prefilter_why VARCHAR;    -- why it was skipped (or passed)
