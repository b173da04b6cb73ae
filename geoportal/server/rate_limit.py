"""The one rate limiter: it limits work, not requests (design in `docs/security.md`).

- **What is charged.** Each request is charged the server time it took, shared fairly among
  the requests in flight in its process (a processor-sharing clock: while n requests run, each
  is charged 1/n of the elapsed time), at least `min_cost_ms`. Answers that did no work cost
  `cheap_cost_ms`: tiles from the tile cache (`X-Tile-Cache` other than `database`), `304`s,
  static files; `/healthz`, `/readyz` and CORS preflights are free and never refused.
- **Who pays.** An anonymous client per address; an API key per key (an OIDC user per user
  name) with the quota an administrator set (`geoportal users|keys ... --quota`), else the
  default. Failed authentications charge `auth_failure_cost_s` to a bucket of the address
  (each costs a scrypt); while that bucket is spent, credentials from the address are refused
  before they are checked.
- **How.** A leaky bucket per payer holds the work spent (ms), draining at the payer's rate;
  a request whose payer has spent more than its burst is refused with 429 and `Retry-After`
  (the time until the level is back under the burst). A request is checked before it runs and
  charged after, so one expensive request is let through and paid for by the next ones.
- **Several processes and hosts.** The check and the charge are dictionary operations in the
  process: no database round trip on the request path. A background task of each process
  flushes what it charged since the last flush (one statement, about every `sync_s`) into the
  UNLOGGED table `auth.rate_spending` (migration 0012), where the database drains and adds the
  levels, and gets back the shared level of every payer it charged, which replaces its own.
  A payer spending in several processes is thus seen whole within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import psycopg

from geoportal.security.identity import Identity
from geoportal.security.settings import SecuritySettings

log = logging.getLogger(__name__)

FLUSH_SQL = """
INSERT INTO auth.rate_spending AS s (bucket, level_ms, rate_ms_per_s, updated_at)
SELECT b, l, r, clock_timestamp()
FROM unnest(%(buckets)s::text[], %(levels)s::float8[], %(rates)s::float8[]) AS t(b, l, r)
ORDER BY b
ON CONFLICT (bucket) DO UPDATE SET
    level_ms = greatest(0, s.level_ms - s.rate_ms_per_s
                        * extract(epoch FROM excluded.updated_at - s.updated_at))
               + excluded.level_ms,
    rate_ms_per_s = excluded.rate_ms_per_s,
    updated_at = excluded.updated_at
RETURNING bucket, level_ms"""
PRUNE_SQL = "DELETE FROM auth.rate_spending WHERE updated_at < now() - interval '1 hour'"
MAX_LOCAL_BUCKETS = 100_000


@dataclass(frozen=True)
class Budget:
    """What a payer may spend: a drain rate and the burst above which it is refused."""

    rate_ms_per_s: float
    burst_ms: float

    @classmethod
    def per_minute(cls, work_s_per_minute: float, burst_s: float) -> Budget:
        """A budget from work seconds per minute and burst seconds."""
        return cls(work_s_per_minute * 1000 / 60, burst_s * 1000)


@dataclass
class Bucket:
    """Work spent by one payer (ms), as of `at` (monotonic seconds)."""

    level_ms: float
    at: float
    rate_ms_per_s: float

    def drain(self, now: float) -> float:
        """The level now (and remember it)."""
        self.level_ms = max(0.0, self.level_ms - (now - self.at) * self.rate_ms_per_s)
        self.at = now
        return self.level_ms


class WorkClock:
    """Processor-sharing clock: `virtual()` grows by dt / (requests in flight)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self._virtual = 0.0
        self._last = time.monotonic()

    def _advance(self, now: float) -> None:
        self._virtual += (now - self._last) / max(self.in_flight, 1)
        self._last = now

    def start(self) -> float:
        """A request begins; returns its start mark."""
        self._advance(time.monotonic())
        self.in_flight += 1
        return self._virtual

    def end(self, mark: float) -> float:
        """The request that began at `mark` ends; returns its share of server time (s)."""
        self._advance(time.monotonic())
        self.in_flight = max(0, self.in_flight - 1)
        return self._virtual - mark


@dataclass
class WorkLimiter:
    """Leaky buckets of work per payer, shared with other processes through PostgreSQL."""

    settings: SecuritySettings
    buckets: dict[str, Bucket] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)
    clock: WorkClock = field(default_factory=WorkClock)

    @property
    def enabled(self) -> bool:
        """False when the anonymous limit is 0 (tests, benchmarks that say so)."""
        return self.settings.rate_limit_per_minute > 0

    def anonymous(self, address: str) -> tuple[str, Budget]:
        """The bucket and budget of an anonymous client address."""
        s = self.settings
        return f"ip:{address}", Budget.per_minute(s.rate_limit_per_minute, s.rate_limit_burst)

    def auth_failures(self, address: str) -> tuple[str, Budget]:
        """The bucket of failed authentications from an address (anonymous budget)."""
        return f"authfail:{address}", self.anonymous(address)[1]

    def of_identity(self, identity: Identity) -> tuple[str, Budget] | None:
        """The bucket and budget of an authenticated caller; None: not limited."""
        quota = identity.quota_per_minute
        if quota is None:
            quota = self.settings.key_rate_limit_per_minute
        if quota <= 0:
            return None
        payer = f"{identity.method}:{identity.key_id or identity.name}"
        return payer, Budget.per_minute(quota, quota / 2)  # a burst of half a minute's quota

    def wait_s(self, bucket: str, budget: Budget, now: float | None = None) -> float:
        """0 when the payer may go on, else the seconds until it may."""
        found = self.buckets.get(bucket)
        if found is None:
            return 0.0
        level = found.drain(time.monotonic() if now is None else now)
        if level <= budget.burst_ms:
            return 0.0
        return (level - budget.burst_ms) / max(budget.rate_ms_per_s, 1e-9)

    def charge(self, bucket: str, budget: Budget, cost_ms: float, now: float | None = None) -> None:
        """Add work to a payer (and to what the next flush sends)."""
        now = time.monotonic() if now is None else now
        found = self.buckets.get(bucket)
        if found is None:
            if len(self.buckets) > MAX_LOCAL_BUCKETS:
                self._forget_idle(now)
            found = self.buckets[bucket] = Bucket(0.0, now, budget.rate_ms_per_s)
        found.drain(now)
        found.level_ms += cost_ms
        found.rate_ms_per_s = budget.rate_ms_per_s
        self.pending[bucket] = self.pending.get(bucket, 0.0) + cost_ms

    def _forget_idle(self, now: float) -> None:
        self.buckets = {k: b for k, b in self.buckets.items() if b.drain(now) > 0}

    # -- sharing through the database ----------------------------------------------------
    async def flush(self, conn: psycopg.AsyncConnection) -> int:
        """Send what was charged since the last flush; adopt the shared levels. Returns the
        number of buckets flushed."""
        if not self.pending:
            return 0
        batch, self.pending = self.pending, {}
        names = sorted(batch)
        rates = [self.buckets[n].rate_ms_per_s if n in self.buckets else 0.0 for n in names]
        try:
            cur = await conn.execute(
                FLUSH_SQL,
                {"buckets": names, "levels": [batch[n] for n in names], "rates": rates},
            )
            rows = await cur.fetchall()
        except BaseException:
            for name, cost in batch.items():  # sent again with the next flush
                self.pending[name] = self.pending.get(name, 0.0) + cost
            raise
        now = time.monotonic()
        for name, level in rows:
            bucket = self.buckets.get(name)
            if bucket is not None:  # the shared level, plus what was charged meanwhile
                bucket.level_ms = float(level) + self.pending.get(name, 0.0)
                bucket.at = now
        return len(rows)

    async def run_sync(self, conninfo: str, interval_s: float) -> None:
        """Flush about every `interval_s` until cancelled, reconnecting after errors."""
        flushes = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True, connect_timeout=10
                ) as conn:
                    await conn.execute("SET application_name = 'geoportal-rate-limit'")
                    while True:
                        await asyncio.sleep(interval_s)
                        await self.flush(conn)
                        flushes += 1
                        if flushes % 600 == 0:
                            await conn.execute(PRUNE_SQL)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                log.warning("rate limit sync failed (limits stay per process): %s", exc)
                await asyncio.sleep(max(interval_s, 5.0))


def retry_after(wait_s: float) -> str:
    """The `Retry-After` value (whole seconds, at least 1) of a wait."""
    return str(max(1, math.ceil(wait_s)))


@contextlib.asynccontextmanager
async def limiter_sync(
    limiter: WorkLimiter, conninfo: str, interval_s: float
) -> AsyncIterator[None]:
    """Run the limiter's flushes in the background while the block runs (not when off)."""
    if not limiter.enabled:
        yield
        return
    task = asyncio.create_task(limiter.run_sync(conninfo, interval_s), name="rate-limit-sync")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
