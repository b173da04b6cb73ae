"""Connection strings for the three database roles, on the embedded or an external server.

Roles (created by migration 0001):

- `geoportal_owner` owns the schemas and tables; loads and migrations run as it.
- `geoportal_agency` reads and writes the layers (agencies' edits).
- `geoportal_public` reads the public columns only; the server's public read path uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from geoportal.db.cluster import SUPERUSER, EmbeddedCluster
from geoportal.settings import Settings

OWNER_ROLE = "geoportal_owner"
AGENCY_ROLE = "geoportal_agency"
PUBLIC_ROLE = "geoportal_public"


@dataclass(frozen=True)
class Database:
    """Where to connect, and as whom."""

    settings: Settings

    @property
    def cluster(self) -> EmbeddedCluster | None:
        """The embedded cluster, or None when an external server is configured."""
        return EmbeddedCluster(self.settings) if self.settings.embedded else None

    def admin_conninfo(self, dbname: str | None = None) -> str:
        """The administrator's connection (migrations): the cluster superuser or DATABASE_URL."""
        if self.settings.database_url:
            if dbname:
                return psycopg.conninfo.make_conninfo(self.settings.database_url, dbname=dbname)
            return self.settings.database_url
        cluster = self.cluster
        assert cluster is not None
        return cluster.conninfo(SUPERUSER, dbname)

    def role_conninfo(self, role: str) -> str:
        """A connection that acts as `role`.

        Embedded: the role logs in itself over the private socket. External server: the
        configured login switches to the role at session start (`-c role=...`), which the
        server refuses unless that login is a member of the role.
        """
        if role == PUBLIC_ROLE and self.settings.public_database_url:
            return self.settings.public_database_url
        if self.settings.database_url:
            return psycopg.conninfo.make_conninfo(
                self.settings.database_url, options=f"-c role={role}"
            )
        cluster = self.cluster
        assert cluster is not None
        return cluster.conninfo(role)

    @property
    def owner_conninfo(self) -> str:
        """Connection as the owner role (loads)."""
        return self.role_conninfo(OWNER_ROLE)

    @property
    def agency_conninfo(self) -> str:
        """Connection as the agency role (the server's write path, audit, key look-ups)."""
        return self.role_conninfo(AGENCY_ROLE)

    @property
    def public_conninfo(self) -> str:
        """Connection as the public, read-only role."""
        return self.role_conninfo(PUBLIC_ROLE)

    @property
    def read_conninfo(self) -> str:
        """The features and search reads: the replica of `database_read_url` as the public
        role, else `public_conninfo` (the primary).

        Only reads that may lag the primary by the replication delay go there: the tile
        pool stays on the primary (a tile rendered from a replica that has not replayed an
        edit yet would be cached after its invalidation), and so does the tile change
        listener (a standby refuses LISTEN).
        """
        if self.settings.database_read_url:
            return psycopg.conninfo.make_conninfo(
                self.settings.database_read_url, options=f"-c role={PUBLIC_ROLE}"
            )
        return self.public_conninfo

    def ensure_database(self) -> bool:
        """Create the geoportal database on the embedded cluster if missing (True if created)."""
        if self.settings.database_url:
            return False
        with psycopg.connect(self.admin_conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.settings.db_name]
            ).fetchone()
            if exists:
                return False
            conn.execute(
                sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(self.settings.db_name)
                )
            )
            return True
