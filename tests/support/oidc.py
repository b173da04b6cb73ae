"""A local OIDC issuer for tests: an RSA key pair, its JWKS file, and signed tokens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://id.test.geoportal.kg/realms/agencies"
AUDIENCE = "geoportal"


@dataclass
class LocalIssuer:
    """Signs tokens with a fresh key; `jwks_path` holds its public half."""

    directory: Path
    kid: str = "test-key-1"
    key: rsa.RSAPrivateKey = field(init=False)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.directory.mkdir(parents=True, exist_ok=True)
        self.jwks_path.write_text(json.dumps({"keys": [public]}))

    @property
    def jwks_path(self) -> Path:
        """The JWKS file the server is configured with."""
        return self.directory / "jwks.json"

    def token(
        self,
        subject: str = "officer",
        role: str | None = "agency",
        themes: list[str] | None = None,
        oblasts: list[str] | None = None,
        lifetime_s: int = 300,
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        """A signed token (`key` overrides the signing key, to forge one)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + lifetime_s,
        }
        if role is not None:
            payload["geoportal_role"] = role
        if themes is not None:
            payload["geoportal_themes"] = themes
        if oblasts is not None:
            payload["geoportal_oblasts"] = oblasts
        payload.update(claims)
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid})
