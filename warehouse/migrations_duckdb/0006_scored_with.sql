-- 0006: which topic definition and scorer made each score, so that a run can tell the analyst when scores
-- were made under another definition (after topic.toml, the seeds, the threshold or newsmon's scorer changed)
-- and `newsmon rescore` is due. NULL: scored before this column existed.
ALTER TABLE articles ADD COLUMN scored_with VARCHAR;
