-- The topology rules of candidate parcels, checked in the Kyrg-06 zone of each candidate.
-- Parameters: codes text[], geoms text[] (hex EWKB, EPSG:4326), exclude bigint[] (parcels the
-- change retires), tolerance double precision (metres), cover text (hex EWKB of what the
-- candidates must cover exactly, or NULL). One row per problem: rule, code, other, detail,
-- lon, lat (a point where it is).
WITH c AS (
    SELECT u.ord, u.code, g.geom, cadastre.kyrg06_srid(ST_X(ST_PointOnSurface(g.geom))) AS srid
    FROM unnest(%(codes)s::text[], %(geoms)s::text[]) WITH ORDINALITY AS u(code, hex, ord)
    CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_GeomFromEWKB(decode(u.hex, 'hex')), 4326) AS geom) g
),
n AS (  -- in metres; invalid input stays as it is (reported, not repaired)
    SELECT c.*, ST_Transform(c.geom, c.srid) AS m FROM c
),
invalid AS (
    SELECT 'invalid' AS rule, n.code, NULL::text AS other,
           'the geometry is not valid: ' || (ST_IsValidDetail(n.m)).reason AS detail,
           ST_Transform(ST_SetSRID(coalesce((ST_IsValidDetail(n.m)).location,
               ST_Centroid(n.m)), n.srid), 4326) AS at
    FROM n WHERE NOT ST_IsValid(n.m)
),
ok AS (SELECT * FROM n WHERE ST_IsValid(n.m) AND NOT ST_IsEmpty(n.m)),
multipart AS (
    SELECT 'multipart', ok.code, NULL,
           'the parcel has ' || ST_NumGeometries(ok.m) || ' separate parts; a parcel is one '
           || 'piece of land', ST_PointOnSurface(ST_GeometryN(ok.geom, 2))
    FROM ok WHERE ST_NumGeometries(ok.m) > 1
),
blocks AS (
    SELECT ok.ord, b.geom AS block FROM ok
    LEFT JOIN cadastre.cadastre_blocks b
        ON b.block_code = substr(ok.code, 1, length(ok.code) - 5)
),
no_block AS (
    SELECT 'no_block', ok.code, substr(ok.code, 1, length(ok.code) - 5),
           'no cadastral block ' || substr(ok.code, 1, length(ok.code) - 5) || ' exists for '
           || 'the code''s prefix', ST_PointOnSurface(ok.geom)
    FROM ok JOIN blocks USING (ord) WHERE blocks.block IS NULL
),
outside AS (
    SELECT 'outside_block', ok.code, substr(ok.code, 1, length(ok.code) - 5),
           round(ST_Area(d.part)::numeric, 2) || ' m2 lie outside the block its code names',
           ST_Transform(ST_PointOnSurface(d.part), 4326)
    FROM ok JOIN blocks USING (ord)
    CROSS JOIN LATERAL (SELECT ST_Difference(ok.m, ST_Transform(blocks.block, ok.srid)) AS part) d
    WHERE blocks.block IS NOT NULL
      AND NOT ST_IsEmpty(ST_Buffer(d.part, -%(tolerance)s / 2.0))
),
overlap_register AS (
    SELECT 'overlap', ok.code, p.cadastral_code,
           round(ST_Area(i.part)::numeric, 2) || ' m2 overlap the active parcel '
           || p.cadastral_code, ST_Transform(ST_PointOnSurface(i.part), 4326)
    FROM ok
    JOIN cadastre.cadastre_parcels p
        ON p.geom && ok.geom AND ST_Intersects(p.geom, ok.geom)
       AND NOT p.id = ANY (%(exclude)s::bigint[])
    CROSS JOIN LATERAL (SELECT ST_Intersection(ok.m, ST_Transform(p.geom, ok.srid)) AS part) i
    WHERE NOT ST_IsEmpty(ST_Buffer(i.part, -%(tolerance)s / 2.0))
),
overlap_each_other AS (
    SELECT 'overlap', a.code, b.code,
           round(ST_Area(i.part)::numeric, 2) || ' m2 overlap the new parcel ' || b.code,
           ST_Transform(ST_PointOnSurface(i.part), 4326)
    FROM ok a JOIN ok b ON a.ord < b.ord AND ST_Intersects(a.geom, b.geom)
    CROSS JOIN LATERAL (SELECT ST_Intersection(a.m, ST_Transform(b.geom, a.srid)) AS part) i
    WHERE NOT ST_IsEmpty(ST_Buffer(i.part, -%(tolerance)s / 2.0))
),
cover AS (
    SELECT ST_Transform(ST_SetSRID(ST_GeomFromEWKB(decode(%(cover)s::text, 'hex')), 4326),
                        min(ok.srid)) AS whole,
           ST_Union(ST_Transform(ok.geom, (SELECT min(srid) FROM ok))) AS parts
    FROM ok WHERE %(cover)s::text IS NOT NULL
),
gaps AS (
    SELECT d.rule, NULL::text, NULL::text, round(ST_Area(d.part)::numeric, 2) || d.what,
           ST_Transform(ST_PointOnSurface(d.part), 4326)
    FROM cover CROSS JOIN LATERAL (VALUES
        ('gap', ST_Difference(cover.whole, cover.parts),
         ' m2 of the retired parcels are covered by no new parcel'),
        ('outside_parents', ST_Difference(cover.parts, cover.whole),
         ' m2 of the new parcels lie outside the retired parcels')) AS d(rule, part, what)
    WHERE cover.whole IS NOT NULL AND NOT ST_IsEmpty(ST_Buffer(d.part, -%(tolerance)s / 2.0))
)
SELECT rule, code, other, detail, ST_X(at) AS lon, ST_Y(at) AS lat FROM (
    SELECT * FROM invalid
    UNION ALL SELECT * FROM multipart
    UNION ALL SELECT * FROM no_block
    UNION ALL SELECT * FROM outside
    UNION ALL SELECT * FROM overlap_register
    UNION ALL SELECT * FROM overlap_each_other
    UNION ALL SELECT * FROM gaps
) AS problems(rule, code, other, detail, at)
ORDER BY code NULLS LAST, rule
