"""Security settings (`GEOPORTAL_SECURITY__...`): tokens, keys, limits, CORS."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator


class SecuritySettings(BaseModel):
    """Authentication and request limits. Secrets come from the environment or files only;
    nothing here is a secret except what a deployment puts in `oidc_jwks` (public keys)."""

    model_config = {"frozen": True}

    oidc_issuer: str | None = Field(
        default=None,
        description="Issuer (`iss`) of accepted bearer tokens; unset: OIDC tokens are refused.",
    )
    oidc_audience: str | None = Field(default=None, description="Required `aud` of tokens.")
    oidc_jwks: str | None = Field(
        default=None,
        description="The issuer's signing keys: a "
        "JWKS file path or an https URL (fetched, cached).",
    )
    oidc_algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "EdDSA")
    oidc_role_claim: str = Field(
        default="geoportal_role", description="Claim naming the role: agency or admin."
    )
    oidc_themes_claim: str = "geoportal_themes"
    oidc_oblasts_claim: str = "geoportal_oblasts"
    oidc_leeway_s: int = Field(default=30, ge=0, le=300)
    key_cache_s: float = Field(
        default=60.0,
        ge=0,
        le=600,
        description="How long a verified API key is remembered. Revoking a key or disabling "
        "a user clears the caches of every process at once (NOTIFY geoportal_auth); while a "
        "process is not listening, it does not cache.",
    )
    rate_limit_per_minute: float = Field(
        default=30.0,
        ge=0,
        description="Work (server seconds) per minute per anonymous client address, shared by "
        "every process and host; 0: no limit.",
    )
    rate_limit_burst: float = Field(
        default=20.0,
        gt=0,
        description="Work (server seconds) an anonymous address may spend at once "
        "above its rate before it gets 429 (room for a full download).",
    )
    key_rate_limit_per_minute: float = Field(
        default=120.0,
        ge=0,
        description="Default quota of an API key or OIDC user in work seconds per minute "
        "(an administrator sets another per user or key); 0: keys are not limited.",
    )
    auth_failure_cost_s: float = Field(
        default=3.0,
        ge=0,
        description="Work charged to an address for each failed authentication.",
    )
    cheap_cost_ms: float = Field(
        default=0.2,
        ge=0,
        description="Charge of an answer that did no work (cached tile, 304, static file).",
    )
    min_cost_ms: float = Field(default=1.0, ge=0, description="Least charge of other requests.")
    rate_limit_sync_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often each process flushes its spending to the shared table.",
    )
    max_body_bytes: int = Field(default=5_000_000, ge=1024, description="Largest request body.")
    cors_allow_origins: tuple[str, ...] = ("*",)
    trust_forwarded_for: bool = Field(
        default=False,
        description="Take the client address from X-Forwarded-For (behind a trusted proxy only).",
    )
    hsts: bool = Field(default=False, description="Send Strict-Transport-Security (HTTPS).")

    @model_validator(mode="after")
    def _jwks_with_issuer(self) -> SecuritySettings:
        if self.oidc_issuer and not self.oidc_jwks:
            raise ValueError("oidc_issuer needs oidc_jwks (a JWKS file or URL)")
        if (
            self.oidc_jwks
            and not self.oidc_jwks.startswith(("https://", "http://"))
            and not Path(self.oidc_jwks).exists()
        ):
            raise ValueError(f"oidc_jwks file {self.oidc_jwks} does not exist")
        return self
