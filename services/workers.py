"""Background work, in two shapes every feature's `workers.py` builds on:

- `BackgroundWorker`: an asyncio task doing rounds of work when woken, and every few seconds anyway. Woken by events
  for low latency; the periodic round is the safety net for work another process left, or that was pending when
  this one crashed.
- `ScheduledJob`: work on a fixed interval (APScheduler), such as the takeover and retention sweepers. With several
  worker processes on PostgreSQL (`leadmaster run --workers N`, `leadmaster worker` on other machines) each process
  schedules every job, and one copy runs it per round: a PostgreSQL advisory lock held while it runs (never two at
  once) and a lease taken from a token bucket (services/rate_limits.py: one run per 0.8 interval across copies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text

from .database import Database
from .rate_limits import Bucket, SharedRateLimits

log = logging.getLogger(__name__)


class BackgroundWorker:
    name = 'worker'

    def __init__(self, *, idle_poll_seconds: float) -> None:
        self.idle_poll_seconds = idle_poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_round(self) -> object:
        """Do all the work there is now. The loop ignores what a round returns; a subclass may return a summary
        for its direct callers (tests, `drain`)."""
        raise NotImplementedError

    async def on_start(self) -> None:
        """Runs once before the first round (e.g. to reconcile what a crash left)."""

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        try:
            await self.on_start()
        except Exception:  # the rounds still run; what on_start would fix is retried by the next start
            log.exception('%s start-up work failed', self.name)
        while True:
            try:
                await self.run_round()
            except Exception:  # e.g. the database restarting: keep the worker alive, the next round retries
                log.exception('%s round failed', self.name)
                await asyncio.sleep(1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_seconds)
            self._wake.clear()


class ScheduledJob:
    """Work APScheduler runs every `interval` in this process (scheduled jobs are named `…Sweeper`): one run at a
    time, runs missed while one was busy coalesced into one, a failure logged and retried at the next interval
    (e.g. the database restarting). Subclasses write `run_once`."""

    name = 'scheduled-job'

    def __init__(self, *, interval: timedelta, first_run_after: timedelta = timedelta(0)) -> None:
        self.interval = interval
        self.first_run_after = first_run_after
        self._scheduler: AsyncIOScheduler | None = None
        self._shared_with: Database | None = None
        self.runs = 0  # rounds this copy ran (the others were run by another copy, or skipped while one ran)

    def shared_with(self, db: Database) -> None:
        """The database through which copies of this job in other processes agree on who runs a round (PostgreSQL;
        on SQLite one process runs the workers). Subclasses with a `db` attribute need not be told."""
        self._shared_with = db

    def _coordination(self) -> Database | None:
        db = self._shared_with or getattr(self, 'db', None)
        return db if isinstance(db, Database) and db.dialect == 'postgresql' else None

    async def run_once(self) -> object:
        raise NotImplementedError

    def start(self) -> None:
        if self._scheduler is not None:
            return
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._job,
            'interval',
            seconds=self.interval.total_seconds(),
            id=self.name,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC) + self.first_run_after,
        )
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def _job(self) -> None:
        try:
            db = self._coordination()
            if db is None:
                self.runs += 1
                await self.run_once()
            else:
                await self._run_as_the_only_copy(db)
        except Exception:
            log.exception('%s failed', self.name)

    async def _run_as_the_only_copy(self, db: Database) -> None:
        """Run this round unless another copy is running the job now (the advisory lock, held by a transaction of
        its own for the run and released by its end, or by the connection's death if this process dies) or ran it
        less than 0.8 interval ago (the lease: one run per round whichever copy's timer fires first)."""
        lease = Bucket(f'job:{self.name}', capacity=1, per_second=1 / (0.8 * self.interval.total_seconds()))
        async with db.engine.connect() as connection, connection.begin():
            locked = await connection.scalar(
                text('SELECT pg_try_advisory_xact_lock(:namespace, :key)'),
                {'namespace': JOB_LOCK_NAMESPACE, 'key': _signed32(zlib.crc32(self.name.encode()))},
            )
            if not locked or not await SharedRateLimits(db).try_take(lease):
                log.debug('%s: another process runs this round', self.name)
                return
            self.runs += 1
            await self.run_once()


# pg_try_advisory_xact_lock(namespace, key): the namespace keeps these locks apart from the migrations' lock.
JOB_LOCK_NAMESPACE = 0x4C4D  # 'LM'


def _signed32(value: int) -> int:
    return value - 2**32 if value >= 2**31 else value
