"""The leads feature's background jobs (issue 16), built and subscribed by `app.background` in whichever process
runs the workers. Each returned job has `start()` and `async stop()` (a `BackgroundWorker` or `ScheduledJob`):

- `LeadRescoreSweeper`: every contact, every `leads_rescore_hours` (WhatsApp's answers and the 90-day window of
  failed sends move with time), asking a READY WA-Web session about numbers never checked;
- `LeadRescoreWorker`: event-driven, re-scores the contact of a conversation whose send just failed.
(Imports, merges and validations re-score their contacts themselves, in services/leads.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from app.event_bus import InProcessEventBus
from app.settings import Settings
from services.database import Database
from services.events import MESSAGE_STATUS, Event
from services.leads.rescoring import RescoreResult, WhatsAppChecker, rescore, waha_checker
from services.models import Conversation, MessageStatus
from services.whatsapp.waha.client import WahaClient
from services.workers import BackgroundWorker, ScheduledJob


class LeadRescoreSweeper(ScheduledJob):
    name = 'lead-rescore'

    def __init__(
        self,
        db: Database,
        *,
        interval_hours: float,
        checker: WhatsAppChecker | None,
        whatsapp_checks: int,
        auto_validate_minimum: int | None,
        client: WahaClient | None = None,
    ) -> None:
        super().__init__(interval=timedelta(hours=interval_hours), first_run_after=timedelta(minutes=5))
        self.db = db
        self.checker = checker
        self.whatsapp_checks = whatsapp_checks
        self.auto_validate_minimum = auto_validate_minimum
        self.client = client
        self.last_result: RescoreResult | None = None

    async def run_once(self) -> RescoreResult:
        self.last_result = await rescore(
            self.db,
            checker=self.checker,
            whatsapp_checks=self.whatsapp_checks,
            auto_validate_minimum=self.auto_validate_minimum,
        )
        return self.last_result

    async def stop(self) -> None:
        await super().stop()
        if self.client is not None:
            await self.client.aclose()


class LeadRescoreWorker(BackgroundWorker):
    """Re-scores the contacts of conversations whose sends failed (MESSAGE_STATUS 'failed' events)."""

    name = 'lead-rescore-events'

    def __init__(self, db: Database, *, auto_validate_minimum: int | None) -> None:
        super().__init__(idle_poll_seconds=300.0)
        self.db = db
        self.auto_validate_minimum = auto_validate_minimum
        self.pending: set[int] = set()  # conversation ids

    def on_event(self, event: Event) -> None:
        if event.kind == MESSAGE_STATUS and event.data.get('status') == MessageStatus.FAILED and event.conversation_id:
            self.pending.add(event.conversation_id)
            self.wake()

    async def run_round(self) -> RescoreResult | None:
        if not self.pending:
            return None
        conversations, self.pending = sorted(self.pending), set()
        async with self.db.autocommit_session() as session:
            contact_ids = list(
                (
                    await session.exec(
                        select(Conversation.contact_id).where(col(Conversation.id).in_(conversations)).distinct()
                    )
                ).all()
            )
        return await rescore(self.db, contact_ids=contact_ids, auto_validate_minimum=self.auto_validate_minimum)


def build(settings: Settings, *, db: Database, bus: InProcessEventBus) -> list[Any]:
    client = WahaClient(base_url=settings.effective_waha_base_url, api_key=settings.effective_waha_api_key)
    return [
        LeadRescoreSweeper(
            db,
            interval_hours=settings.leads_rescore_hours,
            checker=waha_checker(db, client),
            whatsapp_checks=settings.leads_whatsapp_checks_per_run,
            auto_validate_minimum=settings.leads_auto_validate_minimum,
            client=client,
        ),
        LeadRescoreWorker(db, auto_validate_minimum=settings.leads_auto_validate_minimum),
    ]


def subscribe(bus: InProcessEventBus, jobs: list[Any]) -> None:
    """Subscribe the jobs built by `build` to the events that wake them."""
    for job in jobs:
        if isinstance(job, LeadRescoreWorker):
            bus.subscribe(job.on_event, branch_ids=None, kinds=[MESSAGE_STATUS])
