"""The background workers and what wakes them: built the same way in the web process (inline) and in the worker
process (`leadmaster worker`, SPEC O6). No NiceGUI here: the worker process never loads the UI.

Only the process that runs the workers subscribes them to the bus. With a cross-process bus every process hears
every event, and a web process that also subscribed would queue work nobody ever does.

Roles (`leadmaster worker --only ingest,outbox`, issue 20): a worker process may run some of the workers only, to
split them over processes or machines; each worker is safe with N copies (claims with `FOR UPDATE SKIP LOCKED`,
conditional updates, rate limits and scheduled jobs shared through PostgreSQL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app import background_campaigns, background_leads
from app.event_bus import InProcessEventBus
from app.settings import Settings
from services.alerts import AlertSweeper, AlertThresholds
from services.assistant import AssistantEngine, AssistantWorker, QuoteDrafter, SummaryWorker, make_engine
from services.backups import BackupSweeper
from services.dashboard import DashboardFiguresSweeper
from services.database import Database
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS, WEBHOOK_JOURNALED
from services.media_store import MediaStore
from services.models import Direction, MessageStatus
from services.retention import RetentionSweeper
from services.sales.desk import SalesDesk, build_inventory
from services.sales.inventory import SoapInventory
from services.sales.workers import QuoteAcceptanceWorker, QuoteExpiryWorker
from services.secrets import keyring_for
from services.sessions.control import ProbePolicy, SessionControl
from services.sessions.service import SESSION_STATE
from services.sessions.workers import SessionProbeSweeper
from services.takeover import AssignmentWorker, TakeoverSweeper, renew_on_agent_messages, request_human
from services.vin.readings import VIN_READ
from services.vin.runner import VinReader
from services.vin.workers import VinWorker
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.waha.client import WahaClient
from services.whatsapp.workers import IngestWorker, MediaWorker, OutboxWorker
from services.workers import ScheduledJob

log = logging.getLogger('leadmaster')

# At most ~20 summaries a second per process (services/assistant/summary.py, SummaryWorker.pause_seconds).
SUMMARY_PAUSE_SECONDS = 0.05

# What `leadmaster worker --only` accepts, and what each name runs.
ROLES: dict[str, str] = {
    'ingest': 'the webhook journal into messages (M1)',
    'outbox': 'sending replies, with the shared rate limits (M3)',
    'media': 'downloading inbound media (M2)',
    'takeover': 'assignment rules, expired holds, renewals (T2, T4)',
    'assistant': "the bot's replies (A1-A3)",
    'summaries': 'conversation summaries (C4)',
    'vin': 'reading VINs from photos (V1-V3)',
    'sales': "quotes accepted by the customer's 'sí', expiry (S2-S4)",
    'retention': 'anonymising after retention (O3)',
    'alerts': 'alerts to admins (O4)',
    'sessions': 'probing WA-Web sessions (M6)',
    'backups': 'the daily backup',
    'leads': 'lead scoring (L)',
    'campaigns': 'campaigns (L)',
    'dashboard': "the manager dashboard's stored per-conversation figures (B3)",
}


def parse_roles(value: str | None) -> frozenset[str]:
    """`ingest,outbox` → those roles; None or empty → every role. Raises ValueError naming an unknown one."""
    if not value or not value.strip():
        return frozenset(ROLES)
    roles = frozenset(part.strip() for part in value.split(',') if part.strip())
    if unknown := sorted(roles - ROLES.keys()):
        raise ValueError(f'unknown worker role(s): {", ".join(unknown)} (known: {", ".join(ROLES)})')
    return roles


@dataclass
class Workers:
    db: Database
    ingest: IngestWorker
    outbox: OutboxWorker
    media_worker: MediaWorker
    # T2/T4: releases expired holds (APScheduler job); runs the branch rules when customers write.
    takeover_sweeper: TakeoverSweeper
    assignment: AssignmentWorker
    # A1-A3/C4: the bot (rule or LLM engine) and the conversation summaries.
    assistant_engine: AssistantEngine
    assistant: AssistantWorker
    summaries: SummaryWorker
    # V1-V3: the OCR processes (started on the first photo) and the worker that reads every inbound image.
    vin_reader: VinReader
    vin_worker: VinWorker
    # S2-S4: quotes and sales (inventory provider, media store, time zone), the customer's "sí", expiry.
    sales: SalesDesk
    quote_acceptances: QuoteAcceptanceWorker
    quote_expiry: QuoteExpiryWorker
    # O3: what customers wrote is anonymized after each branch's retention (APScheduler job).
    retention: RetentionSweeper
    # O4: tells admins when the journal falls behind or a branch's sends fail (APScheduler job).
    alerts: AlertSweeper
    # M6: the WAHA gateway (WhatsApp-Web sessions), its admin actions, and the probes (APScheduler job).
    waha: WahaClient
    sessions: SessionControl
    session_probes: SessionProbeSweeper
    # Issue 21: the daily backup and its retention (APScheduler job); None when LEADMASTER_BACKUP_ENABLED=false.
    backups: BackupSweeper | None = None
    # Issue 16: lead scoring and campaigns (app/background_leads.py, app/background_campaigns.py).
    lead_jobs: list[Any] = field(default_factory=list)
    campaign_jobs: list[Any] = field(default_factory=list)
    # Issue 15: keeps the dashboard's per-conversation figures current between page loads (APScheduler job).
    dashboard_figures: DashboardFiguresSweeper | None = None
    # Which of them this process runs (`leadmaster worker --only`); every one by default.
    roles: frozenset[str] = field(default_factory=lambda: frozenset(ROLES))

    def by_role(self) -> dict[str, list[Any]]:
        """Each role's workers and jobs (each has `start()` and `async stop()`)."""
        return {
            'ingest': [self.ingest],
            'outbox': [self.outbox],
            'media': [self.media_worker],
            'takeover': [self.assignment, self.takeover_sweeper],
            'assistant': [self.assistant],
            'summaries': [self.summaries],
            'vin': [self.vin_worker],
            'sales': [self.quote_acceptances, self.quote_expiry],
            'retention': [self.retention],
            'alerts': [self.alerts],
            'sessions': [self.session_probes],
            'backups': [self.backups] if self.backups is not None else [],
            'leads': self.lead_jobs,
            'campaigns': self.campaign_jobs,
            'dashboard': [self.dashboard_figures] if self.dashboard_figures is not None else [],
        }

    def running(self) -> list[Any]:
        """The workers and jobs of this process's roles."""
        return [worker for role, workers in self.by_role().items() if role in self.roles for worker in workers]

    def subscribe(self, bus: InProcessEventBus) -> None:
        """Events wake the workers instead of polling: a journaled webhook the ingest, a queued reply the outbox,
        inbound media the downloader. A gap in a cross-process bus wakes these three at once (polling would, later);
        the bot, the summaries and the takeover sweeper catch up on their own periodic rounds."""

        roles = self.roles
        woken = [
            worker
            for role, worker in (('ingest', self.ingest), ('outbox', self.outbox), ('media', self.media_worker))
            if role in roles
        ]

        def wake_all() -> None:
            for worker in woken:
                worker.wake()

        # A gap may have lost any event: it wakes what this process runs (one subscription carries the gap).
        bus.subscribe(
            lambda _event: self.ingest.wake() if 'ingest' in roles else None,
            branch_ids=None,
            kinds=[WEBHOOK_JOURNALED],
            on_gap=wake_all,
        )
        if 'outbox' in roles:
            bus.subscribe(
                lambda event: self.outbox.wake() if event.data.get('status') == MessageStatus.QUEUED else None,
                branch_ids=None,
                kinds=[MESSAGE_CREATED],
            )
        if 'media' in roles:
            bus.subscribe(
                lambda event: (
                    self.media_worker.wake()
                    if event.data.get('media_id') and event.data.get('direction') == Direction.INBOUND
                    else None
                ),
                branch_ids=None,
                kinds=[MESSAGE_CREATED],
            )
        if 'takeover' in roles:
            bus.subscribe(self.assignment.on_event, branch_ids=None, kinds=[CONVERSATION_UPDATED])
            # T2: an agent's message renews her hold, whichever page or API queued it.
            bus.subscribe(renew_on_agent_messages(self.db, bus), branch_ids=None, kinds=[MESSAGE_CREATED])
        if 'sales' in roles:
            # The customer's "sí" is checked for every inbound message in any mode (a person usually sent the quote).
            bus.subscribe(self.quote_acceptances.on_event, branch_ids=None, kinds=[MESSAGE_CREATED])
        if 'assistant' in roles:
            # A conversation given back to the AI (released, a hold expired) has its pending question answered at once.
            bus.subscribe(
                self.assistant.on_event, branch_ids=None, kinds=[MESSAGE_CREATED, VIN_READ, CONVERSATION_UPDATED]
            )
        if 'summaries' in roles:
            # A photo's VIN feeds the summary's vehicle: recompute when a reading (or an agent's correction) lands.
            bus.subscribe(self.summaries.on_event, branch_ids=None, kinds=[MESSAGE_CREATED, VIN_READ])
        if 'vin' in roles:
            bus.subscribe(self.vin_worker.on_event, branch_ids=None, kinds=[MESSAGE_STATUS])
        if 'alerts' in roles:
            # M6: a session that needs a QR (a webhook said so) reaches the admins' bell now, not at the next check.
            bus.subscribe(self._check_alerts, branch_ids=None, kinds=[SESSION_STATE])
        if 'leads' in roles:
            background_leads.subscribe(bus, self.lead_jobs)
        if 'campaigns' in roles:
            background_campaigns.subscribe(bus, self.campaign_jobs)

    async def _check_alerts(self, _event: object) -> None:
        await self.alerts.run_once()

    def start(self) -> None:
        """Start the workers and jobs of this process's roles."""
        for worker in self.running():
            if isinstance(worker, ScheduledJob):
                worker.shared_with(self.db)  # one copy runs each round, whichever process has it (PostgreSQL)
            worker.start()
        if isinstance(self.sales.inventory, SoapInventory):
            self.sales.inventory.warm_up()  # zeep loads the WSDL in a thread; the first stock check is then quick

    async def stop(self) -> None:
        """Stops what `start` started (stopping a worker that never started is a no-op) and closes clients."""
        for worker in (
            self.ingest,
            self.outbox,
            self.media_worker,
            self.assignment,
            self.takeover_sweeper,
            self.assistant,
            self.summaries,
            self.vin_worker,
            self.quote_acceptances,
            self.quote_expiry,
            self.retention,
            self.alerts,
            self.session_probes,
        ):
            await worker.stop()
        if self.backups is not None:
            await self.backups.stop()
        for job in (*self.lead_jobs, *self.campaign_jobs):
            await job.stop()
        if self.dashboard_figures is not None:
            await self.dashboard_figures.stop()
        await self.waha.aclose()
        await self.vin_reader.aclose()
        if isinstance(self.sales.inventory, SoapInventory):
            await self.sales.inventory.aclose()
        close_engine = getattr(self.assistant_engine, 'aclose', None)
        if close_engine is not None:
            await close_engine()  # the LLM engine's HTTP client


def build_workers(
    settings: Settings,
    *,
    db: Database,
    bus: InProcessEventBus,
    media: MediaStore,
    graph: GraphClient,
    online: Callable[[], set[int]],
    transport: httpx.AsyncBaseTransport | None = None,
) -> Workers:
    """Every worker, not yet subscribed nor started. `online`: the users with an inbox page open (T4).
    `transport`: how to reach this app's own simulated WAHA gateway in the tests' simulated browser."""
    waha = WahaClient(
        base_url=settings.effective_waha_base_url,
        api_key=settings.effective_waha_api_key,
        timeout=15.0,
        transport=transport if settings.uses_simulated_waha else None,
    )
    outbox = OutboxWorker(
        db,
        client=graph,
        publisher=bus,
        store=media,
        rate_per_number=settings.outbox_rate_per_number,
        max_attempts=settings.outbox_max_attempts,
        waha=waha,
        waha_messages_per_minute=settings.waha_messages_per_minute,
    )
    downloader = MediaWorker(
        db, client=graph, store=media, publisher=bus, max_bytes=settings.media_max_bytes, waha=waha
    )
    assignment = AssignmentWorker(db, publisher=bus, online=online, offer_seconds=settings.faithful_offer_seconds)
    sweeper = TakeoverSweeper(
        db,
        publisher=bus,
        online=online,
        offer_seconds=settings.faithful_offer_seconds,
        interval_seconds=settings.takeover_sweep_seconds,
    )

    # S2-S4: one desk per process (the inventory provider and its cache are process-wide).
    soap_password = settings.inventory_soap_password
    inventory = build_inventory(
        db,
        provider=settings.inventory_provider,
        wsdl=settings.inventory_soap_wsdl,
        username=settings.inventory_soap_username,
        password=soap_password.get_secret_value() if soap_password else None,
        timeout_seconds=settings.inventory_timeout_seconds,
        cache_seconds=settings.inventory_cache_seconds,
    )
    sales = SalesDesk(
        db=db,
        publisher=bus,
        store=media,
        inventory=inventory,
        zone=ZoneInfo(settings.display_timezone),
        max_media_bytes=settings.media_max_bytes,
    )
    acceptances = QuoteAcceptanceWorker(sales)
    # L4: built before the bot, whose claims include the opt-out worker's: a "BAJA" gets the confirmation, not a turn.
    campaign_jobs = background_campaigns.build(settings, db=db, bus=bus)
    opt_outs = background_campaigns.opt_outs(campaign_jobs)

    # A1-A3/C4: the bot answers AI-mode conversations; it stays quiet on a message that accepted a quote (the
    # ticket answers it) and answers each photo once with what the VIN reader found.
    engine = make_engine(
        db,
        llm_api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        llm_base_url=settings.llm_base_url,
        llm_model=settings.llm_model,
        llm_timeout_seconds=settings.llm_timeout_seconds,
    )
    assistant = AssistantWorker(
        db,
        engine=engine,
        publisher=bus,
        handoff=request_human,
        claims=[acceptances.answered] + ([opt_outs.answered] if opt_outs is not None else []),
        quotes=QuoteDrafter(sales),  # S3: drafts (or, where the branch allows, sends) the AI's quotes
        reply_delay_seconds=settings.assistant_reply_delay_seconds,
        enabled=settings.assistant_enabled,
        turn_lease=timedelta(seconds=settings.assistant_turn_lease_seconds),
        unanswered_after=timedelta(seconds=settings.assistant_unanswered_seconds),
        # Issue 15: a branch's own LLM key is kept sealed in the secrets store; no key file, nothing sealed.
        keyring=keyring_for(settings, create=False),
    )
    summaries = SummaryWorker(
        db, publisher=bus, refresh_seconds=settings.summary_refresh_seconds, pause_seconds=SUMMARY_PAUSE_SECONDS
    )
    vin_reader = VinReader(
        engine=settings.vin_ocr_engine, workers=settings.vin_workers, timeout_seconds=settings.vin_timeout_seconds
    )
    alerts = AlertSweeper(
        db,
        publisher=bus,
        thresholds=AlertThresholds(
            journal_pending=settings.alert_journal_pending,
            journal_oldest_seconds=settings.alert_journal_oldest_seconds,
            send_failure_rate=settings.alert_send_failure_rate,
            send_failure_minimum=settings.alert_send_failure_minimum,
        ),
        interval_seconds=settings.alert_check_seconds,
    )

    async def check_alerts_now(_changes: Any) -> None:
        await alerts.run_once()  # a session needing a QR reaches the admins' bell now, not at the next check

    hmac_key = settings.effective_waha_webhook_hmac_key
    sessions = SessionControl(
        db,
        client=waha,
        publisher=bus,
        webhook_url=settings.effective_waha_webhook_url,
        webhook_hmac_key=hmac_key,
        policy=ProbePolicy(
            restart_base_seconds=settings.waha_restart_base_seconds,
            restart_cap_seconds=settings.waha_restart_cap_seconds,
            silence=timedelta(minutes=settings.waha_silence_minutes),
            business_hours=settings.waha_business_hours,
            timezone=settings.display_timezone,
        ),
        on_change=check_alerts_now,
    )
    return Workers(
        db=db,
        ingest=IngestWorker(db, publisher=bus),
        outbox=outbox,
        media_worker=downloader,
        takeover_sweeper=sweeper,
        assignment=assignment,
        assistant_engine=engine,
        assistant=assistant,
        summaries=summaries,
        vin_reader=vin_reader,
        vin_worker=VinWorker(db, reader=vin_reader, store=media, publisher=bus),
        sales=sales,
        retention=RetentionSweeper(
            db,
            store=media,
            journal_retention_days=settings.journal_retention_days,
            interval_hours=settings.retention_sweep_hours,
        ),
        quote_acceptances=acceptances,
        quote_expiry=QuoteExpiryWorker(db, zone=sales.zone),
        alerts=alerts,
        waha=waha,
        sessions=sessions,
        session_probes=SessionProbeSweeper(sessions, interval_seconds=settings.waha_probe_seconds),
        backups=BackupSweeper(
            database_url=settings.effective_database_url,
            media_dir=settings.media_dir,
            var_dir=settings.var_dir,
            directory=settings.effective_backup_dir,
            hour=settings.backup_hour,
            zone=ZoneInfo(settings.display_timezone),
            keep_daily=settings.backup_keep_daily,
            keep_weekly=settings.backup_keep_weekly,
        )
        if settings.backup_enabled
        else None,
        lead_jobs=background_leads.build(settings, db=db, bus=bus),
        campaign_jobs=campaign_jobs,
        dashboard_figures=DashboardFiguresSweeper(db),
    )
