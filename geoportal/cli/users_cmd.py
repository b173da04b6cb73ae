"""`geoportal users ...` and `geoportal keys ...`: who may write, and their API keys.

Run as the database owner (the embedded cluster, or GEOPORTAL_DATABASE_URL). Keys are shown
once, at creation; the database keeps only an scrypt hash. docs/security.md explains the model.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from geoportal.db.database import Database
from geoportal.security import keys
from geoportal.security.errors import SecurityInputError
from geoportal.settings import Settings
from layers.model import THEMES

console = Console()
users_app = typer.Typer(
    help="Users who may write: agency staff bound to themes (and "
    "optionally oblasts) and administrators.",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="API keys of the users: create (shown once), list, revoke.", no_args_is_help=True
)
WRITABLE_THEMES = [theme for theme in THEMES if theme != "base"]


QUOTA_HELP = (
    "Work (server seconds) a minute the caller may use; the rate limit refuses more with 429. "
    "Default: GEOPORTAL_SECURITY__KEY_RATE_LIMIT_PER_MINUTE."
)


def _parse_quota(text: str) -> float | None:
    """A quota argument: a number of work seconds a minute, or `default`."""
    if text.strip().lower() == "default":
        return None
    try:
        return float(text)
    except ValueError:
        _fail(f"quota {text!r}: a number of work seconds a minute, or `default`")
        raise


def _connect() -> psycopg.Connection:
    return psycopg.connect(Database(Settings()).owner_conninfo, connect_timeout=10)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def _spellings(row: tuple) -> set[str]:
    """An oblast's id and names, also without "Region", "City", "область" ("Chuy" for
    "Chuy Region")."""
    names = {str(v).casefold() for v in row if v}
    for suffix in (" region", " city", " oblast", " область", " облусу", " шаары"):
        names |= {n.removesuffix(suffix) for n in names}
    return names


def resolve_oblasts(conn: psycopg.Connection, names: list[str]) -> list[str]:
    """English names of the oblasts given by id or by name in ky, ru or en (any case).

    Raises:
        SecurityInputError: an unknown oblast, naming the valid ones.
    """
    rows = conn.execute(
        "SELECT id::text, name_ky, name_ru, name_en FROM base.oblasts ORDER BY name_en"
    ).fetchall()
    found = []
    for name in names:
        match = [r[3] for r in rows if name.casefold().strip() in _spellings(r)]
        if not match:
            valid = ", ".join(r[3] for r in rows)
            raise SecurityInputError(f"unknown oblast {name!r}; valid: {valid}")
        found.append(match[0])
    return sorted(set(found))


@users_app.command("add")
def add_user(
    name: str = typer.Argument(..., help="Login name, e.g. roads.editor@mot.gov.kg."),
    role: str = typer.Option(
        "agency",
        help="agency (writes its themes) or admin (writes every theme, reads the audit trail).",
    ),
    theme: list[str] = typer.Option(
        None,
        "--theme",
        "-t",
        help=f"Theme the user may write (repeatable): {', '.join(WRITABLE_THEMES)}.",
    ),
    oblast: list[str] = typer.Option(
        None,
        "--oblast",
        "-o",
        help="Bind the user to an oblast "
        "(repeatable; id or name in ky, ru or en): writes only "
        "inside it. Default: the whole country.",
    ),
    full_name: str = typer.Option(None, help="The person's name, for the administrators."),
    quota: float = typer.Option(None, min=0, help=QUOTA_HELP),
) -> None:
    """Add a user. Then give them a key with `geoportal keys create USER`."""
    unknown = sorted(set(theme or []) - set(WRITABLE_THEMES))
    if unknown:
        _fail(f"unknown themes {unknown}; valid: {', '.join(WRITABLE_THEMES)}")
    try:
        with _connect() as conn:
            oblasts = resolve_oblasts(conn, oblast or [])
            keys.add_user(conn, name, role, sorted(set(theme or [])), oblasts, full_name)
            if quota is not None:
                keys.set_user_quota(conn, name, quota)
    except SecurityInputError as exc:
        _fail(str(exc))
    console.print(
        f"added {role} {name}"
        + (f" (themes {', '.join(theme)})" if theme else "")
        + (f" in {', '.join(oblasts)}" if oblasts else "")
    )


@users_app.command("list")
def list_users() -> None:
    """List users with their role, themes, oblasts and state."""
    with _connect() as conn:
        rows = keys.list_users(conn)
    table = Table("name", "role", "themes", "oblasts", "full name", "state")
    for row in rows:
        state = f"disabled {row.disabled_at:%Y-%m-%d}" if row.disabled_at else "active"
        table.add_row(
            row.name,
            row.role,
            ", ".join(row.themes) or "-",
            ", ".join(row.oblasts) or "all",
            row.full_name or "",
            state,
        )
    console.print(table)


@users_app.command("disable")
def disable_user(name: str = typer.Argument(..., help="The user to disable.")) -> None:
    """Disable a user: their keys stop working at once in every server process. Disabling
    cannot be undone: add a new user."""
    try:
        with _connect() as conn:
            keys.disable_user(conn, name)
    except SecurityInputError as exc:
        _fail(str(exc))
    console.print(f"disabled {name}")


@keys_app.command("create")
def create_key(
    user: str = typer.Argument(..., help="The user the key acts as."),
    note: str = typer.Option(None, help="What the key is for (e.g. the client system)."),
    days: int = typer.Option(
        None,
        min=1,
        max=3650,
        help="Expire after this many days "
        "(default: never; rotate by creating a new key and revoking "
        "the old one).",
    ),
    quota: float = typer.Option(None, min=0, help=QUOTA_HELP + " Overrides the user's."),
) -> None:
    """Create an API key. It is printed once: hand it over securely; it cannot be shown
    again. Clients send it as `X-API-Key: <key>` or `Authorization: Bearer <key>`."""
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    try:
        with _connect() as conn:
            key = keys.create_key(conn, user, note, expires)
            if quota is not None:
                keys.set_key_quota(conn, key, quota)
    except SecurityInputError as exc:
        _fail(str(exc))
    console.print(f"API key for {user} (shown once):")
    print(key)


@keys_app.command("list")
def list_keys(user: str = typer.Option(None, help="Only this user's keys.")) -> None:
    """List keys by prefix (never the secrets), newest first."""
    with _connect() as conn:
        rows = keys.list_keys(conn, user)
    table = Table("prefix", "user", "note", "created", "expires", "state")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        table.add_row(
            row.prefix,
            row.user_name,
            row.note or "",
            f"{row.created_at:%Y-%m-%d}",
            f"{row.expires_at:%Y-%m-%d}" if row.expires_at else "never",
            state,
        )
    console.print(table)


@keys_app.command("revoke")
def revoke_key(
    prefix: str = typer.Argument(
        ..., help="The key's prefix (12 hex digits after `gpk_`, as `keys list` shows) or the key."
    ),
) -> None:
    """Revoke a key at once (every server process forgets it at once)."""
    try:
        with _connect() as conn:
            keys.revoke_key(conn, prefix)
    except SecurityInputError as exc:
        _fail(str(exc))
    console.print("revoked")


@users_app.command("quota")
def user_quota(
    name: str = typer.Argument(..., help="The user."),
    quota: str = typer.Argument(..., help="Work seconds a minute, or `default`."),
) -> None:
    """Set a user's rate-limit quota (its keys without their own quota use it); applied at
    once by every server process."""
    value = _parse_quota(quota)
    try:
        with _connect() as conn:
            keys.set_user_quota(conn, name, value)
    except SecurityInputError as exc:
        _fail(str(exc))
    console.print(f"quota of {name}: {quota}")


@keys_app.command("quota")
def key_quota(
    prefix: str = typer.Argument(..., help="The key's prefix (as `keys list` shows) or the key."),
    quota: str = typer.Argument(..., help="Work seconds a minute, or `default` (the user's)."),
) -> None:
    """Set a key's rate-limit quota; applied at once by every server process."""
    value = _parse_quota(quota)
    try:
        with _connect() as conn:
            keys.set_key_quota(conn, prefix, value)
    except SecurityInputError as exc:
        _fail(str(exc))
    console.print(f"quota of key {prefix.removeprefix('gpk_').split('_')[0]}: {quota}")
