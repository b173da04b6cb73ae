-- /readyz compares the migrations applied to the database with the code's. The server's
-- roles cannot read geoportal_meta.schema_migrations (the migrator's table); instead of a
-- grant on the table, one SECURITY DEFINER function returns the versions and checksums
-- (nothing else: no names, no dates), owned by the table's owner, with a fixed search path,
-- executable by the server's roles only.
CREATE OR REPLACE FUNCTION catalog.applied_migrations()
RETURNS TABLE (version integer, checksum text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.version, m.checksum FROM geoportal_meta.schema_migrations AS m ORDER BY m.version
$$;
REVOKE ALL ON FUNCTION catalog.applied_migrations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION catalog.applied_migrations() TO geoportal_public, geoportal_agency;
