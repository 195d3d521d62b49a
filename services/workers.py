"""Background work, in two shapes every feature's `workers.py` builds on:

- `BackgroundWorker`: an asyncio task doing rounds of work when woken, and every few seconds anyway. Woken by events
  for low latency; the periodic round is the safety net for work another process left, or that was pending when
  this one crashed.
- `ScheduledJob`: work on a fixed interval (APScheduler), such as the takeover and retention sweepers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

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
            await self.run_once()
        except Exception:
            log.exception('%s failed', self.name)
