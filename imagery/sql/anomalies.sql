-- The plots below -2 on one date (against their peers or their own history), with the
-- plot's geometry: that date's rows of agri_plot_ndvi_anomalies (imagery.db deletes the old
-- ones first).
INSERT INTO agriculture.agri_plot_ndvi_anomalies
    (plot_id, plot_code, scene_id, observed_on, rayon, crop, ndvi_mean, z_score_rayon,
     z_score_history, geom)
SELECT n.plot_id, p.plot_code, n.scene_id, n.observed_on, p.rayon, n.crop, n.ndvi_mean,
       n.z_score_rayon, n.z_score_history, p.geom
FROM agriculture.agri_plot_ndvi AS n
JOIN agriculture.agri_plots AS p ON p.id = n.plot_id
WHERE n.observed_on = %(observed_on)s
    AND (n.z_score_rayon < -2 OR n.z_score_history < -2);
