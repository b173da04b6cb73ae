-- A raster collection's scene or product was (re)ingested: tell every server process.
--
-- Raster map tiles are cached beside the vector tiles (memory and the disk cache) and kept
-- fresh by the same change log and channel (0005): a change of the pseudo-table
-- `raster.<collection>` with boxes NULL (the whole collection). The image bank
-- (imagery/bank.py) calls this in the transaction that stores or deletes an item, so the
-- notification is delivered at commit, and a listener that was away catches up from
-- catalog.tile_changes. SECURITY DEFINER: the job worker's role may record it, not write
-- the log itself.

CREATE FUNCTION catalog.rasters_publish_change(p_collection text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_name text;
    v_seq bigint;
BEGIN
    IF p_collection IS NULL OR p_collection !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid raster collection id %', p_collection
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_name := 'raster.' || p_collection;
    INSERT INTO catalog.tile_changes (table_name, boxes) VALUES (v_name, NULL)
    RETURNING seq INTO v_seq;
    PERFORM pg_notify('geoportal_tiles',
                      jsonb_build_object('seq', v_seq, 'table', v_name, 'boxes', NULL)::text);
    RETURN v_seq;
END
$$;
ALTER FUNCTION catalog.rasters_publish_change(text) OWNER TO geoportal_owner;
REVOKE ALL ON FUNCTION catalog.rasters_publish_change(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION catalog.rasters_publish_change(text)
    TO geoportal_owner, geoportal_agency;
