"""Errors of the database layer (cluster management, migrations)."""


class DatabaseError(Exception):
    """Base class of the database layer's errors."""


class PostgresNotInstalledError(DatabaseError):
    """PostgreSQL server binaries or the PostGIS extension are missing."""


class ClusterStartError(DatabaseError):
    """The embedded cluster did not start; the message quotes its log."""


class MigrationError(DatabaseError):
    """A migration failed or the applied migrations do not match the files."""
