-- Irrigated plots served by the target canals, with their sown crops. A plot is served by
-- the canal its declared link names; without one, by its nearest canal (geodesic distance)
-- when that canal lies within %(distance_m)s m. With a water users' association, only the
-- plots whose point on surface lies inside its area.
WITH link AS (
    SELECT * FROM unnest(%(link_plots)s::integer[], %(link_canals)s::integer[])
                  AS l(plot_id, canal_id)
), wua AS (
    SELECT geom FROM irrigation.water_user_associations WHERE id = %(wua_id)s
), assigned AS (
    SELECT p.id AS plot_id, p.area_ha, coalesce(l.canal_id, n.canal_id) AS canal_id,
           l.canal_id IS NOT NULL AS declared
      FROM agriculture.agri_plots AS p
      LEFT JOIN link AS l ON l.plot_id = p.id
      LEFT JOIN LATERAL (
            SELECT c.id AS canal_id
              FROM irrigation.irrigation_canals AS c
             WHERE c.geom && ST_Expand(p.geom, %(distance_m)s / 111320.0 * 1.5)
               AND ST_DWithin(c.geom::geography, p.geom::geography, %(distance_m)s)
             ORDER BY ST_Distance(c.geom::geography, p.geom::geography), c.id
             LIMIT 1) AS n ON l.canal_id IS NULL
     WHERE (l.canal_id IS NOT NULL OR p.irrigation = 'irrigated')
       AND (%(wua_id)s::integer IS NULL
            OR ST_Intersects(ST_PointOnSurface(p.geom), (SELECT geom FROM wua)))
       AND (l.canal_id IS NOT NULL OR EXISTS (
            SELECT FROM irrigation.irrigation_canals AS t
             WHERE t.id = ANY(%(canal_ids)s::integer[])
               AND t.geom && ST_Expand(p.geom, %(distance_m)s / 111320.0 * 1.5)))
)
SELECT a.plot_id, a.canal_id, a.declared, a.area_ha, s.crop, s.season, s.sowing_date,
       coalesce(s.sown_area_ha, a.area_ha) AS sown_area_ha
  FROM assigned AS a
  LEFT JOIN agriculture.agri_plot_seasons AS s
         ON s.plot_id = a.plot_id
        AND s.sowing_date <= %(month_end)s
        AND s.sowing_date > %(month_end)s - 400
 WHERE a.canal_id = ANY(%(canal_ids)s::integer[])
 ORDER BY a.canal_id, a.plot_id, s.sowing_date
