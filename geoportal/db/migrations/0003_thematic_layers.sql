-- Data version per layer: bumped by every load (and, later, every edit), so that caches
-- keyed on it (keyset paging boundaries, tiles) can never serve stale results.
ALTER TABLE catalog.layer_stats ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- Temporal extent of layers that declare a time field (OGC collection extent.temporal).
ALTER TABLE catalog.layer_stats ADD COLUMN time_min timestamp with time zone;
ALTER TABLE catalog.layer_stats ADD COLUMN time_max timestamp with time zone;
