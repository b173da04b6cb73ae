"""The work limiter's arithmetic, and its spending shared by processes through PostgreSQL
(two limiters stand for two processes or hosts; the table is the real one of migration
0012)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from geoportal.db.database import Database
from geoportal.security.identity import Identity
from geoportal.security.settings import SecuritySettings
from geoportal.server.rate_limit import Budget, WorkClock, WorkLimiter

BUDGET = Budget.per_minute(60, 2)  # 1 s of work a second, 2 s at once


def test_a_payer_over_its_burst_waits_until_drained() -> None:
    limiter = WorkLimiter(SecuritySettings())
    limiter.charge("ip:a", BUDGET, 3000, now=0.0)
    assert limiter.wait_s("ip:a", BUDGET, now=0.0) == pytest.approx(1.0)
    assert limiter.wait_s("ip:b", BUDGET, now=0.0) == 0  # per payer
    assert limiter.wait_s("ip:a", BUDGET, now=1.0) == 0  # drained back to the burst


def test_the_clock_shares_time_among_requests_in_flight() -> None:
    clock = WorkClock()
    first, second = clock.start(), clock.start()
    time.sleep(0.05)  # two requests in flight for 50 ms: 25 ms of server time each
    assert clock.end(first) == pytest.approx(0.025, abs=0.01)
    assert clock.end(second) == pytest.approx(0.025, abs=0.01)


def test_keys_pay_their_own_quota() -> None:
    limiter = WorkLimiter(SecuritySettings())
    business = Identity("acme", "agency", key_id="0123456789ab", method="api_key")
    payer = limiter.of_identity(business)
    assert payer is not None and payer[0] == "api_key:0123456789ab"
    assert payer[1].rate_ms_per_s == pytest.approx(120 * 1000 / 60)  # the default quota
    bigger = limiter.of_identity(
        Identity("acme", "agency", key_id="0123456789ab", method="api_key", quota_per_minute=600)
    )
    assert bigger is not None and bigger[1].burst_ms == pytest.approx(300_000)


def test_spending_in_one_process_is_seen_by_another(loaded: Database) -> None:
    async def run() -> tuple[float, float]:
        one, two = WorkLimiter(SecuritySettings()), WorkLimiter(SecuritySettings())
        bucket = f"ip:sharing-test-{time.time_ns()}"
        async with await psycopg.AsyncConnection.connect(
            loaded.agency_conninfo, autocommit=True
        ) as conn:
            one.charge(bucket, BUDGET, 10_000)  # 10 s of work in process one
            assert await one.flush(conn) == 1
            two.charge(bucket, BUDGET, 1)  # one request in process two
            assert two.wait_s(bucket, BUDGET) == 0  # alone, process two would let it pass
            await two.flush(conn)
            return two.wait_s(bucket, BUDGET), one.wait_s(bucket, BUDGET)

    wait_two, wait_one = asyncio.run(run())
    assert wait_two == pytest.approx(8.0, abs=0.5)  # now it knows: 10 s spent, 2 s of burst
    assert wait_one == pytest.approx(8.0, abs=0.5)
