-- 0016: the sha256 of a feed's last body, for the feeds that send neither ETag nor Last-Modified (or answer 200
-- to a conditional request): a body equal to the last one is taken as "not modified" and not parsed again, as a
-- 304 would be (issue 12: an idle run's work follows what is new). NULL: not known yet.
ALTER TABLE feeds ADD COLUMN IF NOT EXISTS body_digest VARCHAR;
