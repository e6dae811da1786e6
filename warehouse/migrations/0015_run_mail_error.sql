-- 0015: a run records why its alert mail could not go out (issue 8: `newsmon status` shows it; before, only the
-- run's own report said so, and a monitor watching status never saw broken mail). NULL: sent, or nothing to send.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS mail_error VARCHAR;
