"""Security errors; the server maps them to 401 / 403 problem details."""

from __future__ import annotations


class SecurityError(Exception):
    """Base of the security errors."""


class AuthenticationError(SecurityError):
    """Credentials were sent but are not valid (401)."""


class PermissionDeniedError(SecurityError):
    """The caller is known but may not do this (403)."""


class SecurityInputError(SecurityError):
    """A management command got bad input (users, keys)."""
