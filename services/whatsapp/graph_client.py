"""Meta Graph API client for the WhatsApp Cloud API (M1-M3): send, mark read, upload and download media.

Every failure surfaces as one `GraphError` whose `retryable` flag is what the outbox acts on: retry with
backoff, or mark the message failed for good. The client itself never retries, because only the outbox
knows whether a second attempt is safe (a timed-out send may still have been delivered).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx

TEXT_BODY_LIMIT = 4096
CAPTION_LIMIT = 1024  # image, document and video captions; for callers that validate input early
MEDIA_KINDS = frozenset({'image', 'document', 'audio', 'video', 'sticker'})

# Throttling and transient server trouble: the same request can succeed later.
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131056, 133004})
# 408 only ever comes from proxies in front of Graph, and is as transient as a 5xx.
_RETRYABLE_STATUSES = frozenset({408, 429})

# Meta puts titles inside `message` and plans to drop them, so agents get our own short ones, keyed by code.
ERROR_TITLES: dict[int, str] = {
    0: 'No autenticado',
    1: 'Error desconocido de la API',
    2: 'Servicio de la API no disponible por el momento',
    4: 'Demasiadas llamadas a la API',
    10: 'Permiso denegado',
    17: 'Límite de llamadas del usuario alcanzado',
    32: 'Límite de llamadas alcanzado',
    100: 'Parámetro inválido',
    190: 'Token de acceso vencido o inválido',
    368: 'Bloqueado temporalmente por incumplir políticas',
    613: 'Límite de velocidad de llamadas alcanzado',
    80007: 'Límite de la cuenta de WhatsApp Business alcanzado',
    130429: 'Límite de envíos por segundo alcanzado',
    131000: 'Algo salió mal en Meta',
    131008: 'Falta un parámetro obligatorio',
    131009: 'Valor de parámetro inválido',
    131016: 'Servicio no disponible por el momento',
    131021: 'El destinatario es el mismo número que envía',
    131026: 'Mensaje no entregable',
    131031: 'Cuenta bloqueada',
    131042: 'Problema con el método de pago',
    131047: 'Pasaron más de 24 h desde el último mensaje del cliente',
    131048: 'Límite por spam alcanzado',
    131049: 'Meta no entregó el mensaje para cuidar la experiencia del cliente',
    131051: 'Tipo de mensaje no soportado',
    131052: 'No se pudo descargar el archivo',
    131053: 'No se pudo subir el archivo',
    131056: 'Demasiados mensajes seguidos al mismo cliente',
    132000: 'La cantidad de variables no coincide con la plantilla',
    132001: 'La plantilla no existe en ese idioma',
    132005: 'El texto de la plantilla es demasiado largo',
    132007: 'La plantilla incumple las políticas de formato',
    132012: 'Formato de las variables de la plantilla incorrecto',
    132015: 'Plantilla pausada por baja calidad',
    133004: 'Servidor de Meta no disponible por el momento',
}
_TEMPLATE_CODES = range(132000, 132016)
_TAGS = re.compile(r'<[^>]*>')


class GraphError(Exception):
    """A Graph API call that did not succeed; `retryable` says whether the same call may succeed later."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None,
        code: int | None = None,
        subcode: int | None = None,
        title: str = '',
        details: str = '',
        retryable: bool = False,
        retry_after: float | None = None,
        fbtrace_id: str | None = None,
        may_have_arrived: bool = False,
    ) -> None:
        self.status_code = status_code
        # The request went out but no answer came back (read timeout, dropped connection): Meta may have it.
        self.may_have_arrived = may_have_arrived
        self.code = code
        self.subcode = subcode
        self.title = title or message
        self.message = message
        self.details = details
        self.retryable = retryable
        self.retry_after = retry_after
        self.fbtrace_id = fbtrace_id
        super().__init__(self._summary())

    def _summary(self) -> str:
        where = f'HTTP {self.status_code}' if self.status_code is not None else 'no response'
        code = f', code {self.code}' if self.code is not None else ''
        text = f'{self.title} ({where}{code}): {self.message}'
        return f'{text} - {self.details}' if self.details else text


class MediaTooLarge(GraphError):
    """The media is bigger than we accept; downloading again will not make it smaller."""

    def __init__(
        self,
        *,
        max_bytes: int,
        received: int | None = None,
        declared: int | None = None,
        status_code: int | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.received = received
        self.declared = declared
        size = f'{declared} bytes declared' if declared is not None else f'more than {max_bytes} bytes received'
        super().__init__(
            f'media exceeds the {max_bytes}-byte limit ({size})',
            status_code=status_code,
            title='Archivo demasiado grande',
            retryable=False,
        )


@dataclass(frozen=True)
class MediaInfo:
    url: str  # short-lived (about 5 minutes) and only downloadable with the bearer token
    mime_type: str
    sha256: str
    file_size: int | None
    media_id: str


def classify_error(status_code: int | None, body: Any, *, retry_after: float | None = None) -> GraphError:
    """Turn an HTTP status and a Graph error body (dict, JSON text or bytes, or anything else) into a GraphError.

    `status_code` None means no response at all (timeout, refused connection): always retryable.
    """
    error = _error_object(body)
    if error is None:
        return GraphError(
            _non_json_message(status_code, body),
            status_code=status_code,
            title=_status_title(status_code),
            retryable=_status_is_retryable(status_code),
            retry_after=retry_after,
        )
    code = _as_int(error.get('code'))
    error_data = error.get('error_data')
    details = error_data.get('details') if isinstance(error_data, dict) else None
    message = str(error.get('message') or error.get('error_user_msg') or f'HTTP {status_code}')
    title = error.get('error_user_title') or _code_title(code) or _status_title(status_code)
    retryable = _status_is_retryable(status_code) or code in RETRYABLE_CODES
    trace = error.get('fbtrace_id')
    return GraphError(
        message,
        status_code=status_code,
        code=code,
        subcode=_as_int(error.get('error_subcode')),
        title=str(title),
        details=str(details or error.get('error_user_msg') or ''),
        retryable=retryable,
        retry_after=retry_after,
        fbtrace_id=str(trace) if trace else None,
    )


def _error_object(body: Any) -> dict[str, Any] | None:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode('utf-8', errors='replace')
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and isinstance(body.get('error'), dict):
        return body['error']
    return None


def _non_json_message(status_code: int | None, body: Any) -> str:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode('utf-8', errors='replace')
    # Proxies answer with HTML pages: keep their words, drop the markup.
    text = ' '.join(_TAGS.sub(' ', str(body)).split())[:200] if body else ''
    where = f'HTTP {status_code}' if status_code is not None else 'no response from the Graph API'
    return f'{where}: {text}' if text else where


def _status_is_retryable(status_code: int | None) -> bool:
    return status_code is None or status_code >= 500 or status_code in _RETRYABLE_STATUSES


def _status_title(status_code: int | None) -> str:
    if status_code is None:
        return 'Sin respuesta de Meta'
    if status_code == 429:
        return 'Demasiadas solicitudes'
    if status_code >= 500:
        return 'Error del servidor de Meta'
    if status_code == 401:
        return 'No autorizado'
    return f'Error HTTP {status_code}'


def _code_title(code: int | None) -> str | None:
    if code is None:
        return None
    if code in ERROR_TITLES:
        return ERROR_TITLES[code]
    return 'Problema con la plantilla' if code in _TEMPLATE_CODES else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class GraphClient:
    """One client per process (it pools connections); `base_url` like 'https://graph.facebook.com/v23.0'."""

    def __init__(
        self, *, base_url: str, token: str, timeout: float = 15.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._base_url = base_url.rstrip('/')
        self._auth = {'Authorization': f'Bearer {token}'}
        # No base_url on the httpx client: media download URLs live on another host (lookaside.fbsbx.com).
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- messages ---

    async def send_message(self, phone_number_id: str, message: dict[str, Any]) -> str:
        """POST a message object (any type); returns the new `wamid.…` id."""
        payload = {'messaging_product': 'whatsapp', **message}
        data = await self._call('POST', f'{self._base_url}/{phone_number_id}/messages', json=payload)
        wamid = _first_message_id(data)
        if wamid is None:
            # Permanent: Meta may well have accepted it, and sending again could deliver it twice.
            raise GraphError(
                f'send accepted without a message id in the response: {_snippet(data)}',
                status_code=200,
                title='Respuesta de Meta sin id de mensaje',
                retryable=False,
            )
        return wamid

    async def send_text(
        self,
        phone_number_id: str,
        *,
        to: str,
        body: str,
        reply_to: str | None = None,
        preview_url: bool = False,
        callback_data: str | None = None,
    ) -> str:
        if len(body) > TEXT_BODY_LIMIT:
            raise ValueError(f'text body has {len(body)} characters; WhatsApp accepts at most {TEXT_BODY_LIMIT}')
        message = _envelope(to, 'text', callback_data, reply_to)
        message['text'] = {'preview_url': preview_url, 'body': body}
        return await self.send_message(phone_number_id, message)

    async def send_template(
        self,
        phone_number_id: str,
        *,
        to: str,
        name: str,
        language: str,
        body_parameters: list[str],
        callback_data: str | None = None,
    ) -> str:
        template: dict[str, Any] = {'name': name, 'language': {'code': language}}
        if body_parameters:
            template['components'] = [
                {'type': 'body', 'parameters': [{'type': 'text', 'text': value} for value in body_parameters]},
            ]
        message = _envelope(to, 'template', callback_data)
        message['template'] = template
        return await self.send_message(phone_number_id, message)

    async def send_media(
        self,
        phone_number_id: str,
        *,
        to: str,
        kind: str,
        media_id: str,
        caption: str = '',
        filename: str = '',
        callback_data: str | None = None,
    ) -> str:
        if kind not in MEDIA_KINDS:
            raise ValueError(f'unknown media kind {kind!r}; expected one of {sorted(MEDIA_KINDS)}')
        # Captions (image/document/video, <= 1024 chars) and filenames (documents) are passed as given: if Graph
        # refuses them, a permanent GraphError lets the outbox fail the message visibly instead of crash-looping.
        media: dict[str, Any] = {'id': media_id}
        if caption:
            media['caption'] = caption
        if filename:
            media['filename'] = filename
        message = _envelope(to, kind, callback_data)
        message[kind] = media
        return await self.send_message(phone_number_id, message)

    async def mark_read(self, phone_number_id: str, wa_message_id: str) -> None:
        """Blue ticks for this inbound message (and, per Meta, every earlier one in the chat)."""
        payload = {'messaging_product': 'whatsapp', 'status': 'read', 'message_id': wa_message_id}
        data = await self._call('POST', f'{self._base_url}/{phone_number_id}/messages', json=payload)
        if isinstance(data, dict) and data.get('success') is False:
            raise GraphError(
                f'mark as read refused: {_snippet(data)}',
                status_code=200,
                title='Meta no marcó el mensaje como leído',
                retryable=False,
            )

    # --- media ---

    async def upload_media(self, phone_number_id: str, *, content: bytes, mime_type: str, filename: str) -> str:
        """Upload for a later send; returns the media id (valid 30 days on Meta's side)."""
        data = await self._call(
            'POST',
            f'{self._base_url}/{phone_number_id}/media',
            data={'messaging_product': 'whatsapp', 'type': mime_type},
            files={'file': (filename, content, mime_type)},
        )
        media_id = data.get('id') if isinstance(data, dict) else None
        if not media_id:
            raise GraphError(
                f'upload accepted without a media id: {_snippet(data)}',
                status_code=200,
                title='Respuesta de Meta sin id de archivo',
                retryable=False,
            )
        return str(media_id)

    async def media_info(self, media_id: str) -> MediaInfo:
        data = await self._call('GET', f'{self._base_url}/{media_id}')
        if not isinstance(data, dict) or not data.get('url'):
            raise GraphError(
                f'media lookup returned no URL: {_snippet(data)}',
                status_code=200,
                title='Respuesta de Meta sin URL de archivo',
                retryable=False,
            )
        return MediaInfo(
            url=str(data['url']),
            mime_type=str(data.get('mime_type') or 'application/octet-stream'),
            sha256=str(data.get('sha256') or ''),
            file_size=_as_int(data.get('file_size')),  # Graph sends it as a string ("303833")
            media_id=str(data.get('id') or media_id),
        )

    async def download_media(self, url: str, *, max_bytes: int) -> bytes:
        """Download a media URL from `media_info`, refusing anything over `max_bytes` as soon as it shows."""
        try:
            async with self._http.stream('GET', url, headers=self._auth) as response:
                if not response.is_success:
                    body = await _read_capped(response, 64 * 1024)
                    raise classify_error(
                        response.status_code, body, retry_after=parse_retry_after(response.headers.get('retry-after'))
                    )
                declared = _as_int(response.headers.get('content-length'))
                if declared is not None and declared > max_bytes:
                    raise MediaTooLarge(max_bytes=max_bytes, declared=declared, status_code=response.status_code)
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    # A lying or absent Content-Length must not let a huge body fill memory or disk.
                    if received > max_bytes:
                        raise MediaTooLarge(max_bytes=max_bytes, received=received, status_code=response.status_code)
                    chunks.append(chunk)
                return b''.join(chunks)
        except httpx.TransportError as exc:
            raise _no_response(exc) from exc

    # --- plumbing ---

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, url, headers=self._auth, **kwargs)
        except httpx.TransportError as exc:
            raise _no_response(exc) from exc
        if not response.is_success:
            raise classify_error(
                response.status_code,
                response.content,
                retry_after=parse_retry_after(response.headers.get('retry-after')),
            )
        try:
            return response.json()
        except ValueError:
            return None


def _envelope(to: str, kind: str, callback_data: str | None, reply_to: str | None = None) -> dict[str, Any]:
    recipient = to.strip().lstrip('+')
    if not recipient:
        raise ValueError('recipient is empty')
    message: dict[str, Any] = {'recipient_type': 'individual', 'to': recipient, 'type': kind}
    if reply_to:
        message['context'] = {'message_id': reply_to}
    if callback_data is not None:
        # Echoed back in this message's status webhooks: lets the outbox match a status to its row.
        message['biz_opaque_callback_data'] = callback_data
    return message


def _first_message_id(data: Any) -> str | None:
    messages = data.get('messages') if isinstance(data, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get('id') if isinstance(first, dict) else None
    return wamid if isinstance(wamid, str) and wamid else None


# Failures that happen before the request can have left: retrying them never duplicates anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _no_response(exc: httpx.TransportError) -> GraphError:
    # Retryable; unless the connection never opened, the request may have reached Meta, and the caller must
    # check (our callback id comes back in the status webhook) before sending again.
    return GraphError(
        f'no response from the Graph API: {type(exc).__name__}: {exc}'.rstrip(': '),
        status_code=None,
        title=_status_title(None),
        retryable=True,
        may_have_arrived=not isinstance(exc, _NOT_SENT),
    )


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of an error body: enough to classify it, never a whole file."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data.extend(chunk)
        if len(data) >= limit:
            break
    return bytes(data[:limit])


def _snippet(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)[:200]
