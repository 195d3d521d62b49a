"""Builds the application: runtime objects, pages, routes, middleware, start/stop hooks, and serves it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from nicegui import app, core, helpers, ui
from nicegui.storage import Storage
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.background import build_workers
from app.database import database_from, upgrade_to_head
from app.event_bus import build_event_bus
from app.gc_tuning import freeze_startup_objects
from app.http_api import MachineRoutes, build_http_api
from app.middleware import PAGE_CSP, RequestBodyTimeout, RequestIds, SecurityHeaders, UploadLimit
from app.pages import register_pages
from app.runtime import Runtime, install, runtime
from app.settings import REPO_ROOT, Settings
from app.worker_process import WorkerProcess
from components import i18n
from services import metrics
from services.inbox.console import SnapshotCache
from services.media_store import MediaStore
from services.presence import PresenceBoard
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.journal import JournalWriter, journaled_event
from services.whatsapp.simulator import Simulator
from services.whatsapp.waha.fake_server import FakeWaha, MemoryBackend

log = logging.getLogger('leadmaster')


def build(settings: Settings) -> Runtime:
    """Wire everything once per process (and once per test that builds the app)."""
    # O4: counted in files shared with the worker process; in memory in the simulated browser of the tests.
    metrics_dir = None if helpers.is_user_simulation() else settings.var_dir / 'metrics'
    if metrics_dir is not None:
        metrics.forget_dead_processes(metrics_dir)
    metrics.configure_metrics(directory=metrics_dir)
    runtime_ = _assemble(settings)
    install(runtime_)
    i18n.configure(default_locale=settings.default_locale, display_timezone=settings.display_timezone)
    register_pages()
    http_api = build_http_api(
        with_simulator=runtime_.simulator is not None, with_simulated_waha=settings.uses_simulated_waha
    )
    # Machine paths bypass NiceGUI's middleware (see app/http_api.py). Starlette builds the middleware stack
    # on the first call; wrapping that builder puts the dispatcher outside everything NiceGUI adds later.
    build_stack = type(app).build_middleware_stack.__get__(app)
    # mypy forbids assigning to a method; replacing it on this one instance is the point.
    app.build_middleware_stack = lambda: InstanceHeader(  # type: ignore[method-assign]
        RequestIds(
            RequestBodyTimeout(MachineRoutes(build_stack(), http_api), seconds=settings.request_body_timeout_seconds)
        ),
        name=settings.instance_name,
    )
    app.add_middleware(SecurityHeaders, content_security_policy=PAGE_CSP)
    # The live socket (socket.io) answers only pages of our own origin, and those an operator lists (F7).
    core.sio.eio.cors_allowed_origins = _origin_check(settings.allowed_origins) if settings.allowed_origins else None
    app.add_middleware(UploadLimit, max_bytes=settings.media_max_bytes)
    app.add_static_files('/static', str(REPO_ROOT / 'app' / 'static'))
    app.on_startup(_startup)
    app.on_shutdown(_shutdown)
    return runtime_


class InstanceHeader:
    """Names the web process that answered (`X-LeadMaster-Instance`, SPEC O6) in every HTTP response, when it has a
    name (`LEADMASTER_INSTANCE_NAME`): behind the load balancer an operator, or a test, can tell which process served
    a page or an API call. The name, not the pid: a pid says nothing useful outside the machine."""

    def __init__(self, app: ASGIApp, *, name: str) -> None:
        self.app = app
        self.header = (b'x-leadmaster-instance', name.encode()) if name else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.header is None or scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        header = self.header

        async def named(message: Message) -> None:
            if message['type'] == 'http.response.start':
                message['headers'] = [*message.get('headers', ()), header]
            await send(message)

        await self.app(scope, receive, named)


def _origin_check(extra: list[str]) -> Callable[[str | None, dict[str, Any]], bool]:
    """Our own origin (as engineio computes it, proxies' X-Forwarded-* included) or one of `extra`."""
    allowed = {origin.rstrip('/') for origin in extra}

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None:
            return True  # not a browser's cross-origin request
        host = environ.get('HTTP_X_FORWARDED_HOST', environ.get('HTTP_HOST', '')).split(',')[0].strip()
        scheme = environ.get('HTTP_X_FORWARDED_PROTO', environ.get('wsgi.url_scheme', 'http')).split(',')[0].strip()
        return origin in allowed or origin in {
            f'{scheme}://{host}',
            f'{environ.get("wsgi.url_scheme")}://{environ.get("HTTP_HOST")}',
        }

    return check


def _assemble(settings: Settings) -> Runtime:
    db = database_from(settings)
    bus = build_event_bus(
        kind=settings.effective_event_bus,
        database_url=settings.effective_database_url,
        listen_url=settings.event_bus_url,
    )
    media = MediaStore(settings.media_dir)
    # In the simulated browser of the unit tests there is no server socket: talk to the app in-process.
    transport = httpx.ASGITransport(app) if helpers.is_user_simulation() else None
    graph = GraphClient(
        base_url=settings.effective_graph_api_base, token=settings.effective_whatsapp_token, transport=transport
    )
    simulator = None
    if settings.uses_simulator:
        own_url = f'http://127.0.0.1:{settings.port}'
        simulator = Simulator(
            db,
            app_secret=settings.effective_whatsapp_app_secret or '',
            webhook_url=f'{own_url}/webhooks/whatsapp',
            token=settings.effective_whatsapp_token,
            store=media,
            public_base_url=own_url,
            transport=transport,
        )
    simulated_waha = None
    if settings.uses_simulated_waha:
        # Offline demo (M6): a WhatsApp-Web gateway of our own, posting its signed webhooks back to this app.
        simulated_waha = FakeWaha(
            MemoryBackend(keep_sends=False),
            api_key=settings.effective_waha_api_key,
            public_url=f'http://127.0.0.1:{settings.port}/fake-waha',
            start_delay=1.0,  # STARTING is seen, as with a real gateway
            webhook_transport=transport,
        )
    presence = PresenceBoard(bus)
    presence.listen(bus.subscribe)  # the other processes' viewers and typists; a no-op within one process
    workers = build_workers(
        settings, db=db, bus=bus, media=media, graph=graph, online=presence.online_user_ids, transport=transport
    )
    if not settings.workers_in_own_process:
        workers.subscribe(bus)
    # Wherever the ingest runs, a journaled webhook wakes it through the bus (one process or across processes).
    journal = JournalWriter(
        db,
        on_journaled=lambda: bus.publish_nowait([journaled_event()]),
        deadline_seconds=settings.webhook_journal_timeout_seconds,
    )
    worker_process = WorkerProcess(settings) if settings.workers_in_own_process and settings.run_workers else None
    return Runtime(
        settings=settings,
        db=db,
        bus=bus,
        media=media,
        graph=graph,
        journal=journal,
        simulator=simulator,
        presence=presence,
        snapshots=SnapshotCache(),
        workers=workers,
        worker_process=worker_process,
        simulated_waha=simulated_waha,
    )


async def _startup() -> None:
    current = runtime()
    await current.db.ping()  # fail fast with the driver's reason instead of on the first page
    if current.settings.migrate_on_start:
        await upgrade_to_head(current.db)
    await current.bus.start()
    current.journal.start()
    if current.settings.effective_event_bus == 'postgres':
        current.presence.start_heartbeat()  # tells the worker process (and other web processes) who is online
        await current.presence.ask_who_is_online()
    if current.worker_process is not None:
        current.worker_process.start()
    elif current.settings.run_workers and current.workers_here:
        current.workers.start()
    freeze_startup_objects()
    log.info(
        'LeadMaster ready on %s (database: %s, workers: %s)',
        current.settings.port,
        current.db.dialect,
        'own process' if current.settings.workers_in_own_process else 'this process',
    )


async def _shutdown() -> None:
    current = runtime()
    await current.journal.stop()
    if current.worker_process is not None:
        await current.worker_process.stop()
    await current.workers.stop()
    await current.presence.stop()
    await current.bus.stop()
    if current.simulator is not None:
        await current.simulator.aclose()
    if current.simulated_waha is not None:
        await current.simulated_waha.aclose()
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
        # The session cookie travels only over HTTPS when the app is served over it (F7).
        session_middleware_kwargs={'https_only': settings.https, 'same_site': 'lax'},
    )
