-- The crop of each statistics row of a scene: the plot's latest season sown on or before
-- the observation date (agri_plot_seasons).
UPDATE agriculture.agri_plot_ndvi AS n
SET crop = s.crop
FROM (
    SELECT DISTINCT ON (n2.id) n2.id, s2.crop
    FROM agriculture.agri_plot_ndvi AS n2
    JOIN agriculture.agri_plot_seasons AS s2
        ON s2.plot_id = n2.plot_id AND s2.sowing_date <= n2.observed_on
    WHERE n2.scene_id = %(scene_id)s
    ORDER BY n2.id, s2.sowing_date DESC
) AS s
WHERE n.id = s.id;
