"""The campaigns' background work, in whichever process runs the workers:

- `CampaignSweeper` (APScheduler, every few seconds): starts the scheduled campaigns whose time has come, resumes a
  start a dead process left half done, and marks done the campaigns with nothing left queued. The schedule lives in
  the `campaigns` table, not in APScheduler's memory, so it survives restarts and any process's job picks it up; the
  conditional `draft/scheduled → running` UPDATE makes sure only one starts it.
- `OptOutWorker`: every inbound customer text is checked for an opt-out keyword as it arrives (decided from the
  event's text, without a database read, so ingest bursts cost nothing), plus a sweep for what no event brought
  (stored by another process, or while this one restarted). Handling is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from ..database import Database
from ..events import Event, EventPublisher
from ..models import Direction, Message, SenderKind
from ..models.types import utcnow
from ..workers import BackgroundWorker, ScheduledJob
from .keywords import matched_keyword
from .opt_out import CHECKED_TYPES, OptedOut, OptOutPolicy, handle_customer_message, unchecked_candidates
from .service import due_campaigns, finish_campaigns, start_campaign

log = logging.getLogger(__name__)


class CampaignSweeper(ScheduledJob):
    name = 'campaign-sweeper'

    def __init__(self, db: Database, *, publisher: EventPublisher, zone: ZoneInfo, interval_seconds: float) -> None:
        super().__init__(interval=timedelta(seconds=interval_seconds), first_run_after=timedelta(seconds=1))
        self.db = db
        self.publisher = publisher
        self.zone = zone

    async def run_once(self) -> list[int]:
        """Starts (or resumes) what is due; returns the campaigns it started."""
        started: list[int] = []
        for campaign_id in await due_campaigns(self.db):
            try:
                outcome = await start_campaign(
                    self.db, campaign_id=campaign_id, publisher=self.publisher, zone=self.zone, resume=True
                )
            except Exception:  # one broken campaign (a template deleted meanwhile) must not stop the others
                log.exception('campaign %s could not start', campaign_id)
                continue
            if outcome.started or outcome.recipients:
                started.append(campaign_id)
        await finish_campaigns(self.db)
        return started


class OptOutWorker(BackgroundWorker):
    name = 'opt-outs'

    def __init__(
        self,
        db: Database,
        *,
        policy: OptOutPolicy,
        publisher: EventPublisher,
        sweep_seconds: float = 30.0,
        sweep_window: timedelta = timedelta(minutes=10),
        sweep_limit: int = 500,
    ) -> None:
        super().__init__(idle_poll_seconds=sweep_seconds)
        self.db = db
        self.policy = policy
        self.publisher = publisher
        self.sweep_window = sweep_window
        self.sweep_limit = sweep_limit
        self._cursor: int | None = None
        self._tasks: set[asyncio.Task[OptedOut | None]] = set()

    def on_event(self, event: Event) -> None:
        """Subscribe to `message.created`: an inbound customer text that is an opt-out gets its own task."""
        data = event.data
        if data.get('direction') != Direction.INBOUND or data.get('sender_kind') != SenderKind.CUSTOMER:
            return
        if data.get('type') not in CHECKED_TYPES or not isinstance(data.get('message_id'), int):
            return
        if matched_keyword(str(data.get('text') or ''), self.policy.keywords) is None:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the sweep catches it
            task = asyncio.get_running_loop().create_task(self.check(data['message_id']))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def check(self, message_id: int) -> OptedOut | None:
        try:
            return await handle_customer_message(
                self.db, message_id=message_id, policy=self.policy, publisher=self.publisher
            )
        except Exception:  # logged; the sweep retries
            log.exception('opt-out check of message %s failed', message_id)
            return None

    async def answered(self, message_id: int) -> bool:
        """The assistant's claim hook: an opt-out gets the confirmation, not a bot's answer."""
        async with self.db.session() as session:
            message = await session.get(Message, message_id)
        if message is None or message.direction != Direction.INBOUND or message.type not in CHECKED_TYPES:
            return False
        return matched_keyword(message.text, self.policy.keywords) is not None

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        await super().stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def on_start(self) -> None:
        # The first sweep looks back `sweep_window`: what arrived while no worker ran.
        async with self.db.session() as session:
            self._cursor = (
                await session.exec(
                    select(func.coalesce(func.max(Message.id), 0)).where(
                        col(Message.created_at) < utcnow() - self.sweep_window
                    )
                )
            ).one()

    async def run_round(self) -> None:
        if self._cursor is None:
            await self.on_start()
        while True:
            candidates = await unchecked_candidates(self.db, since_id=self._cursor or 0, limit=self.sweep_limit)
            for message_id, text in candidates:
                if matched_keyword(text, self.policy.keywords) is not None:
                    await self.check(message_id)
                self._cursor = message_id
            if len(candidates) < self.sweep_limit:
                return
