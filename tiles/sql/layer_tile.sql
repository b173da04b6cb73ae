-- One MVT layer of one tile.
--
-- Candidates come from the GiST index (the buffered tile envelope in the storage CRS); at low
-- zoom, features smaller than the band's minimum size are dropped and the cap keeps the most
-- important ones; the survivors are simplified in the storage CRS, transformed with integer
-- SRIDs, clipped and encoded by PostGIS. Identifiers are quoted by psycopg; every value that
-- changes from tile to tile is a bound parameter, so the statement text is the same for all
-- tiles of a layer and zoom band (composed once per process, see tiles/query.py).
-- `OFFSET 0` keeps the planner from pulling the `mvt` sub-select up into the outer query:
-- pulled up, `ST_AsMVTGeom` ran twice per feature (once for the IS NOT NULL test, once for
-- the tile), a third of the time of a dense z14 buildings tile.
SELECT COALESCE(ST_AsMVT(mvt, {layer_name}, {extent}, 'geom', 'id'), ''::bytea)
FROM (
    SELECT {properties},
           ST_AsMVTGeom({geometry}, {tile_box}, {extent}, {buffer}, true) AS geom
    FROM (
        SELECT {columns}
        FROM {table}
        WHERE {where}
        {order_by}
        LIMIT {max_features}
    ) AS c
    OFFSET 0
) AS mvt
WHERE mvt.geom IS NOT NULL
