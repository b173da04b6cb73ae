-- Accepted or completed road works with the segments of their stretch not surveyed since
-- the work ended (the rule of migration 0021, one function for the trigger and this check).
SELECT w.id, w.road_id, w.road_number, w.work_type, w.status, w.end_date, w.acceptance_date,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('roadId', u.road_id,
                                                     'lastSurvey', u.last_survey)
                                  ORDER BY u.road_id), '[]'::jsonb)
          FROM catalog.road_work_unsurveyed(w.road_id, w.road_number, w.geom, w.end_date) AS u)
           AS unsurveyed
  FROM roads.road_works AS w
 WHERE (w.acceptance_date IS NOT NULL OR w.status = 'completed')
   AND (%(road_numbers)s::text[] IS NULL OR w.road_number = ANY(%(road_numbers)s::text[]))
   AND (%(work_ids)s::integer[] IS NULL OR w.id = ANY(%(work_ids)s::integer[]))
 ORDER BY w.id
