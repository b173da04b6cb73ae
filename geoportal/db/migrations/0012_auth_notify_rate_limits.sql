-- Revocation at once in every process, quotas set by administrators, the shared rate limit.
--
-- * auth.users / auth.api_keys: any change (a key revoked, expired or deleted, a user
--   disabled or changed) sends NOTIFY geoportal_auth at commit; every server process LISTENs
--   and drops its cache of verified keys (geoportal/security/revocation.py).
-- * quota_per_minute on users and keys: the work (server seconds a minute) the caller may use,
--   set with `geoportal users add|quota --quota` and `geoportal keys create|quota --quota`; the
--   key's wins over its user's; NULL: the server's default. auth.api_key_lookup returns it.
-- * auth.rate_spending: UNLOGGED (nothing worth a WAL record: losing it at a crash only
--   forgives some spending), one row per payer (address, key, user), where every process
--   flushes what it charged about once a second and reads back the shared level
--   (geoportal/server/rate_limit.py). Only the server's agency role writes it.

ALTER TABLE auth.users ADD COLUMN quota_per_minute double precision
    CHECK (quota_per_minute IS NULL OR quota_per_minute >= 0);
ALTER TABLE auth.api_keys ADD COLUMN quota_per_minute double precision
    CHECK (quota_per_minute IS NULL OR quota_per_minute >= 0);

DROP FUNCTION auth.api_key_lookup(text);
CREATE FUNCTION auth.api_key_lookup(p_prefix text)
RETURNS TABLE (secret_hash text, user_name text, role text, themes text[], oblasts text[],
               quota_per_minute double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT k.secret_hash, u.name, u.role, u.themes, u.oblasts,
           coalesce(k.quota_per_minute, u.quota_per_minute)
    FROM auth.api_keys k JOIN auth.users u ON u.name = k.user_name
    WHERE k.prefix = p_prefix AND k.revoked_at IS NULL
      AND (k.expires_at IS NULL OR k.expires_at > now()) AND u.disabled_at IS NULL
$$;
ALTER FUNCTION auth.api_key_lookup(text) OWNER TO geoportal_owner;
REVOKE ALL ON FUNCTION auth.api_key_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.api_key_lookup(text) TO geoportal_agency;

CREATE FUNCTION auth.notify_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('geoportal_auth', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
ALTER FUNCTION auth.notify_change() OWNER TO geoportal_owner;
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE OR TRUNCATE ON auth.users
    FOR EACH STATEMENT EXECUTE FUNCTION auth.notify_change();
CREATE TRIGGER api_keys_notify AFTER UPDATE OR DELETE OR TRUNCATE ON auth.api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION auth.notify_change();

CREATE UNLOGGED TABLE auth.rate_spending (
    bucket text PRIMARY KEY,
    level_ms double precision NOT NULL CHECK (level_ms >= 0),
    rate_ms_per_s double precision NOT NULL CHECK (rate_ms_per_s >= 0),
    updated_at timestamp with time zone NOT NULL
);
ALTER TABLE auth.rate_spending OWNER TO geoportal_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON auth.rate_spending TO geoportal_agency;
