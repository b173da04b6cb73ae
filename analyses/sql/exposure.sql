-- Exposure of a zone (%(zone)s: GeoJSON, CRS84), by rayon: the zone is cut by the rayons,
-- each piece subdivided into small parts (ST_Subdivide) so that every test is an index
-- look-up against a simple polygon. Points and polygons count in the part holding their
-- point on surface (once each); lines and parcel areas are measured inside each part (the
-- parts do not overlap), geodesic on WGS 84.
WITH zone AS (
    SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(%(zone)s),
                                                                  4326)), 3)) AS geom
), pieces AS MATERIALIZED (
    SELECT r.id AS rayon_id, r.oblast, r.name_en AS rayon,
           ST_Multi(ST_CollectionExtract(ST_Intersection(r.geom, z.geom), 3)) AS geom
      FROM base.rayons r, zone z
     WHERE ST_Intersects(r.geom, z.geom)
), parts AS MATERIALIZED (
    SELECT p.rayon_id, ST_Subdivide(p.geom, 128) AS geom FROM pieces p
), b AS (
    SELECT pt.rayon_id,
           count(*) AS buildings,
           sum(f.floor_area_m2) AS floor_area_m2,
           sum(f.floor_area_m2 * CASE f.use
                   WHEN 'residential' THEN 1.0
                   WHEN 'mixed' THEN %(mixed_share)s
                   ELSE 0 END) / %(m2_per_resident)s AS residents,
           count(*) FILTER (WHERE f.use = 'education') AS education_buildings,
           coalesce(sum(f.floor_area_m2) FILTER (WHERE f.use = 'education'), 0)
               AS education_floor_area_m2
      FROM parts pt
      JOIN LATERAL (
            SELECT bl.use,
                   coalesce(bl.footprint_area_m2, ST_Area(bl.geom::geography))
                       * greatest(coalesce(bl.floors, 1), 1) AS floor_area_m2
              FROM city.buildings bl
             WHERE ST_Intersects(bl.geom, pt.geom)
               AND ST_Intersects(ST_PointOnSurface(bl.geom), pt.geom)) f ON true
     GROUP BY pt.rayon_id
), pa AS (
    SELECT pt.rayon_id,
           count(*) FILTER (WHERE ST_Intersects(ST_PointOnSurface(cp.geom), pt.geom)) AS parcels,
           sum(CASE WHEN ST_CoveredBy(cp.geom, pt.geom) THEN ST_Area(cp.geom::geography)
                    ELSE ST_Area(ST_Intersection(cp.geom, pt.geom)::geography) END)
               AS parcel_area_m2
      FROM parts pt
      JOIN cadastre.cadastre_parcels cp ON ST_Intersects(cp.geom, pt.geom)
     GROUP BY pt.rayon_id
), rd AS (
    SELECT k.rayon_id, jsonb_object_agg(k.road_class, k.km) AS road_km
      FROM (SELECT pt.rayon_id, r.road_class,
                   sum(CASE WHEN ST_CoveredBy(r.geom, pt.geom) THEN ST_Length(r.geom::geography)
                            ELSE ST_Length(ST_Intersection(r.geom, pt.geom)::geography) END)
                       / 1000 AS km
              FROM parts pt
              JOIN roads.roads r ON ST_Intersects(r.geom, pt.geom)
             GROUP BY pt.rayon_id, r.road_class) k
     GROUP BY k.rayon_id
), c AS (
    SELECT pt.rayon_id, count(DISTINCT ic.id) AS canals,
           sum(CASE WHEN ST_CoveredBy(ic.geom, pt.geom) THEN ST_Length(ic.geom::geography)
                    ELSE ST_Length(ST_Intersection(ic.geom, pt.geom)::geography) END) / 1000
               AS canal_km
      FROM parts pt
      JOIN irrigation.irrigation_canals ic ON ST_Intersects(ic.geom, pt.geom)
     GROUP BY pt.rayon_id
), s AS (
    SELECT pt.rayon_id, count(*) AS sports_facilities, coalesce(sum(sf.capacity), 0)
               AS sports_capacity
      FROM parts pt
      JOIN sports.sports_facilities sf ON ST_Intersects(sf.geom, pt.geom)
     GROUP BY pt.rayon_id
)
SELECT p.oblast, p.rayon,
       ST_Area(p.geom::geography) / 1e6 AS area_km2,
       ST_AsGeoJSON(p.geom, 6) AS geojson,
       coalesce(b.buildings, 0) AS buildings,
       coalesce(b.floor_area_m2, 0) AS floor_area_m2,
       coalesce(b.residents, 0) AS residents,
       coalesce(b.education_buildings, 0) AS education_buildings,
       coalesce(b.education_floor_area_m2, 0) AS education_floor_area_m2,
       coalesce(pa.parcels, 0) AS parcels,
       coalesce(pa.parcel_area_m2, 0) AS parcel_area_m2,
       coalesce(rd.road_km, '{}'::jsonb) AS road_km,
       coalesce(c.canals, 0) AS canals,
       coalesce(c.canal_km, 0) AS canal_km,
       coalesce(s.sports_facilities, 0) AS sports_facilities,
       coalesce(s.sports_capacity, 0) AS sports_capacity
  FROM pieces p
  LEFT JOIN b USING (rayon_id)
  LEFT JOIN pa USING (rayon_id)
  LEFT JOIN rd USING (rayon_id)
  LEFT JOIN c USING (rayon_id)
  LEFT JOIN s USING (rayon_id)
 ORDER BY p.oblast, p.rayon
