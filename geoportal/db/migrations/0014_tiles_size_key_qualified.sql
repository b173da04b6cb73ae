-- catalog.tiles_size_key (0009) named PostGIS functions without their schema. An index
-- expression's function runs under the search path of whoever builds the index, and
-- pg_restore builds indexes with an empty one: restoring a backup failed at
-- `CREATE INDEX ..._tiles_size_idx` ("function st_xmin(box3d) does not exist"). The same
-- function with every name qualified (still a plain SQL function: the planner inlines it and
-- matches the indexes as before; its results are unchanged, so the indexes stay valid).
CREATE OR REPLACE FUNCTION catalog.tiles_size_key(g public.geometry) RETURNS public.geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT public.ST_MakeLine(
        public.ST_MakePoint(public.ST_XMin(g::public.box3d), public.ST_YMin(g::public.box3d),
                            GREATEST(public.ST_XMax(g::public.box3d)
                                     - public.ST_XMin(g::public.box3d),
                                     public.ST_YMax(g::public.box3d)
                                     - public.ST_YMin(g::public.box3d))),
        public.ST_MakePoint(public.ST_XMax(g::public.box3d), public.ST_YMax(g::public.box3d),
                            GREATEST(public.ST_XMax(g::public.box3d)
                                     - public.ST_XMin(g::public.box3d),
                                     public.ST_YMax(g::public.box3d)
                                     - public.ST_YMin(g::public.box3d))))
$$;
