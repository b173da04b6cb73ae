-- The things that get an address, one row each: every building (its point on surface, the
-- parcel holding that point) and every parcel that holds no building (its point on
-- surface), with the settlement, oblast and rayon (or city district) they lie in, and the
-- street and number read from their address text ("проспект Чуй, 12а") when they have one.
-- Placeholders are layer tables and the parcels' address column (or NULL), formatted by
-- cadastre.addresses as identifiers.
CREATE TEMPORARY TABLE address_sources ON COMMIT DROP AS
WITH built AS (
    SELECT b.id AS building_id, ST_PointOnSurface(b.geom) AS geom, b.address AS text
    FROM {buildings} AS b
),
housed AS (
    SELECT built.*, p.id AS parcel_id, p.cadastral_code
    FROM built
    LEFT JOIN LATERAL (
        SELECT id, cadastral_code FROM {cadastre_parcels} AS p
        WHERE ST_Intersects(p.geom, built.geom) ORDER BY p.id LIMIT 1
    ) AS p ON true
),
vacant AS (
    SELECT NULL::bigint AS building_id, ST_PointOnSurface(p.geom) AS geom,
           {parcel_address}::text AS text, p.id AS parcel_id, p.cadastral_code
    FROM {cadastre_parcels} AS p
    WHERE NOT EXISTS (SELECT FROM housed WHERE housed.parcel_id = p.id)
),
things AS (
    SELECT * FROM housed UNION ALL SELECT * FROM vacant
)
SELECT things.*,
       d.city, d.name_en AS district,
       substring(things.text FROM '^(.+), \d+') AS street_ru,
       substring(things.text FROM ', (\d+)[^,]*$')::integer AS house_number,
       nullif(substring(things.text FROM ', \d+([^,]*)$'), '') AS letter
FROM things
LEFT JOIN LATERAL (
    SELECT city, name_en FROM {city_districts} AS d
    WHERE ST_Intersects(d.geom, things.geom) ORDER BY d.id LIMIT 1
) AS d ON true;

-- Settlement: the city of the district, else the nearest settlement.
ALTER TABLE address_sources ADD COLUMN settlement_id bigint;
UPDATE address_sources AS a SET settlement_id = (
    SELECT s.id FROM {settlements} AS s
    WHERE s.name_en = a.city OR s.name_ru = a.city
    ORDER BY s.population DESC NULLS LAST, s.id LIMIT 1
) WHERE a.city IS NOT NULL;
UPDATE address_sources AS a SET settlement_id = (
    SELECT s.id FROM {settlements} AS s ORDER BY s.geom <-> a.geom LIMIT 1
) WHERE a.settlement_id IS NULL;

-- Oblast: the one holding the point, else the nearest (points on the border line).
ALTER TABLE address_sources ADD COLUMN oblast text, ADD COLUMN rayon text;
UPDATE address_sources AS a SET oblast = coalesce(
    (SELECT o.name_en FROM {oblasts} AS o WHERE ST_Intersects(o.geom, a.geom) LIMIT 1),
    (SELECT o.name_en FROM {oblasts} AS o ORDER BY o.geom <-> a.geom LIMIT 1)
), rayon = coalesce(
    a.district,
    (SELECT r.name_en FROM {rayons} AS r WHERE ST_Intersects(r.geom, a.geom) LIMIT 1)
);

ANALYZE address_sources;
