"""The OGC API Features query engine: PostGIS tables to pages of GeoJSON text.

Free of any web framework and of pygeoapi: it builds SQL (one function per clause,
``features.query``), translates CQL2 (``features.cql``), pages with OFFSET or by key
(``features.paging`` choosing how, ``features.rendering``, ``features.keyset``,
``features.statements``; its values in ``features.pages``), counts within bounds
(``features.counts``), answers a feature by id (``features.items``), introspects tables and
maps their columns to JSON schemas (``features.table``). Functions take the connection
first; the caller owns it and its transaction. Errors are
``features.errors.FeaturesError``\\ s; the server maps them to responses
(``geoportal/providers/features.py`` for pygeoapi).
"""
