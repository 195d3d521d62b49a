"""`WahaClient`: WAHA's HTTP API (sessions, QR, sends, contacts, media) over httpx, with typed results and one
error type.

Every request carries `X-Api-Key` when a key is configured. Nothing here retries: the outbox owns retries (and a
send that timed out may have gone out). Errors:

- `WahaUnreachable` (a `WahaError`): no connection to the gateway (refused, DNS, connect timeout). Retryable.
- `WahaSessionNotReady` (a `WahaError`): WAHA's 422 "Session status is not as expected" (a send while the session
  is not WORKING, a QR while it is not SCAN_QR_CODE); `session_status` says where it is. Retryable.
- `WahaError`: anything else; `status_code` (None without an answer), `retryable` (5xx, 429, timeouts, broken
  connections → True; other 4xx, incl. 401/403 = a wrong API key, → False), `waha_message` (WAHA's own text).

Send answers differ by engine (WAHA issue #760): WEBJS answers whatsapp-web.js's message (`id._serialized`), NOWEB
Baileys' (`key: {remoteJid, fromMe, id}`), others WAHA's WAMessage (`id`). `message_id_of` reads all three. A 2xx
without any id (WAHA issue #1087) raises `WahaError` with `accepted=True`: the message went out, its id is unknown.

Sources (waha-docs): content/docs/how-to/sessions/index.md (session API, statuses, QR formats, me),
content/docs/how-to/send-messages/index.md (sendText/sendImage/sendFile/sendSeen, `file` {mimetype, filename,
url|data}, reply_to), content/docs/how-to/contacts/index.md (check-exists), content/docs/how-to/security/index.md
(X-Api-Key, 401 body), content/docs/how-to/receive-messages/index.md (media download with the key); WAHA source
src/core/abc/manager.abc.ts (422 body), src/core/manager.core.ts (404 body).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .ids import normalize_chat_id

API_KEY_HEADER = 'X-Api-Key'
WEBHOOK_EVENTS = ('message', 'message.any', 'message.ack', 'session.status')
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


class SessionStatus:
    """The session statuses WAHA documents. A session's `status` stays a plain string: WAHA adds new ones."""

    STOPPED = 'STOPPED'
    STARTING = 'STARTING'
    SCAN_QR_CODE = 'SCAN_QR_CODE'
    WORKING = 'WORKING'
    FAILED = 'FAILED'
    PASSKEY_REQUIRED = 'PASSKEY_REQUIRED'  # WAHA 2026 (GOWS): WhatsApp wants a WebAuthn passkey to finish pairing
    PASSKEY_CONFIRMATION_REQUIRED = 'PASSKEY_CONFIRMATION_REQUIRED'


KNOWN_SESSION_STATUSES = frozenset(
    value for name, value in vars(SessionStatus).items() if name.isupper() and isinstance(value, str)
)


# --- results ----------------------------------------------------------------------------------------------


class WahaMe(BaseModel):
    """The WhatsApp account a session is paired with."""

    model_config = ConfigDict(frozen=True, extra='ignore', populate_by_name=True)

    id: str  # `5491155550101@c.us`
    push_name: str | None = Field(default=None, alias='pushName')

    @property
    def phone(self) -> str | None:
        user = normalize_chat_id(self.id).split('@', 1)[0]
        return user if user.isdigit() else None


class WahaSession(BaseModel):
    """A session as `GET /api/sessions/{session}` describes it."""

    model_config = ConfigDict(frozen=True, extra='ignore', populate_by_name=True)

    name: str
    status: str  # raw: see SessionStatus, and expect others
    me: WahaMe | None = None
    engine: str | None = None
    config: dict[str, Any] | None = None

    @field_validator('engine', mode='before')
    @classmethod
    def _engine_name(cls, value: Any) -> Any:
        # WAHA nests it: `"engine": {"engine": "NOWEB"}`.
        return value.get('engine') if isinstance(value, Mapping) else value

    @property
    def is_known_status(self) -> bool:
        return self.status in KNOWN_SESSION_STATUSES


# --- errors -----------------------------------------------------------------------------------------------


class WahaError(Exception):
    """A WAHA call that did not do what was asked (see the module docstring for the fields)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        waha_message: str | None = None,
        body: Any = None,
        accepted: bool = False,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
        self.waha_message = waha_message
        self.body = body
        self.accepted = accepted  # WAHA took the send (2xx) but gave no message id

    @property
    def bad_api_key(self) -> bool:
        return self.status_code in (401, 403)


class WahaUnreachable(WahaError):
    """The gateway could not be reached at all."""


class WahaSessionNotReady(WahaError):
    """WAHA's 422: the session is not in the status the call needs."""

    def __init__(self, message: str, *, session_status: str | None, expected: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.session_status = session_status
        self.expected = expected


class MediaTooLarge(WahaError):
    """A media file over the size limit: refused before reading it all."""

    def __init__(self, message: str, *, size: int | None, max_bytes: int) -> None:
        super().__init__(message, retryable=False)
        self.size = size
        self.max_bytes = max_bytes


# --- the client -------------------------------------------------------------------------------------------


class WahaClient:
    """WAHA's HTTP API. `async with WahaClient(base_url=…, api_key=…) as waha: await waha.get_session('default')`."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip('/')
        self._api_key = api_key or None
        headers = {API_KEY_HEADER: self._api_key} if self._api_key else {}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={'Accept': 'application/json', **headers},
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- sessions ---

    async def list_sessions(self, *, all: bool = True) -> list[WahaSession]:  # noqa: A002 - WAHA's parameter name
        """Every session; `all=False` leaves out STOPPED ones (WAHA's default)."""
        body = await self._json('GET', '/api/sessions', params={'all': 'true'} if all else None)
        if not isinstance(body, list):
            raise _unexpected('GET /api/sessions', body)
        return [WahaSession.model_validate(item) for item in body]

    async def get_session(self, name: str) -> WahaSession:
        return WahaSession.model_validate(await self._json('GET', f'/api/sessions/{_seg(name)}'))

    async def create_session(
        self,
        name: str,
        *,
        webhook_url: str | None,
        webhook_hmac_key: str | None,
        start: bool = True,
        metadata: Mapping[str, str] | None = None,
    ) -> WahaSession:
        """Create a session posting `message`, `message.any`, `message.ack` and `session.status` to `webhook_url`
        (signed with `webhook_hmac_key` when given); WAHA answers 422 if it already exists (use `update_session`)."""
        body: dict[str, Any] = {
            'name': name,
            'start': start,
            'config': session_config(webhook_url=webhook_url, webhook_hmac_key=webhook_hmac_key, metadata=metadata),
        }
        return WahaSession.model_validate(await self._json('POST', '/api/sessions', json=body))

    async def update_session(
        self,
        name: str,
        *,
        webhook_url: str | None,
        webhook_hmac_key: str | None,
        metadata: Mapping[str, str] | None = None,
    ) -> WahaSession:
        """Replace the session's config (WAHA restarts a running session to apply it)."""
        body = {
            'name': name,
            'config': session_config(webhook_url=webhook_url, webhook_hmac_key=webhook_hmac_key, metadata=metadata),
        }
        return WahaSession.model_validate(await self._json('PUT', f'/api/sessions/{_seg(name)}', json=body))

    async def delete_session(self, name: str) -> None:
        await self._json('DELETE', f'/api/sessions/{_seg(name)}')

    async def start_session(self, name: str) -> WahaSession:
        return await self._session_action(name, 'start')

    async def stop_session(self, name: str) -> WahaSession:
        return await self._session_action(name, 'stop')

    async def restart_session(self, name: str) -> WahaSession:
        return await self._session_action(name, 'restart')

    async def logout_session(self, name: str) -> WahaSession:
        """Unpair the phone (WAHA keeps the config; a running session starts over, asking for a new QR)."""
        return await self._session_action(name, 'logout')

    async def me(self, name: str) -> WahaMe | None:
        """The paired account; None while the session is not paired (WAHA answers `null`)."""
        body = await self._json('GET', f'/api/sessions/{_seg(name)}/me')
        return WahaMe.model_validate(body) if isinstance(body, Mapping) and body.get('id') else None

    # --- pairing ---

    async def get_qr_png(self, name: str) -> bytes:
        """The QR to scan, as PNG bytes (only while SCAN_QR_CODE; otherwise `WahaSessionNotReady`)."""
        response = await self._request(
            'GET', f'/api/{_seg(name)}/auth/qr', params={'format': 'image'}, headers={'Accept': 'image/png'}
        )
        content = response.content
        if content.startswith(PNG_SIGNATURE):
            return content
        body = _json_of(response)
        # Behind some proxies the Accept header is lost and WAHA answers its base64 form: {mimetype, data}.
        if isinstance(body, Mapping) and isinstance(body.get('data'), str):
            decoded = base64.b64decode(body['data'])
            if decoded.startswith(PNG_SIGNATURE):
                return decoded
        raise _unexpected(f'GET /api/{name}/auth/qr', body if body is not None else content[:64])

    async def get_qr_value(self, name: str) -> str:
        """The QR's raw text (`format=raw` → `{"value"}`), to draw it ourselves."""
        body = await self._json('GET', f'/api/{_seg(name)}/auth/qr', params={'format': 'raw'})
        if not isinstance(body, Mapping) or not isinstance(body.get('value'), str):
            raise _unexpected(f'GET /api/{name}/auth/qr?format=raw', body)
        return str(body['value'])

    # --- messages ---

    async def send_text(self, session: str, *, chat_id: str, text: str, reply_to: str | None = None) -> str:
        """Send `text`; returns the new message's id (`true_…@c.us_…`, what its `message.ack` events carry)."""
        body: dict[str, Any] = {'session': session, 'chatId': chat_id, 'text': text}
        if reply_to:
            body['reply_to'] = reply_to
        return await self._send('/api/sendText', body)

    async def send_image(
        self,
        session: str,
        *,
        chat_id: str,
        content: bytes,
        mime_type: str,
        filename: str,
        caption: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        body = _file_body(
            session,
            chat_id,
            content=content,
            mime_type=mime_type,
            filename=filename,
            caption=caption,
            reply_to=reply_to,
        )
        return await self._send('/api/sendImage', body)

    async def send_file(
        self,
        session: str,
        *,
        chat_id: str,
        content: bytes,
        mime_type: str,
        filename: str,
        caption: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send a document (PDF quotes, spreadsheets…): the customer gets it with its file name."""
        body = _file_body(
            session,
            chat_id,
            content=content,
            mime_type=mime_type,
            filename=filename,
            caption=caption,
            reply_to=reply_to,
        )
        return await self._send('/api/sendFile', body)

    async def send_seen(
        self, session: str, *, chat_id: str, message_ids: list[str], participant: str | None = None
    ) -> None:
        """Mark the customer's messages read (blue ticks); in groups `participant` is who wrote them."""
        body: dict[str, Any] = {'session': session, 'chatId': chat_id, 'messageIds': list(message_ids)}
        if participant:
            body['participant'] = participant
        await self._json('POST', '/api/sendSeen', json=body)

    async def check_exists(self, session: str, *, phone: str) -> tuple[bool, str | None]:
        """(number has WhatsApp, its chat id): use that chat id to write (Brazil's extra 9, per the docs)."""
        digits = ''.join(ch for ch in phone if ch.isdigit())
        body = await self._json('GET', '/api/contacts/check-exists', params={'phone': digits, 'session': session})
        if not isinstance(body, Mapping) or not isinstance(body.get('numberExists'), bool):
            raise _unexpected('GET /api/contacts/check-exists', body)
        chat_id = body.get('chatId')
        return body['numberExists'], chat_id if isinstance(chat_id, str) and chat_id else None

    # --- media ---

    async def download_media(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        """(bytes, content type) of a `media.url` from an event; `MediaTooLarge` over `max_bytes`, refused from its
        Content-Length or as soon as the stream passes the limit, never read whole.

        The API key goes only to this gateway: a URL on another origin under `/api/files/` (WAHA_BASE_URL set to an
        address LeadMaster does not use) is fetched from `base_url` instead; any other origin is refused.
        """
        target = self._media_url(url)
        try:
            async with self._http.stream('GET', target, headers={'Accept': '*/*'}) as response:
                if response.status_code >= 300:
                    await response.aread()
                    raise _status_error('GET', target, response)
                declared = response.headers.get('content-length')
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(
                        f'the WAHA media file is {int(declared)} bytes, over the {max_bytes}-byte limit',
                        size=int(declared),
                        max_bytes=max_bytes,
                    )
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise MediaTooLarge(
                            f'the WAHA media file passed the {max_bytes}-byte limit', size=None, max_bytes=max_bytes
                        )
                    chunks.append(chunk)
                content_type = response.headers.get('content-type', 'application/octet-stream')
                return b''.join(chunks), content_type.split(';', 1)[0].strip()
        except httpx.HTTPError as exc:
            raise _transport_error('GET', target, exc) from exc

    def _media_url(self, url: str) -> str:
        parts = urlsplit(url)
        base = urlsplit(self.base_url)
        if not parts.scheme and not parts.netloc:
            return self.base_url + '/' + url.lstrip('/')
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
            return url
        if parts.path.startswith('/api/files/'):
            return urlunsplit((base.scheme, base.netloc, base.path.rstrip('/') + parts.path, parts.query, ''))
        raise WahaError(
            f'media URL {url} is not on the WAHA gateway ({self.base_url}): not sending the API key there',
            retryable=False,
        )

    # --- plumbing ---

    async def _session_action(self, name: str, action: str) -> WahaSession:
        body = await self._json('POST', f'/api/sessions/{_seg(name)}/{action}')
        if isinstance(body, Mapping) and body.get('name'):
            return WahaSession.model_validate(body)
        # Some WAHA versions answer these with an empty body: ask for the session instead.
        return await self.get_session(name)

    async def _send(self, path: str, body: dict[str, Any]) -> str:
        response = await self._request('POST', path, json=body)
        answer = _json_of(response)
        message_id = message_id_of(answer)
        if message_id is None:
            raise WahaError(
                f'WAHA accepted POST {path} ({response.status_code}) but answered no message id',
                status_code=response.status_code,
                retryable=False,
                body=answer,
                accepted=True,
            )
        return message_id

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _json_of(await self._request(method, path, **kwargs))

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _transport_error(method, path, exc) from exc
        if response.status_code >= 300:
            raise _status_error(method, path, response)
        return response


def session_config(
    *, webhook_url: str | None, webhook_hmac_key: str | None, metadata: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A session's `config`: our webhook (events, HMAC key) and metadata."""
    config: dict[str, Any] = {}
    if webhook_url:
        webhook: dict[str, Any] = {'url': webhook_url, 'events': list(WEBHOOK_EVENTS)}
        if webhook_hmac_key:
            webhook['hmac'] = {'key': webhook_hmac_key}
        config['webhooks'] = [webhook]
    if metadata:
        config['metadata'] = dict(metadata)
    return config


def message_id_of(answer: Any) -> str | None:
    """The serialized id of a sent message from a send's answer, whichever engine answered (see module doc)."""
    if not isinstance(answer, Mapping):
        return None
    found = answer.get('id')
    if isinstance(found, str) and found:
        return found  # WAMessage
    if isinstance(found, Mapping) and isinstance(found.get('_serialized'), str):
        return str(found['_serialized'])  # WEBJS
    data = answer.get('_data')
    if isinstance(data, Mapping) and isinstance(data.get('id'), Mapping):
        serialized = data['id'].get('_serialized')
        if isinstance(serialized, str) and serialized:
            return serialized
    key = answer.get('key')
    if isinstance(key, Mapping) and isinstance(key.get('id'), str) and isinstance(key.get('remoteJid'), str):
        # NOWEB (Baileys): rebuild WAHA's serialized id, the one its message.ack events carry.
        from_me = 'true' if key.get('fromMe', True) else 'false'
        tail = f'_{key["participant"]}' if isinstance(key.get('participant'), str) and key['participant'] else ''
        return f'{from_me}_{normalize_chat_id(key["remoteJid"])}_{key["id"]}{tail}'
    return None


def _file_body(
    session: str,
    chat_id: str,
    *,
    content: bytes,
    mime_type: str,
    filename: str,
    caption: str | None,
    reply_to: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        'session': session,
        'chatId': chat_id,
        'file': {'mimetype': mime_type, 'filename': filename, 'data': base64.b64encode(content).decode('ascii')},
    }
    if caption:
        body['caption'] = caption
    if reply_to:
        body['reply_to'] = reply_to
    return body


def _seg(value: str) -> str:
    return quote(value, safe='')


def _json_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _unexpected(what: str, body: Any) -> WahaError:
    return WahaError(f'WAHA answered {what} with an unexpected body: {str(body)[:200]}', retryable=False, body=body)


def waha_message_of(body: Any) -> str | None:
    """WAHA's own error text: NestJS `message` (a string or a list of validation errors), `error`, or
    `exception.message` for its 500s."""
    if not isinstance(body, Mapping):
        return None
    for key in ('message', 'error'):
        value = body.get(key)
        if isinstance(value, str) and value:
            if key == 'error' and isinstance(body.get('message'), list):
                continue
            return value
        if isinstance(value, list) and value:
            return '; '.join(str(item) for item in value)
        if isinstance(value, Mapping) and isinstance(value.get('message'), str):
            return str(value['message'])
    exception = body.get('exception')
    if isinstance(exception, Mapping) and isinstance(exception.get('message'), str):
        return str(exception['message'])
    return None


def _status_error(method: str, path: str, response: httpx.Response) -> WahaError:
    status = response.status_code
    body = _json_of(response)
    text = waha_message_of(body) or response.text[:200].strip() or response.reason_phrase
    where = f'WAHA {method} {path} answered {status}'
    if status in (401, 403):
        return WahaError(
            f'{where}: the API key was refused (X-Api-Key): {text}',
            status_code=status,
            retryable=False,
            waha_message=text,
            body=body,
        )
    if status == 422 and isinstance(body, Mapping) and 'expected' in body:
        current = body.get('status')
        expected = [str(item) for item in body.get('expected') or []]
        return WahaSessionNotReady(
            f'{where}: session "{body.get("session")}" is {current}, needs {" or ".join(expected)} ({text})',
            session_status=str(current) if current is not None else None,
            expected=expected,
            status_code=status,
            retryable=True,
            waha_message=text,
            body=body,
        )
    return WahaError(
        f'{where}: {text}',
        status_code=status,
        retryable=status >= 500 or status in (408, 429),
        waha_message=text,
        body=body,
    )


def _transport_error(method: str, path: str, exc: httpx.HTTPError) -> WahaError:
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return WahaUnreachable(f'WAHA gateway unreachable ({method} {path}): {exc!r}', retryable=True)
    if isinstance(exc, httpx.TimeoutException):
        return WahaError(f'WAHA {method} {path} timed out: {exc!r}', retryable=True)
    return WahaError(f'WAHA {method} {path} failed: {exc!r}', retryable=True)
