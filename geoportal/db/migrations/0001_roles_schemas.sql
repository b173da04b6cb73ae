-- Roles, schemas and the bookkeeping tables every later migration relies on.
-- Roles are cluster-wide: create them only when missing.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'geoportal_owner') THEN
        CREATE ROLE geoportal_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'geoportal_agency') THEN
        CREATE ROLE geoportal_agency LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'geoportal_public') THEN
        CREATE ROLE geoportal_public LOGIN;
    END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE SCHEMA IF NOT EXISTS geoportal_meta;
CREATE TABLE IF NOT EXISTS geoportal_meta.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone NOT NULL DEFAULT now()
);

-- Nobody but the owner creates objects in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- catalog: what is loaded, how much of it, and since when. Read by everyone.
CREATE SCHEMA catalog AUTHORIZATION geoportal_owner;
CREATE TABLE catalog.layer_stats (
    layer_id text PRIMARY KEY,
    feature_count bigint NOT NULL CHECK (feature_count >= 0),
    bbox_4326 double precision[] CHECK (bbox_4326 IS NULL OR cardinality(bbox_4326) = 4),
    source_file text,
    loaded_at timestamp with time zone NOT NULL DEFAULT now()
);
ALTER TABLE catalog.layer_stats OWNER TO geoportal_owner;

-- base: the reference layers of the cartography agency.
CREATE SCHEMA base AUTHORIZATION geoportal_owner;

GRANT USAGE ON SCHEMA catalog, base TO geoportal_agency, geoportal_public;
GRANT SELECT ON catalog.layer_stats TO geoportal_agency, geoportal_public;
