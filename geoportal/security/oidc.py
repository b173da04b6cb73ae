"""OIDC bearer tokens: a JWT signed by the configured issuer, verified against its JWKS (a
local file, or an URL fetched and cached by PyJWT), with issuer, audience and expiry checked.

Claims (names configurable): `geoportal_role` (`agency` or `admin`), `geoportal_themes` and
`geoportal_oblasts` (lists of strings); the user is `preferred_username`, else `sub`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt

from geoportal.security.errors import AuthenticationError
from geoportal.security.identity import Identity
from geoportal.security.settings import SecuritySettings
from layers.model import THEMES


class OidcVerifier:
    """Verifies bearer tokens of one issuer."""

    def __init__(self, settings: SecuritySettings) -> None:
        self.settings = settings
        source = settings.oidc_jwks or ""
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        if source.startswith(("https://", "http://")):
            self._client = jwt.PyJWKClient(source, cache_keys=True, lifespan=3600)
        elif source:
            self._keys = jwt.PyJWKSet.from_json(Path(source).read_text("utf-8"))

    def _signing_key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise AuthenticationError("token signed by an unknown key")

    def verify(self, token: str) -> Identity:
        """The identity a valid token carries (blocking: may fetch the JWKS).

        Raises:
            AuthenticationError: bad signature, wrong issuer or audience, expired, or no
                usable role.
        """
        if not self.settings.oidc_issuer:
            raise AuthenticationError("bearer tokens are not accepted by this server")
        try:
            claims = jwt.decode(
                token,
                self._signing_key(token),
                algorithms=list(self.settings.oidc_algorithms),
                issuer=self.settings.oidc_issuer,
                audience=self.settings.oidc_audience,
                leeway=self.settings.oidc_leeway_s,
                options={
                    "require": ["exp", "iss", "sub"],
                    "verify_aud": self.settings.oidc_audience is not None,
                },
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthenticationError(f"invalid bearer token: {exc}") from exc
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        role = claims.get(self.settings.oidc_role_claim)
        if role not in ("agency", "admin"):
            raise AuthenticationError(
                f"token has no {self.settings.oidc_role_claim} claim of agency or admin"
            )
        themes = _strings(claims.get(self.settings.oidc_themes_claim))
        unknown = themes - set(THEMES)
        if unknown:
            raise AuthenticationError(f"token names unknown themes {sorted(unknown)}")
        name = str(claims.get("preferred_username") or claims["sub"])
        return Identity(
            name=f"oidc:{name}",
            role=role,
            themes=frozenset(themes),
            oblasts=frozenset(_strings(claims.get(self.settings.oidc_oblasts_claim))),
            method="oidc",
        )


def _strings(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {v for v in value.replace(",", " ").split() if v}
    if isinstance(value, list):
        return {str(v) for v in value}
    raise AuthenticationError("theme and oblast claims are lists of strings")
