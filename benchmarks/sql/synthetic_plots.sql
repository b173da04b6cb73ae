-- Stand-in agricultural plots for benchmarks (`--synthetic`): a jittered grid of 4-6 vertex
-- polygons over the Chui valley, deterministic for a seed. Column widths and row heights are
-- log-normal, so plot sizes and plot density vary like fields do (many plots under 1 ha, a
-- few over 20 ha) and some areas are denser than others. Writes the temporary table
-- `synth_plots`; benchmarks/data.py copies it into agriculture.agri_plots.
-- Parameters: seed (-1..1), plots, ncols, nrows, west, south, width_deg, height_deg, sigma.

SELECT setseed(%(seed)s);

CREATE TEMPORARY TABLE synth_cols ON COMMIT DROP AS
WITH raw AS MATERIALIZED (
    SELECT i, exp(%(sigma)s * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS w
    FROM generate_series(0, %(ncols)s - 1) AS i
)
SELECT i,
       %(west)s + (sum(w) OVER (ORDER BY i) - w) / t.total * %(width_deg)s AS x0,
       w / t.total * %(width_deg)s AS dx
FROM raw, (SELECT sum(w) AS total FROM raw) AS t;

CREATE TEMPORARY TABLE synth_rows ON COMMIT DROP AS
WITH raw AS MATERIALIZED (
    SELECT j, exp(%(sigma)s * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS h
    FROM generate_series(0, %(nrows)s - 1) AS j
)
SELECT j,
       %(south)s + (sum(h) OVER (ORDER BY j) - h) / t.total * %(height_deg)s AS y0,
       h / t.total * %(height_deg)s AS dy
FROM raw, (SELECT sum(h) AS total FROM raw) AS t;

-- One cell per plot, numbered row by row (ids follow the order a survey would load them).
CREATE TEMPORARY TABLE synth_cells ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY r.j, c.i) AS n,
       c.x0 + c.dx * (0.5 + 0.08 * (random() - 0.5)) AS cx,
       r.y0 + r.dy * (0.5 + 0.08 * (random() - 0.5)) AS cy,
       c.dx, r.dy, 4 + floor(random() * 3)::int AS nv
FROM synth_rows AS r CROSS JOIN synth_cols AS c
ORDER BY r.j, c.i
LIMIT %(plots)s;

-- Vertices at increasing angles around the cell centre, each on a shrunken copy of the
-- cell's rectangle: the ring is star-shaped around the centre, hence simple and valid.
CREATE TEMPORARY TABLE synth_plots ON COMMIT DROP AS
SELECT *, round((ST_Area(geom::geography) / 10000)::numeric, 4)::double precision AS area_ha
FROM (
SELECT c.n,
       ST_Multi(ST_MakePolygon(ST_AddPoint(ring.line, ST_StartPoint(ring.line))))::geometry(MultiPolygon, 4326) AS geom,
       'CH-' || lpad(c.n::text, 7, '0') AS plot_code,
       (ARRAY['Ak-Jol', 'Bereke', 'Yntymak', 'Nur', 'Kut', 'Ala-Too', 'Jashyl-Too', 'Baktyluu',
              'Sary-Bulak', 'Kok-Jar'])[1 + floor(random() * 10)::int]
           || ' farm no. ' || (1 + floor(random() * 4000))::int AS farm_name,
       (ARRAY['serozem', 'serozem', 'serozem', 'chestnut', 'chestnut', 'meadow', 'chernozem',
              'alluvial', 'alluvial', 'saline'])[1 + floor(random() * 10)::int] AS soil_type,
       (ARRAY['canal', 'canal', 'canal', 'canal', 'canal', 'drip', 'sprinkler', 'rainfed',
              'rainfed', 'rainfed'])[1 + floor(random() * 10)::int] AS irrigation,
       (ARRAY['wheat', 'barley', 'maize', 'sugar_beet', 'potato', 'alfalfa', 'vegetables',
              'orchard'])[1 + floor(random() * 8)::int] AS crop,
       'Chuy'::text AS oblast
FROM synth_cells AS c
CROSS JOIN LATERAL (
    SELECT ST_MakeLine(ST_MakePoint(c.cx + v.s * c.dx / 2 * cos(v.a) / greatest(abs(cos(v.a)), abs(sin(v.a))),
                                    c.cy + v.s * c.dy / 2 * sin(v.a) / greatest(abs(cos(v.a)), abs(sin(v.a))))
                       ORDER BY v.k) AS line
    FROM (SELECT k,
                 pi() / 4 + 2 * pi() * (k + 0.5 * (random() - 0.5)) / c.nv AS a,
                 0.80 + 0.16 * random() AS s
          FROM generate_series(0, c.nv - 1) AS k) AS v
) AS ring
) AS plots;
