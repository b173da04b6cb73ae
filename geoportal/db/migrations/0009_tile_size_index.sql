-- Low-zoom tiles without reading every feature of the tile: an index on position AND size.
--
-- At low zoom a tile covers most of a layer (a z6 tile over the Chui valley: 150,000 of the
-- national 300,000 plots), and the tile SQL drops what is smaller than its minimum size
-- (tiles/rules.py). A GiST index on the geometry alone finds every feature of the tile's box
-- and PostgreSQL then reads them all to test their size: 0.5 to 2 s per tile. This index
-- keys each line or polygon by a 3-D box, x and y from its bounding box and z = its size
-- (the larger side of the box, in storage units), so the tile SQL asks for "in this box AND
-- at least this large" (`&&&` with z from the minimum size to infinity) and reads only the
-- features it will draw: the same z6 tile then takes under 10 ms.
--
-- Points have no size: their layers get no such index. Layer tables created later get it
-- from layers/ddl.py (create_table_sql), or call catalog.tiles_index_size(table).

CREATE FUNCTION catalog.tiles_size_key(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT ST_MakeLine(
        ST_MakePoint(ST_XMin(g::box3d), ST_YMin(g::box3d),
                     GREATEST(ST_XMax(g::box3d) - ST_XMin(g::box3d),
                              ST_YMax(g::box3d) - ST_YMin(g::box3d))),
        ST_MakePoint(ST_XMax(g::box3d), ST_YMax(g::box3d),
                     GREATEST(ST_XMax(g::box3d) - ST_XMin(g::box3d),
                              ST_YMax(g::box3d) - ST_YMin(g::box3d))))
$$;

-- Create the index on one table (a no-op when it exists); the table's geometry column is
-- `geom`.
CREATE FUNCTION catalog.tiles_index_size(p_table regclass) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_name text := (SELECT relname FROM pg_class WHERE oid = p_table) || '_tiles_size_idx';
BEGIN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gist '
                   '(catalog.tiles_size_key(geom) gist_geometry_ops_nd)', v_name, p_table);
END
$$;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS tbl
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'geom' AND NOT a.attisdropped
        WHERE catalog.tiles_geometry_column(c.oid) = 'geom'
          AND upper(postgis_typmod_type(a.atttypmod)) NOT IN ('POINT', 'MULTIPOINT')
    LOOP
        PERFORM catalog.tiles_index_size(r.tbl);
    END LOOP;
END
$$;
