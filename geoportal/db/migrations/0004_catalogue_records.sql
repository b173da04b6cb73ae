-- The dataset catalogue, served as the OGC API - Records collection `catalogue`.
--
-- catalog.datasets holds what the layer declarations say about each dataset (titles,
-- abstracts, keywords in three languages, custodian, licence, ...). It is upserted by
-- geoportal.catalogue.records.sync_datasets() and written by nobody else.
--
-- catalog.records joins it with the load bookkeeping in catalog.layer_stats (feature count,
-- extent, load time). A load writes layer_stats in the transaction of its data, so the
-- record changes at the commit of the load, with no extra step.

CREATE TABLE catalog.datasets (
    id text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,62}$'),
    position integer NOT NULL,              -- declaration order: the default record order
    kind text NOT NULL CHECK (kind IN ('vector', 'raster')),
    theme text NOT NULL,
    title_i18n jsonb NOT NULL CHECK (title_i18n ?& ARRAY['ky', 'ru', 'en']),
    description_i18n jsonb NOT NULL CHECK (description_i18n ?& ARRAY['ky', 'ru', 'en']),
    keywords_i18n jsonb NOT NULL CHECK (keywords_i18n ?& ARRAY['ky', 'ru', 'en']),
    custodian_i18n jsonb NOT NULL CHECK (custodian_i18n ?& ARRAY['ky', 'ru', 'en']),
    license text NOT NULL,                  -- SPDX identifier, or 'other'
    license_title text NOT NULL,            -- the licence as declared
    license_url text,
    rights text NOT NULL,                   -- the attribution the licence requires
    frequency text NOT NULL,                -- ISO 19115 MD_MaintenanceFrequencyCode
    lineage text NOT NULL DEFAULT '',
    formats jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(formats) = 'array'),
    geometry_type text,
    -- `q`: titles, abstracts, keywords, theme and custodian in the three languages, case-folded
    -- in Python (the cluster runs with the C locale, whose lower() folds ASCII only).
    search_text text NOT NULL,
    search_title text NOT NULL,             -- titles and keywords only: relevance order
    -- registration in the catalogue, or the dataset's load if that came first
    created timestamp with time zone NOT NULL DEFAULT now(),
    metadata_updated timestamp with time zone NOT NULL DEFAULT now()  -- declaration changed
);
ALTER TABLE catalog.datasets OWNER TO geoportal_owner;

-- The temporal extent is read from the layer_stats row as JSON: layer_stats.time_min and
-- time_max are written by the load where a layer declares a time field, and a row without
-- them simply gives no temporal extent. The fallback extent is Kyrgyzstan's bounding box
-- (lon 69.2..80.3, lat 39.1..43.3), also used for collections never loaded.
CREATE VIEW catalog.records AS
SELECT d.id,
       d.position,
       d.kind,
       'dataset'::text AS type,
       d.theme,
       d.title_i18n,
       d.description_i18n,
       d.keywords_i18n,
       d.custodian_i18n,
       d.license,
       d.license_title,
       d.license_url,
       d.rights,
       d.frequency,
       d.lineage,
       d.formats,
       d.geometry_type,
       d.search_text,
       d.search_title,
       d.created,
       d.metadata_updated,
       COALESCE(s.loaded_at, d.metadata_updated) AS updated,
       s.loaded_at,
       s.feature_count,
       e.bbox_4326,
       s.bbox_4326 IS NOT NULL AS has_extent,
       ST_MakeEnvelope(e.bbox_4326[1], e.bbox_4326[2], e.bbox_4326[3], e.bbox_4326[4], 4326)
           AS geom,
       (to_jsonb(s) ->> 'time_min')::timestamp with time zone AS time_min,
       (to_jsonb(s) ->> 'time_max')::timestamp with time zone AS time_max
FROM catalog.datasets AS d
LEFT JOIN catalog.layer_stats AS s ON s.layer_id = d.id
CROSS JOIN LATERAL (
    SELECT COALESCE(s.bbox_4326, ARRAY[69.2, 39.1, 80.3, 43.3]::double precision[])
        AS bbox_4326
) AS e;
ALTER VIEW catalog.records OWNER TO geoportal_owner;

-- Readers get the view only; the view reads the tables with its owner's rights.
GRANT SELECT ON catalog.datasets TO geoportal_agency;
GRANT SELECT ON catalog.records TO geoportal_agency, geoportal_public;
