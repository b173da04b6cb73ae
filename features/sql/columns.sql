-- The columns of one table or view: name, base type name, type category, and the SRID of
-- a geometry or geography column (domains are resolved to their base type).
SELECT a.attname, bt.typname, bt.typcategory,
       CASE WHEN bt.typname IN ('geometry', 'geography')
            THEN postgis_typmod_srid(a.atttypmod) END
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type bt  -- domains: their base type
  ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum
