-- The geoportal's database roles and their session limits, as they must be before a restore
-- (roles are cluster-wide: pg_dump does not carry them). Idempotent; the same state as
-- migrations 0001 (the roles) and 0008 (their limits) leave.
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
    ALTER ROLE geoportal_public SET statement_timeout = '30s';
    ALTER ROLE geoportal_public SET default_transaction_read_only = on;
    ALTER ROLE geoportal_public SET idle_in_transaction_session_timeout = '60s';
    ALTER ROLE geoportal_agency SET statement_timeout = '60s';
    ALTER ROLE geoportal_agency SET idle_in_transaction_session_timeout = '60s';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'role settings not changed (the restorer may not ALTER ROLE): %', SQLERRM;
END
$$;
