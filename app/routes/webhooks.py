"""WhatsApp Cloud API webhook (M1): verification GET and the signed POST.

The POST (a bare ASGI endpoint, see `receive_webhook`) does as little as possible before answering: size check,
signature check over the raw bytes,
JSON check, journal commit. Processing happens after the 200 in the ingest worker, so Meta gets its
acknowledgement fast and an acknowledged body is never lost.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from app.runtime import runtime
from services import metrics
from services.models import DeliveryStatus
from services.whatsapp.signatures import HEADER, signature_is_valid
from services.whatsapp.waha.events import verify_hmac

log = logging.getLogger(__name__)

router = APIRouter(tags=['whatsapp'])


@router.get(
    '/webhooks/whatsapp',
    response_class=PlainTextResponse,
    summary="Meta's webhook verification",
    responses={403: {'description': 'Not a subscription, or the verify token is wrong (text/plain)'}},
)
async def verify_webhook(
    mode: Annotated[str | None, Query(alias='hub.mode')] = None,
    token: Annotated[str | None, Query(alias='hub.verify_token')] = None,
    challenge: Annotated[str | None, Query(alias='hub.challenge')] = None,
) -> Response:
    expected = runtime().settings.whatsapp_verify_token
    if (
        mode == 'subscribe'
        and token is not None
        and challenge is not None
        and expected is not None
        and hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        return PlainTextResponse(challenge)
    return PlainTextResponse('forbidden', status_code=403)


WEBHOOK_PATH = '/webhooks/whatsapp'


class _TooLarge(Exception):
    pass


async def _read_limited(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = dict(scope['headers']).get(b'content-length')
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message['type'] == 'http.disconnect':
            break
        chunk = message.get('body', b'')
        size += len(chunk)
        if size > limit:  # a lying or absent Content-Length cannot make us buffer more than the limit
            raise _TooLarge
        chunks.append(chunk)
        more = message.get('more_body', False)
    return b''.join(chunks)


class WebhookAnswer(BaseModel):
    status: str = Field(description='"ok": the body is journaled; it will be processed')


class WebhookRefusal(BaseModel):
    error: str


@router.post(
    WEBHOOK_PATH,
    summary="Meta's signed webhook: messages and statuses",
    response_model=WebhookAnswer,
    responses={
        400: {'model': WebhookRefusal, 'description': 'The body is not JSON (or not UTF-8)'},
        401: {'model': WebhookRefusal, 'description': f'No {HEADER} header'},
        403: {'model': WebhookRefusal, 'description': 'Wrong signature, or no app secret configured'},
        408: {'description': 'The body stopped arriving (text/plain)'},
        413: {'model': WebhookRefusal, 'description': 'The body is longer than LEADMASTER_WEBHOOK_MAX_BYTES'},
        503: {
            'model': WebhookRefusal,
            'description': 'Not journaled (the database is unavailable or slower than '
            'LEADMASTER_WEBHOOK_JOURNAL_TIMEOUT_SECONDS): Meta delivers it again',
        },
    },
    openapi_extra={
        'parameters': [
            {
                'name': HEADER,
                'in': 'header',
                'required': True,
                'schema': {'type': 'string'},
                'description': 'sha256=<hex HMAC-SHA256 of the raw body, keyed with the app secret>',
            }
        ],
        'requestBody': {
            'required': True,
            'content': {'application/json': {'schema': {'type': 'object'}}},
            'description': 'A Cloud API webhook body (`object`: `whatsapp_business_account`, `entry`: [...])',
        },
    },
)
async def receive_webhook_documented(request: Request) -> Response:
    """The OpenAPI description of the POST. In the app `MachineRoutes` hands the POST to `receive_webhook` before
    any routing; this route answers the same, for a FastAPI app used without it."""
    status, body = await _accept(request.scope, request.receive)
    return JSONResponse(body, status_code=status)


async def receive_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    """POST /webhooks/whatsapp and /webhooks/waha as a bare ASGI endpoint: the hottest path of the app (one call
    per message under load) skips routing and dependency resolution, which cost a third of the acknowledgement
    time (for WAHA's webhook: twice the CPU per POST, bench/waha.py)."""
    started = time.perf_counter()
    accept = _accept_waha if scope['path'] == WAHA_WEBHOOK_PATH else _accept
    status, body = await accept(scope, receive)
    metrics.record_webhook(status, time.perf_counter() - started)
    encoded = json.dumps(body).encode()
    await send(
        {
            'type': 'http.response.start',
            'status': status,
            'headers': [
                (b'content-type', b'application/json'),
                (b'content-length', str(len(encoded)).encode()),
                (b'x-content-type-options', b'nosniff'),
            ],
        }
    )
    await send({'type': 'http.response.body', 'body': encoded})


class _Sometimes:
    """Logs a warning at most once per `seconds`, counting what it left out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.said_at = float('-inf')
        self.left_out = 0

    def say(self, line: str) -> None:
        now = time.monotonic()
        if now - self.said_at < self.seconds:
            self.left_out += 1
            return
        more = f' (and {self.left_out} more like it)' if self.left_out else ''
        log.warning('%s%s', line, more)
        self.said_at, self.left_out = now, 0


_unjournaled = _Sometimes(10.0)


async def _accept(scope: Scope, receive: Receive) -> tuple[int, dict[str, str]]:
    current = runtime()
    try:
        body = await _read_limited(scope, receive, current.settings.webhook_max_bytes)
    except _TooLarge:
        return 413, {'error': 'payload too large'}
    signature = dict(scope['headers']).get(HEADER.lower().encode())
    if not signature:
        return 401, {'error': f'missing {HEADER}'}
    secret = current.settings.effective_whatsapp_app_secret
    if secret is None:
        log.error('webhook refused: LEADMASTER_WHATSAPP_APP_SECRET is not set')
        return 403, {'error': 'webhook secret not configured'}
    if not signature_is_valid(body, signature.decode('latin-1'), secret):
        return 403, {'error': 'invalid signature'}
    try:
        text = body.decode('utf-8')
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
        log.warning('malformed webhook body (%d bytes): %s', len(body), type(exc).__name__)
        return 400, {'error': 'malformed JSON'}

    expected_shape = (
        isinstance(payload, dict)
        and payload.get('object') == 'whatsapp_business_account'
        and isinstance(payload.get('entry'), list)
    )
    try:
        delivery_id = await current.journal.append(
            text,
            source='cloud',
            status=DeliveryStatus.PENDING if expected_shape else DeliveryStatus.FLAGGED,
            error='' if expected_shape else 'unexpected payload shape (not a whatsapp_business_account entry list)',
        )
    except Exception as exc:  # not journaled (the database is down, or stalled past the deadline): Meta resends a 503
        # At most a line every 10 s: the journal writer logs the outage itself, and a line per request made a
        # 30-second outage megabytes of log.
        _unjournaled.say(f'webhook could not be journaled ({type(exc).__name__}: {str(exc)[:200]}); answered 503')
        return 503, {'error': 'temporarily unavailable'}
    if not expected_shape:
        log.warning('webhook %s journaled and flagged: unexpected shape', delivery_id)
    return 200, {'status': 'ok'}


# --- WhatsApp Web through a WAHA gateway (M6) -------------------------------------------------------------------

WAHA_WEBHOOK_PATH = '/webhooks/waha'
WAHA_HMAC_HEADER = 'X-Webhook-Hmac'
WAHA_ALGORITHM_HEADER = 'X-Webhook-Hmac-Algorithm'
# The events ingest knows; any other kind is journaled and flagged for a person, never dropped.
WAHA_KNOWN_EVENTS = frozenset({'message', 'message.any', 'message.ack', 'session.status'})


@router.post(
    WAHA_WEBHOOK_PATH,
    summary="The WAHA gateway's signed webhook: WhatsApp-Web messages, acks and session states",
    response_model=WebhookAnswer,
    responses={
        400: {'model': WebhookRefusal, 'description': 'The body is not a JSON object (or not UTF-8)'},
        401: {'model': WebhookRefusal, 'description': f'No {WAHA_HMAC_HEADER} header'},
        403: {'model': WebhookRefusal, 'description': 'Wrong HMAC, not SHA-512, or no HMAC key configured'},
        408: {'description': 'The body stopped arriving (text/plain)'},
        413: {'model': WebhookRefusal, 'description': 'The body is longer than LEADMASTER_WEBHOOK_MAX_BYTES'},
        503: {'model': WebhookRefusal, 'description': 'Not journaled (the database is unavailable): WAHA retries'},
    },
    openapi_extra={
        'parameters': [
            {
                'name': WAHA_HMAC_HEADER,
                'in': 'header',
                'required': True,
                'schema': {'type': 'string'},
                'description': 'hex HMAC-SHA512 of the raw body, keyed with LEADMASTER_WAHA_WEBHOOK_HMAC_KEY',
            },
            {
                'name': WAHA_ALGORITHM_HEADER,
                'in': 'header',
                'required': False,
                'schema': {'type': 'string', 'enum': ['sha512']},
            },
        ],
        'requestBody': {
            'required': True,
            'content': {'application/json': {'schema': {'type': 'object'}}},
            'description': 'A WAHA event envelope (`event`, `session`, `payload`, …)',
        },
    },
)
async def receive_waha_webhook_documented(request: Request) -> Response:
    """The OpenAPI description of WAHA's POST; in the app `MachineRoutes` hands it to `receive_webhook` before
    any routing. Journaled before the 200 exactly like the Cloud API's webhook: the ingest worker turns it into
    messages, ticks and session states after the answer."""
    status, body = await _accept_waha(request.scope, request.receive)
    return JSONResponse(body, status_code=status)


async def _accept_waha(scope: Scope, receive: Receive) -> tuple[int, dict[str, str]]:
    current = runtime()
    try:
        body = await _read_limited(scope, receive, current.settings.webhook_max_bytes)
    except _TooLarge:
        return 413, {'error': 'payload too large'}
    headers = dict(scope['headers'])
    signature = headers.get(WAHA_HMAC_HEADER.lower().encode())
    if not signature:
        return 401, {'error': f'missing {WAHA_HMAC_HEADER}'}
    key = current.settings.effective_waha_webhook_hmac_key
    if key is None:
        log.error('WAHA webhook refused: LEADMASTER_WAHA_WEBHOOK_HMAC_KEY is not set')
        return 403, {'error': 'webhook HMAC key not configured'}
    algorithm = headers.get(WAHA_ALGORITHM_HEADER.lower().encode())
    if not verify_hmac(
        body,
        key=key,
        signature=signature.decode('latin-1'),
        algorithm=algorithm.decode('latin-1') if algorithm is not None else None,
    ):
        return 403, {'error': 'invalid signature'}
    try:
        text = body.decode('utf-8')
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        log.warning('malformed WAHA webhook body (%d bytes): %s', len(body), type(exc).__name__)
        return 400, {'error': 'malformed JSON'}
    if not isinstance(payload, dict):
        return 400, {'error': 'the body is not a JSON object'}
    event = payload.get('event')
    known = isinstance(event, str) and event in WAHA_KNOWN_EVENTS and isinstance(payload.get('session'), str)
    try:
        delivery_id = await current.journal.append(
            text,
            source='waha',
            status=DeliveryStatus.PENDING if known else DeliveryStatus.FLAGGED,
            error='' if known else f'WAHA event {str(event)[:60]!r} is not one LeadMaster processes',
        )
    except Exception as exc:
        _unjournaled.say(f'WAHA webhook could not be journaled ({type(exc).__name__}: {str(exc)[:200]}); answered 503')
        return 503, {'error': 'temporarily unavailable'}
    if not known:
        log.info('WAHA webhook %s journaled and flagged: event %r', delivery_id, str(event)[:60])
    return 200, {'status': 'ok'}


# The webhooks `MachineRoutes` hands to `receive_webhook` before any routing.
BARE_WEBHOOKS = frozenset({WEBHOOK_PATH, WAHA_WEBHOOK_PATH})
