-- Mean measured flow of each flow sensor of the target canals over the month (readings
-- flagged good only).
SELECT s.id AS sensor_id, s.sensor_code, s.canal_id, count(r.flow_m3s) AS readings,
       avg(r.flow_m3s) AS mean_flow_m3s
  FROM irrigation.irrigation_sensors AS s
  LEFT JOIN irrigation.irrigation_readings AS r
         ON r.sensor_id = s.id
        AND r.observed_at >= %(month_start)s AND r.observed_at < %(month_next)s
        AND r.quality_flag = 'good' AND r.flow_m3s IS NOT NULL
 WHERE s.canal_id = ANY(%(canal_ids)s::integer[]) AND s.sensor_type = 'flow'
 GROUP BY s.id, s.sensor_code, s.canal_id
 ORDER BY s.canal_id, s.id
