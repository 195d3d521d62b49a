"""Builds the application: runtime objects, pages, routes, middleware, start/stop hooks, and serves it."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import httpx
from nicegui import app, helpers, ui
from nicegui.storage import Storage

from app.database import database_from, upgrade_to_head
from app.event_bus import InProcessEventBus
from app.http_api import MachineRoutes, build_http_api
from app.middleware import SecurityHeaders, UploadLimit
from app.pages import register_pages
from app.runtime import Runtime, install, runtime
from app.settings import REPO_ROOT, Settings
from components import i18n
from services.assistant import AssistantWorker, SummaryWorker, make_engine
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS
from services.glue.acceptance import QuoteAcceptances
from services.inbox import SnapshotCache
from services.media_store import MediaStore
from services.models import Direction, MessageStatus
from services.presence import PresenceBoard
from services.sales.desk import QuoteExpiryWorker, SalesDesk, build_inventory
from services.sales.inventory import SoapInventory
from services.takeover import AssignmentDispatcher, TakeoverSweeper, renew_on_agent_messages, request_human
from services.vin.readings import VIN_READ
from services.vin.runner import VinReader
from services.vin.worker import VinWorker
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.ingest import IngestWorker
from services.whatsapp.journal import JournalWriter
from services.whatsapp.media_worker import MediaDownloader
from services.whatsapp.outbox import OutboxWorker
from services.whatsapp.simulator import Simulator

log = logging.getLogger('leadmaster')


# At most ~20 summaries a second per process (services/assistant/summary.py, SummaryWorker.pause_seconds).
SUMMARY_PAUSE_SECONDS = 0.05


def build(settings: Settings) -> Runtime:
    """Wire everything once per process (and once per test that builds the app)."""
    runtime_ = _assemble(settings)
    install(runtime_)
    i18n.configure(default_locale=settings.default_locale, display_timezone=settings.display_timezone)
    register_pages()
    http_api = build_http_api(with_simulator=runtime_.simulator is not None)
    # Machine paths bypass NiceGUI's middleware (see app/http_api.py). Starlette builds the middleware stack
    # on the first call; wrapping that builder puts the dispatcher outside everything NiceGUI adds later.
    build_stack = type(app).build_middleware_stack.__get__(app)
    app.build_middleware_stack = lambda: MachineRoutes(build_stack(), http_api)  # type: ignore[method-assign]
    app.add_middleware(SecurityHeaders)
    app.add_middleware(UploadLimit, max_bytes=settings.media_max_bytes)
    app.add_static_files('/static', str(REPO_ROOT / 'app' / 'static'))
    app.on_startup(_startup)
    app.on_shutdown(_shutdown)
    return runtime_


def _assemble(settings: Settings) -> Runtime:
    db = database_from(settings)
    bus = InProcessEventBus()
    media = MediaStore(settings.media_dir)
    # In the simulated browser of the unit tests there is no server socket: talk to the app in-process.
    transport = httpx.ASGITransport(app) if helpers.is_user_simulation() else None
    graph = GraphClient(base_url=settings.effective_graph_api_base, token=settings.effective_whatsapp_token,
                        transport=transport)
    ingest = IngestWorker(db, publisher=bus)
    journal = JournalWriter(db, on_journaled=ingest.wake)
    outbox = OutboxWorker(db, client=graph, publisher=bus, store=media,
                          rate_per_number=settings.outbox_rate_per_number, max_attempts=settings.outbox_max_attempts)
    downloader = MediaDownloader(db, client=graph, store=media, publisher=bus, max_bytes=settings.media_max_bytes)
    simulator = None
    if settings.uses_simulator:
        own_url = f'http://127.0.0.1:{settings.port}'
        simulator = Simulator(db, app_secret=settings.effective_whatsapp_app_secret or '',
                              webhook_url=f'{own_url}/webhooks/whatsapp', token=settings.effective_whatsapp_token,
                              store=media, public_base_url=own_url, transport=transport)
    # Workers react to events instead of polling: a queued reply wakes the outbox, inbound media the downloader.
    bus.subscribe(lambda event: outbox.wake() if event.data.get('status') == MessageStatus.QUEUED else None,
                  branch_ids=None, kinds=[MESSAGE_CREATED])
    bus.subscribe(lambda event: downloader.wake() if event.data.get('media_id') and
                  event.data.get('direction') == Direction.INBOUND else None, branch_ids=None, kinds=[MESSAGE_CREATED])
    presence = PresenceBoard(bus)
    # T4: "online" means an inbox page is open in this process.
    assignment = AssignmentDispatcher(db, publisher=bus, online=presence.online_user_ids,
                                      offer_seconds=settings.faithful_offer_seconds)
    sweeper = TakeoverSweeper(db, publisher=bus, online=presence.online_user_ids,
                              offer_seconds=settings.faithful_offer_seconds,
                              interval_seconds=settings.takeover_sweep_seconds)
    bus.subscribe(assignment.on_event, branch_ids=None, kinds=[CONVERSATION_UPDATED])
    # T2: an agent's message renews her hold, whichever page or API queued it.
    bus.subscribe(renew_on_agent_messages(db, bus), branch_ids=None, kinds=[MESSAGE_CREATED])

    # S2-S4: one desk per process (the inventory provider and its cache are process-wide).
    soap_password = settings.inventory_soap_password
    inventory = build_inventory(db, provider=settings.inventory_provider, wsdl=settings.inventory_soap_wsdl,
                                username=settings.inventory_soap_username,
                                password=soap_password.get_secret_value() if soap_password else None,
                                timeout_seconds=settings.inventory_timeout_seconds,
                                cache_seconds=settings.inventory_cache_seconds)
    sales = SalesDesk(db=db, publisher=bus, store=media, inventory=inventory, zone=ZoneInfo(settings.display_timezone),
                      max_media_bytes=settings.media_max_bytes)
    quote_expiry = QuoteExpiryWorker(db, zone=sales.zone)
    # The customer's "sí" is checked for every inbound message in any mode (a person usually sent the quote).
    acceptances = QuoteAcceptances(sales)
    bus.subscribe(acceptances.on_event, branch_ids=None, kinds=[MESSAGE_CREATED])

    # A1-A3/C4: the bot answers AI-mode conversations; it stays quiet on a message that accepted a quote (the
    # ticket answers it) and answers each photo once with what the VIN reader found.
    engine = make_engine(db, llm_api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
                         llm_base_url=settings.llm_base_url, llm_model=settings.llm_model,
                         llm_timeout_seconds=settings.llm_timeout_seconds)
    assistant = AssistantWorker(db, engine=engine, publisher=bus, handoff=request_human,
                                claims=[acceptances.answered],
                                reply_delay_seconds=settings.assistant_reply_delay_seconds,
                                enabled=settings.assistant_enabled)
    summaries = SummaryWorker(db, publisher=bus, refresh_seconds=settings.summary_refresh_seconds,
                              pause_seconds=SUMMARY_PAUSE_SECONDS)
    bus.subscribe(assistant.on_event, branch_ids=None, kinds=[MESSAGE_CREATED, VIN_READ])
    # A photo's VIN feeds the summary's vehicle: recompute when a reading (or an agent's correction) lands.
    bus.subscribe(summaries.on_event, branch_ids=None, kinds=[MESSAGE_CREATED, VIN_READ])

    # V1-V3: the OCR processes start on the first photo; the worker reads each stored inbound image once.
    vin_reader = VinReader(engine=settings.vin_ocr_engine, workers=settings.vin_workers,
                           timeout_seconds=settings.vin_timeout_seconds)
    vin_worker = VinWorker(db, reader=vin_reader, store=media, publisher=bus)
    bus.subscribe(vin_worker.on_event, branch_ids=None, kinds=[MESSAGE_STATUS])
    return Runtime(settings=settings, db=db, bus=bus, media=media, graph=graph, journal=journal, ingest=ingest,
                   outbox=outbox, media_downloader=downloader, simulator=simulator, presence=presence,
                   snapshots=SnapshotCache(), takeover_sweeper=sweeper, assignment=assignment,
                   assistant_engine=engine, assistant=assistant, summaries=summaries, vin_reader=vin_reader,
                   vin_worker=vin_worker, sales=sales, quote_acceptances=acceptances, quote_expiry=quote_expiry)


async def _startup() -> None:
    current = runtime()
    await current.db.ping()  # fail fast with the driver's reason instead of on the first page
    if current.settings.migrate_on_start:
        await upgrade_to_head(current.db)
    current.journal.start()
    if current.settings.run_workers:
        current.ingest.start()
        current.outbox.start()
        current.media_downloader.start()
        current.assignment.start()
        current.takeover_sweeper.start()
        current.assistant.start()
        current.summaries.start()
        current.vin_worker.start()
        current.quote_acceptances.start()
        current.quote_expiry.start()
        if isinstance(current.sales.inventory, SoapInventory):
            current.sales.inventory.warm_up()  # zeep loads the WSDL in a thread; the first stock check is then quick
    log.info('LeadMaster ready on %s (database: %s)', current.settings.port, current.db.dialect)


async def _shutdown() -> None:
    current = runtime()
    await current.journal.stop()
    await current.ingest.stop()
    await current.outbox.stop()
    await current.media_downloader.stop()
    await current.assignment.stop()
    await current.takeover_sweeper.stop()
    await current.assistant.stop()
    await current.summaries.stop()
    await current.vin_worker.stop()
    await current.vin_reader.aclose()
    await current.quote_acceptances.stop()
    await current.quote_expiry.stop()
    if isinstance(current.sales.inventory, SoapInventory):
        await current.sales.inventory.aclose()
    close_engine = getattr(current.assistant_engine, 'aclose', None)
    if close_engine is not None:
        await close_engine()  # the LLM engine's HTTP client
    if current.simulator is not None:
        await current.simulator.aclose()
    await current.graph.aclose()
    await current.db.dispose()


def serve(settings: Settings) -> None:
    """Run the web server (blocking). NiceGUI runs a single worker per process (see docs/architecture.md)."""
    if not helpers.is_user_simulation():
        Storage.path = (settings.var_dir / 'nicegui').resolve()
        app.storage = Storage()  # rebuilt so browser/user storage lives under var/, not the working directory
    ui.run(
        host=settings.host,
        port=settings.port,
        title='LeadMaster',
        language='es' if settings.default_locale == 'es' else 'en-US',
        storage_secret=settings.effective_secret_key,
        reload=False,
        show=False,
        show_welcome_message=False,
        favicon='🚗',
        uvicorn_logging_level='warning',
        # NiceGUI pings every max(0.8 × this, 4) s and drops a socket after max(0.4 × this, 2) s of silence, then
        # deletes the page after this long: with the default 3 s any event-loop stall of 2 s (a burst of webhooks
        # on a busy 2-core box) reloaded every agent's page, which rebuilt them all and stalled the loop again.
        reconnect_timeout=15.0,
    )
