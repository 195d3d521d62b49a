"""The machine-facing HTTP app: webhooks, REST API, health, and the simulator's fake Graph API.

It is a FastAPI app of its own, reached through `MachineRoutes` before NiceGUI's middleware: NiceGUI
creates a browser session and a user-storage entry for every request without a cookie, which for
webhooks (thousands per second, never a cookie) cost ~4 ms each and grew memory without bound.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.middleware import SecurityHeaders
from app.routes import api, fake_graph, health, webhooks
from services.storable import storable_json

MACHINE_PREFIXES = ('/webhooks/', '/api/', '/fake-graph/', '/health', '/docs', '/openapi.json', '/redoc')


def build_http_api(*, with_simulator: bool) -> FastAPI:
    http_api = FastAPI(
        title='LeadMaster API',
        version='1',
        description='Conversations and messages for other systems; authenticate with X-API-Key.',
    )
    http_api.add_exception_handler(RequestValidationError, _validation_error)
    http_api.include_router(health.router)
    http_api.include_router(api.router)
    http_api.include_router(webhooks.router)
    if with_simulator:
        http_api.mount(fake_graph.PREFIX, fake_graph.app)
    http_api.add_middleware(SecurityHeaders)
    return http_api


async def _validation_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's 422, with the offending input made encodable: echoed as it came, a lone surrogate made the
    response itself fail (a 500 instead of the 422)."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={'detail': storable_json(jsonable_encoder(exc.errors()))})


class MachineRoutes:
    """Sends machine paths to `machine_app`, everything else (pages, websockets, lifespan) to NiceGUI."""

    def __init__(self, pages_app: ASGIApp, machine_app: ASGIApp) -> None:
        self.pages_app = pages_app
        self.machine_app = machine_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] == 'http' and scope['path'] == webhooks.WEBHOOK_PATH and scope['method'] == 'POST':
            await webhooks.receive_webhook(scope, receive, send)
        elif scope['type'] == 'http' and scope['path'].startswith(MACHINE_PREFIXES):
            await self.machine_app(scope, receive, send)
        else:
            await self.pages_app(scope, receive, send)
