-- The database refuses impossible geometry, whoever writes it (a load's COPY, an API write,
-- a future code path): every layer geometry must be
--
--   * not empty;
--   * made of finite coordinates inside the domain of its CRS (longitude -180..180 and
--     latitude -90..90 in EPSG:4326, the Web Mercator square in EPSG:3857, |x|, |y| below
--     1e8 m in the projected national and UTM CRS);
--   * inside the country polygon (base.country) buffered by catalog.country_bounds.buffer_m
--     (10 km unless `geoportal db migrate` is told otherwise: setting
--     GEOPORTAL_COUNTRY_BUFFER_M).
--
-- One latitude of 91 in one road used to break tiles, the basemap, PMTiles exports and
-- reprojected pages for everyone ("transform: Invalid coordinate").
--
-- The buffered country is computed once, when base.country changes (a statement trigger),
-- and kept in catalog.country_bounds. The check passes it to one query as a parameter, so
-- PostGIS prepares it once (a prepared geometry) and tests each row in microseconds. While
-- no country is loaded, only the first two rules apply.
--
-- The check runs once per statement over its new rows (AFTER INSERT / UPDATE triggers with
-- a transition table), so a COPY of 20,000 plots costs one query, not 20,000. A violation
-- is SQLSTATE 23514 (check_violation) with constraint name `geometry_in_bounds`, column
-- `geom`, and a message naming the feature and the rule; the API turns it into a 400 naming
-- the field `geometry`. Layer tables created later get the triggers from layers/ddl.py
-- (create_table_sql calls catalog.layer_bound). base.country itself only gets the first two
-- rules (it defines the third).
--
-- Existing rows are checked here: the migration fails listing the offending rows, if any.

CREATE TABLE catalog.country_bounds (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    buffer_m double precision NOT NULL DEFAULT 10000 CHECK (buffer_m >= 0),
    geom geometry(MultiPolygon, 4326),
    computed_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE catalog.country_bounds OWNER TO geoportal_owner;
GRANT SELECT ON catalog.country_bounds TO geoportal_agency, geoportal_public;
INSERT INTO catalog.country_bounds (id) VALUES (1);

-- Recompute the buffered country from base.country (with a new buffer when given).
CREATE FUNCTION catalog.refresh_country_bounds(p_buffer_m double precision DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    UPDATE catalog.country_bounds SET buffer_m = p_buffer_m WHERE p_buffer_m IS NOT NULL;
    UPDATE catalog.country_bounds AS b
    SET geom = (SELECT ST_Multi(ST_Buffer(ST_Union(ST_Transform(c.geom, 4326))::geography,
                                          b.buffer_m)::geometry)
                FROM base.country c
                WHERE NOT ST_IsEmpty(c.geom)),
        computed_at = now();
END
$$;
ALTER FUNCTION catalog.refresh_country_bounds(double precision) OWNER TO geoportal_owner;

CREATE FUNCTION catalog.country_bounds_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    PERFORM catalog.refresh_country_bounds();
    RETURN NULL;
END
$$;

-- Finite coordinates inside the domain of the geometry's CRS. Not STRICT and no SET: so
-- that PostgreSQL inlines it into the check's query (a function call per row cost more
-- than the test).
CREATE FUNCTION catalog.geom_in_domain(g geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE ST_SRID(g)
        WHEN 4326 THEN ST_XMin(g::box3d) >= -180 AND ST_XMax(g::box3d) <= 180
                   AND ST_YMin(g::box3d) >= -90 AND ST_YMax(g::box3d) <= 90
        WHEN 3857 THEN greatest(abs(ST_XMin(g::box3d)), abs(ST_XMax(g::box3d)),
                                abs(ST_YMin(g::box3d)), abs(ST_YMax(g::box3d)))
                       <= 20037508.342789244
        ELSE greatest(abs(ST_XMin(g::box3d)), abs(ST_XMax(g::box3d)),
                      abs(ST_YMin(g::box3d)), abs(ST_YMax(g::box3d))) < 1e8
    END
$$;

-- The query listing the rows of `p_source` (a table, or a trigger's transition table) whose
-- geometry breaks a rule: (id, problem), at most $3 rows. $1: test the country rule; $2: the
-- whole buffered country (NULL: none loaded); $4: the buffer in metres. One query with the
-- country as a parameter, so that PostGIS prepares the polygon once for all the rows.
CREATE FUNCTION catalog.geometry_problems_query(p_source text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT format($q$
        SELECT x.id::text, x.problem FROM (
            SELECT n.id, CASE
                WHEN n.geom IS NULL THEN NULL
                WHEN ST_IsEmpty(n.geom) THEN 'is empty'
                WHEN NOT catalog.geom_in_domain(n.geom) THEN
                    'has coordinates that are not finite or lie outside the range of its CRS '
                    || '(EPSG:' || ST_SRID(n.geom) || ')'
                WHEN $1 AND $2 IS NOT NULL AND NOT ST_Covers($2, %2$s) THEN
                    'lies outside the country (its border buffered by '
                    || round($4)::bigint || ' m)'
            END AS problem
            FROM %1$s n) x
        WHERE x.problem IS NOT NULL ORDER BY x.id LIMIT $3
    $q$, p_source,
    'CASE WHEN ST_SRID(n.geom) = 4326 THEN n.geom ELSE ST_Transform(n.geom, 4326) END')
$$;

-- The statement trigger: the first offending new row, if any, aborts the statement.
-- Argument: 'country' to test the third rule, anything else not to.
CREATE FUNCTION catalog.geometry_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_country boolean := TG_NARGS = 0 OR TG_ARGV[0] = 'country';
    v_bounds record;
    v_id text;
    v_problem text;
BEGIN
    SELECT geom, buffer_m INTO v_bounds FROM catalog.country_bounds;
    EXECUTE catalog.geometry_problems_query('new_rows') INTO v_id, v_problem
        USING v_country, v_bounds.geom, 1, v_bounds.buffer_m;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'geometry of feature % %', v_id, v_problem
            USING ERRCODE = 'check_violation', CONSTRAINT = 'geometry_in_bounds',
                  COLUMN = 'geom', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$;

-- Put the check on one layer table (its geometry column is `geom`; idempotent).
CREATE FUNCTION catalog.layer_bound(p_table regclass, p_country boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_arg text := CASE WHEN p_country THEN 'country' ELSE 'domain' END;
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = p_table AND tgname = 'geometry_ins') THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TRIGGER geometry_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS '
                   'new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.geometry_check(%L)',
                   p_table, v_arg);
    EXECUTE format('CREATE TRIGGER geometry_upd AFTER UPDATE ON %s REFERENCING NEW TABLE AS '
                   'new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog.geometry_check(%L)',
                   p_table, v_arg);
END
$$;

-- The country defines the bounds: recomputed after every change of base.country.
CREATE TRIGGER country_bounds_refresh AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON base.country FOR EACH STATEMENT EXECUTE FUNCTION catalog.country_bounds_changed();
SELECT catalog.refresh_country_bounds();

-- Existing rows: list what breaks the rules (at most 20 rows per table), or bound the tables.
DO $$
DECLARE
    r record;
    v_found text;
    v_report text := '';
    v_bounds record;
BEGIN
    SELECT geom, buffer_m INTO v_bounds FROM catalog.country_bounds;
    FOR r IN
        SELECT c.oid::regclass AS tbl
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'geom' AND NOT a.attisdropped
        JOIN pg_attribute i ON i.attrelid = c.oid AND i.attname = 'id' AND NOT i.attisdropped
        WHERE catalog.tiles_geometry_column(c.oid) = 'geom'
        ORDER BY 1::text
    LOOP
        EXECUTE format('SELECT string_agg(format(''%%s id %%s: geometry %%s'', %L, id, problem), '
                       'E''\n'') FROM (%s) x', r.tbl, catalog.geometry_problems_query(r.tbl::text))
            INTO v_found
            USING r.tbl::text <> 'base.country', v_bounds.geom, 20, v_bounds.buffer_m;
        IF v_found IS NOT NULL THEN
            v_report := v_report || v_found || E'\n';
        END IF;
        PERFORM catalog.layer_bound(r.tbl, r.tbl::text <> 'base.country');
    END LOOP;
    IF v_report <> '' THEN
        RAISE EXCEPTION E'rows with impossible geometry (fix or delete them, then migrate '
                        'again):\n%', v_report;
    END IF;
END
$$;
