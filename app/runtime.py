"""The process-wide objects pages and routes use: settings, database, event bus, workers.

Built once by `app.wiring.build`; pages read them through `runtime()` instead of importing globals,
so tests can build the app again against another database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.background import Workers
from app.event_bus import InProcessEventBus
from app.settings import Settings
from app.worker_process import WorkerProcess
from services.assistant import AssistantEngine, AssistantWorker, SummaryWorker
from services.auth import LoginPolicy
from services.database import Database
from services.inbox.console import SnapshotCache
from services.media_store import MediaStore
from services.presence import PresenceBoard
from services.sales.desk import SalesDesk
from services.sales.workers import QuoteAcceptanceWorker, QuoteExpiryWorker
from services.takeover import AssignmentWorker, TakeoverSweeper
from services.vin.runner import VinReader
from services.vin.workers import VinWorker
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.journal import JournalWriter
from services.whatsapp.simulator import Simulator
from services.whatsapp.waha.fake_server import FakeWaha
from services.whatsapp.workers import IngestWorker, MediaWorker, OutboxWorker


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: InProcessEventBus
    media: MediaStore
    graph: GraphClient
    journal: JournalWriter
    simulator: Simulator | None  # only when no Meta token is configured (M5)
    presence: PresenceBoard
    snapshots: SnapshotCache
    # Built in every process; subscribed and started only where the background work runs (app/background.py).
    workers: Workers
    # The child `leadmaster worker` this web process supervises, when the workers run in their own process.
    worker_process: WorkerProcess | None = None
    # M6: the simulated WAHA gateway served under /fake-waha, when no real one is configured (the offline demo).
    simulated_waha: FakeWaha | None = None

    @property
    def workers_here(self) -> bool:
        """This process does the background work (inline); otherwise a worker process does."""
        return not self.settings.workers_in_own_process

    @property
    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            max_failures=self.settings.login_max_failures,
            lockout=timedelta(minutes=self.settings.login_lockout_minutes),
            session_lifetime=timedelta(days=self.settings.session_days),
        )

    # The workers by name, as pages and tests reach them.
    @property
    def ingest(self) -> IngestWorker:
        return self.workers.ingest

    @property
    def outbox(self) -> OutboxWorker:
        return self.workers.outbox

    @property
    def media_worker(self) -> MediaWorker:
        return self.workers.media_worker

    @property
    def takeover_sweeper(self) -> TakeoverSweeper:
        return self.workers.takeover_sweeper

    @property
    def assignment(self) -> AssignmentWorker:
        return self.workers.assignment

    @property
    def assistant_engine(self) -> AssistantEngine:
        return self.workers.assistant_engine

    @property
    def assistant(self) -> AssistantWorker:
        return self.workers.assistant

    @property
    def summaries(self) -> SummaryWorker:
        return self.workers.summaries

    @property
    def vin_reader(self) -> VinReader:
        return self.workers.vin_reader

    @property
    def vin_worker(self) -> VinWorker:
        return self.workers.vin_worker

    @property
    def sales(self) -> SalesDesk:
        return self.workers.sales

    @property
    def quote_acceptances(self) -> QuoteAcceptanceWorker:
        return self.workers.quote_acceptances

    @property
    def quote_expiry(self) -> QuoteExpiryWorker:
        return self.workers.quote_expiry


_current: Runtime | None = None


def install(runtime_: Runtime) -> None:
    global _current  # noqa: PLW0603 - the one place the process-wide runtime is set
    _current = runtime_


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError('the app is not built yet: call app.wiring.build(settings) first')
    return _current
