-- z-scores of the NDVI means of one date: against the plots of the same crop in the same
-- rayon on that date (at least 3 plots with half their pixels valid), and against the plot's
-- own means of earlier years within 16 days of the same day of year (at least 2).
WITH peers AS (
    SELECT n.id,
           n.ndvi_mean,
           avg(n.ndvi_mean) OVER w AS peer_mean,
           stddev_samp(n.ndvi_mean) OVER w AS peer_std,
           count(*) OVER w AS peer_count
    FROM agriculture.agri_plot_ndvi AS n
    JOIN agriculture.agri_plots AS p ON p.id = n.plot_id
    WHERE n.observed_on = %(observed_on)s AND n.valid_share >= 0.5 AND n.crop IS NOT NULL
        AND n.ndvi_mean IS NOT NULL
    WINDOW w AS (PARTITION BY n.crop, p.rayon)
),
history AS (
    SELECT n.id,
           avg(h.ndvi_mean) AS past_mean,
           stddev_samp(h.ndvi_mean) AS past_std,
           count(h.id) AS past_count
    FROM agriculture.agri_plot_ndvi AS n
    JOIN agriculture.agri_plot_ndvi AS h
        ON h.plot_id = n.plot_id
        AND h.observed_on < n.observed_on - 300
        AND abs(extract(doy FROM h.observed_on) - extract(doy FROM n.observed_on)) <= 16
        AND h.valid_share >= 0.5 AND h.ndvi_mean IS NOT NULL
    WHERE n.observed_on = %(observed_on)s
    GROUP BY n.id
)
UPDATE agriculture.agri_plot_ndvi AS n
SET z_score_rayon = z.rayon_z, z_score_history = z.history_z
FROM (
    SELECT m.id,
           CASE WHEN peers.peer_count >= 3 AND peers.peer_std > 0
                THEN (m.ndvi_mean - peers.peer_mean) / peers.peer_std END AS rayon_z,
           CASE WHEN history.past_count >= 2 AND history.past_std > 0
                THEN (m.ndvi_mean - history.past_mean) / history.past_std END AS history_z
    FROM agriculture.agri_plot_ndvi AS m
    LEFT JOIN peers ON peers.id = m.id
    LEFT JOIN history ON history.id = m.id
    WHERE m.observed_on = %(observed_on)s
) AS z
WHERE n.id = z.id;
