-- Nothing in the land register is ever deleted (issue 13, tracker; "issue 9" in the texts),
-- and the search's trigram indexes skip the GIN pending list (end of file).
--
-- Migration 0019 retired a parcel on a DELETE by a writer but erased its records on a DELETE
-- by the owner (a load, or psql as the owner). From here on every DELETE on
-- cadastre.cadastre_parcels, whoever runs it (a Part 4 DELETE as geoportal_agency, an upload,
-- a load, psql as the owner or a superuser), retires the parcel: it leaves the table of
-- current parcels (the public collection, tiles, downloads, search), its versions are closed
-- in valid and record time ('retire', 'split' or 'merge'), its register row keeps its code
-- (never reused) and its rights stay.
--
-- The one exception is explicit and owner-only: the demo loader, which replaces the generated
-- demo register whole, sets `cadastre.erasing = 'on'` for its session (demo/loader.py); only
-- then does a DELETE by geoportal_owner erase the records of the parcels it deletes.

CREATE OR REPLACE FUNCTION cadastre.is_erasing() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT current_user = 'geoportal_owner'
       AND coalesce(current_setting('cadastre.erasing', true), '') = 'on'
$$;
ALTER FUNCTION cadastre.is_erasing() OWNER TO geoportal_owner;

CREATE OR REPLACE FUNCTION cadastre.parcels_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    ids bigint[];
    kind text := cadastre.change_kind('retire');
BEGIN
    SELECT array_agg(o.id) INTO ids FROM old_rows o;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_ARGV[0] = 'erase' THEN
        -- the demo loader's reset (the trigger's WHEN is cadastre.is_erasing() of the caller);
        -- the guard of the register tables lets these deletes through while the setting is on
        DELETE FROM restricted.cadastre_right_holders WHERE feature_id = ANY (ids);
        DELETE FROM restricted.cadastre_encumbrances WHERE parcel_id = ANY (ids);
        DELETE FROM restricted.cadastre_documents WHERE parcel_id = ANY (ids);
        DELETE FROM cadastre.parcel_lineage WHERE parent_id = ANY (ids) OR child_id = ANY (ids);
        DELETE FROM cadastre.parcel_versions WHERE parcel_id = ANY (ids);
        DELETE FROM cadastre.parcel_register WHERE parcel_id = ANY (ids);
        RETURN NULL;
    END IF;
    PERFORM cadastre.close_versions(ids, cadastre.change_time(), kind);
    UPDATE cadastre.parcel_register SET retired_at = cadastre.change_time(), retired_by = kind
    WHERE parcel_id = ANY (ids);
    RETURN NULL;
END
$$;

-- Erasing is the caller's explicit owner-only reset, not the owner's every DELETE.
DROP TRIGGER register_delete ON cadastre.cadastre_parcels;
DROP TRIGGER register_erase ON cadastre.cadastre_parcels;
CREATE TRIGGER register_delete AFTER DELETE ON cadastre.cadastre_parcels
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (NOT cadastre.is_erasing())
    EXECUTE FUNCTION cadastre.parcels_deleted('retire');
CREATE TRIGGER register_erase AFTER DELETE ON cadastre.cadastre_parcels
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (cadastre.is_erasing())
    EXECUTE FUNCTION cadastre.parcels_deleted('erase');

-- The register tables' guard lets a delete through only during that reset (0019 let it
-- through whenever the setting was on, whoever set it).
CREATE OR REPLACE FUNCTION cadastre.guard_register() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT cadastre.is_erasing() THEN
        RAISE EXCEPTION 'the cadastral register keeps every record: DELETE on % is refused',
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- ------------------------------------------------------------------ search index upkeep
-- The search's trigram indexes are written in bulk (names and streets rebuilt after each
-- load) and read by every search. With GIN's fast update the new entries wait in a pending
-- list that every search scans linearly until a vacuum merges it: measured 40 ms per names
-- query right after a rebuild of 3,540 rows, 2 ms once merged (docs/benchmarks.md). Written
-- straight into the index instead, and the current pending lists merged now.
ALTER INDEX search.streets_head_trgm_idx SET (fastupdate = off);
ALTER INDEX search.names_key_trgm_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('search.streets_head_trgm_idx'::regclass);
SELECT gin_clean_pending_list('search.names_key_trgm_idx'::regclass);
