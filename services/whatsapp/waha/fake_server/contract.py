"""WAHA's side of the contract as one ASGI app (`FakeWaha`) over a small storage interface (`FakeWahaBackend`).

Here: the routes, the `X-Api-Key` check, WAHA's error bodies (NestJS shapes), the session state machine and its
`session.status` webhooks, QR codes, sends with their `message.any` (source `api`) and `message.ack` webhooks,
scripted failures, recorded requests, and the control surface a test or the demo drives (`scan`, `fail`,
`set_status`, `rotate_qr`, `customer_*`, `emit`, `ack`), as Python methods and as `/_fake/…` HTTP routes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .. import payload_builders as build
from ..client import API_KEY_HEADER, WEBHOOK_EVENTS, SessionStatus
from ..events import HMAC_ALGORITHM, HMAC_ALGORITHM_HEADER, HMAC_HEADER, sign_body
from ..ids import GROUP_SUFFIX, LID_SUFFIX, USER_SUFFIX, new_message_id, normalize_chat_id
from .media import extension_of, new_qr_value, qr_png, sample

log = logging.getLogger(__name__)

DEFAULT_API_KEY = 'fake-waha-key'
DEFAULT_PAIRED_PHONE = '5491100000000'  # the business's own number once "scanned"
DEFAULT_PUSH_NAME = 'Repuestos LeadMaster'
_RUNNING_STATUSES_NEEDED = {'send': [SessionStatus.WORKING], 'qr': [SessionStatus.SCAN_QR_CODE]}
_NOT_EXPECTED = 'Session status is not as expected. Try again later or restart the session'
_HTML_STATUSES = frozenset({502, 504})  # proxies in front of WAHA answer these with HTML


# --- what travels -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer to a send: wait `delay` seconds, then answer `status` (WAHA's body for it, or `body`)."""

    status: int = 201
    delay: float = 0.0
    body: Any = None
    message: str | None = None  # the error text in WAHA's body


ScriptItem = int | float | Reply


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook as a session's config declares it: URL, events (`*` = all) and the HMAC key."""

    url: str
    hmac_key: str | None = None
    events: tuple[str, ...] = WEBHOOK_EVENTS

    def wants(self, event: str) -> bool:
        return '*' in self.events or event in self.events


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None
    time: float = 0.0
    status: int | None = None


@dataclass(frozen=True)
class AcceptedSend:
    """A send WAHA accepted: what the app asked for and the id the new message got."""

    session: str
    endpoint: str  # sendText, sendImage, sendFile
    chat_id: str
    message_id: str
    payload: dict[str, Any]
    content: bytes | None = None  # the file's bytes (base64 `file.data` decoded)

    @property
    def text(self) -> str | None:
        value = self.payload.get('text') if self.endpoint == 'sendText' else self.payload.get('caption')
        return str(value) if value is not None else None


@dataclass(frozen=True)
class SeenReceipt:
    session: str
    chat_id: str
    message_ids: tuple[str, ...]


@dataclass
class StoredMedia:
    """A file served under `/api/files/{session}/{name}` (what `media.url` in events points to)."""

    session: str
    name: str  # `{message id}.{ext}`
    mimetype: str
    content: bytes
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0  # a pause between chunks: tells a client that stops early from one that reads all
    declare_length: bool = True  # False: chunked, without Content-Length
    bytes_served: int = 0


@dataclass
class PostedWebhook:
    event: str
    session: str
    url: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    status_code: int | None = None  # None: the receiver could not be reached


@dataclass
class FakeSession:
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    status: str = SessionStatus.STOPPED
    paired_phone: str | None = None  # survives stop/restart; logout clears it
    push_name: str = DEFAULT_PUSH_NAME
    qr_value: str = field(default_factory=new_qr_value)
    data: dict[str, Any] | None = None
    statuses: list[tuple[str, int]] = field(default_factory=list)
    generation: int = 0  # bumps on every transition: a delayed boot step of an older one does nothing

    @property
    def me(self) -> dict[str, Any] | None:
        if self.status != SessionStatus.WORKING or not self.paired_phone:
            return None
        return build.me(self.paired_phone, self.push_name)

    def describe(self, engine: str) -> dict[str, Any]:
        """The session as `GET /api/sessions/{session}` answers it."""
        return {
            'name': self.name,
            'status': self.status,
            'config': self.config or None,
            'me': self.me,
            'engine': {'engine': engine},
        }


class FakeWahaBackend(Protocol):
    """What differs between fakes: where sends, read receipts and media are kept, and which numbers exist."""

    def keep_send(self, send: AcceptedSend) -> None: ...

    def keep_seen(self, receipt: SeenReceipt) -> None: ...

    def keep_media(self, media: StoredMedia) -> None: ...

    def find_media(self, session: str, name: str) -> StoredMedia | None: ...

    def number_exists(self, digits: str) -> bool: ...


class FakeWahaError(RuntimeError):
    """A control call the fake's state does not allow (e.g. `scan` while no QR is shown)."""


# --- the contract -----------------------------------------------------------------------------------------


class FakeWaha:
    """WAHA's HTTP API and webhooks as an ASGI app over `backend`; serve it at a root or mount it under a prefix.

    `api_key`: what `X-Api-Key` must be (None: no key, like WAHA without WAHA_API_KEY). `default_webhook`: posted to
    for every session, like WAHA's global WHATSAPP_HOOK_URL, on top of each session's `config.webhooks`.
    `public_url`: where `media.url` points (the fake's own origin plus mount prefix). `engine`: whose send answers
    to give (WEBJS, NOWEB or GOWS; see client.message_id_of). `start_delay`: seconds in STARTING.
    `ack_delays`: after a send, seconds until the SERVER (1) and then DEVICE (2) acks.

    Control methods may be called from any thread; they need the loop that serves the app (bound when served,
    on the first request, or by calling them from that loop).
    """

    def __init__(
        self,
        backend: FakeWahaBackend,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        engine: str = build.DEFAULT_ENGINE,
        default_webhook: WebhookTarget | None = None,
        public_url: str | None = None,
        start_delay: float = 0.0,
        ack_delays: tuple[float, float] = (0.0, 0.2),
        keep_requests: bool = False,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.backend = backend
        self.api_key = api_key
        self.engine = engine
        self.default_webhook = default_webhook
        self.public_url = (public_url or 'http://localhost:3000').rstrip('/')
        self.start_delay = start_delay
        self.ack_delays = ack_delays
        self.keep_requests = keep_requests
        self._webhook_transport = webhook_transport
        self._webhook_client: httpx.AsyncClient | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._sessions: dict[str, FakeSession] = {}
        self._requests: list[RecordedRequest] = []
        self._posted: list[PostedWebhook] = []
        self._send_script: deque[Reply] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[int, WebhookTarget, dict[str, Any]] | None] | None = None
        self._epoch = 0  # bumped by forget(): deliveries queued before it are dropped
        self._worker: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._stopping = threading.Event()
        fake = '/_fake'
        self._app = Starlette(
            routes=[
                Route('/api/sessions', self._list_sessions, methods=['GET']),
                Route('/api/sessions', self._create_session, methods=['POST']),
                Route('/api/sessions/{session}', self._get_session, methods=['GET']),
                Route('/api/sessions/{session}', self._update_session, methods=['PUT']),
                Route('/api/sessions/{session}', self._delete_session, methods=['DELETE']),
                Route('/api/sessions/{session}/me', self._me, methods=['GET']),
                Route('/api/sessions/{session}/{action}', self._session_action, methods=['POST']),
                Route('/api/{session}/auth/qr', self._qr, methods=['GET']),
                Route('/api/sendText', self._send_text, methods=['POST']),
                Route('/api/sendImage', self._send_image, methods=['POST']),
                Route('/api/sendFile', self._send_file, methods=['POST']),
                Route('/api/sendSeen', self._send_seen, methods=['POST']),
                Route('/api/contacts/check-exists', self._check_exists, methods=['GET']),
                Route('/api/files/{session}/{name}', self._file, methods=['GET']),
                Route('/api/server/version', self._version, methods=['GET']),
                Route(f'{fake}/sessions/{{session}}/{{action}}', self._control, methods=['POST']),
                Route(f'{fake}/script-send', self._control_script, methods=['POST']),
                Route(f'{fake}/sends', self._control_sends, methods=['GET']),
                Route(f'{fake}/numbers/{{phone}}', self._control_number, methods=['POST']),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] == 'http' and self._loop is None:
            self.bind_loop()
        await self._app(scope, receive, send)

    def bind_loop(self) -> None:
        """Post webhooks from the running loop (the one serving the app)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._loop is loop:
                return
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._deliver_forever())

    async def aclose(self) -> None:
        """Stop delivering webhooks and close the webhook client (on the serving loop)."""
        self._stopping.set()
        for timer in list(self._timers):
            timer.cancel()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
            self._webhook_client = None
        self._loop = None
        self._queue = None

    # --- inspection and scripting (any thread) ---

    def script_send(self, items: Iterable[ScriptItem]) -> None:
        """Queue answers for the next sends (sendText/Image/File): a status (WAHA's body for it), a delay in
        seconds (float: then success, so a client that timed out never learns it went out) or a `Reply`."""
        with self._lock:
            self._send_script.extend(_as_reply(item) for item in items)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def webhooks_posted(self) -> list[PostedWebhook]:
        with self._lock:
            return list(self._posted)

    def session(self, name: str) -> FakeSession:
        with self._lock:
            if name not in self._sessions:
                raise FakeWahaError(f'no session {name!r} in the fake WAHA')
            return self._sessions[name]

    def status_of(self, name: str) -> str:
        return self.session(name).status

    async def wait_for_webhooks(
        self, count: int, *, event: str | None = None, seconds: float = 5.0
    ) -> list[PostedWebhook]:
        """Await until at least `count` webhooks (of `event`, if given) were posted; returns them."""

        def matching() -> list[PostedWebhook]:
            return [p for p in self._posted if event is None or p.event == event]

        def wait() -> list[PostedWebhook]:
            with self._changed:
                if not self._changed.wait_for(lambda: len(matching()) >= count, timeout=seconds):
                    raise TimeoutError(f'{len(matching())} {event or "webhooks"} posted after {seconds} s, not {count}')
                return matching()

        return await asyncio.to_thread(wait)

    def forget(self) -> None:
        """Forget sessions, requests, posted webhooks and scripts (for a fake shared by several tests)."""
        with self._lock:
            self._epoch += 1
            self._sessions.clear()
            self._requests.clear()
            self._posted.clear()
            self._send_script.clear()

    # --- control: sessions (any thread) ---

    def add_session(
        self,
        name: str = build.DEFAULT_SESSION,
        *,
        paired_phone: str | None = DEFAULT_PAIRED_PHONE,
        start: bool = True,
        webhook: WebhookTarget | None = None,
    ) -> FakeSession:
        """A session as if created earlier (paired with `paired_phone` unless None); started → WORKING at once."""
        with self._lock:
            config: dict[str, Any] = {}
            if webhook is not None:
                config['webhooks'] = [_webhook_config(webhook)]
            session = FakeSession(name, config=config, paired_phone=paired_phone)
            self._sessions[name] = session
            if start:
                self._boot(session)
            return session

    def scan(self, name: str, *, phone: str = DEFAULT_PAIRED_PHONE, push_name: str = DEFAULT_PUSH_NAME) -> None:
        """The phone scanned the QR: SCAN_QR_CODE → WORKING, paired with `phone`."""
        with self._lock:
            session = self.session(name)
            if session.status != SessionStatus.SCAN_QR_CODE:
                raise FakeWahaError(f'session {name!r} shows no QR to scan (it is {session.status})')
            session.paired_phone = ''.join(ch for ch in phone if ch.isdigit())
            session.push_name = push_name
            self._move(session, SessionStatus.WORKING)

    def fail(self, name: str) -> None:
        """The session broke (phone unlinked it, WhatsApp logged it out): → FAILED."""
        with self._lock:
            self._move(self.session(name), SessionStatus.FAILED)

    def set_status(self, name: str, status: str, *, data: Mapping[str, Any] | None = None) -> None:
        """Any status, known or not (PASSKEY_REQUIRED gets a WebAuthn challenge as `data` unless one is given)."""
        with self._lock:
            session = self.session(name)
            if status == SessionStatus.WORKING and not session.paired_phone:
                session.paired_phone = DEFAULT_PAIRED_PHONE
            if data is None and status == SessionStatus.PASSKEY_REQUIRED:
                data = build.passkey_challenge()
            self._move(session, status, data=dict(data) if data is not None else None)

    def rotate_qr(self, name: str) -> str:
        """WhatsApp replaced the QR (about every 20 s): a new value and, as WAHA does, SCAN_QR_CODE posted again."""
        with self._lock:
            session = self.session(name)
            session.qr_value = new_qr_value()
            if session.status == SessionStatus.SCAN_QR_CODE:
                self._move(session, SessionStatus.SCAN_QR_CODE)
            return session.qr_value

    # --- control: what customers do (any thread) ---

    def customer_text(
        self,
        name: str,
        *,
        phone: str,
        text: str,
        push_name: str | None = 'Cliente',
        reply_to: str | None = None,
        reply_to_body: str = '',
    ) -> str:
        """A customer wrote `text` (quoting `reply_to`, a message id, when given); returns the new message id."""
        quoted = build.reply_to(reply_to, reply_to_body) if reply_to else None
        return self._inbound(name, _chat(phone), push_name=push_name, body=text, reply_to=quoted)

    def customer_media(
        self,
        name: str,
        *,
        phone: str,
        kind: str,
        content: bytes | None = None,
        mimetype: str | None = None,
        filename: str | None = None,
        caption: str = '',
        push_name: str | None = 'Cliente',
        downloaded: bool = True,
        chunk_size: int = 64 * 1024,
        chunk_delay: float = 0.0,
        declare_length: bool = True,
    ) -> str:
        """A customer sent an image / video / audio / voice / document / sticker (a sample file unless `content`);
        `media.url` points at this fake (needs the API key). `downloaded=False`: `hasMedia` without `media`, as
        when WAHA is set not to download that type."""
        sample_content, sample_type, sample_name = sample(kind)
        content = content if content is not None else sample_content
        mimetype = mimetype or sample_type
        filename = filename if filename is not None else sample_name
        chat_id = _chat(phone)
        message_id = new_message_id(chat_id, from_me=False)
        block = None
        if downloaded:
            stored = StoredMedia(
                name,
                f'{message_id}.{extension_of(mimetype)}',
                mimetype,
                content,
                chunk_size=chunk_size,
                chunk_delay=chunk_delay,
                declare_length=declare_length,
            )
            self.backend.keep_media(stored)
            block = build.media(f'{self.public_url}/api/files/{name}/{stored.name}', mimetype, filename)
        return self._inbound(
            name,
            chat_id,
            message_id=message_id,
            push_name=push_name,
            body=caption,
            kind=kind,
            media=block,
            has_media=True,
        )

    def customer_location(
        self, name: str, *, phone: str, latitude: float, longitude: float, description: str | None = None
    ) -> str:
        return self._inbound(
            name,
            _chat(phone),
            push_name='Cliente',
            kind='location',
            location=build.location(latitude, longitude, description),
        )

    def customer_contacts(self, name: str, *, phone: str, vcards: Sequence[str]) -> str:
        return self._inbound(name, _chat(phone), push_name='Cliente', kind='contacts', vcards=vcards)

    def group_message(self, name: str, *, group_id: str, participant_phone: str, text: str) -> str:
        """Someone wrote in a group the business is in (`…@g.us`, `participant` = who)."""
        group = group_id if group_id.endswith(GROUP_SUFFIX) else f'{group_id}{GROUP_SUFFIX}'
        return self._inbound(name, group, participant=_chat(participant_phone), push_name='Miembro', body=text)

    def lid_message(self, name: str, *, lid: str, text: str) -> str:
        """A message from a sender WhatsApp hides behind a `@lid` id (no phone number)."""
        chat = lid if lid.endswith(LID_SUFFIX) else f'{lid}{LID_SUFFIX}'
        return self._inbound(name, chat, push_name='Cliente', body=text)

    def phone_typed(self, name: str, *, phone: str, text: str) -> str:
        """Staff wrote to the customer from the phone itself: only `message.any`, `fromMe`, `source: app`."""
        return self._inbound(name, _chat(phone), from_me=True, body=text, events=('message.any',))

    def emit(self, name: str, event: str, payload: Any) -> None:
        """Post any event (reactions, revokes, presence, calls, or a name WAHA has not invented yet)."""
        with self._lock:
            self._post(self.session(name), event, payload)

    def ack(self, name: str, message_id: str, value: int) -> None:
        """A `message.ack` for one of our messages: 3 READ, 4 PLAYED, -1 ERROR (1/2 follow every send)."""
        chat = message_id.split('_')[1] if message_id.count('_') >= 2 else ''
        with self._lock:
            self._post(self.session(name), 'message.ack', build.ack(message_id, chat_id=chat, ack_value=value))

    # --- the state machine (under the lock) ---

    def _move(self, session: FakeSession, status: str, *, data: dict[str, Any] | None = None) -> None:
        session.status = status
        session.data = data
        session.generation += 1
        session.statuses = [*session.statuses, (status, int(time.time() * 1000))][-3:]
        self._post(
            session, 'session.status', build.session_status(session.name, status, statuses=session.statuses, data=data)
        )
        self._changed.notify_all()

    def _boot(self, session: FakeSession) -> None:
        """STOPPED → STARTING → WORKING (still paired) or SCAN_QR_CODE (a new QR), after `start_delay`."""
        self._move(session, SessionStatus.STARTING)
        if self.start_delay <= 0:
            self._booted(session, session.generation)
            return
        generation = session.generation
        loop = self._require_loop()
        loop.call_soon_threadsafe(self._later, self.start_delay, lambda: self._booted(session, generation))

    def _booted(self, session: FakeSession, generation: int) -> None:
        with self._lock:
            if self._sessions.get(session.name) is not session:
                return  # deleted (or forgotten) meanwhile
            if session.generation != generation or session.status != SessionStatus.STARTING:
                return  # stopped or restarted meanwhile
            if session.paired_phone:
                self._move(session, SessionStatus.WORKING)
            else:
                session.qr_value = new_qr_value()
                self._move(session, SessionStatus.SCAN_QR_CODE)

    def _stop(self, session: FakeSession) -> None:
        if session.status != SessionStatus.STOPPED:
            self._move(session, SessionStatus.STOPPED)

    def _inbound(
        self,
        name: str,
        chat_id: str,
        *,
        message_id: str | None = None,
        from_me: bool = False,
        participant: str | None = None,
        events: Sequence[str] = ('message', 'message.any'),
        **fields: Any,
    ) -> str:
        with self._lock:
            session = self.session(name)
            if session.status != SessionStatus.WORKING:
                raise FakeWahaError(f'session {name!r} is {session.status}: no messages arrive until it is WORKING')
            my_id = f'{session.paired_phone}{USER_SUFFIX}'
            payload = build.message(
                chat_id=chat_id,
                message_id=message_id,
                from_me=from_me,
                my_id=my_id,
                participant=participant,
                **fields,
            )
            for event in events:
                self._post(session, event, payload)
            return str(payload['id'])

    # --- webhooks ---

    def _post(self, session: FakeSession, event: str, payload: Any) -> None:
        """Queue `event` for every webhook of `session` that wants it (in order, on the serving loop)."""
        targets = [*_session_webhooks(session.config), *([self.default_webhook] if self.default_webhook else [])]
        wanted = [target for target in targets if target.wants(event)]
        if not wanted:
            return
        body = build.envelope(
            event,
            payload,
            session=session.name,
            me=session.me,
            metadata=dict(session.config.get('metadata') or {}),
            engine=self.engine,
        )
        loop = self._require_loop()
        queue = self._queue
        assert queue is not None  # bound together with the loop
        for target in wanted:
            loop.call_soon_threadsafe(queue.put_nowait, (self._epoch, target, body))

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            try:
                self.bind_loop()  # called from the serving loop (the app mounts the fake)
            except RuntimeError:
                raise FakeWahaError('the fake WAHA is not being served yet: no loop to post webhooks from') from None
        assert self._loop is not None
        return self._loop

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        """On the serving loop: run `action` after `delay` seconds (cancelled by aclose)."""
        assert self._loop is not None

        def fire() -> None:
            self._timers.discard(timer)
            action()

        timer = self._loop.call_later(delay, fire)
        self._timers.add(timer)

    async def _deliver_forever(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            if item is None:
                return
            epoch, target, body = item
            if epoch != self._epoch:
                continue  # queued before forget(): for a test that is over
            try:
                await self._deliver(epoch, target, body)
            except Exception:  # one bad delivery must not stop the ones after it
                log.exception('fake WAHA failed posting %s', body.get('event'))

    async def _deliver(self, epoch: int, target: WebhookTarget, body: dict[str, Any]) -> None:
        raw = json.dumps(body, ensure_ascii=False, separators=(',', ':')).encode()
        headers = {
            'Content-Type': 'application/json',
            'User-Agent': f'WAHA/{build.WAHA_VERSION}',
            'X-Webhook-Request-Id': build.new_event_id().removeprefix('evt_'),
            'X-Webhook-Timestamp': str(int(time.time() * 1000)),
        }
        if target.hmac_key:
            headers[HMAC_HEADER] = sign_body(raw, target.hmac_key)
            headers[HMAC_ALGORITHM_HEADER] = HMAC_ALGORITHM
        posted = PostedWebhook(body['event'], body['session'], target.url, body, raw, headers)
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(transport=self._webhook_transport, timeout=15.0)
        try:
            response = await self._webhook_client.post(target.url, content=raw, headers=headers)
            posted.status_code = response.status_code
            if response.status_code >= 300:
                log.warning('webhook %s answered %s: %s', target.url, response.status_code, response.text[:200])
        except httpx.HTTPError as exc:
            log.warning('fake WAHA could not post %s to %s: %s', body['event'], target.url, exc)
        with self._changed:
            if epoch == self._epoch:
                self._posted.append(posted)
            self._changed.notify_all()

    # --- WAHA's routes: sessions ---

    async def _list_sessions(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        show_all = request.query_params.get('all', 'false').lower() == 'true'
        with self._lock:
            sessions = [
                s.describe(self.engine)
                for s in self._sessions.values()
                if show_all or s.status != SessionStatus.STOPPED
            ]
        return JSONResponse(sessions)

    async def _create_session(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _nest(400, 'Bad Request', ['body must be a JSON object'])
        name = body.get('name') or f'session_{int(time.time() * 1000)}'
        config = body.get('config') or {}
        if not isinstance(name, str) or not isinstance(config, dict):
            return _nest(400, 'Bad Request', ['name must be a string', 'config must be an object'])
        with self._lock:
            if name in self._sessions:
                return _nest(422, 'Unprocessable Entity', f"Session '{name}' already exists. Use PUT to update it.")
            session = FakeSession(name, config=config)
            self._sessions[name] = session
            answer = session.describe(self.engine)
            if body.get('start', True):
                self._boot(session)
                answer['status'] = SessionStatus.STARTING  # what WAHA answers: the start has just begun
        return JSONResponse(answer, status_code=201)

    async def _get_session(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        with self._lock:
            session = self._sessions.get(request.path_params['session'])
            if session is None:
                return _not_found(request.path_params['session'])
            return JSONResponse(session.describe(self.engine))

    async def _update_session(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = await _json_body(request)
        config = body.get('config') if isinstance(body, dict) else None
        with self._lock:
            session = self._sessions.get(request.path_params['session'])
            if session is None:
                return _not_found(request.path_params['session'])
            session.config = config if isinstance(config, dict) else {}
            if session.status != SessionStatus.STOPPED:  # WAHA restarts it with the new config
                self._stop(session)
                self._boot(session)
            return JSONResponse(session.describe(self.engine))

    async def _delete_session(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        with self._lock:
            session = self._sessions.get(request.path_params['session'])
            if session is not None:
                self._stop(session)
                del self._sessions[session.name]
        return Response(status_code=200)

    async def _me(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        with self._lock:
            session = self._sessions.get(request.path_params['session'])
            if session is None:
                return _not_found(request.path_params['session'])
            return JSONResponse(session.me)

    async def _session_action(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        action = request.path_params['action']
        if action not in ('start', 'stop', 'restart', 'logout'):
            return _nest(404, 'Not Found', f'Cannot POST {request.url.path}')
        with self._lock:
            session = self._sessions.get(request.path_params['session'])
            if session is None:
                return _not_found(request.path_params['session'])
            if action == 'start':
                if session.status == SessionStatus.STOPPED:  # idempotent: a running session stays as it is
                    self._boot(session)
            elif action == 'stop':
                self._stop(session)
            elif action == 'restart':
                self._stop(session)
                self._boot(session)
            else:  # logout: forget the pairing; a running session starts over and asks for a QR
                running = session.status != SessionStatus.STOPPED
                session.paired_phone = None
                if running:
                    self._stop(session)
                    self._boot(session)
            return JSONResponse(session.describe(self.engine), status_code=201)

    async def _qr(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        with self._lock:
            session = self._sessions.get(request.path_params['session'])
            if session is None:
                return _not_found(request.path_params['session'])
            if session.status != SessionStatus.SCAN_QR_CODE:
                return _not_expected(session, 'qr')
            value = session.qr_value
        if request.query_params.get('format') == 'raw':
            return JSONResponse({'value': value})
        png = qr_png(value)
        if 'application/json' in request.headers.get('accept', '') and 'image/' not in request.headers.get(
            'accept', ''
        ):
            return JSONResponse({'mimetype': 'image/png', 'data': base64.b64encode(png).decode('ascii')})
        return Response(png, media_type='image/png')

    # --- WAHA's routes: messages ---

    async def _send_text(self, request: Request) -> Response:
        return await self._send(request, 'sendText')

    async def _send_image(self, request: Request) -> Response:
        return await self._send(request, 'sendImage')

    async def _send_file(self, request: Request) -> Response:
        return await self._send(request, 'sendFile')

    async def _send(self, request: Request, endpoint: str) -> Response:
        recorded = await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return self._answer(recorded, refused)
        with self._lock:
            scripted = self._send_script.popleft() if self._send_script else Reply()
        if scripted.delay:
            await asyncio.to_thread(self._stopping.wait, scripted.delay)
        if scripted.status >= 300 or scripted.body is not None:
            return self._answer(recorded, _scripted(scripted, request))
        body = recorded.json
        problems, content = _invalid_send(endpoint, body)
        if problems:
            return self._answer(recorded, _nest(400, 'Bad Request', problems))
        assert isinstance(body, dict)
        with self._lock:
            session = self._sessions.get(body.get('session') or build.DEFAULT_SESSION)
            if session is None:
                return self._answer(recorded, _not_found(body.get('session') or build.DEFAULT_SESSION))
            if session.status != SessionStatus.WORKING:
                return self._answer(recorded, _not_expected(session, 'send'))
            chat_id = _ensure_suffix(str(body['chatId']))
            message_id = new_message_id(chat_id, from_me=True)
            send = AcceptedSend(session.name, endpoint, chat_id, message_id, body, content)
            self.backend.keep_send(send)
            kind = {'sendText': 'text', 'sendImage': 'image', 'sendFile': 'document'}[endpoint]
            text = body.get('text') if endpoint == 'sendText' else body.get('caption') or ''
            echo = build.message(
                chat_id=chat_id,
                message_id=message_id,
                from_me=True,
                my_id=f'{session.paired_phone}{USER_SUFFIX}',
                body=str(text or ''),
                kind=kind,
                source='api',
                ack=0,
            )
            self._post(session, 'message.any', echo)
            self._schedule_acks(session, message_id, chat_id)
            answer = _send_answer(self.engine, echo)
        return self._answer(recorded, JSONResponse(answer, status_code=scripted.status))

    def _schedule_acks(self, session: FakeSession, message_id: str, chat_id: str) -> None:
        loop = self._require_loop()
        name = session.name
        for value, delay in ((1, self.ack_delays[0]), (2, self.ack_delays[0] + self.ack_delays[1])):

            def post(value: int = value) -> None:
                with self._lock:
                    if self._sessions.get(name) is session:  # not deleted or forgotten meanwhile
                        self._post(session, 'message.ack', build.ack(message_id, chat_id=chat_id, ack_value=value))

            loop.call_soon_threadsafe(self._later, delay, post)

    async def _send_seen(self, request: Request) -> Response:
        recorded = await self._record(request)
        if (refused := self._refusal(request)) is not None:
            return self._answer(recorded, refused)
        body = recorded.json
        if not isinstance(body, dict) or not isinstance(body.get('chatId'), str) or not body['chatId']:
            return self._answer(recorded, _nest(400, 'Bad Request', ['chatId should not be empty']))
        with self._lock:
            session = self._sessions.get(body.get('session') or build.DEFAULT_SESSION)
            if session is None:
                return self._answer(recorded, _not_found(body.get('session') or build.DEFAULT_SESSION))
            if session.status != SessionStatus.WORKING:
                return self._answer(recorded, _not_expected(session, 'send'))
            ids = body.get('messageIds') or ([body['messageId']] if body.get('messageId') else [])
            self.backend.keep_seen(SeenReceipt(session.name, _ensure_suffix(body['chatId']), tuple(map(str, ids))))
        return self._answer(recorded, Response(status_code=201))

    async def _check_exists(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        phone = request.query_params.get('phone', '')
        digits = ''.join(ch for ch in phone if ch.isdigit())
        if not digits:
            return _nest(400, 'Bad Request', ['phone should not be empty'])
        with self._lock:
            session = self._sessions.get(request.query_params.get('session') or build.DEFAULT_SESSION)
            if session is None:
                return _not_found(request.query_params.get('session') or build.DEFAULT_SESSION)
            if session.status != SessionStatus.WORKING:
                return _not_expected(session, 'send')
        exists = self.backend.number_exists(digits)
        return JSONResponse({'numberExists': exists, 'chatId': f'{digits}{USER_SUFFIX}' if exists else None})

    async def _file(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        media = self.backend.find_media(request.path_params['session'], request.path_params['name'])
        if media is None:
            return JSONResponse(
                {
                    'error': {
                        'code': 404,
                        'key': 'FILE_NOT_FOUND',
                        'message': 'File not found',
                        'details': 'File not found or no longer available',
                    }
                },
                status_code=404,
            )
        headers = {'Content-Length': str(len(media.content))} if media.declare_length else {}
        return StreamingResponse(self._stream(media), media_type=media.mimetype, headers=headers)

    async def _stream(self, media: StoredMedia) -> Any:
        for start in range(0, len(media.content), media.chunk_size):
            if media.chunk_delay and start:
                await asyncio.to_thread(self._stopping.wait, media.chunk_delay)
            chunk = media.content[start : start + media.chunk_size]
            media.bytes_served += len(chunk)
            yield chunk

    async def _version(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        return JSONResponse(build.environment(self.engine))

    # --- the control routes (not WAHA's) ---

    async def _control(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        name = request.path_params['session']
        action = request.path_params['action']
        body = await _json_body(request)
        body = body if isinstance(body, dict) else {}
        try:
            result = self._control_action(name, action, body)
        except (FakeWahaError, KeyError, TypeError, ValueError) as exc:
            return JSONResponse({'error': str(exc)}, status_code=409)
        return JSONResponse(result)

    def _control_action(self, name: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        if action == 'create':
            hook = body.get('webhook')
            target = WebhookTarget(hook, body.get('hmacKey')) if isinstance(hook, str) else None
            paired = body.get('pairedPhone', DEFAULT_PAIRED_PHONE)
            session = self.add_session(name, paired_phone=paired, start=body.get('start', True), webhook=target)
            return session.describe(self.engine)
        if action == 'scan':
            self.scan(
                name, phone=body.get('phone', DEFAULT_PAIRED_PHONE), push_name=body.get('pushName', DEFAULT_PUSH_NAME)
            )
        elif action == 'fail':
            self.fail(name)
        elif action == 'status':
            self.set_status(name, str(body['status']), data=body.get('data'))
        elif action == 'rotate-qr':
            return {'value': self.rotate_qr(name)}
        elif action == 'inbound':
            return {'id': self._control_inbound(name, body)}
        elif action == 'ack':
            self.ack(name, str(body['id']), int(body['ack']))
        elif action == 'event':
            self.emit(name, str(body['event']), body.get('payload'))
        else:
            raise FakeWahaError(f'unknown control action {action!r}')
        return self.session(name).describe(self.engine)

    def _control_inbound(self, name: str, body: dict[str, Any]) -> str:
        kind = str(body.get('type', 'text'))
        phone = str(body.get('phone', '5491155550101'))
        text = str(body.get('text', ''))
        if kind == 'text':
            return self.customer_text(name, phone=phone, text=text, reply_to=body.get('replyTo'))
        if kind in ('image', 'video', 'audio', 'voice', 'document', 'sticker'):
            data = body.get('data')
            content = base64.b64decode(data) if isinstance(data, str) else None
            return self.customer_media(
                name, phone=phone, kind=kind, content=content, mimetype=body.get('mimetype'), caption=text
            )
        if kind == 'location':
            return self.customer_location(
                name, phone=phone, latitude=float(body['latitude']), longitude=float(body['longitude'])
            )
        if kind == 'contacts':
            return self.customer_contacts(
                name, phone=phone, vcards=[build.vcard(str(body['name']), str(body['number']))]
            )
        if kind == 'group':
            return self.group_message(name, group_id=str(body['group']), participant_phone=phone, text=text)
        if kind == 'lid':
            return self.lid_message(name, lid=str(body['lid']), text=text)
        if kind == 'phone':
            return self.phone_typed(name, phone=phone, text=text)
        raise FakeWahaError(f'unknown inbound type {kind!r}')

    async def _control_script(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = await _json_body(request)
        items = body.get('items') if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, int | float) for i in items):
            return JSONResponse({'error': 'items: a list of statuses (int) and delays (float)'}, status_code=400)
        self.script_send(items)
        return JSONResponse({'queued': len(items)})

    async def _control_sends(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        sends = getattr(self.backend, 'sends', [])
        return JSONResponse(
            [
                {'session': s.session, 'endpoint': s.endpoint, 'chatId': s.chat_id, 'id': s.message_id, 'text': s.text}
                for s in sends
            ]
        )

    async def _control_number(self, request: Request) -> Response:
        if (refused := await self._guard(request)) is not None:
            return refused
        body = await _json_body(request)
        exists = bool(body.get('exists', True)) if isinstance(body, dict) else True
        set_exists = getattr(self.backend, 'set_number_exists', None)
        if set_exists is None:
            return JSONResponse({'error': 'this backend decides numbers on its own'}, status_code=409)
        set_exists(request.path_params['phone'], exists)
        return JSONResponse({'exists': exists})

    # --- helpers ---

    async def _guard(self, request: Request) -> Response | None:
        """Record the request (when asked to) and refuse a missing or wrong API key."""
        recorded = await self._record(request)
        refused = self._refusal(request)
        if refused is not None:
            self._answer(recorded, refused)
        return refused

    def _refusal(self, request: Request) -> Response | None:
        if self.api_key is None:
            return None
        given = request.headers.get(API_KEY_HEADER) or request.query_params.get('x-api-key') or ''
        if hmac.compare_digest(given.encode(), self.api_key.encode()):
            return None
        return JSONResponse({'message': 'Unauthorized', 'statusCode': 401}, status_code=401)

    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=raw,
            time=time.time(),
        )
        if raw:
            try:
                recorded.json = json.loads(raw)
            except ValueError:
                recorded.json = None
        if self.keep_requests:
            with self._changed:
                self._requests.append(recorded)
                self._changed.notify_all()
        return recorded

    def _answer(self, recorded: RecordedRequest, response: Response) -> Response:
        with self._lock:
            recorded.status = response.status_code
        return response


# --- WAHA's answers ---------------------------------------------------------------------------------------


def _nest(status: int, error: str, message: str | list[str]) -> JSONResponse:
    """NestJS's HttpException body, which WAHA passes through: `{statusCode, message, error}`."""
    return JSONResponse({'statusCode': status, 'message': message, 'error': error}, status_code=status)


def _not_found(name: str) -> JSONResponse:
    return _nest(
        404,
        'Not Found',
        f"We didn't find a session with name '{name}'.\nPlease start it first by using POST /api/sessions/{name}/start "
        'request',
    )


def _not_expected(session: FakeSession, need: str) -> JSONResponse:
    """WAHA's 422 when the session is not in the status a call needs (manager.abc.ts waitUntilStatus)."""
    body = {
        'error': _NOT_EXPECTED,
        'session': session.name,
        'status': session.status,
        'expected': _RUNNING_STATUSES_NEEDED[need],
    }
    return JSONResponse(body, status_code=422)


def _scripted(reply: Reply, request: Request) -> Response:
    if reply.body is not None:
        return JSONResponse(reply.body, status_code=reply.status)
    if reply.status in _HTML_STATUSES:
        title = '502 Bad Gateway' if reply.status == 502 else '504 Gateway Time-out'
        return Response(f'<html><body><h1>{title}</h1></body></html>', reply.status, media_type='text/html')
    if reply.status >= 500:
        # WAHA's AllExceptionsFilter body for an engine error.
        return JSONResponse(
            {
                'statusCode': reply.status,
                'timestamp': time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime()),
                'exception': {'message': reply.message or 'Evaluation failed: t', 'name': 'Error'},
                'request': {'path': request.url.path, 'method': request.method},
                'version': build.environment(),
            },
            status_code=reply.status,
        )
    return _nest(reply.status, 'Error', reply.message or 'Scripted failure')


def _send_answer(engine: str, echo: dict[str, Any]) -> dict[str, Any]:
    """What a send answers, per engine (WAHA passes the engine's own object through; issue #760)."""
    message_id = str(echo['id'])
    from_me, chat_id, key = message_id.split('_')[:3]
    if engine == 'NOWEB':
        return {
            'key': {'remoteJid': chat_id.replace(USER_SUFFIX, '@s.whatsapp.net'), 'fromMe': True, 'id': key},
            'message': {'extendedTextMessage': {'text': echo['body']}},
            'messageTimestamp': str(echo['timestamp']),
            'status': 'PENDING',
        }
    if engine == 'WEBJS':
        serialized = {'fromMe': from_me == 'true', 'remote': chat_id, 'id': key, '_serialized': message_id}
        return {
            '_data': {**echo['_data'], 'id': serialized},
            'id': serialized,
            'ack': 0,
            'hasMedia': echo['hasMedia'],
            'body': echo['body'],
            'type': echo['_data']['type'],
            'timestamp': echo['timestamp'],
            'from': echo['from'],
            'to': echo['to'],
            'fromMe': True,
        }
    return {k: v for k, v in echo.items() if k != 'source'}  # GOWS and newer: WAHA's own WAMessage


def _invalid_send(endpoint: str, body: Any) -> tuple[list[str], bytes | None]:
    """The validation errors WAHA's DTOs would give (class-validator messages), and the file's bytes."""
    if not isinstance(body, dict):
        return ['body must be a JSON object'], None
    problems = []
    if not isinstance(body.get('chatId'), str) or not body['chatId']:
        problems.append('chatId should not be empty')
    if endpoint == 'sendText':
        if not isinstance(body.get('text'), str) or not body['text']:
            problems.append('text should not be empty')
        return problems, None
    file = body.get('file')
    if not isinstance(file, dict) or not isinstance(file.get('mimetype'), str):
        return [*problems, 'file.mimetype should not be empty'], None
    if isinstance(file.get('data'), str):
        try:
            return problems, base64.b64decode(file['data'], validate=True)
        except (binascii.Error, ValueError):
            return [*problems, 'file.data must be base64 encoded'], None
    if isinstance(file.get('url'), str) and file['url']:
        return problems, None
    return [*problems, 'file must have either url or data'], None


def _ensure_suffix(chat_id: str) -> str:
    """WAHA's ensureSuffix: a bare phone number is a user chat."""
    chat_id = normalize_chat_id(chat_id.strip())
    return chat_id if '@' in chat_id else f'{chat_id.lstrip("+")}{USER_SUFFIX}'


def _chat(phone: str) -> str:
    return phone if '@' in phone else f'{"".join(ch for ch in phone if ch.isdigit())}{USER_SUFFIX}'


def _session_webhooks(config: Mapping[str, Any]) -> list[WebhookTarget]:
    targets = []
    for hook in config.get('webhooks') or []:
        if not isinstance(hook, Mapping) or not isinstance(hook.get('url'), str):
            continue
        hmac_config = hook.get('hmac')
        key = hmac_config.get('key') if isinstance(hmac_config, Mapping) else None
        events = tuple(str(e) for e in hook.get('events') or ())
        targets.append(WebhookTarget(hook['url'], key if isinstance(key, str) and key else None, events))
    return targets


def _webhook_config(target: WebhookTarget) -> dict[str, Any]:
    hook: dict[str, Any] = {'url': target.url, 'events': list(target.events)}
    if target.hmac_key:
        hook['hmac'] = {'key': target.hmac_key}
    return hook


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _as_reply(item: ScriptItem) -> Reply:
    if isinstance(item, Reply):
        return item
    if isinstance(item, float):
        return Reply(delay=item)
    return Reply(status=item)
