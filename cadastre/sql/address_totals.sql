-- Each street's address count, first address and box; the layer's extent.
UPDATE search.streets AS s
SET address_count = t.n, first_address_id = t.first_id,
    min_lon = t.min_lon, min_lat = t.min_lat, max_lon = t.max_lon, max_lat = t.max_lat
FROM (
    SELECT street_id, count(*) AS n, min(id) AS first_id,
           ST_XMin(ST_Extent(geom)) AS min_lon, ST_YMin(ST_Extent(geom)) AS min_lat,
           ST_XMax(ST_Extent(geom)) AS max_lon, ST_YMax(ST_Extent(geom)) AS max_lat
    FROM {addresses} GROUP BY street_id
) AS t
WHERE t.street_id = s.id;

UPDATE catalog.layer_stats
SET bbox_4326 = (
        SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)]
        FROM (SELECT ST_Extent(geom) AS e FROM {addresses}) AS x WHERE e IS NOT NULL
    ),
    source_file = 'derived from buildings and cadastre_parcels (cadastre.addresses)',
    loaded_at = now()
WHERE layer_id = 'addresses';
