"""A fake Meta Graph API (WhatsApp Cloud API subset) over real HTTP on 127.0.0.1, for tests and the simulator.

Serves the same contract as graph.facebook.com for what LeadMaster uses:

- POST /{version}/{phone_number_id}/messages: sends (answers `messages[0].id` = `wamid.…`) and mark-as-read
  (`{"status": "read", "message_id": …}` answers `{"success": true}`);
- POST /{version}/{phone_number_id}/media: multipart upload (`messaging_product`, `type`, `file`) → `{"id"}`;
- GET /{version}/{media_id} → `{messaging_product, url, mime_type, sha256, file_size (a string, as Meta
  sends it), id}`;
- GET of the download URL it hands out (`/whatsapp_business/attachments/?mid=…&ext=…&hash=…`, like
  lookaside.fbsbx.com), valid for `media_url_ttl` seconds.

Every route wants `Authorization: Bearer <token>`; otherwise 401 with Meta's error JSON (code 190).
Errors always have Meta's shape: `{"error": {"message", "type", "code", "error_data": {"messaging_product",
"details"}, "error_subcode", "fbtrace_id"}}`.

Message sends are scriptable: `fake.script_send([500, (400, 131047), 2.5, Reply(...)])` queues the answers
to the next sends; once the queue is empty sends succeed. Use it from any thread; it starts in well under 1 s.

With `status_webhook=StatusWebhook(url, app_secret)` it also does what Meta does after accepting a send: posts
signed `sent` and then `delivered` status webhooks (`X-Hub-Signature-256`) to the app, echoing
`biz_opaque_callback_data`. Benchmarks run it as a process of its own, as Meta is:
`python -m tests.fakes.graph_api --port 9000 --status-webhook http://127.0.0.1:8080/webhooks/whatsapp
--app-secret S` (the token is `fake-graph-token` unless `--token`).

In a conftest: `from tests.fakes.graph_api import fake_graph  # noqa: F401` and ask for `fake_graph`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_TOKEN = 'fake-graph-token'
DEFAULT_VERSION = 'v23.0'
TEXT_BODY_LIMIT = 4096
_VERSION = re.compile(r'v\d+\.\d+')
_SEND_TYPES = frozenset(
    {
        'text',
        'template',
        'image',
        'document',
        'audio',
        'video',
        'sticker',
        'location',
        'contacts',
        'interactive',
        'reaction',
    }
)
_MEDIA_TYPES = frozenset({'image', 'document', 'audio', 'video', 'sticker'})

# (message, details, error_subcode) as Meta words them; the message carries the title, like the real API.
META_ERRORS: dict[int, tuple[str, str, int | None]] = {
    1: ('An unknown error has occurred.', 'Invalid request or possible server error.', None),
    2: ('Service temporarily unavailable', 'Temporary due to downtime or due to being overloaded.', None),
    4: ('(#4) Application request limit reached', 'The app has reached its API call rate limit.', None),
    80007: ('(#80007) Rate limit issues', 'The WhatsApp Business Account has reached its rate limit.', None),
    100: ('(#100) Invalid parameter', 'The request included one or more unsupported or misspelled parameters.', None),
    131000: ('(#131000) Something went wrong', 'Message failed to send due to an unknown error.', None),
    131009: ('(#131009) Parameter value is not valid', 'One or more parameter values are invalid.', None),
    131016: ('(#131016) Service unavailable', 'A service is temporarily unavailable.', None),
    131026: ('(#131026) Message Undeliverable', 'Unable to deliver message.', None),
    131047: (
        '(#131047) Re-engagement message',
        'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
        None,
    ),
    131049: (
        '(#131049) This message was not delivered to maintain healthy ecosystem engagement.',
        'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
        None,
    ),
    131051: ('(#131051) Unsupported message type', 'Message type is not currently supported.', None),
    131052: ('(#131052) Media download error', 'Unable to download the media sent by the user.', None),
    131053: ('(#131053) Media upload error', 'Unable to upload the media used in the message.', None),
    131056: (
        '(#131056) (Business Account, Consumer Account) pair rate limit hit',
        'Too many messages sent from the sender phone number to the same recipient phone number in a '
        'short period of time.',
        None,
    ),
    130429: (
        '(#130429) Rate limit hit',
        'Message failed to send because there were too many messages sent from this phone number in a '
        'short period of time',
        2494055,
    ),
    132000: (
        '(#132000) Number of parameters does not match the expected number of params',
        'The number of variable parameter values does not match the number of variables in the template.',
        None,
    ),
    132001: (
        '(#132001) Template name does not exist in the translation',
        'The template does not exist in the specified language or has not been approved.',
        None,
    ),
    133004: ('(#133004) Server Temporarily Unavailable', 'Server is temporarily unavailable.', None),
    190: ('Invalid OAuth access token - Cannot parse access token', '', None),
    368: (
        '(#368) Temporarily blocked for policies violations',
        'The WhatsApp Business Account has been restricted or disabled for violating a platform policy.',
        None,
    ),
}
# What a bare scripted status answers with, so `script_send([500])` still yields Meta's JSON shape.
_DEFAULT_CODE_FOR_STATUS = {400: 100, 401: 190, 403: 10, 404: 100, 429: 4, 500: 1, 503: 2}
# Load balancers in front of Graph answer these with HTML, not JSON: clients must cope.
_HTML_STATUSES = frozenset({502, 504})


@dataclass(frozen=True)
class Reply:
    """One scripted answer to a message send: wait `delay` seconds, then answer `status` (and `code`)."""

    status: int = 200
    code: int | None = None  # Meta error code for error JSON; None → a default for the status
    delay: float = 0.0
    retry_after: float | None = None  # sent as a Retry-After header
    details: str | None = None  # overrides error_data.details
    body: Any = None  # when given, sent as-is as the JSON body (e.g. a 200 without messages)


ScriptItem = int | float | tuple[int, int] | Reply


@dataclass(frozen=True)
class StatusWebhook:
    """Where and how Meta reports what became of each accepted send."""

    url: str
    app_secret: str
    delivered_after: float = 0.3  # seconds between "sent" and "delivered"
    waba_id: str = '102290129340398'


@dataclass(frozen=True)
class RecordedFile:
    filename: str
    content_type: str
    content: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    form: dict[str, str] | None = None
    files: dict[str, RecordedFile] = field(default_factory=dict)
    time: float = 0.0  # time.time() on arrival
    status: int | None = None  # what the fake answered; None while still answering (or never, if killed)


@dataclass
class StoredMedia:
    media_id: str
    content: bytes
    mime_type: str
    filename: str = ''
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0
    declare_length: bool = True
    bytes_served: int = 0


def _as_reply(item: ScriptItem) -> Reply:
    if isinstance(item, Reply):
        return item
    if isinstance(item, tuple):
        status, code = item
        return Reply(status=status, code=code)
    if isinstance(item, float):
        # A delay alone answers success afterwards: the client that gave up never learns it was sent.
        return Reply(delay=item)
    return Reply(status=item)


def error_body(code: int, *, details: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Meta's error JSON for `code`."""
    known_message, known_details, subcode = META_ERRORS.get(code, (f'(#{code}) Error', '', None))
    error: dict[str, Any] = {
        'message': message or known_message,
        'type': 'OAuthException',
        'code': code,
        'error_data': {'messaging_product': 'whatsapp', 'details': details if details is not None else known_details},
        'fbtrace_id': 'A' + secrets.token_urlsafe(16),
    }
    if subcode is not None:
        error['error_subcode'] = subcode
    if code == 190:
        error.pop('error_data')  # auth failures come from Graph itself, without WhatsApp's error_data
    return {'error': error}


class FakeGraphApi:
    """See the module docstring. `with FakeGraphApi() as fake: GraphClient(base_url=fake.base_url, …)`."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        version: str = DEFAULT_VERSION,
        phone_number_ids: Iterable[str] | None = None,
        media_url_ttl: float = 300.0,
        status_webhook: StatusWebhook | None = None,
        keep_requests: bool = True,
    ) -> None:
        self.token = token
        self.version = version
        self.media_url_ttl = media_url_ttl
        self.status_webhook = status_webhook
        self.keep_requests = keep_requests  # off for long benchmark runs: memory would grow with every send
        self.statuses_posted = 0
        self._webhook_client: httpx.AsyncClient | None = None
        self._status_tasks: set[asyncio.Task[None]] = set()
        self._phone_number_ids = frozenset(phone_number_ids) if phone_number_ids is not None else None
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._send_script: deque[Reply] = deque()
        self._read_script: deque[Reply] = deque()
        self._media: dict[str, StoredMedia] = {}
        self._ids = itertools.count(1)
        self._url_secret = secrets.token_bytes(16)
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._app = Starlette(
            routes=[
                Route('/whatsapp_business/attachments/', self._download, methods=['GET']),
                Route('/{version}/{node}/messages', self._messages, methods=['POST']),
                Route('/{version}/{node}/media', self._upload, methods=['POST']),
                Route('/{version}/{node}', self._node, methods=['GET']),
            ]
        )

    # --- lifecycle ---

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', 0))  # port 0: the OS picks a free one, so parallel fakes never collide
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, lifespan='off', log_level='warning', access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={'sockets': [sock]}, name=f'fake-graph-api:{self._port}', daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError('fake Graph API did not start')
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._stopping.set()  # wakes scripted delays so shutdown never waits for them
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError('fake Graph API not started')
        return self._port

    @property
    def origin(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    @property
    def base_url(self) -> str:
        return f'{self.origin}/{self.version}'

    # --- scripting and inspection (any thread) ---

    def script_send(self, items: Iterable[ScriptItem]) -> None:
        """Queue answers for the next message sends: a status, (status, meta_code), a delay (float) or a Reply."""
        with self._lock:
            self._send_script.extend(_as_reply(item) for item in items)

    def script_read(self, items: Iterable[ScriptItem]) -> None:
        """Same as `script_send`, for mark-as-read calls."""
        with self._lock:
            self._read_script.extend(_as_reply(item) for item in items)

    def add_media(
        self,
        content: bytes,
        mime_type: str,
        *,
        filename: str = '',
        chunk_size: int = 64 * 1024,
        chunk_delay: float = 0.0,
        declare_length: bool = True,
    ) -> str:
        """Store media as if a customer had sent it; returns its media id.

        `declare_length=False` streams without Content-Length (chunked); `chunk_delay` paces the chunks, so
        a test can tell a client that stops early from one that reads everything.
        """
        media_id = self._new_media_id()
        with self._lock:
            self._media[media_id] = StoredMedia(
                media_id, content, mime_type, filename, chunk_size, chunk_delay, declare_length
            )
        return media_id

    def media(self, media_id: str) -> StoredMedia:
        with self._lock:
            return self._media[media_id]

    def media_bytes_served(self, media_id: str) -> int:
        with self._lock:
            return self._media[media_id].bytes_served

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """JSON bodies of every message send received (not mark-as-read), answered or not."""
        with self._lock:
            return self._sends_locked()

    @property
    def read_receipts(self) -> list[str]:
        return [
            r.json['message_id']
            for r in self.requests
            if r.path.endswith('/messages') and isinstance(r.json, dict) and r.json.get('status') == 'read'
        ]

    async def wait_for_sends(self, count: int, *, seconds: float = 5.0) -> list[dict[str, Any]]:
        """Await until at least `count` sends arrived (for tests whose worker sends in the background)."""
        # A worker thread waits, not the caller's loop: the client under test may share that loop.
        return await asyncio.to_thread(self._wait_for_sends, count, seconds)

    def _wait_for_sends(self, count: int, seconds: float) -> list[dict[str, Any]]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._sends_locked()) >= count, timeout=seconds):
                raise TimeoutError(f'{len(self._sends_locked())} sends after {seconds} s, expected {count}')
            return self._sends_locked()

    def _sends_locked(self) -> list[dict[str, Any]]:
        return [r.json for r in self._requests if _is_send(r)]

    def reset(self) -> None:
        """Forget requests, scripts and media (for a fake shared by several tests)."""
        with self._lock:
            self._requests.clear()
            self._send_script.clear()
            self._read_script.clear()
            self._media.clear()

    # --- handlers ---

    async def _messages(self, request: Request) -> Response:
        recorded = await self._record(request)
        if (denied := self._check(request)) is not None:
            return self._answer(recorded, denied)
        payload = recorded.json
        if not isinstance(payload, dict):
            return self._answer(recorded, _error(400, 100, details='Request body must be a JSON object.'))
        if payload.get('messaging_product') != 'whatsapp':
            return self._answer(
                recorded, _error(400, 100, message='(#100) The parameter messaging_product is required.', details='')
            )
        if payload.get('status') == 'read':
            return await self._mark_read(recorded, payload)
        return await self._send(recorded, payload)

    async def _send(self, recorded: RecordedRequest, payload: dict[str, Any]) -> Response:
        with self._lock:
            scripted = self._send_script.popleft() if self._send_script else Reply()
        if scripted.delay:
            await self._sleep(scripted.delay)
        if scripted.status >= 300 or scripted.body is not None:
            return self._answer(recorded, _scripted_response(scripted))
        if (invalid := _invalid_send(payload)) is not None:
            return self._answer(recorded, _error(400, invalid[0], details=invalid[1]))
        to = str(payload['to'])
        message: dict[str, Any] = {'id': self._new_wamid(to)}
        if payload['type'] == 'template':
            message['message_status'] = 'accepted'
        if self.status_webhook is not None:
            task = asyncio.get_running_loop().create_task(
                self._report(
                    self.status_webhook,
                    recorded.path.split('/')[2],
                    message['id'],
                    to,
                    payload.get('biz_opaque_callback_data'),
                )
            )
            self._status_tasks.add(task)
            task.add_done_callback(self._status_tasks.discard)
        return self._answer(
            recorded,
            JSONResponse(
                {
                    'messaging_product': 'whatsapp',
                    'contacts': [{'input': to, 'wa_id': to}],
                    'messages': [message],
                },
                status_code=scripted.status,
            ),
        )

    async def _report(self, webhook: StatusWebhook, phone_number_id: str, wamid: str, to: str, callback: Any) -> None:
        """Meta's status webhooks for one accepted send: `sent` at once, `delivered` a moment later."""
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=16))
        for status_name, pause in (('sent', 0.0), ('delivered', webhook.delivered_after)):
            if pause:
                await asyncio.sleep(pause)
            status: dict[str, Any] = {
                'id': wamid,
                'status': status_name,
                'timestamp': str(int(time.time())),
                'recipient_id': to,
            }
            if callback:
                status['biz_opaque_callback_data'] = str(callback)
            if status_name == 'sent':
                status['pricing'] = {'billable': True, 'pricing_model': 'PMP', 'category': 'service', 'type': 'regular'}
            body = json.dumps(
                {
                    'object': 'whatsapp_business_account',
                    'entry': [
                        {
                            'id': webhook.waba_id,
                            'changes': [
                                {
                                    'field': 'messages',
                                    'value': {
                                        'messaging_product': 'whatsapp',
                                        'metadata': {
                                            'display_phone_number': phone_number_id,
                                            'phone_number_id': phone_number_id,
                                        },
                                        'statuses': [status],
                                    },
                                }
                            ],
                        }
                    ],
                }
            ).encode()
            signature = 'sha256=' + hmac.new(webhook.app_secret.encode(), body, hashlib.sha256).hexdigest()
            try:
                await self._webhook_client.post(
                    webhook.url,
                    content=body,
                    headers={'Content-Type': 'application/json', 'X-Hub-Signature-256': signature},
                )
            except httpx.HTTPError:
                return  # Meta would retry for days; a benchmark's fake does not
            self.statuses_posted += 1

    async def _mark_read(self, recorded: RecordedRequest, payload: dict[str, Any]) -> Response:
        with self._lock:
            scripted = self._read_script.popleft() if self._read_script else Reply()
        if scripted.delay:
            await self._sleep(scripted.delay)
        if scripted.status >= 300 or scripted.body is not None:
            return self._answer(recorded, _scripted_response(scripted))
        if not str(payload.get('message_id') or '').startswith('wamid.'):
            return self._answer(recorded, _error(400, 131009, details='message_id is not a valid WhatsApp message id.'))
        return self._answer(recorded, JSONResponse({'success': True}))

    async def _upload(self, request: Request) -> Response:
        recorded = await self._record(request)
        if (denied := self._check(request)) is not None:
            return self._answer(recorded, denied)
        form = recorded.form or {}
        upload = recorded.files.get('file')
        if form.get('messaging_product') != 'whatsapp':
            return self._answer(
                recorded, _error(400, 100, message='(#100) The parameter messaging_product is required.', details='')
            )
        if upload is None or not form.get('type'):
            return self._answer(recorded, _error(400, 100, details='Both file and type are required.'))
        media_id = self._new_media_id()
        with self._lock:
            self._media[media_id] = StoredMedia(media_id, upload.content, form['type'], upload.filename)
        return self._answer(recorded, JSONResponse({'id': media_id}))

    async def _node(self, request: Request) -> Response:
        recorded = await self._record(request)
        if (denied := self._check(request, node_is_phone=False)) is not None:
            return self._answer(recorded, denied)
        media_id = request.path_params['node']
        with self._lock:
            media = self._media.get(media_id)
        if media is None:
            return self._answer(recorded, _unknown_object('get', media_id))
        expires = int(time.time() + self.media_url_ttl)
        url = (
            f'{self.origin}/whatsapp_business/attachments/?mid={media_id}&ext={expires}'
            f'&hash={self._url_hash(media_id, expires)}'
        )
        return self._answer(
            recorded,
            JSONResponse(
                {
                    'messaging_product': 'whatsapp',
                    'url': url,
                    'mime_type': media.mime_type,
                    'sha256': hashlib.sha256(media.content).hexdigest(),
                    'file_size': str(len(media.content)),
                    'id': media_id,
                }
            ),
        )

    async def _download(self, request: Request) -> Response:
        recorded = await self._record(request)
        if not self._authorized(request):
            return self._answer(recorded, _error(401, 190))
        media_id = request.query_params.get('mid', '')
        ext = request.query_params.get('ext', '')
        expires = int(ext) if ext.isdigit() else 0
        valid = hmac.compare_digest(request.query_params.get('hash', ''), self._url_hash(media_id, expires))
        with self._lock:
            media = self._media.get(media_id)
        if media is None or not valid or expires < time.time():
            # Meta answers an expired or forged URL with a bare 404.
            return self._answer(recorded, PlainTextResponse('Not Found', status_code=404))
        headers = {'Content-Length': str(len(media.content))} if media.declare_length else {}
        return self._answer(
            recorded, StreamingResponse(self._stream(media), media_type=media.mime_type, headers=headers)
        )

    async def _stream(self, media: StoredMedia) -> AsyncIterator[bytes]:
        for start in range(0, len(media.content), media.chunk_size):
            if media.chunk_delay and start:
                await self._sleep(media.chunk_delay)
            chunk = media.content[start : start + media.chunk_size]
            with self._lock:
                media.bytes_served += len(chunk)
            yield chunk

    # --- helpers ---

    async def _record(self, request: Request) -> RecordedRequest:
        body = await request.body()
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            time=time.time(),
        )
        content_type = request.headers.get('content-type', '')
        if content_type.startswith('application/json'):
            try:
                recorded.json = await request.json()
            except ValueError:
                recorded.json = None
        elif content_type.startswith('multipart/form-data'):
            recorded.form = {}
            async with request.form() as form:  # closes the spooled upload files
                for key, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        recorded.files[key] = RecordedFile(
                            value.filename or '', value.content_type or '', await value.read()
                        )
                    else:
                        recorded.form[key] = value
        if self.keep_requests:
            with self._arrived:
                self._requests.append(recorded)
                self._arrived.notify_all()
        return recorded

    def _answer(self, recorded: RecordedRequest, response: Response) -> Response:
        with self._lock:
            recorded.status = response.status_code
        return response

    def _authorized(self, request: Request) -> bool:
        return hmac.compare_digest(request.headers.get('authorization', ''), f'Bearer {self.token}')

    def _check(self, request: Request, *, node_is_phone: bool = True) -> Response | None:
        if not _VERSION.fullmatch(request.path_params.get('version', '')):
            return _error(
                400, 100, message='Unknown path components: /' + request.path_params.get('version', ''), details=''
            )
        if not self._authorized(request):
            return _error(401, 190)
        node = request.path_params['node']
        if node_is_phone and self._phone_number_ids is not None and node not in self._phone_number_ids:
            return _unknown_object('post', node)
        return None

    async def _sleep(self, seconds: float) -> None:
        # Waits on the stop event, so stop() is never held up by a long scripted delay.
        await asyncio.to_thread(self._stopping.wait, seconds)

    def _new_wamid(self, to: str) -> str:
        # Real wamids are base64 of a protobuf-ish blob; only the prefix and uniqueness matter to us.
        raw = f'{to}:{next(self._ids)}:{secrets.token_hex(8)}'.encode()
        return 'wamid.' + base64.b64encode(raw).decode()

    def _new_media_id(self) -> str:
        return str(10**15 + next(self._ids))  # Meta media ids are 15-16 digit numbers

    def _url_hash(self, media_id: str, expires: int) -> str:
        return hmac.new(self._url_secret, f'{media_id}:{expires}'.encode(), hashlib.sha256).hexdigest()[:32]


def _error(
    status: int,
    code: int,
    *,
    details: str | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, details=details, message=message), status_code=status, headers=headers)


def _unknown_object(verb: str, node: str) -> JSONResponse:
    message = (
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to "
        'missing permissions, or does not support this operation.'
    )
    body = error_body(100, message=message, details='')
    body['error']['error_subcode'] = 33
    body['error'].pop('error_data')
    return JSONResponse(body, status_code=400)


def _scripted_response(reply: Reply) -> Response:
    headers = {'Retry-After': f'{reply.retry_after:g}'} if reply.retry_after is not None else None
    if reply.body is not None:
        return JSONResponse(reply.body, status_code=reply.status, headers=headers)
    if reply.code is None and reply.status in _HTML_STATUSES:
        return Response(
            '<html><body><h1>502 Bad Gateway</h1></body></html>'
            if reply.status == 502
            else '<html><body><h1>504 Gateway Time-out</h1></body></html>',
            status_code=reply.status,
            media_type='text/html',
            headers=headers,
        )
    code = reply.code if reply.code is not None else _DEFAULT_CODE_FOR_STATUS.get(reply.status, 1)
    return _error(reply.status, code, details=reply.details, headers=headers)


def _is_send(request: RecordedRequest) -> bool:
    return (
        request.path.endswith('/messages') and isinstance(request.json, dict) and request.json.get('status') != 'read'
    )


def _invalid_send(payload: dict[str, Any]) -> tuple[int, str] | None:
    """(code, details) for a send Graph would reject, checked the way Graph does for the types we send."""
    if not payload.get('to'):
        return 100, 'The parameter to is required.'
    kind = payload.get('type', 'text')
    if kind not in _SEND_TYPES:
        return 100, f'Param type must be one of {sorted(_SEND_TYPES)}'
    body = payload.get(kind)
    if not isinstance(body, dict):
        return 100, f'The parameter {kind} is required.'
    if kind == 'text':
        text = body.get('body')
        if not isinstance(text, str) or not text:
            return 100, "The parameter text['body'] is required."
        if len(text) > TEXT_BODY_LIMIT:
            return 100, f"Param text['body'] must be at most {TEXT_BODY_LIMIT} characters long."
    if kind == 'template':
        language = body.get('language')
        if not body.get('name') or not isinstance(language, dict) or not language.get('code'):
            return 100, 'The parameters template name and language code are required.'
    if kind in _MEDIA_TYPES and not (body.get('id') or body.get('link')):
        return 100, f"The parameter {kind}['id'] or {kind}['link'] is required."
    if 'context' in payload and not str((payload['context'] or {}).get('message_id', '')).startswith('wamid.'):
        return 131009, 'context.message_id is not a valid WhatsApp message id.'
    return None


@pytest.fixture
def fake_graph() -> Iterator[FakeGraphApi]:
    """A running FakeGraphApi for one test (base_url, token and scripting on the object)."""
    with FakeGraphApi() as fake:
        yield fake


def main() -> None:
    """Serve the fake in the foreground (benchmarks start it as a process of its own, like Meta is)."""
    parser = argparse.ArgumentParser(description='A fake Meta Graph API (WhatsApp Cloud API subset).')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--token', default=DEFAULT_TOKEN)
    parser.add_argument('--status-webhook', help="the app's webhook URL: post signed sent/delivered statuses there")
    parser.add_argument('--app-secret', help='signs the status webhooks')
    options = parser.parse_args()
    webhook = StatusWebhook(options.status_webhook, options.app_secret or '') if options.status_webhook else None
    fake = FakeGraphApi(token=options.token, status_webhook=webhook, keep_requests=False)
    uvicorn.run(fake._app, host='127.0.0.1', port=options.port, lifespan='off', log_level='warning', access_log=False)


if __name__ == '__main__':
    main()
