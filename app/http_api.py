"""The machine-facing HTTP app: webhooks, REST API, health, and the simulator's fake Graph API.

It is a FastAPI app of its own, reached through `MachineRoutes` before NiceGUI's middleware: NiceGUI
creates a browser session and a user-storage entry for every request without a cookie, which for
webhooks (thousands per second, never a cookie) cost ~4 ms each and grew memory without bound.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware import SecurityHeaders
from app.routes import api, fake_graph, fake_waha, health, metrics, sessions, webhooks
from services.database import DatabaseUnavailable
from services.storable import storable_json

log = logging.getLogger(__name__)

MACHINE_PREFIXES = (
    '/webhooks/',
    '/api/',
    '/fake-graph/',
    '/fake-waha/',
    '/health',
    '/metrics',
    '/docs',
    '/openapi.json',
    '/redoc',
)


def build_http_api(*, with_simulator: bool, with_simulated_waha: bool = False) -> FastAPI:
    http_api = FastAPI(
        title='LeadMaster API',
        version='1',
        description='Conversations and messages for other systems; authenticate with X-API-Key.',
    )
    http_api.add_exception_handler(RequestValidationError, _validation_error)
    http_api.add_exception_handler(StarletteHTTPException, _http_error)
    for unreachable in (OSError, DBAPIError, DisconnectionError, PoolTimeout, DatabaseUnavailable):
        http_api.add_exception_handler(unreachable, _database_unavailable)
    http_api.include_router(health.router)
    http_api.include_router(metrics.router)
    http_api.include_router(api.router)
    http_api.include_router(sessions.router)
    http_api.include_router(webhooks.router)
    if with_simulator:
        http_api.mount(fake_graph.PREFIX, fake_graph.app)
    if with_simulated_waha:
        http_api.mount(fake_waha.PREFIX, fake_waha.app)
    http_api.add_middleware(ApiDeadline, seconds=API_DEADLINE_SECONDS)
    http_api.add_middleware(SecurityHeaders)
    return http_api


async def _validation_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's 422, with the offending input made encodable: echoed as it came, a lone surrogate made the
    response itself fail (a 500 instead of the 422)."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={'detail': storable_json(jsonable_encoder(exc.errors()))})


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer, except that a 405 lists in `Allow` every documented method of the path: Starlette lists only
    those of the first route it tried, and a path with a GET and a POST answered an OPTIONS with `Allow: GET`."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405 and isinstance(request.app, FastAPI):
        methods = {
            method.upper()
            for template, operations in request.app.openapi().get('paths', {}).items()
            if compile_path(template)[0].match(request.scope['path'])
            for method in operations
        }
        if methods:
            exc.headers = {**(exc.headers or {}), 'Allow': ', '.join(sorted(methods))}
    return await http_exception_handler(request, exc)


# SQLSTATE classes of a database that cannot serve now: connection exceptions, insufficient resources (too many
# connections), operator intervention (shutting down, starting up).
_UNAVAILABLE_SQLSTATES = ('08', '53', '57P')
RETRY_AFTER_SECONDS = 5
# An API request not answered in this long is answered 503: a stalled database would otherwise hold it for the
# statement timeout (LEADMASTER_DATABASE_COMMAND_TIMEOUT_SECONDS, minutes). Every API operation is a few short
# statements; ten seconds is far beyond a busy day. A send cut short may or may not have been queued: callers that
# retry send an Idempotency-Key.
API_DEADLINE_SECONDS = 10.0


def database_unreachable(exc: BaseException) -> bool:
    """The database did not serve the request (refused, cut, timed out, shutting down, out of connections): the
    caller should retry. A bug (a constraint, a syntax error) is not this, and stays a 500."""
    if isinstance(exc, OSError | DisconnectionError | PoolTimeout | DatabaseUnavailable):
        return True  # OSError: asyncpg's refused and timed-out connects, which SQLAlchemy passes on as they are
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, 'sqlstate', None) or ''
        return exc.connection_invalidated or str(sqlstate).startswith(_UNAVAILABLE_SQLSTATES)
    return False


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """503 with Retry-After while the database is down (F7): a 500 would say the request is wrong, and the
    traceback of every such request would flood the log during an outage."""
    if not database_unreachable(exc):
        raise exc  # a real error: the server error middleware answers 500 and logs it
    reason = (str(exc).splitlines() or [''])[0][:200]  # one line: a DBAPIError goes on with the SQL
    log.warning(
        '%s %s: database unavailable (%s: %s); answered 503',
        request.method,
        request.url.path,
        type(exc).__name__,
        reason,
    )
    return _unavailable('database unavailable, retry later')


def _unavailable(detail: str) -> JSONResponse:
    return JSONResponse(status_code=503, content={'detail': detail}, headers={'Retry-After': str(RETRY_AFTER_SECONDS)})


class ApiDeadline:
    """503 for an `/api/` request that has not started its answer within `seconds` (F7). The answer goes at the
    deadline; the request is cancelled and rolls back meanwhile (closing a connection to a stalled database takes
    SQLAlchemy up to 2 s more, which nobody waits for). Other paths pass untouched: `/health` and the webhook have
    deadlines of their own, shorter."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._abandoned: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http' or not scope['path'].startswith('/api/'):
            await self.app(scope, receive, send)
            return
        started = False
        late = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if late:
                return  # the 503 was the answer
            started = started or message['type'] == 'http.response.start'
            await send(message)

        request = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        try:
            done, _ = await asyncio.wait({request}, timeout=self.seconds)
        except asyncio.CancelledError:  # the server is stopping: the request goes with it
            request.cancel()
            raise
        if done or started:
            await request  # its result, or its exception; an answer under way is let finish
            return
        late = True
        request.cancel()
        self._abandoned.add(request)
        request.add_done_callback(self._forget)
        log.warning('%s %s: not answered within %g s; answered 503', scope['method'], scope['path'], self.seconds)
        await _unavailable(f'not answered within {self.seconds:g} s (database unavailable?), retry later')(
            scope, receive, send
        )

    def _forget(self, request: asyncio.Task[None]) -> None:
        self._abandoned.discard(request)
        if not request.cancelled() and (error := request.exception()) is not None:
            log.warning('an abandoned API request ended with %s: %s', type(error).__name__, error)


class MachineRoutes:
    """Sends machine paths to `machine_app`, everything else (pages, websockets, lifespan) to NiceGUI."""

    def __init__(self, pages_app: ASGIApp, machine_app: ASGIApp) -> None:
        self.pages_app = pages_app
        self.machine_app = machine_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] == 'http' and scope['method'] == 'POST' and scope['path'] in webhooks.BARE_WEBHOOKS:
            await webhooks.receive_webhook(scope, receive, send)
        elif scope['type'] == 'http' and scope['path'].startswith(MACHINE_PREFIXES):
            await self.machine_app(scope, receive, send)
        else:
            await self.pages_app(scope, receive, send)
