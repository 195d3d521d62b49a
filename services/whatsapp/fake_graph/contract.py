"""Meta's side of the Graph API contract, as one ASGI app (`FakeGraph`) over a small storage interface.

What is the same for every fake lives here: the routes, the bearer-token check, Meta's error JSON, the checks
Graph makes on a send, media upload / lookup / signed expiring download URLs, scripted answers, recorded
requests, and the signed webhooks Meta posts to the app. What differs is a `FakeGraphBackend`: where a send,
an upload and a read receipt are kept (see the package docstring).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .. import payload_builders as build
from ..signatures import HEADER, sign

log = logging.getLogger(__name__)

DEFAULT_TOKEN = 'fake-graph-token'  # noqa: S105 - the fake's well-known token, not a secret
DEFAULT_VERSION = 'v23.0'
TEXT_BODY_LIMIT = 4096
# Where download URLs point, like lookaside.fbsbx.com/whatsapp_business/attachments/?mid=…&ext=…&hash=….
DOWNLOAD_PATH = '/whatsapp_business/attachments/'
_VERSION = re.compile(r'v\d+\.\d+')
_MEDIA_TYPES = frozenset('image document audio video sticker'.split())
_SEND_TYPES = _MEDIA_TYPES | frozenset('text template location contacts interactive reaction'.split())

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


# --- what travels -----------------------------------------------------------------------------------------


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
    """Where Meta posts its webhooks (the app's URL), the app secret it signs them with, and how soon it
    reports an accepted send: `sent` after `sent_after` seconds, `delivered` `delivered_after` later."""

    url: str
    app_secret: str
    sent_after: float = 0.0
    delivered_after: float = 0.3
    waba_id: str = build.DEFAULT_WABA_ID


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
    """A media object as `GET /{media-id}` describes it, and how its download URL serves it."""

    media_id: str
    mime_type: str
    sha256: str  # hex
    size: int
    filename: str = ''
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0  # a pause between chunks: tells a client that stops early from one that reads all
    declare_length: bool = True  # False: streamed chunked, without Content-Length
    bytes_served: int = 0  # written only by the serving loop


@dataclass(frozen=True)
class AcceptedSend:
    """A message send Graph accepted: the JSON the app posted and the wamid Meta gave it."""

    phone_number_id: str
    display_phone_number: str  # digits, as webhook metadata carries it
    wamid: str
    to: str
    payload: dict[str, Any]

    @property
    def callback_data(self) -> str | None:
        callback = self.payload.get('biz_opaque_callback_data')
        return str(callback) if callback else None


class FakeGraphBackend(Protocol):
    """What differs between fakes: where sends, media and read receipts are kept."""

    async def display_phone(self, phone_number_id: str) -> str | None:
        """The display number (digits) of a phone number id this fake serves; None for Meta's unknown-object error."""
        ...

    async def keep_send(self, send: AcceptedSend) -> None:
        """Keep an accepted send where the customer's side reads it (before Graph answers the app)."""
        ...

    async def after_delivered(self, send: AcceptedSend) -> None:
        """The `delivered` status webhook of `send` went out (only when status webhooks are on)."""
        ...

    async def mark_read(self, phone_number_id: str, message_id: str) -> None:
        """The business marked a customer's message (`wamid.…`) as read."""
        ...

    async def keep_media(self, content: bytes, *, mime_type: str, filename: str) -> str:
        """Keep an uploaded file; returns its new media id (Meta's are 15-16 digit numbers)."""
        ...

    async def find_media(self, media_id: str) -> StoredMedia | None: ...

    async def read_media(self, media: StoredMedia) -> bytes | None:
        """The bytes of a media object `find_media` returned; None if they are gone."""
        ...


# --- the contract -----------------------------------------------------------------------------------------


class FakeGraph:
    """Meta's Graph API (WhatsApp Cloud API subset) as an ASGI app, over `backend`.

    Serve it at a root (uvicorn) or mount it under a prefix; the version segment is any `v<major>.<minor>`.
    Scripting and inspection may be used from any thread (a test's thread while the app runs in another).
    """

    def __init__(
        self,
        backend: FakeGraphBackend,
        *,
        token: str = DEFAULT_TOKEN,
        status_webhook: StatusWebhook | None = None,
        media_url_ttl: float = 300.0,
        public_url: str | None = None,
        keep_requests: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.backend = backend
        self.token = token
        self.status_webhook = status_webhook
        self.media_url_ttl = media_url_ttl
        # Where download URLs point; None: wherever the lookup request came in (its base URL).
        self.public_url = public_url.rstrip('/') if public_url else None
        self.keep_requests = keep_requests  # off for long runs: memory would grow with every request
        self.statuses_posted = 0
        self._webhook_transport = webhook_transport
        self._webhook_client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._send_script: deque[Reply] = deque()
        self._read_script: deque[Reply] = deque()
        self._url_secret = secrets.token_bytes(16)
        self._templates: dict[str, list[dict[str, Any]]] = {}  # WABA id → its templates, as Graph lists them
        self._stopping = threading.Event()
        self._app = Starlette(
            routes=[
                Route(DOWNLOAD_PATH, self._download, methods=['GET']),
                Route('/{version}/{node}/messages', self._messages, methods=['POST']),
                Route('/{version}/{node}/media', self._upload, methods=['POST']),
                Route('/{version}/{node}/message_templates', self._message_templates, methods=['GET']),
                Route('/{version}/{node}', self._node, methods=['GET']),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def aclose(self) -> None:
        """Stop pending status reports and scripted waits; close the webhook client."""
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
            self._webhook_client = None

    # --- scripting and inspection (any thread) ---

    def script_send(self, items: Iterable[ScriptItem]) -> None:
        """Queue answers for the next message sends: a status, (status, meta_code), a delay (float) or a Reply.
        Once the queue is empty sends succeed."""
        with self._lock:
            self._send_script.extend(_as_reply(item) for item in items)

    def script_read(self, items: Iterable[ScriptItem]) -> None:
        """Same as `script_send`, for mark-as-read calls."""
        with self._lock:
            self._read_script.extend(_as_reply(item) for item in items)

    def set_templates(self, waba_id: str, templates: Iterable[dict[str, Any]]) -> None:
        """The templates a WhatsApp Business Account has at Meta (each `{name, language, status, category,
        components}`; an `id` is added when missing). Replaces what the WABA had; an unknown WABA id gets Graph's
        unknown-object error."""
        with self._lock:
            self._templates[waba_id] = [
                {'id': str(template.get('id') or 1_000_000_000_000 + index), **template}
                for index, template in enumerate(templates, start=1)
            ]

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
        return [r.json['message_id'] for r in self.requests if _is_mark_read(r)]

    async def wait_for_sends(self, count: int, *, seconds: float = 5.0) -> list[dict[str, Any]]:
        """Await until at least `count` sends arrived (for tests whose worker sends in the background)."""
        # A worker thread waits, not the caller's loop: the client under test may share that loop.
        return await asyncio.to_thread(self._wait_for_sends, count, seconds)

    def forget(self) -> None:
        """Forget recorded requests and scripted answers."""
        with self._lock:
            self._requests.clear()
            self._send_script.clear()
            self._read_script.clear()

    def _wait_for_sends(self, count: int, seconds: float) -> list[dict[str, Any]]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._sends_locked()) >= count, timeout=seconds):
                raise TimeoutError(f'{len(self._sends_locked())} sends after {seconds} s, expected {count}')
            return self._sends_locked()

    def _sends_locked(self) -> list[dict[str, Any]]:
        return [r.json for r in self._requests if _is_send(r)]

    # --- the webhooks Meta posts to the app ---

    async def post_webhook(self, body: dict[str, Any]) -> bool:
        """Post `body` to the app, signed with `X-Hub-Signature-256` as Meta does; True when it answered 200."""
        webhook = self._webhook()
        raw = json.dumps(body, ensure_ascii=False).encode()
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(
                transport=self._webhook_transport, timeout=15.0, limits=httpx.Limits(max_connections=16)
            )
        try:
            response = await self._webhook_client.post(
                webhook.url,
                content=raw,
                headers={'Content-Type': 'application/json', HEADER: sign(raw, webhook.app_secret)},
            )
        except httpx.HTTPError as exc:
            log.warning('fake Graph API could not reach the webhook: %s', exc)  # Meta would retry for days
            return False
        if response.status_code != 200:
            log.warning('webhook answered %s: %s', response.status_code, response.text[:200])
        return response.status_code == 200

    async def post_status(self, send: AcceptedSend, status: str) -> bool:
        """Meta's status webhook (`sent`, `delivered`, `read`) for an accepted send, echoing its callback data."""
        item = build.status(
            wa_message_id=send.wamid,
            status=status,
            recipient_id=send.to,
            pricing=status == 'sent',
            biz_opaque_callback_data=send.callback_data,
        )
        posted = await self.post_webhook(
            build.envelope(
                phone_number_id=send.phone_number_id,
                display_phone_number=send.display_phone_number,
                statuses=[item],
                waba_id=self._webhook().waba_id,
            )
        )
        if posted:
            self.statuses_posted += 1
        return posted

    async def _report(self, send: AcceptedSend) -> None:
        """What Meta does after accepting a send: `sent` at once, `delivered` a moment later."""
        webhook = self._webhook()
        for status, pause in (('sent', webhook.sent_after), ('delivered', webhook.delivered_after)):
            if pause:
                await asyncio.sleep(pause)
            await self.post_status(send, status)
        await self.backend.after_delivered(send)

    def _webhook(self) -> StatusWebhook:
        if self.status_webhook is None:
            raise RuntimeError('this fake Graph API posts no webhooks (no status_webhook)')
        return self.status_webhook

    # --- handlers ---

    async def _messages(self, request: Request) -> Response:
        recorded = await self._record(request)
        display_phone = await self._phone_number(request)
        if isinstance(display_phone, Response):
            return self._answer(recorded, display_phone)
        payload = recorded.json
        if not isinstance(payload, dict):
            return self._answer(recorded, _error(400, 100, details='Request body must be a JSON object.'))
        if payload.get('messaging_product') != 'whatsapp':
            return self._answer(recorded, _messaging_product_missing())
        phone_number_id = request.path_params['node']
        if payload.get('status') == 'read':
            return await self._mark_read(recorded, phone_number_id, payload)
        return await self._send(recorded, phone_number_id, display_phone, payload)

    async def _send(
        self, recorded: RecordedRequest, phone_number_id: str, display_phone: str, payload: dict[str, Any]
    ) -> Response:
        scripted = await self._scripted(self._send_script)
        if scripted.status >= 300 or scripted.body is not None:
            return self._answer(recorded, _scripted_response(scripted))
        if (invalid := invalid_send(payload)) is not None:
            return self._answer(recorded, _error(400, invalid[0], details=invalid[1]))
        to = str(payload['to'])
        send = AcceptedSend(phone_number_id, display_phone, build.new_wamid(wa_id=to.lstrip('+')), to, payload)
        await self.backend.keep_send(send)
        if self.status_webhook is not None:
            task = asyncio.get_running_loop().create_task(self._report(send))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        message: dict[str, Any] = {'id': send.wamid}
        if payload['type'] == 'template':
            message['message_status'] = 'accepted'
        body = {'messaging_product': 'whatsapp', 'contacts': [{'input': to, 'wa_id': to}], 'messages': [message]}
        return self._answer(recorded, JSONResponse(body, status_code=scripted.status))

    async def _mark_read(self, recorded: RecordedRequest, phone_number_id: str, payload: dict[str, Any]) -> Response:
        scripted = await self._scripted(self._read_script)
        if scripted.status >= 300 or scripted.body is not None:
            return self._answer(recorded, _scripted_response(scripted))
        message_id = str(payload.get('message_id') or '')
        if not message_id.startswith('wamid.'):
            return self._answer(recorded, _error(400, 131009, details='message_id is not a valid WhatsApp message id.'))
        await self.backend.mark_read(phone_number_id, message_id)
        return self._answer(recorded, JSONResponse({'success': True}))

    async def _upload(self, request: Request) -> Response:
        recorded = await self._record(request)
        display_phone = await self._phone_number(request)
        if isinstance(display_phone, Response):
            return self._answer(recorded, display_phone)
        form = recorded.form or {}
        upload = recorded.files.get('file')
        if form.get('messaging_product') != 'whatsapp':
            return self._answer(recorded, _messaging_product_missing())
        if upload is None or not form.get('type'):
            return self._answer(recorded, _error(400, 100, details='Both file and type are required.'))
        media_id = await self.backend.keep_media(upload.content, mime_type=form['type'], filename=upload.filename)
        return self._answer(recorded, JSONResponse({'id': media_id}))

    async def _node(self, request: Request) -> Response:
        """GET /{version}/{media-id}: the media's description and a short-lived download URL."""
        recorded = await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return self._answer(recorded, refused)
        media_id = request.path_params['node']
        media = await self.backend.find_media(media_id)
        if media is None:
            return self._answer(recorded, _unknown_object('get', media_id))
        expires = int(time.time() + self.media_url_ttl)
        origin = self.public_url or str(request.base_url).rstrip('/')
        url = f'{origin}{DOWNLOAD_PATH}?mid={media_id}&ext={expires}&hash={self._url_hash(media_id, expires)}'
        return self._answer(
            recorded,
            JSONResponse(
                {
                    'messaging_product': 'whatsapp',
                    'url': url,
                    'mime_type': media.mime_type,
                    'sha256': media.sha256,
                    'file_size': str(media.size),  # a string, as Meta sends it
                    'id': media_id,
                }
            ),
        )

    async def _message_templates(self, request: Request) -> Response:
        """GET /{version}/{waba-id}/message_templates: the WABA's templates, `{"data": [...], "paging": {"cursors":
        {"before", "after"}, "next"}}` as Graph pages them (`limit`, default 25; `after`, an opaque cursor; `next`
        only while more remain). `fields` picks the keys of each template (id always comes back)."""
        recorded = await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return self._answer(recorded, refused)
        waba_id = request.path_params['node']
        with self._lock:
            templates = self._templates.get(waba_id)
        if templates is None:
            return self._answer(recorded, _unknown_object('get', waba_id))
        try:
            limit = int(request.query_params.get('limit', '25'))
            start = _cursor_index(request.query_params.get('after'))
        except ValueError:
            return self._answer(recorded, _error(400, 100, message='(#100) Invalid parameter', details=''))
        limit = max(1, min(limit, 1000))
        wanted = {f.strip() for f in request.query_params.get('fields', '').split(',') if f.strip()}
        page = templates[start : start + limit]
        data = [
            {key: value for key, value in template.items() if not wanted or key in wanted or key == 'id'}
            for template in page
        ]
        body: dict[str, Any] = {'data': data}
        if page:
            end = start + len(page)
            body['paging'] = {'cursors': {'before': _cursor(start), 'after': _cursor(end - 1)}}
            if end < len(templates):
                query = dict(request.query_params) | {'after': _cursor(end - 1)}
                origin = self.public_url or str(request.base_url).rstrip('/')
                body['paging']['next'] = f'{origin}{request.url.path}?{httpx.QueryParams(query)}'
        return self._answer(recorded, JSONResponse(body))

    async def _download(self, request: Request) -> Response:
        recorded = await self._record(request)
        if not self._authorized(request):
            return self._answer(recorded, _error(401, 190))
        media_id = request.query_params.get('mid', '')
        ext = request.query_params.get('ext', '')
        expires = int(ext) if ext.isdigit() else 0
        valid = hmac.compare_digest(request.query_params.get('hash', ''), self._url_hash(media_id, expires))
        media = await self.backend.find_media(media_id) if valid and expires >= time.time() else None
        content = await self.backend.read_media(media) if media is not None else None
        if media is None or content is None:
            # Meta answers an expired or forged URL with a bare 404.
            return self._answer(recorded, PlainTextResponse('Not Found', status_code=404))
        headers = {'Content-Length': str(len(content))} if media.declare_length else {}
        return self._answer(
            recorded, StreamingResponse(self._stream(media, content), media_type=media.mime_type, headers=headers)
        )

    async def _stream(self, media: StoredMedia, content: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(content), media.chunk_size):
            if media.chunk_delay and start:
                await self._sleep(media.chunk_delay)
            chunk = content[start : start + media.chunk_size]
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

    async def _scripted(self, script: deque[Reply]) -> Reply:
        """The next scripted answer (success once the script is used up), after its delay."""
        with self._lock:
            scripted = script.popleft() if script else Reply()
        if scripted.delay:
            await self._sleep(scripted.delay)
        return scripted

    def _authorized(self, request: Request) -> bool:
        return hmac.compare_digest(request.headers.get('authorization', ''), f'Bearer {self.token}')

    def _refusal(self, request: Request) -> Response | None:
        """Graph's answer to a bad version segment or a missing / wrong token; None when both are fine."""
        version = request.path_params.get('version', '')
        if not _VERSION.fullmatch(version):
            return _error(400, 100, message=f'Unknown path components: /{version}', details='')
        if not self._authorized(request):
            return _error(401, 190)
        return None

    async def _phone_number(self, request: Request) -> str | Response:
        """The display number of the phone number id in the path, or Graph's refusal."""
        if (refused := self._refusal(request)) is not None:
            return refused
        node = request.path_params['node']
        display_phone = await self.backend.display_phone(node)
        return _unknown_object('post', node) if display_phone is None else display_phone

    async def _sleep(self, seconds: float) -> None:
        # Waits on the stop event, so closing is never held up by a long scripted delay.
        await asyncio.to_thread(self._stopping.wait, seconds)

    def _url_hash(self, media_id: str, expires: int) -> str:
        return hmac.new(self._url_secret, f'{media_id}:{expires}'.encode(), hashlib.sha256).hexdigest()[:32]


# --- Meta's answers ---------------------------------------------------------------------------------------


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


def invalid_send(payload: dict[str, Any]) -> tuple[int, str] | None:
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


def _error(
    status: int,
    code: int,
    *,
    details: str | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, details=details, message=message), status_code=status, headers=headers)


def _cursor(index: int) -> str:
    """Graph's cursors are opaque base64 strings; this one encodes the position."""
    return base64.urlsafe_b64encode(f'i:{index}'.encode()).decode()


def _cursor_index(cursor: str | None) -> int:
    """Where the page after `cursor` starts; ValueError for a cursor this fake did not hand out."""
    if not cursor:
        return 0
    text = base64.urlsafe_b64decode(cursor.encode()).decode()
    if not text.startswith('i:'):
        raise ValueError(cursor)
    return int(text[2:]) + 1


def _messaging_product_missing() -> JSONResponse:
    return _error(400, 100, message='(#100) The parameter messaging_product is required.', details='')


def _unknown_object(verb: str, node: str) -> JSONResponse:
    message = (
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to "
        'missing permissions, or does not support this operation.'
    )
    body = error_body(100, message=message, details='')
    body['error']['error_subcode'] = 33
    body['error'].pop('error_data')
    return JSONResponse(body, status_code=400)


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


def _is_mark_read(request: RecordedRequest) -> bool:
    return (
        request.path.endswith('/messages') and isinstance(request.json, dict) and request.json.get('status') == 'read'
    )


def _is_send(request: RecordedRequest) -> bool:
    return (
        request.path.endswith('/messages') and isinstance(request.json, dict) and request.json.get('status') != 'read'
    )
