-- The topology report of one block: %(block)s (code), %(prefix)s (code || '-%%'),
-- %(tolerance)s (metres). Every current parcel of the block: valid, inside the block, no
-- overlap with another beyond the tolerance; and the gaps: parts of the block no parcel
-- covers, wider than the tolerance (at most 500). Checked in the block's Kyrg-06 zone.
WITH b AS (
    SELECT ST_Transform(geom, s.srid) AS m, s.srid
    FROM cadastre.cadastre_blocks,
         LATERAL (SELECT cadastre.kyrg06_srid(ST_X(ST_PointOnSurface(geom))) AS srid) s
    WHERE block_code = %(block)s
),
p AS (
    SELECT t.id, t.cadastral_code AS code, ST_Transform(t.geom, b.srid) AS m
    FROM cadastre.cadastre_parcels t, b
    WHERE t.cadastral_code LIKE %(prefix)s
),
problems AS (
    SELECT 'invalid' AS rule, p.code, NULL::text AS other,
           'the geometry is not valid: ' || ST_IsValidReason(p.m) AS detail,
           ST_Centroid(p.m) AS at
    FROM p WHERE NOT ST_IsValid(p.m)
    UNION ALL
    SELECT 'outside_block', p.code, %(block)s,
           round(ST_Area(d.part)::numeric, 2) || ' m2 lie outside the block',
           ST_PointOnSurface(d.part)
    FROM p, b, LATERAL (SELECT ST_Difference(p.m, b.m) AS part) d
    WHERE ST_IsValid(p.m) AND NOT ST_IsEmpty(ST_Buffer(d.part, -%(tolerance)s / 2.0))
    UNION ALL
    SELECT 'overlap', x.code, y.code,
           round(ST_Area(i.part)::numeric, 2) || ' m2 overlap the parcel ' || y.code,
           ST_PointOnSurface(i.part)
    FROM p x JOIN p y ON x.id < y.id AND ST_Intersects(x.m, y.m)
    CROSS JOIN LATERAL (SELECT ST_Intersection(x.m, y.m) AS part) i
    WHERE ST_IsValid(x.m) AND ST_IsValid(y.m)
      AND NOT ST_IsEmpty(ST_Buffer(i.part, -%(tolerance)s / 2.0))
),
gaps AS (
    SELECT 'gap' AS rule, NULL::text AS code, NULL::text AS other,
           round(ST_Area(g.geom)::numeric, 2) || ' m2 of the block lie in no parcel' AS detail,
           ST_PointOnSurface(g.geom) AS at
    FROM b, LATERAL ST_Dump(ST_Difference(b.m,
        coalesce((SELECT ST_Union(p.m) FROM p WHERE ST_IsValid(p.m)),
                 'GEOMETRYCOLLECTION EMPTY'::geometry))) AS g
    WHERE NOT ST_IsEmpty(ST_Buffer(g.geom, -%(tolerance)s / 2.0))
    ORDER BY ST_Area(g.geom) DESC
    LIMIT 500
)
SELECT rule, code, other, detail,
       ST_X(ST_Transform(ST_SetSRID(at, (SELECT srid FROM b)), 4326)),
       ST_Y(ST_Transform(ST_SetSRID(at, (SELECT srid FROM b)), 4326))
FROM (SELECT * FROM problems UNION ALL SELECT * FROM gaps) AS r
ORDER BY rule, code
