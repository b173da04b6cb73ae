-- OpenStreetMap imports (`geoportal layers import-osm`, ingestion/osm.py) into roads and
-- buildings: the OSM id as a natural key, and what OSM does not know is NULL or 'unknown',
-- never an invented value (layers/declarations/10_roads.yaml, 40_city.yaml).

-- roads: the way id; number, name and the measured attributes may be missing; classes gain
-- 'unknown'; an OSM way is not cut into segments of at most 5 km.
ALTER TABLE "roads"."roads" ADD COLUMN "osm_id" bigint UNIQUE;
GRANT SELECT ("osm_id") ON "roads"."roads" TO geoportal_public;
ALTER TABLE "roads"."roads"
    ALTER COLUMN "road_number" DROP NOT NULL,
    ALTER COLUMN "name" DROP NOT NULL,
    ALTER COLUMN "width_m" DROP NOT NULL,
    ALTER COLUMN "lanes" DROP NOT NULL,
    ALTER COLUMN "iri_m_per_km" DROP NOT NULL,
    ALTER COLUMN "aadt" DROP NOT NULL,
    ALTER COLUMN "last_survey" DROP NOT NULL,
    DROP CONSTRAINT "roads_road_class_check",
    ADD CONSTRAINT "roads_road_class_check"
        CHECK ("road_class" IN ('international', 'national', 'local', 'urban', 'unknown')),
    DROP CONSTRAINT "roads_surface_check",
    ADD CONSTRAINT "roads_surface_check"
        CHECK ("surface" IN ('asphalt', 'concrete', 'gravel', 'earth', 'unknown')),
    DROP CONSTRAINT "roads_condition_check",
    ADD CONSTRAINT "roads_condition_check"
        CHECK ("condition" IN ('good', 'fair', 'poor', 'very_poor', 'unknown')),
    DROP CONSTRAINT "roads_length_km_check1",
    ADD CONSTRAINT "roads_length_km_check1" CHECK ("length_km" <= 500);

-- buildings: a relation's id is stored negative (ways and relations number apart);
-- address, floors, height and year built may be missing; use gains 'unknown'.
ALTER TABLE "city"."buildings" ADD COLUMN "osm_id" bigint UNIQUE;
GRANT SELECT ("osm_id") ON "city"."buildings" TO geoportal_public;
ALTER TABLE "city"."buildings"
    ALTER COLUMN "address" DROP NOT NULL,
    ALTER COLUMN "floors" DROP NOT NULL,
    ALTER COLUMN "height_m" DROP NOT NULL,
    ALTER COLUMN "year_built" DROP NOT NULL,
    DROP CONSTRAINT "buildings_use_check",
    ADD CONSTRAINT "buildings_use_check"
        CHECK ("use" IN ('residential', 'commercial', 'public', 'industrial', 'education',
                         'health', 'religious', 'mixed', 'unknown'));
