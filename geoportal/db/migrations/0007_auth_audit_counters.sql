-- Writes: who may, what they did, and the counters that must stay exact.
--
-- * auth: users (agency staff bound to themes and oblasts, administrators) and their API
--   keys, stored as scrypt hashes. Only the owner reads these tables; the server looks a key
--   up through auth.api_key_lookup (SECURITY DEFINER), which only geoportal_agency may call.
--   geoportal_public has no privilege in the schema.
-- * identity: the server sets geoportal.user / geoportal.role / geoportal.themes /
--   geoportal.oblasts per transaction (set_config(..., true)); audit triggers read them.
-- * audit.changes: append-only, written by row triggers on every layer table (before and
--   after as JSON); UPDATE, DELETE and TRUNCATE are refused by triggers, direct INSERTs
--   (not from a layer trigger) too. Bulk loads by the owner are recorded once per statement.
-- * catalog.layer_stats.feature_count stays exact after every write (statement triggers on
--   transition tables; CONVENTIONS numberMatched), and version is bumped, so caches keyed on
--   the data version (keyset paging) drop what the write made stale.

-- ------------------------------------------------------------------ auth
CREATE SCHEMA auth AUTHORIZATION geoportal_owner;
REVOKE ALL ON SCHEMA auth FROM PUBLIC;

CREATE TABLE auth.users (
    name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._@-]{1,63}$'),
    role text NOT NULL CHECK (role IN ('agency', 'admin')),
    themes text[] NOT NULL DEFAULT '{}',
    oblasts text[] NOT NULL DEFAULT '{}',
    full_name text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    disabled_at timestamp with time zone
);
CREATE TABLE auth.api_keys (
    prefix text PRIMARY KEY CHECK (prefix ~ '^[0-9a-f]{12}$'),
    user_name text NOT NULL REFERENCES auth.users (name),
    secret_hash text NOT NULL,
    note text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone
);
CREATE INDEX api_keys_user_idx ON auth.api_keys (user_name);
ALTER TABLE auth.users OWNER TO geoportal_owner;
ALTER TABLE auth.api_keys OWNER TO geoportal_owner;

-- The hash and the identity of a usable key (not revoked, not expired, user not disabled).
CREATE FUNCTION auth.api_key_lookup(p_prefix text)
RETURNS TABLE (secret_hash text, user_name text, role text, themes text[], oblasts text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT k.secret_hash, u.name, u.role, u.themes, u.oblasts
    FROM auth.api_keys k JOIN auth.users u ON u.name = k.user_name
    WHERE k.prefix = p_prefix AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now()) AND u.disabled_at IS NULL
$$;
ALTER FUNCTION auth.api_key_lookup(text) OWNER TO geoportal_owner;
REVOKE ALL ON FUNCTION auth.api_key_lookup(text) FROM PUBLIC;
GRANT USAGE ON SCHEMA auth TO geoportal_agency;
GRANT EXECUTE ON FUNCTION auth.api_key_lookup(text) TO geoportal_agency;

-- ------------------------------------------------------------------ audit
CREATE SCHEMA audit AUTHORIZATION geoportal_owner;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO geoportal_agency;

CREATE TABLE audit.changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at timestamp with time zone NOT NULL DEFAULT clock_timestamp(),
    user_name text NOT NULL,
    user_role text NOT NULL,
    db_role text NOT NULL,
    layer_id text NOT NULL,
    feature_id bigint,
    operation text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    before jsonb,
    after jsonb,
    transaction_id bigint NOT NULL DEFAULT txid_current()
);
CREATE INDEX changes_layer_time_idx ON audit.changes (layer_id, changed_at);
CREATE INDEX changes_user_time_idx ON audit.changes (user_name, changed_at);
CREATE INDEX changes_time_idx ON audit.changes (changed_at);
ALTER TABLE audit.changes OWNER TO geoportal_owner;
-- The server's write path (geoportal_agency) appends through the triggers and reads for
-- administrators (GET /audit); nobody may change or remove a record.
GRANT INSERT, SELECT ON audit.changes TO geoportal_agency;
REVOKE UPDATE, DELETE, TRUNCATE ON audit.changes FROM PUBLIC, geoportal_agency,
    geoportal_public;

CREATE FUNCTION audit.refuse() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'audit records are written by the layer triggers only'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER changes_insert_guard BEFORE INSERT ON audit.changes
    FOR EACH ROW EXECUTE FUNCTION audit.refuse();
CREATE TRIGGER changes_append_only BEFORE UPDATE OR DELETE ON audit.changes
    FOR EACH ROW EXECUTE FUNCTION audit.refuse();
CREATE TRIGGER changes_no_truncate BEFORE TRUNCATE ON audit.changes
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse();

-- Who is acting: the identity the server set for this transaction, else the database role.
CREATE FUNCTION audit.actor(OUT user_name text, OUT user_role text)
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(nullif(current_setting('geoportal.user', true), ''), 'db:' || current_user),
           coalesce(nullif(current_setting('geoportal.role', true), ''), 'database')
$$;

-- Row trigger (every role but the owner): one record per changed feature.
CREATE FUNCTION audit.record_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_actor record := audit.actor();
BEGIN
    INSERT INTO audit.changes (user_name, user_role, db_role, layer_id, feature_id, operation,
                               before, after)
    VALUES (v_actor.user_name, v_actor.user_role, current_user, TG_ARGV[0],
            CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
            CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

-- Statement trigger (the owner: loads and maintenance): one record per statement.
CREATE FUNCTION audit.record_statement() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_actor record := audit.actor();
BEGIN
    INSERT INTO audit.changes (user_name, user_role, db_role, layer_id, operation)
    VALUES (v_actor.user_name, v_actor.user_role, current_user, TG_ARGV[0], TG_OP);
    RETURN NULL;
END
$$;

-- ------------------------------------------------------------------ exact counters
CREATE FUNCTION catalog.layer_stats_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_delta bigint := 0;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO v_delta FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT -count(*) INTO v_delta FROM old_rows;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE catalog.layer_stats SET feature_count = 0, version = version + 1
        WHERE layer_id = TG_ARGV[0];
    ELSE
        UPDATE catalog.layer_stats
        SET feature_count = GREATEST(feature_count + v_delta, 0), version = version + 1
        WHERE layer_id = TG_ARGV[0];
    END IF;
    RETURN NULL;
END
$$;
ALTER FUNCTION catalog.layer_stats_changed() OWNER TO geoportal_owner;

-- Attach the audit and counter triggers to one layer table (idempotent; caller owns it).
CREATE FUNCTION catalog.layer_watch(p_table regclass, p_layer text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = p_table AND tgname = 'audit_row') THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW WHEN (current_user <> %L) '
                   'EXECUTE FUNCTION audit.record_row(%L)', p_table, 'geoportal_owner', p_layer);
    EXECUTE format('CREATE TRIGGER audit_statement AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE'
                   ' ON %s FOR EACH STATEMENT WHEN (current_user = %L) '
                   'EXECUTE FUNCTION audit.record_statement(%L)',
                   p_table, 'geoportal_owner', p_layer);
    EXECUTE format('CREATE TRIGGER stats_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS '
                   'new_rows FOR EACH STATEMENT EXECUTE FUNCTION '
                   'catalog.layer_stats_changed(%L)', p_table, p_layer);
    EXECUTE format('CREATE TRIGGER stats_del AFTER DELETE ON %s REFERENCING OLD TABLE AS '
                   'old_rows FOR EACH STATEMENT EXECUTE FUNCTION '
                   'catalog.layer_stats_changed(%L)', p_table, p_layer);
    EXECUTE format('CREATE TRIGGER stats_upd AFTER UPDATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION catalog.layer_stats_changed(%L)', p_table, p_layer);
    EXECUTE format('CREATE TRIGGER stats_trunc AFTER TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION catalog.layer_stats_changed(%L)', p_table, p_layer);
END
$$;

-- Every declared layer (generated from layers/declarations; new layers: layers/ddl.py).
SELECT catalog.layer_watch('base.country', 'country');
SELECT catalog.layer_watch('base.oblasts', 'oblasts');
SELECT catalog.layer_watch('base.rayons', 'rayons');
SELECT catalog.layer_watch('base.settlements', 'settlements');
SELECT catalog.layer_watch('base.rivers', 'rivers');
SELECT catalog.layer_watch('base.lakes', 'lakes');
SELECT catalog.layer_watch('base.glaciers', 'glaciers');
SELECT catalog.layer_watch('base.urban_areas', 'urban_areas');
SELECT catalog.layer_watch('base.peaks', 'peaks');
SELECT catalog.layer_watch('roads.roads', 'roads');
SELECT catalog.layer_watch('roads.bridges', 'bridges');
SELECT catalog.layer_watch('roads.road_works', 'road_works');
SELECT catalog.layer_watch('agriculture.agri_plots', 'agri_plots');
SELECT catalog.layer_watch('agriculture.agri_plot_seasons', 'agri_plot_seasons');
SELECT catalog.layer_watch('irrigation.irrigation_canals', 'irrigation_canals');
SELECT catalog.layer_watch('irrigation.irrigation_structures', 'irrigation_structures');
SELECT catalog.layer_watch('irrigation.water_user_associations', 'water_user_associations');
SELECT catalog.layer_watch('irrigation.irrigation_sensors', 'irrigation_sensors');
SELECT catalog.layer_watch('irrigation.irrigation_readings', 'irrigation_readings');
SELECT catalog.layer_watch('city.city_districts', 'city_districts');
SELECT catalog.layer_watch('city.buildings', 'buildings');
SELECT catalog.layer_watch('city.utility_lines', 'utility_lines');
SELECT catalog.layer_watch('city.environment_sensors', 'environment_sensors');
SELECT catalog.layer_watch('cadastre.cadastre_parcels', 'cadastre_parcels');
SELECT catalog.layer_watch('sports.sports_facilities', 'sports_facilities');
SELECT catalog.layer_watch('disaster.hazard_zones', 'hazard_zones');
SELECT catalog.layer_watch('disaster.early_warning_areas', 'early_warning_areas');
