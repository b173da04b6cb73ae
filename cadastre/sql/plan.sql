-- The facts of a cadastral plan of one current parcel: %(code)s. Coordinates in the Kyrg-06
-- zone of the parcel; neighbours: current parcels within 30 m, in the same zone's metres.
WITH p AS (
    SELECT t.*, cadastre.kyrg06_srid(ST_X(ST_PointOnSurface(t.geom))) AS srid
    FROM cadastre.cadastre_parcels t WHERE t.cadastral_code = %(code)s
)
SELECT p.id, p.cadastral_code, p.land_category, p.designated_use, p.area_m2,
       coalesce(p.area_national_m2, cadastre.national_area_m2(p.geom)) AS area_national_m2,
       p.address, p.registered_on, p.srid,
       (SELECT v.version_id FROM cadastre.parcel_versions v WHERE v.parcel_id = p.id
          AND v.valid_to IS NULL AND v.recorded_to IS NULL ORDER BY v.version_id DESC LIMIT 1)
           AS version_id,
       md5(ST_AsBinary(p.geom)) AS geometry_md5,
       ST_AsGeoJSON(ST_Transform(p.geom, p.srid), 2)::json AS national,
       (SELECT coalesce(json_agg(json_build_object('code', n.cadastral_code,
                'geometry', ST_AsGeoJSON(ST_Transform(n.geom, p.srid), 2)::json)
                ORDER BY n.cadastral_code), '[]'::json)
        FROM cadastre.cadastre_parcels n
        WHERE n.id <> p.id AND n.geom && ST_Expand(p.geom, 0.0005)
          AND ST_DWithin(n.geom::geography, p.geom::geography, 30)) AS neighbours
FROM p
