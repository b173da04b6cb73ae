"""The identity of the caller, shared by every request path (pygeoapi, our routes, the fast
path): set once per request by the security middleware in `request.state.identity` and in the
context variable `CURRENT_IDENTITY` (read it with `current_identity()`)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["public", "agency", "admin"]


@dataclass(frozen=True)
class Identity:
    """Who is asking: anonymous public, an agency user bound to themes (and optionally
    oblasts, by English name), or an administrator."""

    name: str
    role: Role
    themes: frozenset[str] = field(default_factory=frozenset)
    oblasts: frozenset[str] = field(default_factory=frozenset)
    method: Literal["anonymous", "api_key", "oidc"] = "anonymous"
    key_id: str | None = None
    """The API key's prefix (who pays for the work, with its own quota)."""
    quota_per_minute: float | None = None
    """Work seconds a minute this caller may use (set by an administrator); None: default."""

    @property
    def is_authenticated(self) -> bool:
        """False for the anonymous public."""
        return self.role != "public"

    def may_write_theme(self, theme: str) -> bool:
        """Admins write every theme; agencies the themes they are bound to."""
        return self.role == "admin" or (self.role == "agency" and theme in self.themes)

    def transaction_settings(self) -> dict[str, str]:
        """The `geoportal.*` settings a write transaction carries (read by audit triggers and
        row-level policies)."""
        return {
            "geoportal.user": self.name,
            "geoportal.role": self.role,
            "geoportal.themes": ",".join(sorted(self.themes)),
            "geoportal.oblasts": ",".join(sorted(self.oblasts)),
        }


ANONYMOUS = Identity(name="anonymous", role="public")

CURRENT_IDENTITY: ContextVar[Identity] = ContextVar("geoportal_identity", default=ANONYMOUS)


def current_identity() -> Identity:
    """The identity of the request being handled (anonymous outside a request)."""
    return CURRENT_IDENTITY.get()
