"""Data out: public layers as files (GeoPackage, zipped Shapefile, GeoJSON, GeoJSON Sequence,
CSV, FlatGeobuf, GeoParquet), read from PostGIS in chunks and written or streamed with a flat
memory footprint.

Free of any web framework and of `geoportal`: it plans an export (`exports.plan`: layers,
area, CQL2 filter, datetime, CRS, through the `features` engine's clause builders and CQL2
translation), counts it within a bound, and writes it (`exports.writers`, `exports.stream`).
The server (`geoportal/server/downloads.py`), the job kind `downloads.export` and the
`geoportal export` command are thin adapters over it.
"""
