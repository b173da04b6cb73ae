-- The addresses from `address_sources` and `address_streets` (the streets with their ids
-- and three forms). A thing without a number of its own is numbered on its street (or in
-- its settlement) outward from the settlement's point.
INSERT INTO {addresses} (
    oblast, rayon, settlement_ky, settlement_ru, settlement_en, street_ky, street_ru,
    street_latin, house_number, letter, label_ky, label_ru, label_en, street_id,
    building_id, parcel_id, cadastral_code, geom
)
SELECT a.oblast, a.rayon, st.settlement_ky, st.settlement_ru, st.settlement_en,
       st.street_ky, st.street_ru, st.street_latin, a.number, a.letter,
       st.settlement_ky || ', ' || coalesce(st.street_ky || ' ', '') || a.number
           || coalesce(a.letter, ''),
       st.settlement_ru || ', ' || coalesce(st.street_ru || ', ', '') || a.number
           || coalesce(a.letter, ''),
       st.settlement_en || ', ' || coalesce(st.street_latin || ' ', '') || a.number
           || coalesce(search.translit(a.letter), ''),
       st.id, a.building_id, a.parcel_id, a.cadastral_code, a.geom
FROM (
    SELECT src.*, coalesce(
        src.house_number,
        coalesce(top.number, 0) + row_number() OVER (
            PARTITION BY src.settlement_id, src.street_ru, src.house_number IS NULL
            ORDER BY src.geom <-> s.geom, src.parcel_id
        )
    ) AS number
    FROM address_sources AS src
    JOIN {settlements} AS s ON s.id = src.settlement_id
    LEFT JOIN (
        SELECT settlement_id, street_ru, max(house_number) AS number
        FROM address_sources GROUP BY settlement_id, street_ru
    ) AS top
      ON top.settlement_id = src.settlement_id
     AND coalesce(top.street_ru, '') = coalesce(src.street_ru, '')
) AS a
JOIN address_streets AS st
  ON st.settlement_id = a.settlement_id
 AND coalesce(st.street_ru, '') = coalesce(a.street_ru, '')
ORDER BY st.id, a.number, a.letter NULLS FIRST;
