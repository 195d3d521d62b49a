"""The process-wide objects pages and routes use: settings, database, event bus, workers.

Built once by `app.wiring.build`; pages read them through `runtime()` instead of importing globals,
so tests can build the app again against another database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.event_bus import InProcessEventBus
from app.settings import Settings
from services.assistant import AssistantEngine, AssistantWorker, SummaryWorker
from services.auth import LoginPolicy
from services.database import Database
from services.glue.acceptance import QuoteAcceptances
from services.inbox import SnapshotCache
from services.media_store import MediaStore
from services.presence import PresenceBoard
from services.sales.desk import QuoteExpiryWorker, SalesDesk
from services.takeover import AssignmentDispatcher, TakeoverSweeper
from services.vin.runner import VinReader
from services.vin.worker import VinWorker
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.ingest import IngestWorker
from services.whatsapp.journal import JournalWriter
from services.whatsapp.media_worker import MediaDownloader
from services.whatsapp.outbox import OutboxWorker
from services.whatsapp.simulator import Simulator


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: InProcessEventBus
    media: MediaStore
    graph: GraphClient
    journal: JournalWriter
    ingest: IngestWorker
    outbox: OutboxWorker
    media_downloader: MediaDownloader
    simulator: Simulator | None  # only when no Meta token is configured (M5)
    presence: PresenceBoard
    snapshots: SnapshotCache
    # T2/T4: releases expired holds (APScheduler job); runs the branch rules when customers write.
    takeover_sweeper: TakeoverSweeper
    assignment: AssignmentDispatcher
    # A1-A3/C4: the bot (rule or LLM engine) and the conversation summaries.
    assistant_engine: AssistantEngine
    assistant: AssistantWorker
    summaries: SummaryWorker
    # V1-V3: the OCR process pool (started on the first photo) and the worker that reads every inbound image.
    vin_reader: VinReader
    vin_worker: VinWorker
    # S2-S4: quotes and sales (inventory provider, media store, time zone), the customer's "sí", expiry.
    sales: SalesDesk
    quote_acceptances: QuoteAcceptances
    quote_expiry: QuoteExpiryWorker

    @property
    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            max_failures=self.settings.login_max_failures,
            lockout=timedelta(minutes=self.settings.login_lockout_minutes),
            session_lifetime=timedelta(days=self.settings.session_days),
        )


_current: Runtime | None = None


def install(runtime_: Runtime) -> None:
    global _current  # noqa: PLW0603 - the one place the process-wide runtime is set
    _current = runtime_


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError('the app is not built yet: call app.wiring.build(settings) first')
    return _current
