"""HTTP middleware: security headers on every response, and the upload size limit enforced on the server.

NiceGUI's `ui.upload(max_file_size=…)` is only a hint to the browser; its upload route accepts any size.
`UploadLimit` refuses larger bodies before they are buffered (O3).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.log_context import log_ids

log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b'x-content-type-options', b'nosniff'),
    (b'x-frame-options', b'DENY'),
    (b'referrer-policy', b'same-origin'),
    (b'permissions-policy', b'camera=(), microphone=(), geolocation=()'),
]
# The pages' Content-Security-Policy (O3). NiceGUI renders inline scripts and Vue compiles its templates in the
# browser (`new Function`), so scripts need 'unsafe-inline' and 'unsafe-eval' — but only from this origin: no other
# site's script, no plugin, no framing by another site, no form posting elsewhere. Product photos come from the
# retailer's image hosts (https), and the live socket is same-origin. Message text is rendered as text anyway.
PAGE_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data: blob: https:; media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; "
    b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, content_security_policy: bytes | None = None) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS]
        if content_security_policy is not None:
            self.headers.append((b'content-security-policy', content_security_policy))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message['type'] == 'http.response.start':
                present = {name.lower() for name, _ in message.get('headers', [])}
                message['headers'] = [
                    *message.get('headers', []),
                    *((name, value) for name, value in self.headers if name not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass


class UploadLimit:
    """413 for uploads (NiceGUI's `/_nicegui/client/…/upload/…` routes) larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http' or '/upload/' not in scope['path'] or not scope['path'].startswith('/_nicegui/'):
            await self.app(scope, receive, send)
            return
        # Multipart framing adds a little; allow 64 KiB of it on top of the file limit.
        limit = self.max_bytes + 64 * 1024
        declared = dict(scope.get('headers', [])).get(b'content-length')
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message['type'] == 'http.request':
                received += len(message.get('body', b''))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message['type'] == 'http.response.start'
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send)


async def _refuse(send: Send) -> None:
    body = b'{"error": "file too large"}'
    await send(
        {
            'type': 'http.response.start',
            'status': 413,
            'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())],
        }
    )
    await send({'type': 'http.response.body', 'body': body})


class RequestBodyTimeout:
    """408 for a request whose body stops arriving: each piece must come within `seconds` of the last, until the
    body is complete (F7). Uvicorn has no such timeout: a body that declared 1,000 bytes and sent 3 held its
    connection for 70 s. After the body, `receive` is passed through untouched (responses may wait on it).

    No timer per request: a watchdog looks at the requests waiting for a piece a few times a period and cancels
    the wait of those past it. A timer per receive (`asyncio.timeout`) on the webhook's path — thousands a second,
    each cancelled — slowed every acknowledgement (bench/ingest.py: p99 from 13 to 185 ms)."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._waiting: dict[asyncio.Task[Any], float] = {}  # tasks waiting for a piece of a body → since when
        self._expired: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        body_complete = False
        timed_out = False
        response_started = False

        async def timed_receive() -> Message:
            nonlocal body_complete, timed_out
            if body_complete:
                return await receive()
            task = asyncio.current_task()
            assert task is not None
            self._waiting[task] = asyncio.get_running_loop().time()
            if self._watchdog is None:
                self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name='request-body-timeout')
            try:
                message = await receive()
            except asyncio.CancelledError:
                expired = task in self._expired
                self._expired.discard(task)
                # Only the watchdog's own cancellation becomes a 408; any other (the server shutting down, the
                # event loop closing) is honoured, even when it came on top of ours.
                if not expired or task.cancelling() > 1:
                    raise
                task.uncancel()
                timed_out = True
                if not response_started:
                    await _answer(send, 408, b'request body timed out')
                return {'type': 'http.disconnect'}  # what the app sees: the client went away
            finally:
                self._waiting.pop(task, None)
            if message['type'] != 'http.request' or not message.get('more_body', False):
                body_complete = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if timed_out:
                return  # the 408 was the answer
            if message['type'] == 'http.response.start':
                response_started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise
            log.info('request %s %s: body timed out after %s s', scope.get('method'), scope.get('path'), self.seconds)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.seconds / 4)
            late = loop.time() - self.seconds
            for task, since in list(self._waiting.items()):
                if since < late and task not in self._expired and not task.done():
                    self._expired.add(task)
                    task.cancel()


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            'type': 'http.response.start',
            'status': status,
            'headers': [
                (b'content-type', b'text/plain'),
                (b'content-length', str(len(body)).encode()),
                (b'connection', b'close'),
            ],
        }
    )
    await send({'type': 'http.response.body', 'body': body})


class RequestIds:
    """Every request gets an id (the caller's `X-Request-Id` when it sends a sane one), bound for the log lines its
    handling writes and returned in `X-Request-Id`, so an operator can match a client's report to the logs (O4)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope['headers'] if name == b'x-request-id'), b'').decode('latin-1')
        request_id = given if 0 < len(given) <= 64 and given.replace('-', '').isalnum() else os.urandom(8).hex()

        async def send_with_id(message: Message) -> None:
            if message['type'] == 'http.response.start':
                message['headers'] = [*message.get('headers', []), (b'x-request-id', request_id.encode())]
            await send(message)

        with log_ids(request_id=request_id):
            await self.app(scope, receive, send_with_id)
