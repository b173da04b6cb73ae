-- Houses numbered %(number)s on the streets (or in the settlements) best matching the
-- query's text (cadastre/search.py). The text's key is computed here (one round trip for the
-- whole search). Candidates: a street or town whose own name (`head`) is similar to a run of
-- up to three consecutive words of the key, through the trigram index on `head`; their
-- similarities to the whole key computed once; the best %(streets)s of them; then their houses
-- of that number (index on street_id, house_number), the letter asked for first.
WITH q AS MATERIALIZED (
    SELECT k.key, string_to_array(nullif(k.key, ''), ' ') AS words
    FROM (SELECT search.search_key(%(q)s) AS key) AS k
),
parts AS MATERIALIZED (
    SELECT array_agg(DISTINCT array_to_string(q.words[i:i + n - 1], ' ')) AS parts
    FROM q, generate_series(1, 3) AS n, generate_series(1, cardinality(q.words) - n + 1) AS i
),
candidates AS MATERIALIZED (
    SELECT DISTINCT ON (s.id) s.id, s.key, s.head, s.street_ru IS NULL AS settlement_only
    FROM parts CROSS JOIN LATERAL unnest(parts.parts) AS p(part)
    JOIN search.streets AS s ON s.head %% p.part
),
scored AS MATERIALIZED (
    SELECT c.id, word_similarity(q.key, c.key) AS ws, similarity(q.key, c.head) AS sim,
           c.settlement_only
    FROM candidates AS c, q
),
streets AS (
    SELECT id, ws, sim, settlement_only FROM scored
    WHERE ws >= %(threshold)s
    ORDER BY ws + sim - CASE WHEN settlement_only THEN %(settlement_penalty)s ELSE 0 END DESC
    LIMIT %(streets)s
)
SELECT {columns}, s.ws, s.sim, s.settlement_only
FROM streets AS s
JOIN {addresses} AS a ON a.street_id = s.id AND a.house_number = %(number)s
ORDER BY s.ws + s.sim DESC,
         (search.translit(coalesce(a.letter, '')) = search.translit(%(letter)s)) DESC,
         a.letter NULLS FIRST, a.id
LIMIT %(limit)s
