"""The simulated WAHA gateway of the offline demo (M6), under `/fake-waha`: the fake of
`services.whatsapp.waha.fake_server` (WAHA's paths, X-Api-Key, session statuses, QR, sends, signed webhooks).
Mounted only when no gateway is configured (LEADMASTER_WAHA_BASE_URL unset)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.runtime import runtime

PREFIX = '/fake-waha'


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI app for the mount: the running app's simulated gateway (looked up per request, as the runtime may be
    rebuilt, e.g. by tests)."""
    gateway = runtime().simulated_waha
    if gateway is None:
        response = JSONResponse({'message': 'the simulated WAHA gateway is not enabled', 'statusCode': 404}, 404)
        await response(scope, receive, send)
        return
    await gateway(scope, receive, send)
