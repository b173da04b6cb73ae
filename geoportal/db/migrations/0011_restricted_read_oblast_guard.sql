-- Who may read personal data, and oblast binding decided by the database.
--
-- * Read policies by theme on the schema `restricted`: row-level security on every
--   restricted table, driven by the identity the server sets per transaction
--   (geoportal.role, geoportal.themes; migration 0007). geoportal_agency reads (and writes)
--   a restricted table's rows only when the identity is an administrator or an agency bound
--   to the theme of the table's layer: cadastre users read cadastre's right holders,
--   agriculture users the farm operators, other agency users (and a session without an
--   identity) read nothing. geoportal_public still has no privilege on the schema at all
--   (0006). The owner (loads) is not subject to it, nor are the cascades that delete a
--   feature's personal data with the feature (they run as the owner of the table).
--   A restricted table declared later joins by its layer's theme: layers/ddl.py emits
--   `SELECT catalog.restricted_protect(table, theme)` for it.
-- * Oblast binding in the database, on every editable layer: a trigger refuses an insert,
--   update or delete by an identity bound to oblasts (geoportal.oblasts) when the row lies
--   outside them, before and after the change. A row with geometry is judged by its
--   geometry; a row without (agri_plot_seasons, irrigation_readings) by the geometry of the
--   feature its declared reference points at (agri_plots, irrigation_sensors). Refusals are
--   `insufficient_privilege` with a message naming the feature; the API answers 403.
--   Administrators and users bound to no oblast are not limited; loads by the owner skip it.

-- ------------------------------------------------------------------ restricted reads
-- May the transaction's identity read (and write) the personal data of this theme?
CREATE FUNCTION catalog.identity_may_read_restricted(p_theme text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT catalog.identity_may_write(p_theme)
$$;

-- Enable row-level security by theme on one restricted table (idempotent; caller owns it).
-- The identity test is a sub-select, evaluated once per statement, not once per row.
CREATE FUNCTION catalog.restricted_protect(p_table regclass, p_theme text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = p_table AND polname = 'theme_read') THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE POLICY theme_read ON %s FOR SELECT TO geoportal_agency '
                   'USING ((SELECT catalog.identity_may_read_restricted(%L)))', p_table, p_theme);
    EXECUTE format('CREATE POLICY theme_insert ON %s FOR INSERT TO geoportal_agency '
                   'WITH CHECK ((SELECT catalog.identity_may_write(%L)))', p_table, p_theme);
    EXECUTE format('CREATE POLICY theme_update ON %s FOR UPDATE TO geoportal_agency '
                   'USING ((SELECT catalog.identity_may_write(%L))) '
                   'WITH CHECK ((SELECT catalog.identity_may_write(%L)))',
                   p_table, p_theme, p_theme);
    EXECUTE format('CREATE POLICY theme_delete ON %s FOR DELETE TO geoportal_agency '
                   'USING ((SELECT catalog.identity_may_write(%L)))', p_table, p_theme);
END
$$;

-- Every restricted table, with the theme of its layer (generated from layers/declarations).
SELECT catalog.restricted_protect('restricted.agri_plot_operators', 'agriculture');
SELECT catalog.restricted_protect('restricted.cadastre_right_holders', 'cadastre');

-- ------------------------------------------------------------------ oblast binding
-- Does the transaction's identity cover this geometry? Administrators and identities bound
-- to no oblast cover everything; otherwise the geometry must lie inside the union of the
-- identity's oblasts (named by id or by name in any of the three languages, any case).
-- A NULL geometry (a missing parent: the foreign key refuses it) is not judged here.
CREATE FUNCTION catalog.identity_covers(p_geom geometry) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT coalesce(current_setting('geoportal.role', true), '') = 'admin'
        OR coalesce(current_setting('geoportal.oblasts', true), '') = ''
        OR p_geom IS NULL
        OR coalesce(ST_CoveredBy(ST_Transform(p_geom, 4326), (
               SELECT ST_Union(o.geom) FROM base.oblasts o
               WHERE EXISTS (
                   SELECT FROM unnest(string_to_array(
                       current_setting('geoportal.oblasts', true), ',')) n
                   WHERE lower(n) IN (lower(o.name_en), lower(o.name_ru), lower(o.name_ky),
                                      o.id::text)))), false)
$$;

-- Refuse a geometry outside the identity's oblasts (insufficient_privilege, naming it).
CREATE FUNCTION catalog.area_check(p_geom geometry, p_what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NOT catalog.identity_covers(p_geom) THEN
        RAISE EXCEPTION '% lies outside the oblasts of %', p_what,
                coalesce(nullif(current_setting('geoportal.user', true), ''), current_user)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- Row trigger: refuse a row outside the identity's oblasts, before and after the change.
-- No argument: the row's own `geom`. Arguments (parent table, column): the geometry of the
-- parent feature whose id the column holds.
CREATE FUNCTION catalog.area_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_rows jsonb[] := '{}';
    v_row jsonb;
    v_id bigint;
    v_geom geometry;
BEGIN
    IF coalesce(current_setting('geoportal.role', true), '') = 'admin'
       OR coalesce(current_setting('geoportal.oblasts', true), '') = '' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_NARGS = 0 THEN
        IF TG_OP <> 'INSERT' THEN
            PERFORM catalog.area_check(OLD.geom, format('%s feature %s', TG_TABLE_NAME, OLD.id));
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM catalog.area_check(NEW.geom,
                                       format('the geometry of %s feature %s', TG_TABLE_NAME,
                                              NEW.id));
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        v_rows := v_rows || to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_rows := v_rows || to_jsonb(NEW);
    END IF;
    FOREACH v_row IN ARRAY v_rows LOOP
        v_id := (v_row ->> TG_ARGV[1])::bigint;
        CONTINUE WHEN v_id IS NULL;
        EXECUTE format('SELECT geom FROM %s WHERE id = $1', TG_ARGV[0]::regclass)
            INTO v_geom USING v_id;
        PERFORM catalog.area_check(
            v_geom, format('%s feature %s (%s of this %s row)', TG_ARGV[0]::regclass::text,
                           v_id, TG_ARGV[1], TG_TABLE_NAME));
    END LOOP;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- Attach the oblast guard to one editable layer table (idempotent; caller owns it): by its
-- own geometry, or, for a table without geometry, by the parent its column references.
CREATE FUNCTION catalog.layer_area_guard(p_table regclass, p_parent regclass DEFAULT NULL,
                                         p_column text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = p_table AND tgname = 'area_guard') THEN
        RETURN;
    END IF;
    IF p_parent IS NULL THEN
        EXECUTE format('CREATE TRIGGER area_guard BEFORE INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW WHEN (current_user <> %L) '
                       'EXECUTE FUNCTION catalog.area_guard()', p_table, 'geoportal_owner');
    ELSE
        EXECUTE format('CREATE TRIGGER area_guard BEFORE INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW WHEN (current_user <> %L) '
                       'EXECUTE FUNCTION catalog.area_guard(%L, %L)',
                       p_table, 'geoportal_owner', p_parent::text, p_column);
    END IF;
END
$$;

-- Every editable layer (generated from layers/declarations; new layers: layers/ddl.py).
SELECT catalog.layer_area_guard('roads.roads');
SELECT catalog.layer_area_guard('roads.bridges');
SELECT catalog.layer_area_guard('roads.road_works');
SELECT catalog.layer_area_guard('agriculture.agri_plots');
SELECT catalog.layer_area_guard('agriculture.agri_plot_seasons', 'agriculture.agri_plots', 'plot_id');
SELECT catalog.layer_area_guard('irrigation.irrigation_canals');
SELECT catalog.layer_area_guard('irrigation.irrigation_structures');
SELECT catalog.layer_area_guard('irrigation.water_user_associations');
SELECT catalog.layer_area_guard('irrigation.irrigation_sensors');
SELECT catalog.layer_area_guard('irrigation.irrigation_readings', 'irrigation.irrigation_sensors', 'sensor_id');
SELECT catalog.layer_area_guard('city.city_districts');
SELECT catalog.layer_area_guard('city.buildings');
SELECT catalog.layer_area_guard('city.utility_lines');
SELECT catalog.layer_area_guard('city.environment_sensors');
SELECT catalog.layer_area_guard('cadastre.cadastre_parcels');
SELECT catalog.layer_area_guard('sports.sports_facilities');
SELECT catalog.layer_area_guard('disaster.hazard_zones');
SELECT catalog.layer_area_guard('disaster.early_warning_areas');
