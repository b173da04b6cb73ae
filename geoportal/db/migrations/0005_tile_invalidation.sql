-- Tile freshness: every committed write to a layer table tells the tile caches where it
-- happened (tiles/changes.py listens; docs/tiles.md explains the whole path).
--
-- * One notification per statement, not per row: statement-level AFTER triggers read the
--   changed rows from transition tables, so a bulk load (DELETE + COPY of 300,000 rows)
--   sends two notifications per layer, an edit of one feature one, with its old and new
--   boxes. Up to 32 rows are sent box by box; beyond that, one box around all of them.
-- * Payload on channel `geoportal_tiles`: {"seq": n, "table": "schema.table",
--   "boxes": [[xmin, ymin, xmax, ymax], ...] | null} in CRS84; null = the whole table
--   (TRUNCATE, or a load that publishes its change itself).
-- * The same rows go to catalog.tile_changes (kept 7 days), so a server that was not
--   listening catches up on what it missed instead of trusting a stale disk cache.
-- * A loader may skip the per-statement work with SET LOCAL geoportal.tiles_notify = 'off'
--   and call catalog.tiles_publish_change(table, boxes) once per layer instead.
-- * Tables: every table with a geometry column outside the system and bookkeeping schemas,
--   now (below) and, when the migrator is a superuser, every such table created later (an
--   event trigger). Otherwise call catalog.tiles_watch('schema.table') after creating one.

CREATE TABLE catalog.tile_changes (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    boxes jsonb CHECK (boxes IS NULL OR jsonb_typeof(boxes) = 'array'),
    changed_at timestamp with time zone NOT NULL DEFAULT now()
);
CREATE INDEX tile_changes_changed_at_idx ON catalog.tile_changes (changed_at);
ALTER TABLE catalog.tile_changes OWNER TO geoportal_owner;
GRANT SELECT ON catalog.tile_changes TO geoportal_agency, geoportal_public;

-- The CRS84 box of a geometry in any SRID (edges densified before reprojection).
CREATE FUNCTION catalog.tiles_box_4326(g geometry) RETURNS box2d
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, public
AS $$
    SELECT CASE
        WHEN ST_IsEmpty(g) THEN NULL
        WHEN ST_SRID(g) IN (0, 4326) THEN Box2D(g)
        ELSE Box2D(ST_Transform(ST_Segmentize(ST_Envelope(g),
                   GREATEST(ST_XMax(g) - ST_XMin(g), ST_YMax(g) - ST_YMin(g), 1) / 8), 4326))
    END
$$;

-- Record a change and notify the listeners (delivered at commit, dropped on rollback).
CREATE FUNCTION catalog.tiles_publish_change(p_table regclass, p_boxes jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_name text;
    v_seq bigint;
BEGIN
    SELECT n.nspname || '.' || c.relname INTO v_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = p_table;
    INSERT INTO catalog.tile_changes (table_name, boxes) VALUES (v_name, p_boxes)
    RETURNING seq INTO v_seq;
    PERFORM pg_notify('geoportal_tiles',
                      jsonb_build_object('seq', v_seq, 'table', v_name, 'boxes', p_boxes)::text);
    IF v_seq % 1000 = 0 THEN
        DELETE FROM catalog.tile_changes WHERE changed_at < now() - interval '7 days';
    END IF;
    RETURN v_seq;
END
$$;
ALTER FUNCTION catalog.tiles_publish_change(regclass, jsonb) OWNER TO geoportal_owner;
REVOKE ALL ON FUNCTION catalog.tiles_publish_change(regclass, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION catalog.tiles_publish_change(regclass, jsonb)
    TO geoportal_owner, geoportal_agency;

-- Statement trigger: the boxes of the rows a statement changed (old and new versions).
-- TG_ARGV[0] names the geometry column. Transition tables: new_rows (INSERT, UPDATE) and
-- old_rows (UPDATE, DELETE); the query reads only those its trigger declares.
CREATE FUNCTION catalog.tiles_rows_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_geom text := coalesce(TG_ARGV[0], 'geom');
    v_from text;
    v_boxes jsonb;
BEGIN
    IF coalesce(current_setting('geoportal.tiles_notify', true), '') = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM catalog.tiles_publish_change(TG_RELID, NULL);
        RETURN NULL;
    END IF;
    v_from := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT %I AS g FROM new_rows', v_geom)
        WHEN 'DELETE' THEN format('SELECT %I AS g FROM old_rows', v_geom)
        ELSE format('SELECT %1$I AS g FROM old_rows UNION ALL SELECT %1$I FROM new_rows', v_geom)
    END;
    EXECUTE format($q$
        WITH changed AS (
            SELECT catalog.tiles_box_4326(g) AS b FROM (%s) AS r WHERE g IS NOT NULL
        ), boxes AS (
            SELECT b FROM changed WHERE b IS NOT NULL
        )
        SELECT CASE
            WHEN count(*) = 0 THEN NULL
            WHEN count(*) <= 32 THEN jsonb_agg(jsonb_build_array(
                ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)))
            ELSE jsonb_build_array(jsonb_build_array(
                min(ST_XMin(b)), min(ST_YMin(b)), max(ST_XMax(b)), max(ST_YMax(b))))
        END
        FROM boxes$q$, v_from) INTO v_boxes;
    IF v_boxes IS NOT NULL THEN
        PERFORM catalog.tiles_publish_change(TG_RELID, v_boxes);
    END IF;
    RETURN NULL;
END
$$;

-- Attach the triggers to one table (idempotent). The caller must own the table.
CREATE FUNCTION catalog.tiles_watch(p_table regclass, p_geom text DEFAULT 'geom')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = p_table AND tgname = 'tiles_changed_ins')
    THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TRIGGER tiles_changed_ins AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION catalog.tiles_rows_changed(%L)', p_table, p_geom);
    EXECUTE format('CREATE TRIGGER tiles_changed_upd AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION catalog.tiles_rows_changed(%L)',
                   p_table, p_geom);
    EXECUTE format('CREATE TRIGGER tiles_changed_del AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION catalog.tiles_rows_changed(%L)', p_table, p_geom);
    EXECUTE format('CREATE TRIGGER tiles_changed_trunc AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION catalog.tiles_rows_changed(%L)',
                   p_table, p_geom);
END
$$;

-- Which tables are layer tables: a geometry column, an ordinary or partitioned table, not
-- temporary, outside the system and bookkeeping schemas.
CREATE FUNCTION catalog.tiles_geometry_column(p_table regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT a.attname::text
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.oid = p_table
      AND c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'public', 'catalog',
                            'geoportal_meta', 'topology', 'tiger', 'tiger_data')
      AND n.nspname NOT LIKE 'pg\_%'
      AND a.atttypid = 'geometry'::regtype
    ORDER BY (a.attname = 'geom') DESC, a.attnum
    LIMIT 1
$$;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS tbl, catalog.tiles_geometry_column(c.oid) AS geom
        FROM pg_class c
        WHERE catalog.tiles_geometry_column(c.oid) IS NOT NULL
    LOOP
        PERFORM catalog.tiles_watch(r.tbl, r.geom);
    END LOOP;
END
$$;

-- Tables created (or moved, renamed, swapped in) later: watch them, and tell the caches
-- that a watched table's content may have been replaced. Never lets a DDL command fail.
CREATE FUNCTION catalog.tiles_ddl_watch() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    r record;
    v_geom text;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table'
    LOOP
        BEGIN
            v_geom := catalog.tiles_geometry_column(r.objid);
            IF v_geom IS NOT NULL THEN
                PERFORM catalog.tiles_watch(r.objid, v_geom);
                IF r.command_tag = 'ALTER TABLE' THEN
                    PERFORM catalog.tiles_publish_change(r.objid, NULL);
                END IF;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'tile change triggers not attached to %: %', r.object_identity, SQLERRM;
        END;
    END LOOP;
END
$$;

DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        CREATE EVENT TRIGGER tiles_watch_new_tables ON ddl_command_end
            WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
            EXECUTE FUNCTION catalog.tiles_ddl_watch();
    ELSE
        RAISE NOTICE 'not a superuser: new layer tables need SELECT catalog.tiles_watch(...)';
    END IF;
END
$$;
