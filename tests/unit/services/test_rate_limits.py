"""The outbox's token buckets (issue 20): shared by every process on PostgreSQL, in memory on SQLite; and the
scheduled jobs, which copies in several processes run once per round."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import timedelta

import pytest

from services.database import Database
from services.rate_limits import (
    Bucket,
    LocalRateLimits,
    SharedRateLimits,
    number_bucket,
    rate_limits_for,
    recipient_bucket,
)
from services.workers import ScheduledJob

ON_POSTGRESQL = pytest.mark.parametrize('database_url', ['postgresql'], indirect=True)


async def test_each_database_gets_the_limits_it_can_share(db: Database) -> None:
    limits = rate_limits_for(db)
    # Several worker processes only run on PostgreSQL; on SQLite the one process keeps its buckets in memory.
    assert isinstance(limits, SharedRateLimits if db.dialect == 'postgresql' else LocalRateLimits)


async def test_after_the_burst_tokens_come_at_the_rate(db: Database) -> None:
    """Whatever the database: 3 at once (the burst), then one every 0.1 s."""
    limits = rate_limits_for(db)
    bucket = Bucket('number:test', capacity=3, per_second=10)
    granted = []
    for _ in range(6):
        await limits.acquire([bucket])
        granted.append(time.monotonic())
    assert granted[5] - granted[2] >= 0.27  # the three after the burst: at 10 per second


@ON_POSTGRESQL
async def test_a_token_taken_beyond_the_balance_is_a_reservation_with_its_wait(db: Database) -> None:
    limits = SharedRateLimits(db)
    bucket = number_bucket('pn-1', per_second=2)  # two at once, then one every half second
    waits = [await limits.take([bucket]) for _ in range(5)]
    assert waits[0] == waits[1] == 0
    # Each reservation waits half a second after the one before (less the moments between the statements).
    for index, expected in ((2, 0.5), (3, 1.0), (4, 1.5)):
        assert expected - 0.2 < waits[index] <= expected


@ON_POSTGRESQL
async def test_the_slowest_bucket_of_an_acquire_decides_its_wait(db: Database) -> None:
    limits = SharedRateLimits(db)
    number = number_bucket('pn-1', per_second=80)
    customer = recipient_bucket('5491155550101', burst=1, period_seconds=6)
    assert await limits.take([number, customer]) == 0
    assert 5.5 < await limits.take([number, customer]) <= 6.0  # the customer's pair rate, not the number's


@ON_POSTGRESQL
async def test_two_processes_together_keep_one_rate(database_url: str) -> None:
    """Two connection pools (as two worker processes have) taking the same number's tokens at once: together they
    are given 5 per second, not 5 each."""
    first, second = Database.from_url(database_url), Database.from_url(database_url)
    bucket = Bucket('number:shared', capacity=1, per_second=5)
    due: list[float] = []

    async def sender(db: Database) -> None:
        limits = SharedRateLimits(db)
        for _ in range(5):
            wait = await limits.take([bucket])
            due.append(time.monotonic() + wait)

    try:
        await asyncio.gather(sender(first), sender(second))
    finally:
        await first.dispose()
        await second.dispose()
    # 10 tokens: the first at once, then one every 0.2 s, so the tenth 1.8 s later (buckets of their own: 0.8 s).
    assert max(due) - min(due) >= 1.6


@ON_POSTGRESQL
async def test_a_lease_is_taken_only_when_a_token_is_there(db: Database) -> None:
    limits = SharedRateLimits(db)
    lease = Bucket('job:test', capacity=1, per_second=1 / 60)
    assert await limits.try_take(lease)
    assert not await limits.try_take(lease)  # nothing taken: no debt for the next round either


class CountingJob(ScheduledJob):
    name = 'counting-job'

    def __init__(self, db: Database, copy: str, runs: list[tuple[str, float, float]]) -> None:
        super().__init__(interval=timedelta(seconds=0.5))
        self.db = db
        self.copy = copy
        self.log = runs

    async def run_once(self) -> None:
        started = time.monotonic()
        await asyncio.sleep(0.05)
        self.log.append((self.copy, started, time.monotonic()))


@ON_POSTGRESQL
async def test_a_scheduled_job_in_two_processes_runs_once_per_round(database_url: str) -> None:
    """Two copies of one job, each with its own connections and scheduler (as in two worker processes), for about
    six rounds: six runs or so between them, never two at once, never two in one round."""
    runs: list[tuple[str, float, float]] = []
    first_db, second_db = Database.from_url(database_url), Database.from_url(database_url)
    copies = [CountingJob(first_db, 'a', runs), CountingJob(second_db, 'b', runs)]
    for job in copies:
        job.start()
    await asyncio.sleep(3.0)
    for job in copies:
        await job.stop()
    await first_db.dispose()
    await second_db.dispose()

    assert 4 <= len(runs) <= 7, runs  # two copies each running every round would be about 12
    starts = sorted(start for _, start, _ in runs)
    assert all(later - earlier >= 0.35 for earlier, later in itertools.pairwise(starts)), runs
    assert sum(job.runs for job in copies) == len(runs)


@pytest.mark.parametrize('database_url', ['sqlite'], indirect=True)
async def test_on_sqlite_a_scheduled_job_simply_runs(db: Database) -> None:
    runs: list[tuple[str, float, float]] = []
    job = CountingJob(db, 'only', runs)
    job.start()
    try:
        async with asyncio.timeout(10):
            while len(runs) < 2:  # noqa: ASYNC110 - the scheduler runs the job; nothing to await
                await asyncio.sleep(0.05)
    finally:
        await job.stop()
    assert job.runs >= 2
