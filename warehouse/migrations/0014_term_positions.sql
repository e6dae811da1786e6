-- 0014: each posting keeps the places of its term in the article (issue 11: phrases in term_trends).
--
-- A phrase such as "Article 4" was checked in the texts of every article that has all its words: at 1,000,000
-- articles one in six has both `articl` and `4`, and reading their texts took 15-30 s (bench/analysis.py). With
-- the places, the phrase's words are matched next to each other in the postings of its own terms only
-- (warehouse/sql/macros.sql, term_docs_words). Places count words and CJK bigrams in text order, function
-- words included; the title's follow the text's after a gap (extractors/tokens.py: places, document_postings).
-- Postings written before this migration have none (NULL): for those articles term_articles checks the phrase
-- in the text, as before.
ALTER TABLE search_terms ADD COLUMN positions INTEGER[];
