"""The conformance classes we declare, beyond (and instead of some of) pygeoapi's defaults.

pygeoapi 0.24 lists Features Part 3 queryables but not the filter classes, and lists Part 4
create-replace-delete whatever the provider does. Our provider implements CQL2 filtering in
SQL; Part 4 writes (create, replace, delete, update) are our routes
(geoportal/server/writes.py), for authorised agencies on editable layers. For Processes it
lists callbacks, which our process manager does not make.
"""

from __future__ import annotations

SPEC = "http://www.opengis.net/spec"

ADDED = [
    # OGC API - Features - Part 3: Filtering (OGC 19-079r2), Annex A.
    f"{SPEC}/ogcapi-features-3/1.0/conf/filter",
    f"{SPEC}/ogcapi-features-3/1.0/conf/features-filter",
    # CQL2 (OGC 21-065r2): the classes features/cql.py translates.
    f"{SPEC}/cql2/1.0/conf/cql2-json",
    f"{SPEC}/cql2/1.0/conf/advanced-comparison-operators",
    f"{SPEC}/cql2/1.0/conf/case-insensitive-comparison",
    f"{SPEC}/cql2/1.0/conf/basic-spatial-functions",
    f"{SPEC}/cql2/1.0/conf/basic-spatial-functions-plus",
    f"{SPEC}/cql2/1.0/conf/spatial-functions",
    f"{SPEC}/cql2/1.0/conf/temporal-functions",
    # OGC API - Features - Part 4 (OGC 20-002): POST, PUT, DELETE; PATCH; optimistic locking.
    f"{SPEC}/ogcapi-features-4/1.0/conf/create-replace-delete",
    f"{SPEC}/ogcapi-features-4/1.0/conf/update",
    f"{SPEC}/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
]

REMOVED: list[str] = []

PROCESSES_REMOVED = [
    # OGC API - Processes - Part 1, callback: our manager (geoportal/pygeoapi_/processes.py)
    # does not call subscribers back; clients poll /jobs/{jobId}.
    f"{SPEC}/ogcapi-processes-1/1.0/conf/callback",
]


def declare_conformance() -> None:
    """Adjust pygeoapi's lists of Features and Processes conformance classes in place
    (idempotent)."""
    from pygeoapi.api import itemtypes

    classes = itemtypes.CONFORMANCE_CLASSES_FEATURES
    for uri in REMOVED:
        while uri in classes:
            classes.remove(uri)
    classes.extend(uri for uri in ADDED if uri not in classes)
    from pygeoapi.api import processes

    for uri in PROCESSES_REMOVED:
        while uri in processes.CONFORMANCE_CLASSES:
            processes.CONFORMANCE_CLASSES.remove(uri)
