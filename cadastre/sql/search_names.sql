-- Named things (search.names) whose key holds a word of the query (cadastre/search.py).
-- The query's key is computed here (search.search_key), so that the whole search is one
-- round trip (the statements of a search are sent in one pipeline). Candidates first: a
-- thing holding one of the key's words, through the trigram index on `key` (materialised:
-- otherwise the planner scans the table and computes the similarity of every row); then each
-- candidate's similarities to the whole key, computed once; the filter and the order use them.
WITH q AS MATERIALIZED (
    SELECT k.key, string_to_array(nullif(k.key, ''), ' ') AS words
    FROM (SELECT search.search_key(%(q)s) AS key) AS k
),
candidates AS MATERIALIZED (
    SELECT DISTINCT ON (n.id) n.*
    FROM q CROSS JOIN LATERAL unnest(q.words) AS p(part)
    JOIN search.names AS n ON n.key %%> p.part
),
scored AS MATERIALIZED (
    SELECT c.*, word_similarity(q.key, c.key) AS ws, similarity(q.key, c.head) AS sim
    FROM candidates AS c, q
)
SELECT collection, kind, target_id, {label}, matched, ws, sim, priority, min_lon, min_lat,
       max_lon, max_lat, feature_count
FROM scored
WHERE ws >= %(threshold)s
ORDER BY ws + sim DESC, priority, length({label})
LIMIT %(limit)s
