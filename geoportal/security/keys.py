"""API keys: `gpk_<prefix>_<secret>`, stored as an scrypt hash of the secret, looked up by
prefix. Users and keys are managed with `geoportal users ...` / `geoportal keys ...`.

The prefix (12 hex digits) is not secret: it names the key in lists, logs and the audit. The
secret (32 random bytes, base64url) is shown once, at creation, and never stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import psycopg

from geoportal.security.errors import AuthenticationError, SecurityInputError

KEY_PATTERN = re.compile(r"^gpk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
USER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` of a key's secret (random 16-byte salt)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` matches the stored hash (constant-time comparison).

    >>> verify_secret("s3cret", hash_secret("s3cret")), verify_secret("x", hash_secret("y"))
    (True, False)
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, _unb64(digest))


def new_key() -> tuple[str, str, str]:
    """A fresh key: (full key to hand out, prefix, secret)."""
    prefix = secrets.token_hex(6)
    secret = _b64(secrets.token_bytes(32))
    return f"gpk_{prefix}_{secret}", prefix, secret


def split_key(key: str) -> tuple[str, str]:
    """(prefix, secret) of a well-formed key.

    Raises:
        AuthenticationError: the text is not an API key of ours.
    """
    match = KEY_PATTERN.match(key)
    if not match:
        raise AuthenticationError("malformed API key")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class UserRow:
    """A user as listed by `geoportal users list`."""

    name: str
    role: str
    themes: list[str]
    oblasts: list[str]
    full_name: str | None
    created_at: dt.datetime
    disabled_at: dt.datetime | None


@dataclass(frozen=True)
class KeyRow:
    """A key as listed by `geoportal keys list` (never its secret)."""

    prefix: str
    user_name: str
    note: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


def add_user(
    conn: psycopg.Connection,
    name: str,
    role: str,
    themes: list[str],
    oblasts: list[str],
    full_name: str | None = None,
) -> None:
    """Create a user (agency bound to themes and optionally oblasts, or admin).

    Raises:
        SecurityInputError: bad name or role, an agency without themes, or a duplicate.
    """
    if not USER_PATTERN.match(name):
        raise SecurityInputError(
            f"user name {name!r}: lower-case letters, digits and . _ @ -, 2 to 64 characters"
        )
    if role not in ("agency", "admin"):
        raise SecurityInputError(f"role {role!r}: agency or admin")
    if role == "agency" and not themes:
        raise SecurityInputError("an agency user needs at least one theme")
    try:
        conn.execute(
            "INSERT INTO auth.users (name, role, themes, oblasts, full_name) "
            "VALUES (%s, %s, %s, %s, %s)",
            [name, role, themes, oblasts, full_name],
        )
    except psycopg.errors.UniqueViolation as exc:
        raise SecurityInputError(f"user {name!r} exists already") from exc


def list_users(conn: psycopg.Connection) -> list[UserRow]:
    """All users, by name."""
    rows = conn.execute(
        "SELECT name, role, themes, oblasts, full_name, created_at, "
        "disabled_at FROM auth.users ORDER BY name"
    ).fetchall()
    return [UserRow(*row) for row in rows]


def disable_user(conn: psycopg.Connection, name: str) -> None:
    """Disable a user: their keys stop working at once in every server process.

    Raises:
        SecurityInputError: no such user.
    """
    cur = conn.execute(
        "UPDATE auth.users SET disabled_at = coalesce(disabled_at, now()) WHERE name = %s", [name]
    )
    if cur.rowcount == 0:
        raise SecurityInputError(f"no user {name!r}")


def create_key(
    conn: psycopg.Connection,
    user: str,
    note: str | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Create a key for `user`; returns the full key (shown once, stored only hashed).

    Raises:
        SecurityInputError: no such user, or the user is disabled.
    """
    row = conn.execute("SELECT disabled_at FROM auth.users WHERE name = %s", [user]).fetchone()
    if row is None:
        raise SecurityInputError(f"no user {user!r}")
    if row[0] is not None:
        raise SecurityInputError(f"user {user!r} is disabled")
    key, prefix, secret = new_key()
    conn.execute(
        "INSERT INTO auth.api_keys (prefix, user_name, secret_hash, note, expires_at) "
        "VALUES (%s, %s, %s, %s, %s)",
        [prefix, user, hash_secret(secret), note, expires_at],
    )
    return key


def revoke_key(conn: psycopg.Connection, prefix: str) -> None:
    """Revoke a key by its prefix (the 12 hex digits after `gpk_`).

    Raises:
        SecurityInputError: no such key.
    """
    prefix = prefix.removeprefix("gpk_").split("_")[0]
    cur = conn.execute(
        "UPDATE auth.api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE prefix = %s",
        [prefix],
    )
    if cur.rowcount == 0:
        raise SecurityInputError(f"no key with prefix {prefix!r}")


def list_keys(conn: psycopg.Connection, user: str | None = None) -> list[KeyRow]:
    """Keys (of one user or all), newest first; never the secrets."""
    rows = conn.execute(
        "SELECT prefix, user_name, note, created_at, expires_at, revoked_at "
        "FROM auth.api_keys WHERE %(user)s::text IS NULL OR user_name = "
        "%(user)s ORDER BY created_at DESC",
        {"user": user},
    ).fetchall()
    return [KeyRow(*row) for row in rows]


def _quota(quota: float | None) -> float | None:
    if quota is not None and not 0 <= quota <= 1e6:
        raise SecurityInputError(f"quota {quota}: work seconds a minute from 0 to 1000000")
    return quota


def set_user_quota(conn: psycopg.Connection, name: str, quota: float | None) -> None:
    """Set a user's quota (work seconds a minute; None: the server default). Servers apply
    it at once (the change is notified to every process).

    Raises:
        SecurityInputError: no such user, or a negative quota.
    """
    cur = conn.execute(
        "UPDATE auth.users SET quota_per_minute = %s WHERE name = %s", [_quota(quota), name]
    )
    if cur.rowcount == 0:
        raise SecurityInputError(f"no user {name!r}")


def set_key_quota(conn: psycopg.Connection, prefix: str, quota: float | None) -> None:
    """Set a key's quota (work seconds a minute; None: its user's, else the default).

    Raises:
        SecurityInputError: no such key, or a negative quota.
    """
    prefix = prefix.removeprefix("gpk_").split("_")[0]
    cur = conn.execute(
        "UPDATE auth.api_keys SET quota_per_minute = %s WHERE prefix = %s", [_quota(quota), prefix]
    )
    if cur.rowcount == 0:
        raise SecurityInputError(f"no key with prefix {prefix!r}")
