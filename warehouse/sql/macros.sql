-- The analyst's macros, created TEMPORARY on each connection by warehouse.search.define_macros (DuckLake
-- catalogs store no macros). They read the index tables of 0008 (search_docs, search_terms) and `articles`.
--
-- A query's text is tokenised in Python, by the very tokeniser that filled the index (extractors/tokens.py),
-- through two functions define_macros registers on the connection:
--   newsmon_query_words(query, language) → VARCHAR[][]: per query word, the index terms that count as it
--   newsmon_probes(query) → VARCHAR[]: lowercase strings to find in a text when cutting a snippet
-- On a connection without them (the duckdb shell), call the *_words macros with the words written out:
--   SELECT * FROM search_words([['kursk'], ['troops', 'troop']], ['kursk', 'troop']);

-- Where the first of `probes` occurs in `body` (1 when none does).
CREATE OR REPLACE TEMP MACRO newsmon_spot(body, probes) AS
    coalesce(list_min(list_filter(list_transform(probes, p -> strpos(lower(body), p)), x -> x > 0)), 1);

-- A snippet of `body`: `width` characters around the first place one of `probes` occurs, on one line.
CREATE OR REPLACE TEMP MACRO newsmon_snippet(body, probes, width := 180) AS
    CASE WHEN newsmon_spot(body, probes) > width // 3 THEN '…' ELSE '' END
    || trim(regexp_replace(substr(body, greatest(newsmon_spot(body, probes) - width // 3, 1), width), '\s+', ' ', 'g'))
    || CASE WHEN length(body) >= newsmon_spot(body, probes) - width // 3 + width THEN '…' ELSE '' END;

-- BM25 ranking (k1 = 1.2, b = 0.75) over the index. words: per query word, the terms that count as it (an
-- article scores a word by its best-scoring spelling); lang: only articles in that language; since: only
-- articles of that day or later; lim: how many rows. Seed documents are indexed (they count in the statistics)
-- but never returned.
CREATE OR REPLACE TEMP MACRO search_words(words, probes, lang := NULL, since := NULL, lim := 20) AS TABLE
WITH q AS (
    SELECT DISTINCT word, md5_number_upper(unnest(spellings)) AS term
    FROM (SELECT unnest(words) AS spellings, generate_subscripts(words, 1) AS word)
),
stats AS (SELECT count(*)::DOUBLE AS n, avg(length) AS avgdl FROM search_docs),
hits AS (SELECT t.doc, q.word, t.term, t.tf FROM search_terms t JOIN q ON q.term = t.term),
df AS (SELECT term, count(*) AS df FROM hits GROUP BY term),
docs AS (
    SELECT doc, length FROM search_docs
    WHERE NOT is_seed AND (lang IS NULL OR language = lang) AND (since IS NULL OR day >= CAST(since AS DATE))
),
per_word AS (
    SELECT h.doc, h.word,
        max(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))
            * h.tf * 2.2 / (h.tf + 1.2 * (0.25 + 0.75 * d.length / s.avgdl))) AS score
    FROM hits h JOIN df ON df.term = h.term JOIN docs d ON d.doc = h.doc CROSS JOIN stats s
    GROUP BY h.doc, h.word
),
ranked AS (
    SELECT doc, sum(score) AS score, count(*) AS matched FROM per_word GROUP BY doc ORDER BY score DESC LIMIT lim
)
SELECT
    row_number() OVER (ORDER BY r.score DESC, d.url) AS rank,
    round(r.score, 3) AS score,          -- BM25, summed over the query's words
    r.matched AS words,                   -- how many of the query's words the article has
    a.title,
    a.source,
    coalesce(a.published_at, a.first_seen_at)::DATE AS day,
    a.language,
    a.is_relevant,
    newsmon_snippet(a.text, probes) AS snippet,
    a.url
FROM ranked r
JOIN search_docs d ON d.doc = r.doc
JOIN articles a ON a.url = d.url
ORDER BY r.score DESC, d.url;

-- search_articles('Kursk troops' [, lang := 'ko'] [, since := '2025-01-01'] [, lim := 20]): ranked articles
-- with a snippet around the match.
CREATE OR REPLACE TEMP MACRO search_articles(query, lang := NULL, since := NULL, lim := 20) AS TABLE
SELECT * FROM search_words(newsmon_query_words(query, lang), newsmon_probes(query), lang := lang, since := since,
    lim := lim);

-- The indexed articles that contain every word of a term (each word in any of its spellings), per term.
-- terms: STRUCT(term VARCHAR, words VARCHAR[][])[], as term_trends and first_reports build it.
CREATE OR REPLACE TEMP MACRO term_docs_words(terms) AS TABLE
WITH wanted AS (SELECT unnest(terms, recursive := false) AS t),
spelled AS (
    SELECT t.term AS term, word, md5_number_upper(unnest(spellings)) AS id
    FROM (SELECT t, unnest(t.words) AS spellings, generate_subscripts(t.words, 1) AS word FROM wanted)
),
needed AS (SELECT term, max(word) AS n FROM spelled GROUP BY term),
matched AS (
    SELECT s.term, i.doc, count(DISTINCT s.word) AS words
    FROM search_terms i JOIN spelled s ON s.id = i.term
    GROUP BY s.term, i.doc
)
SELECT m.term, d.url
FROM matched m JOIN needed n ON n.term = m.term JOIN search_docs d ON d.doc = m.doc
WHERE m.words = n.n;

-- The fetched articles (copies included, seeds not) that use each term, with their outlet and time (of
-- publication, else of first sight).
CREATE OR REPLACE TEMP MACRO term_articles(terms) AS TABLE
SELECT m.term, a.url, a.title, a.source, a.language, a.is_relevant,
    coalesce(a.published_at, a.first_seen_at) AS seen
FROM term_docs_words(list_transform(terms, t -> {'term': t, 'words': newsmon_query_words(t, NULL)})) m
JOIN articles a ON a.url = m.url
-- a term of several words is a phrase: its words must also stand together, as written
WHERE NOT a.is_seed
    AND (NOT contains(m.term, ' ')
         OR contains(nfc_normalize(lower(coalesce(a.title, '') || ' ' || a.text)), nfc_normalize(lower(m.term))));

-- term_trends(['Kursk', 'Article 4', '파병']): per day and term, the articles using the term and their outlets.
CREATE OR REPLACE TEMP MACRO term_trends(terms) AS TABLE
SELECT seen::DATE AS day, term, count(*) AS articles, count(DISTINCT source) AS outlets
FROM term_articles(terms)
GROUP BY ALL
ORDER BY day, term;

-- first_reports('Kursk' [, lim := 10]): the outlets that used the term first, each with its first article
-- using it, earliest first; articles: how many of its articles use the term.
CREATE OR REPLACE TEMP MACRO first_reports(term, lim := 10) AS TABLE
WITH used AS (SELECT * FROM term_articles([term])),
firsts AS (
    SELECT source, count(*) AS articles, arg_min(url, (seen, url)) AS url
    FROM used GROUP BY source
)
SELECT row_number() OVER (ORDER BY u.seen, u.url) AS rank, u.seen AS published_at, f.source, u.title, u.language,
    u.is_relevant, f.articles, u.url
FROM firsts f JOIN used u ON u.url = f.url
ORDER BY u.seen, u.url
LIMIT lim;
