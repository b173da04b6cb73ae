-- Road works are accepted only after the mobile laboratory surveyed the finished road.
--
-- The national concept's rule for road construction: a work may be accepted (its
-- acceptance_date set) only once the digital road map holds a survey of the finished road,
-- i.e. the last_survey of its road_id segment, and of every consecutive segment of the same
-- road the worked stretch covers (where the work records its extent, road_works.geom), is
-- on or after the work's end_date. A segment is covered by the stretch when its midpoint
-- (of its first part) lies within 2 m of the work's geometry (geodesic), on the same road
-- number. The rule is one function (package `analyses` owns it; the acceptance-check
-- process lists the works that break it with the same function), enforced by a trigger
-- whoever writes: the API, a load, psql. A refusal is `check_violation` on the constraint
-- name `road_work_accepted_after_survey`, column acceptance_date; the API answers 409.
-- Both run as the owner (SECURITY DEFINER): row-level security of the writer must not hide
-- an unsurveyed segment from the check.

CREATE FUNCTION catalog.road_work_unsurveyed(
    p_road_id integer, p_road_number text, p_geom geometry, p_end_date date
) RETURNS TABLE (road_id integer, last_survey date)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT r.id, r.last_survey
      FROM roads.roads AS r
     WHERE (r.id = p_road_id
            OR (p_geom IS NOT NULL
                AND r.road_number = p_road_number
                AND r.geom && ST_Expand(p_geom, 0.001)
                AND ST_DWithin(ST_LineInterpolatePoint(ST_GeometryN(r.geom, 1), 0.5)::geography,
                               p_geom::geography, 2)))
       AND (r.last_survey IS NULL OR p_end_date IS NULL OR r.last_survey < p_end_date)
     ORDER BY r.id
$$;
ALTER FUNCTION catalog.road_work_unsurveyed(integer, text, geometry, date)
    OWNER TO geoportal_owner;
REVOKE ALL ON FUNCTION catalog.road_work_unsurveyed(integer, text, geometry, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION catalog.road_work_unsurveyed(integer, text, geometry, date)
    TO geoportal_public, geoportal_agency;

CREATE FUNCTION catalog.road_work_acceptance_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    gap record;
BEGIN
    IF NEW.end_date IS NULL THEN
        RETURN NEW;  -- end_date is required: its NOT NULL constraint refuses the row
    END IF;
    SELECT * INTO gap
      FROM catalog.road_work_unsurveyed(NEW.road_id, NEW.road_number, NEW.geom, NEW.end_date)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            CONSTRAINT = 'road_work_accepted_after_survey',
            COLUMN = 'acceptance_date',
            MESSAGE = format(
                'road work %s may not be accepted: road segment %s was last surveyed on %s, '
                'before the work ended on %s; the finished road must be surveyed first',
                NEW.id, gap.road_id, coalesce(gap.last_survey::text, 'no date'), NEW.end_date);
    END IF;
    RETURN NEW;
END
$$;
ALTER FUNCTION catalog.road_work_acceptance_check() OWNER TO geoportal_owner;
REVOKE ALL ON FUNCTION catalog.road_work_acceptance_check() FROM PUBLIC;

CREATE TRIGGER road_work_accepted_after_survey
    BEFORE INSERT OR UPDATE OF acceptance_date, end_date, road_id, road_number, geom
    ON roads.road_works
    FOR EACH ROW WHEN (NEW.acceptance_date IS NOT NULL)
    EXECUTE FUNCTION catalog.road_work_acceptance_check();

-- Rows accepted before this rule existed are kept; the migration names those that break it
-- (the demo generator, demo/roads/works.py, surveys every completed stretch after its
-- acceptance, so its data has none). The acceptance-check process lists them too.
DO $$
DECLARE
    broken text;
BEGIN
    SELECT string_agg(w.id::text, ', ' ORDER BY w.id) INTO broken
      FROM roads.road_works AS w
     WHERE w.acceptance_date IS NOT NULL
       AND EXISTS (SELECT FROM catalog.road_work_unsurveyed(w.road_id, w.road_number, w.geom,
                                                            w.end_date));
    IF broken IS NOT NULL THEN
        RAISE WARNING 'road works accepted before their road was surveyed (kept): %', broken;
    END IF;
END
$$;
