"""Vendored OGC OpenAPI building blocks (data files; sources and licence in README.md)."""
