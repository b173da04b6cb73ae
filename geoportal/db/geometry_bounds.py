"""The buffered country that bounds every layer geometry (migration 0010).

The database keeps the country polygon (base.country) buffered by `buffer_m` in
`catalog.country_bounds`, recomputed by a trigger whenever base.country changes; the buffer
itself is the setting `GEOPORTAL_COUNTRY_BUFFER_M`, written by `geoportal db migrate`.
"""

from __future__ import annotations

import psycopg


def set_country_buffer(conn: psycopg.Connection, buffer_m: float) -> bool:
    """Store `buffer_m` and recompute the bounds when it differs from the stored buffer;
    True when it changed. A no-op before migration 0010."""
    exists = conn.execute("SELECT to_regclass('catalog.country_bounds')").fetchone()
    if not exists or exists[0] is None:
        return False
    row = conn.execute("SELECT buffer_m FROM catalog.country_bounds").fetchone()
    if row is not None and float(row[0]) == float(buffer_m):
        return False
    conn.execute("SELECT catalog.refresh_country_bounds(%s::float8)", [float(buffer_m)])
    return True
