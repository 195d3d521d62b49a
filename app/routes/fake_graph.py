"""The fake Graph API the app talks to in simulator mode (M5), under `/fake-graph`: the simulator's instance of
`services.whatsapp.fake_graph` (Meta's paths, bearer token, JSON and error bodies, media, status webhooks).
Mounted only when no Meta token is configured."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.runtime import runtime
from services.whatsapp.fake_graph import error_body
from services.whatsapp.simulator import GRAPH_PATH

PREFIX = GRAPH_PATH


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI app for the mount: the running simulator's fake Graph API (looked up per request, as the runtime
    may be rebuilt, e.g. by tests)."""
    simulator = runtime().simulator
    if simulator is None:
        response = JSONResponse(error_body(100, message='the simulator is not enabled', details=''), status_code=404)
        await response(scope, receive, send)
        return
    await simulator.graph(scope, receive, send)
