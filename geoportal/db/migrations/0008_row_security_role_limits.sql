-- Defence in depth below the API: limits on the roles the server uses, and row-level
-- security on the editable layers, driven by the identity the server sets per transaction.
--
-- * geoportal_public: every session is read-only and has a statement timeout, whatever
--   path opened it (pygeoapi, tiles, search, a future route that forgets its own settings).
--   geoportal_agency: a statement timeout too. Idle transactions are ended. (Needs a
--   migrator allowed to ALTER ROLE; otherwise a notice, and the pools' own settings remain.)
-- * Row-level security on every editable layer: geoportal_agency may read all rows, but may
--   insert, update or delete only when the transaction's identity (geoportal.role,
--   geoportal.themes, set by the server with set_config(..., true)) is an administrator or an
--   agency bound to the layer's theme. geoportal_public reads every row (USING true, which
--   the planner removes: no cost on public reads). The owner (loads) is not subject to it.

DO $$
BEGIN
    ALTER ROLE geoportal_public SET statement_timeout = '30s';
    ALTER ROLE geoportal_public SET default_transaction_read_only = on;
    ALTER ROLE geoportal_public SET idle_in_transaction_session_timeout = '60s';
    ALTER ROLE geoportal_agency SET statement_timeout = '60s';
    ALTER ROLE geoportal_agency SET idle_in_transaction_session_timeout = '60s';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'role settings not changed (the migrator may not ALTER ROLE): %', SQLERRM;
END
$$;

-- May the transaction's identity write a layer of this theme?
CREATE FUNCTION catalog.identity_may_write(p_theme text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(current_setting('geoportal.role', true), '') = 'admin'
        OR (coalesce(current_setting('geoportal.role', true), '') = 'agency'
            AND p_theme = ANY (string_to_array(
                coalesce(current_setting('geoportal.themes', true), ''), ',')))
$$;

-- Enable row-level security on one editable layer table (idempotent; caller owns it).
CREATE FUNCTION catalog.layer_protect(p_table regclass, p_theme text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = p_table AND polname = 'public_read') THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE POLICY public_read ON %s FOR SELECT TO geoportal_public '
                   'USING (true)', p_table);
    EXECUTE format('CREATE POLICY agency_read ON %s FOR SELECT TO geoportal_agency '
                   'USING (true)', p_table);
    EXECUTE format('CREATE POLICY agency_insert ON %s FOR INSERT TO geoportal_agency '
                   'WITH CHECK (catalog.identity_may_write(%L))', p_table, p_theme);
    EXECUTE format('CREATE POLICY agency_update ON %s FOR UPDATE TO geoportal_agency '
                   'USING (catalog.identity_may_write(%L)) '
                   'WITH CHECK (catalog.identity_may_write(%L))', p_table, p_theme, p_theme);
    EXECUTE format('CREATE POLICY agency_delete ON %s FOR DELETE TO geoportal_agency '
                   'USING (catalog.identity_may_write(%L))', p_table, p_theme);
END
$$;

-- Every editable layer (generated from layers/declarations; new layers: layers/ddl.py).
SELECT catalog.layer_protect('roads.roads', 'roads');
SELECT catalog.layer_protect('roads.bridges', 'roads');
SELECT catalog.layer_protect('roads.road_works', 'roads');
SELECT catalog.layer_protect('agriculture.agri_plots', 'agriculture');
SELECT catalog.layer_protect('agriculture.agri_plot_seasons', 'agriculture');
SELECT catalog.layer_protect('irrigation.irrigation_canals', 'irrigation');
SELECT catalog.layer_protect('irrigation.irrigation_structures', 'irrigation');
SELECT catalog.layer_protect('irrigation.water_user_associations', 'irrigation');
SELECT catalog.layer_protect('irrigation.irrigation_sensors', 'irrigation');
SELECT catalog.layer_protect('irrigation.irrigation_readings', 'irrigation');
SELECT catalog.layer_protect('city.city_districts', 'city');
SELECT catalog.layer_protect('city.buildings', 'city');
SELECT catalog.layer_protect('city.utility_lines', 'city');
SELECT catalog.layer_protect('city.environment_sensors', 'city');
SELECT catalog.layer_protect('cadastre.cadastre_parcels', 'cadastre');
SELECT catalog.layer_protect('sports.sports_facilities', 'sports');
SELECT catalog.layer_protect('disaster.hazard_zones', 'disaster');
SELECT catalog.layer_protect('disaster.early_warning_areas', 'disaster');
