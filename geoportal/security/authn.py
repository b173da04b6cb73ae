"""Authentication of a request: no credentials -> the anonymous public; an API key
(`X-API-Key: gpk_...` or `Authorization: Bearer gpk_...`) or an OIDC bearer token -> that
user; anything else that claims to be credentials -> AuthenticationError (401)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator

from psycopg_pool import AsyncConnectionPool

from geoportal.security.errors import AuthenticationError
from geoportal.security.identity import ANONYMOUS, Identity
from geoportal.security.keys import split_key, verify_secret
from geoportal.security.oidc import OidcVerifier
from geoportal.security.revocation import AuthChangeListener
from geoportal.security.settings import SecuritySettings

log = logging.getLogger(__name__)


class Authenticator:
    """Turns request headers into an Identity. Verified keys are remembered `key_cache_s`,
    only while the process hears of revocations (`listening()`, see `revocation.py`)."""

    def __init__(self, settings: SecuritySettings, pool: AsyncConnectionPool) -> None:
        self.settings = settings
        self.pool = pool
        self.oidc = OidcVerifier(settings) if settings.oidc_issuer else None
        self._cache: dict[str, tuple[float, Identity]] = {}
        self.listener: AuthChangeListener | None = None
        self._generation = 0  # bumped by forget(): a check begun before it is not cached

    def forget(self) -> None:
        """Drop every remembered key (a user or key changed somewhere)."""
        self._cache = {}
        self._generation += 1

    @contextlib.asynccontextmanager
    async def listening(self, conninfo: str) -> AsyncIterator[None]:
        """Hear of revocations (LISTEN geoportal_auth) while the block runs."""
        self.listener = AuthChangeListener(conninfo, self.forget)
        if not await self.listener.start():
            log.warning("not listening for key revocations yet: keys are not cached")
        try:
            yield
        finally:
            await self.listener.stop()
            self.listener = None
            self.forget()

    @property
    def may_cache(self) -> bool:
        """Keys are remembered only while revocations are heard."""
        return self.listener is not None and self.listener.listening

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Identity:
        """The caller's identity.

        Raises:
            AuthenticationError: credentials were sent and are not valid.
        """
        if api_key is not None:
            return await self._api_key(api_key.strip())
        if authorization is None:
            return ANONYMOUS
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials:
            raise AuthenticationError(
                "use `Authorization: Bearer <token or API key>` or `X-API-Key: <API key>`"
            )
        if credentials.startswith("gpk_"):
            return await self._api_key(credentials)
        if self.oidc is None:
            raise AuthenticationError("bearer tokens are not accepted by this server")
        return await asyncio.to_thread(self.oidc.verify, credentials)

    async def _api_key(self, key: str) -> Identity:
        digest = hashlib.sha256(key.encode()).hexdigest()
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached and cached[0] > now and self.may_cache:
            return cached[1]
        prefix, secret = split_key(key)
        generation = self._generation
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT secret_hash, user_name, role, themes, oblasts, quota_per_minute "
                "FROM auth.api_key_lookup(%s)",
                [prefix],
            )
            row = await cur.fetchone()
        if row is None or not await asyncio.to_thread(verify_secret, secret, row[0]):
            raise AuthenticationError("unknown, revoked or expired API key")
        identity = Identity(
            name=row[1],
            role=row[2],
            themes=frozenset(row[3]),
            oblasts=frozenset(row[4]),
            method="api_key",
            key_id=prefix,
            quota_per_minute=row[5],
        )
        if self.settings.key_cache_s > 0 and self.may_cache and generation == self._generation:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self.settings.key_cache_s, identity)
        return identity
