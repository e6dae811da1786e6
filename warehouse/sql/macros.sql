-- The analyst's macros, created TEMPORARY on each connection by warehouse.search.define_macros (DuckLake
-- catalogs store no macros). They read the index tables of 0008 and 0012 (search_docs, search_terms,
-- search_passages) and `articles`.
--
-- A query's text is tokenised in Python, by the very tokeniser that filled the index (extractors/tokens.py),
-- through two functions define_macros registers on the connection:
--   newsmon_query_words(query, language) → VARCHAR[][]: per query word, the index terms that count as it
--   newsmon_probes(query) → VARCHAR[]: lowercase strings to find in a text when cutting a snippet
--   newsmon_phrase_words(term) → STRUCT(place INTEGER, spellings VARCHAR[])[]: a term's words and their places
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
),
-- the results' texts, put back together from their passages (migration 0012: far fewer bytes decoded than
-- reading articles.text)
texts AS (
    SELECT p.doc, string_agg(p.passage, '' ORDER BY p.part) AS body
    FROM search_passages p JOIN ranked r ON r.doc = p.doc
    GROUP BY p.doc
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
    newsmon_snippet(coalesce(t.body, ''), probes) AS snippet,
    a.url
FROM ranked r
JOIN search_docs d ON d.doc = r.doc
JOIN articles a ON a.first_seen_at = d.first_seen_at AND a.url = d.url
LEFT JOIN texts t ON t.doc = r.doc
ORDER BY r.score DESC, d.url;

-- search_articles('Kursk troops' [, lang := 'ko'] [, since := '2025-01-01'] [, lim := 20]): ranked articles
-- with a snippet around the match.
CREATE OR REPLACE TEMP MACRO search_articles(query, lang := NULL, since := NULL, lim := 20) AS TABLE
SELECT * FROM search_words(newsmon_query_words(query, lang), newsmon_probes(query), lang := lang, since := since,
    lim := lim);

-- The indexed articles that use each term: every word of it (in any of its spellings) at its place, that is,
-- the words of a phrase next to each other and in order (the postings' places, extractors/tokens.places).
-- terms: STRUCT(term VARCHAR, words STRUCT(place INTEGER, spellings VARCHAR[])[])[], as term_articles builds
-- it. unplaced: some of the article's postings have no places (indexed before migration 0014), so the words'
-- order is unknown and term_articles checks the phrase in the text instead.
CREATE OR REPLACE TEMP MACRO term_docs_words(terms) AS TABLE
WITH wanted AS (SELECT unnest(terms, recursive := false) AS t),
words AS (SELECT t.term AS term, unnest(t.words) AS w, generate_subscripts(t.words, 1) AS word FROM wanted),
spelled AS (SELECT term, word, w.place AS place, md5_number_upper(unnest(w.spellings)) AS id FROM words),
needed AS (SELECT term, count(DISTINCT word) AS n FROM spelled GROUP BY term),
hits AS (
    SELECT s.term, s.word, any_value(s.place) AS place, i.doc, bool_or(i.positions IS NULL) AS unplaced,
        flatten(list(coalesce(i.positions, []::INTEGER[]))) AS spots
    FROM search_terms i JOIN spelled s ON s.id = i.term
    GROUP BY s.term, s.word, i.doc
),
matched AS (
    -- per word, the places where the term would start if this occurrence is part of it
    SELECT term, doc, count(*) AS words, bool_or(unplaced) AS unplaced,
        list(list_transform(spots, p -> p - place)) AS starts
    FROM hits GROUP BY term, doc
)
SELECT m.term, m.doc, m.unplaced, len(list_reduce(m.starts, (a, b) -> list_intersect(a, b))) > 0 AS adjacent
FROM matched m JOIN needed n ON n.term = m.term
WHERE m.words = n.n;

-- The fetched articles (copies included, seeds not) that use each term, with their outlet and time (of
-- publication, else of first sight). A term of several words is a phrase: its words stand next to each other,
-- in order, each in any of its spellings (`Article 4` finds "article 4" and "Articles 4"; function words such as
-- "of" keep their place but match any word). An article indexed before migration 0014 has no places: there the
-- phrase must stand in the title or the text as written, lowercase or capitalised, with single spaces.
CREATE OR REPLACE TEMP MACRO term_articles(terms) AS TABLE
WITH found AS (
    SELECT m.term, d.doc, d.url, d.first_seen_at, d.source, d.language, d.seen_at AS seen, m.unplaced, m.adjacent
    FROM term_docs_words(list_transform(terms, t -> {'term': t, 'words': newsmon_phrase_words(t)})) m
    JOIN search_docs d ON d.doc = m.doc
    WHERE NOT d.is_seed
),
spellings AS (
    SELECT DISTINCT term, unnest([term, lower(term), upper(term[1]) || lower(term[2:])]) AS written
    FROM found WHERE unplaced AND contains(term, ' ')
),
phrases AS (
    SELECT DISTINCT f.term, f.doc
    FROM found f JOIN articles a ON a.first_seen_at = f.first_seen_at AND a.url = f.url
    JOIN spellings s ON s.term = f.term
    WHERE f.unplaced AND (contains(a.text, s.written) OR contains(coalesce(a.title, ''), s.written))
)
SELECT term, url, first_seen_at, source, language, seen FROM found
WHERE CASE WHEN NOT unplaced THEN adjacent ELSE NOT contains(term, ' ') END
UNION ALL
SELECT f.term, f.url, f.first_seen_at, f.source, f.language, f.seen FROM found f JOIN phrases p ON p.term = f.term AND p.doc = f.doc;

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
    SELECT source, count(*) AS articles, arg_min(url, (seen, url)) AS url,
        arg_min(first_seen_at, (seen, url)) AS first_seen_at, min(seen) AS seen
    FROM used GROUP BY source ORDER BY seen, url LIMIT lim
)
SELECT row_number() OVER (ORDER BY f.seen, f.url) AS rank, f.seen AS published_at, f.source, a.title, a.language,
    a.is_relevant, f.articles, f.url
FROM firsts f JOIN articles a ON a.first_seen_at = f.first_seen_at AND a.url = f.url
ORDER BY f.seen, f.url;
