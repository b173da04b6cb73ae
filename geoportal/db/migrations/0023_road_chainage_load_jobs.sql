-- Roads gain a natural key for agency files: the road number and the chainage of the
-- segment's start (km_start, km from the road's start; layers/declarations/10_roads.yaml,
-- `key: [road_number, km_start]`), so `geoportal layers load roads FILE --mode upsert`
-- updates the segments it names. The unique index leaves rows with a NULL part alone (NULLs
-- are distinct): OpenStreetMap roads have no chainage and are keyed by osm_id instead
-- (`geoportal layers import-osm --mode upsert`). Rows loaded before this migration keep a
-- NULL km_start until the roads are reloaded (`geoportal demo load` fills it).
ALTER TABLE "roads"."roads"
    ADD COLUMN "km_start" double precision CHECK ("km_start" >= 0) CHECK ("km_start" <= 2000);
GRANT SELECT ("km_start") ON "roads"."roads" TO geoportal_public;
CREATE UNIQUE INDEX "roads_key_idx" ON "roads"."roads" ("road_number", "km_start");

-- A load's change set names the job that ran it (`layers.load`; NULL for a load run in the
-- foreground of `geoportal layers load`), so GET /audit?kind=loads links each load to
-- /jobs/{jobId} and its validation report.
ALTER TABLE audit.loads ADD COLUMN job_id uuid;
CREATE INDEX loads_time_idx ON audit.loads (loaded_at);
