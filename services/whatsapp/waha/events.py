"""WAHA webhook bodies → typed events, and the webhook HMAC.

`parse_event(body)` takes the JSON-decoded envelope WAHA posts (`{id, timestamp, event, session, metadata,
me, payload, engine, environment}`) and returns a `WahaMessage` (`message`, `message.any`), `WahaAck`
(`message.ack`), `WahaSessionStatus` (`session.status`) or `WahaUnknownEvent` (anything else: reactions,
revokes, presence, groups, calls, labels, polls… and events WAHA adds later). It raises `WahaPayloadError` only
for a body we cannot trust at all (no `event`/`session`, wrong types, a message without id); an unknown event
name, message type, ack value or session status never raises.

`verify_hmac` checks `X-Webhook-Hmac` (hex HMAC-SHA512 of the raw body, `X-Webhook-Hmac-Algorithm: sha512`).

Sources (waha-docs): content/docs/how-to/events/index.md (envelope, every event, HMAC and its test vector),
content/docs/how-to/receive-messages/index.md (message fields, replyTo, media), content/docs/how-to/sessions/index.md
(session.status, PASSKEY_*), content/docs/how-to/receive-messages/-chat-ids.md (chat ids); engine `_data` shapes
from content/docs/engines/noweb/index.md and WAHA's src/structures (responses.dto.ts: WALocation, vCards).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .ids import is_group, is_lid, normalize_chat_id, parse_message_id, phone_of

HMAC_HEADER = 'X-Webhook-Hmac'
HMAC_ALGORITHM_HEADER = 'X-Webhook-Hmac-Algorithm'
HMAC_ALGORITHM = 'sha512'

MESSAGE_EVENTS = frozenset({'message', 'message.any'})


class MessageKind(StrEnum):
    TEXT = 'text'
    IMAGE = 'image'
    VIDEO = 'video'
    AUDIO = 'audio'
    VOICE = 'voice'
    DOCUMENT = 'document'
    STICKER = 'sticker'
    LOCATION = 'location'
    CONTACTS = 'contacts'
    UNKNOWN = 'unknown'


# ack → our tick status (docs: ERROR -1, PENDING 0, SERVER 1, DEVICE 2, READ 3, PLAYED 4).
ACK_STATUS: dict[int, str] = {-1: 'failed', 0: 'pending', 1: 'sent', 2: 'delivered', 3: 'read', 4: 'played'}
ACK_NAMES: dict[str, int] = {'ERROR': -1, 'PENDING': 0, 'SERVER': 1, 'DEVICE': 2, 'READ': 3, 'PLAYED': 4}


class WahaPayloadError(ValueError):
    """A webhook body that is not a WAHA event we can trust (the message says which field and why)."""


@dataclass(frozen=True, slots=True)
class _Envelope:
    event: str
    session: str
    event_id: str | None
    received_at: datetime | None  # envelope `timestamp` (ms)
    engine: str | None
    me_id: str | None  # the gateway's own account, when WORKING


@dataclass(frozen=True, slots=True)
class WahaMessage:
    """A `message` (someone wrote to us) or `message.any` (any message, also ours typed on the phone)."""

    event: str
    session: str
    message_id: str
    chat_id: str  # the conversation: the customer (`…@c.us` / `…@lid`) or the group (`…@g.us`)
    sender: str | None  # who wrote it: the customer, a group participant, or our own account when from_me
    from_me: bool
    timestamp: datetime  # aware, UTC
    body: str
    kind: MessageKind
    has_media: bool = False
    media_url: str | None = None
    media_mimetype: str | None = None
    media_filename: str | None = None
    media_error: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_name: str | None = None
    location_address: str | None = None
    vcards: tuple[str, ...] = ()
    reply_to_id: str | None = None
    reply_to_body: str | None = None
    push_name: str | None = None
    source: str | None = None  # `app` (typed on a phone) or `api` (sent through WAHA)
    ack: int | None = None
    engine: str | None = None
    event_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_group(self) -> bool:
        return is_group(self.chat_id)

    @property
    def sender_is_lid(self) -> bool:
        """WhatsApp hid the sender's number behind a `@lid` id: no phone to match a customer by."""
        return is_lid(self.sender)

    @property
    def phone(self) -> str | None:
        """The digits of the chat when it is a phone chat (`…@c.us`); None for groups and `@lid` chats."""
        return phone_of(self.chat_id)

    @property
    def sender_phone(self) -> str | None:
        return phone_of(self.sender)


@dataclass(frozen=True, slots=True)
class WahaAck:
    """`message.ack`: how far one of our messages got."""

    session: str
    message_id: str
    chat_id: str | None
    ack: int | None
    ack_name: str | None
    participant: str | None = None  # group acks: which member
    from_me: bool = True
    event_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def status(self) -> str | None:
        """`failed` / `pending` / `sent` / `delivered` / `read` / `played`; None for an ack value WAHA adds later."""
        return ACK_STATUS.get(self.ack) if self.ack is not None else None


@dataclass(frozen=True, slots=True)
class WahaSessionStatus:
    """`session.status`: the session moved to `status` (raw: WAHA adds statuses, e.g. PASSKEY_REQUIRED in 2026)."""

    session: str
    status: str
    data: Mapping[str, Any] | None = None  # what the status carries (the passkey challenge or code), else None
    me_id: str | None = None
    me_push_name: str | None = None
    timestamp: datetime | None = None
    event_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class WahaUnknownEvent:
    """Any other event (reactions, revokes, presence, groups, calls…): kept, never an error."""

    event: str
    session: str
    payload: Any = None
    event_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


WahaEvent = WahaMessage | WahaAck | WahaSessionStatus | WahaUnknownEvent


def parse_event(body: Any) -> WahaEvent:
    """The typed event of a webhook body (already JSON-decoded); `WahaPayloadError` when it cannot be trusted."""
    envelope = _envelope(body)
    if envelope.event in MESSAGE_EVENTS:
        return _message(envelope, _payload(body, envelope), body)
    if envelope.event == 'message.ack':
        return _ack(envelope, _payload(body, envelope), body)
    if envelope.event == 'session.status':
        return _session_status(envelope, _payload(body, envelope), body)
    return WahaUnknownEvent(envelope.event, envelope.session, body.get('payload'), envelope.event_id, raw=body)


# --- HMAC -------------------------------------------------------------------------------------------------


def sign_body(raw_body: bytes, key: str) -> str:
    """`X-Webhook-Hmac` for `raw_body`: hex HMAC-SHA512 with `key` (what WAHA sends; used by the fakes)."""
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()


def verify_hmac(raw_body: bytes, *, key: str, signature: str | None, algorithm: str | None) -> bool:
    """True when `signature` (the `X-Webhook-Hmac` header) signs `raw_body` with `key`; constant time.

    A missing signature or an algorithm other than sha512 is refused. A missing algorithm header is taken as
    sha512, the only one WAHA uses."""
    if not signature or not key:
        return False
    if algorithm is not None and algorithm.strip().lower() != HMAC_ALGORITHM:
        return False
    # Bytes: compare_digest raises on non-ASCII str, and a forged header may carry any character.
    return hmac.compare_digest(sign_body(raw_body, key).encode(), signature.strip().lower().encode())


# --- parsing ----------------------------------------------------------------------------------------------


def _envelope(body: Any) -> _Envelope:
    if not isinstance(body, Mapping):
        raise WahaPayloadError(f'a WAHA webhook body is a JSON object, got {type(body).__name__}')
    event = body.get('event')
    if not isinstance(event, str) or not event:
        raise WahaPayloadError('the webhook body has no "event" (a non-empty string)')
    session = body.get('session')
    if not isinstance(session, str) or not session:
        raise WahaPayloadError(f'the "{event}" webhook body has no "session" (a non-empty string)')
    me = body.get('me')
    me_id = me.get('id') if isinstance(me, Mapping) and isinstance(me.get('id'), str) else None
    engine = body.get('engine')
    event_id = body.get('id')
    return _Envelope(
        event=event,
        session=session,
        event_id=event_id if isinstance(event_id, str) else None,
        received_at=_datetime(body.get('timestamp'), milliseconds=True),
        engine=engine if isinstance(engine, str) else None,
        me_id=normalize_chat_id(me_id) if me_id else None,
    )


def _payload(body: Mapping[str, Any], envelope: _Envelope) -> Mapping[str, Any]:
    payload = body.get('payload')
    if not isinstance(payload, Mapping):
        raise WahaPayloadError(f'the "{envelope.event}" webhook has no "payload" object')
    return payload


def _message(envelope: _Envelope, payload: Mapping[str, Any], body: Mapping[str, Any]) -> WahaMessage:
    message_id = _required_str(payload, 'id', envelope.event)
    from_me = payload.get('fromMe')
    if not isinstance(from_me, bool):
        parsed = parse_message_id(message_id)
        from_me = parsed.from_me if parsed is not None else False
    chat_from = _str(payload.get('from'))
    chat_to = _str(payload.get('to'))
    participant = _str(payload.get('participant'))
    # Our own messages carry the customer in `to`; theirs in `from` (the group, for group messages).
    chat = chat_to if from_me else chat_from
    if not chat:
        parsed = parse_message_id(message_id)
        chat = parsed.chat_id if parsed is not None else None
    if not chat:
        raise WahaPayloadError(f'the "{envelope.event}" message {message_id} says no chat ("from"/"to")')
    chat_id = normalize_chat_id(chat)
    if from_me:
        sender = envelope.me_id or (normalize_chat_id(chat_from) if chat_from and chat_from != chat else None)
    elif participant:
        sender = normalize_chat_id(participant)
    else:
        sender = chat_id
    data = _mapping(payload.get('_data'))
    media = _mapping(payload.get('media'))
    has_media = payload.get('hasMedia') is True or bool(media.get('url'))
    body_text = payload.get('body')
    latitude, longitude, location_name, location_address = _location(payload, data)
    vcards = tuple(v for v in payload.get('vCards') or () if isinstance(v, str) and v.strip())
    reply_to = _mapping(payload.get('replyTo'))
    timestamp = _datetime(payload.get('timestamp')) or envelope.received_at or datetime.now(UTC)
    ack = payload.get('ack')
    kind = _kind(
        data,
        mimetype=_str(media.get('mimetype')),
        has_media=has_media,
        has_location=latitude is not None,
        has_vcards=bool(vcards),
        has_body=isinstance(body_text, str) and bool(body_text),
    )
    return WahaMessage(
        event=envelope.event,
        session=envelope.session,
        message_id=message_id,
        chat_id=chat_id,
        sender=sender,
        from_me=from_me,
        timestamp=timestamp,
        body=body_text if isinstance(body_text, str) else '',
        kind=kind,
        has_media=has_media,
        media_url=_str(media.get('url')),
        media_mimetype=_str(media.get('mimetype')),
        media_filename=_str(media.get('filename')),
        media_error=_error_text(media.get('error')),
        latitude=latitude,
        longitude=longitude,
        location_name=location_name,
        location_address=location_address,
        vcards=vcards,
        reply_to_id=_str(reply_to.get('id')),
        reply_to_body=_str(reply_to.get('body')),
        push_name=_push_name(data),
        source=_str(payload.get('source')),
        ack=ack if isinstance(ack, int) and not isinstance(ack, bool) else None,
        engine=envelope.engine,
        event_id=envelope.event_id,
        raw=body,
    )


def _ack(envelope: _Envelope, payload: Mapping[str, Any], body: Mapping[str, Any]) -> WahaAck:
    message_id = _required_str(payload, 'id', envelope.event)
    ack = payload.get('ack')
    ack_name = _str(payload.get('ackName'))
    if not isinstance(ack, int) or isinstance(ack, bool):
        ack = ACK_NAMES.get(ack_name.upper()) if ack_name else None
    parsed = parse_message_id(message_id)
    chat = parsed.chat_id if parsed is not None else _str(payload.get('from'))
    from_me = payload.get('fromMe')
    participant = _str(payload.get('participant'))
    return WahaAck(
        session=envelope.session,
        message_id=message_id,
        chat_id=normalize_chat_id(chat) if chat else None,
        ack=ack,
        ack_name=ack_name,
        participant=normalize_chat_id(participant) if participant else None,
        from_me=from_me if isinstance(from_me, bool) else (parsed.from_me if parsed else True),
        event_id=envelope.event_id,
        raw=body,
    )


def _session_status(envelope: _Envelope, payload: Mapping[str, Any], body: Mapping[str, Any]) -> WahaSessionStatus:
    status = payload.get('status')
    if not isinstance(status, str) or not status:
        raise WahaPayloadError(f'the session.status webhook of "{envelope.session}" has no "status" string')
    me = body.get('me')
    push_name = me.get('pushName') if isinstance(me, Mapping) else None
    data = payload.get('data')
    return WahaSessionStatus(
        session=envelope.session,
        status=status,
        data=data if isinstance(data, Mapping) else None,
        me_id=envelope.me_id,
        me_push_name=push_name if isinstance(push_name, str) else None,
        timestamp=envelope.received_at,
        event_id=envelope.event_id,
        raw=body,
    )


# WEBJS `_data.type` (whatsapp-web.js MessageTypes) and GOWS `_data.Info.MediaType`.
_TYPE_KINDS: dict[str, MessageKind] = {
    'chat': MessageKind.TEXT,
    'text': MessageKind.TEXT,
    'image': MessageKind.IMAGE,
    'video': MessageKind.VIDEO,
    'gif': MessageKind.VIDEO,
    'audio': MessageKind.AUDIO,
    'ptt': MessageKind.VOICE,
    'document': MessageKind.DOCUMENT,
    'sticker': MessageKind.STICKER,
    'location': MessageKind.LOCATION,
    'livelocation': MessageKind.LOCATION,
    'vcard': MessageKind.CONTACTS,
    'multi_vcard': MessageKind.CONTACTS,
    'contact': MessageKind.CONTACTS,
    'contact_array': MessageKind.CONTACTS,
}
# NOWEB `_data.message.<key>` / GOWS `_data.Message.<key>` (WhatsApp protobuf names).
_PROTO_KINDS: dict[str, MessageKind] = {
    'conversation': MessageKind.TEXT,
    'extendedTextMessage': MessageKind.TEXT,
    'imageMessage': MessageKind.IMAGE,
    'videoMessage': MessageKind.VIDEO,
    'ptvMessage': MessageKind.VIDEO,
    'audioMessage': MessageKind.AUDIO,
    'documentMessage': MessageKind.DOCUMENT,
    'documentWithCaptionMessage': MessageKind.DOCUMENT,
    'stickerMessage': MessageKind.STICKER,
    'locationMessage': MessageKind.LOCATION,
    'liveLocationMessage': MessageKind.LOCATION,
    'contactMessage': MessageKind.CONTACTS,
    'contactsArrayMessage': MessageKind.CONTACTS,
}


def _kind(
    data: Mapping[str, Any],
    *,
    mimetype: str | None,
    has_media: bool,
    has_location: bool,
    has_vcards: bool,
    has_body: bool,
) -> MessageKind:
    """What the message is, from what the engine says (`_data`) first, then from WAHA's common fields."""
    from_engine = _engine_kind(data)
    if from_engine is not None:
        return from_engine
    if has_location:
        return MessageKind.LOCATION
    if has_vcards:
        return MessageKind.CONTACTS
    if mimetype:
        return _mimetype_kind(mimetype)
    if has_media:
        return MessageKind.UNKNOWN  # media WAHA did not download: we cannot tell what it is
    return MessageKind.TEXT if has_body else MessageKind.UNKNOWN


def _engine_kind(data: Mapping[str, Any]) -> MessageKind | None:
    webjs_type = data.get('type')
    if isinstance(webjs_type, str) and webjs_type.lower() in _TYPE_KINDS:
        return _TYPE_KINDS[webjs_type.lower()]
    info = data.get('Info')
    if isinstance(info, Mapping):
        media_type = info.get('MediaType')
        if isinstance(media_type, str) and media_type.lower() in _TYPE_KINDS:
            return _TYPE_KINDS[media_type.lower()]
    for key in ('message', 'Message'):
        proto = data.get(key)
        if not isinstance(proto, Mapping):
            continue
        for name, kind in _PROTO_KINDS.items():
            content = proto.get(name)
            if content is None:
                continue
            if kind is MessageKind.AUDIO and isinstance(content, Mapping) and content.get('ptt') is True:
                return MessageKind.VOICE
            return kind
    return None


def _mimetype_kind(mimetype: str) -> MessageKind:
    mimetype = mimetype.lower()
    if mimetype.startswith('image/webp'):
        return MessageKind.STICKER
    if mimetype.startswith('image/'):
        return MessageKind.IMAGE
    if mimetype.startswith('video/'):
        return MessageKind.VIDEO
    if mimetype.startswith('audio/'):
        # WhatsApp voice notes are Ogg/Opus; other audio arrives as a file someone attached.
        return MessageKind.VOICE if 'opus' in mimetype or mimetype.startswith('audio/ogg') else MessageKind.AUDIO
    return MessageKind.DOCUMENT


def _location(
    payload: Mapping[str, Any], data: Mapping[str, Any]
) -> tuple[float | None, float | None, str | None, str | None]:
    location = payload.get('location')
    if isinstance(location, Mapping):
        latitude, longitude = _float(location.get('latitude')), _float(location.get('longitude'))
        if latitude is not None and longitude is not None:
            name = _str(location.get('name')) or _str(location.get('description'))
            return latitude, longitude, name, _str(location.get('address'))
    # WEBJS keeps the coordinates in `_data.lat` / `_data.lng`; NOWEB in `_data.message.locationMessage`.
    latitude, longitude = _float(data.get('lat')), _float(data.get('lng'))
    if latitude is not None and longitude is not None:
        return latitude, longitude, _str(data.get('loc')), None
    for key in ('message', 'Message'):
        proto = data.get(key)
        if not isinstance(proto, Mapping):
            continue
        for name in ('locationMessage', 'liveLocationMessage'):
            content = proto.get(name)
            if isinstance(content, Mapping):
                latitude, longitude = _float(content.get('degreesLatitude')), _float(content.get('degreesLongitude'))
                if latitude is not None and longitude is not None:
                    return latitude, longitude, _str(content.get('name')), _str(content.get('address'))
    return None, None, None, None


def _push_name(data: Mapping[str, Any]) -> str | None:
    """The name the customer gave WhatsApp: WEBJS `notifyName`, NOWEB `pushName`, GOWS `Info.PushName`."""
    for key in ('notifyName', 'pushName', 'pushname'):
        if value := _str(data.get(key)):
            return value
    info = data.get('Info')
    if isinstance(info, Mapping):
        return _str(info.get('PushName'))
    return None


def _required_str(payload: Mapping[str, Any], key: str, event: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise WahaPayloadError(f'the "{event}" webhook payload has no "{key}" (a non-empty string)')
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -180.0 <= number <= 180.0 else None


def _error_text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        return _str(value.get('message')) or str(dict(value))
    return str(value)


def _datetime(value: Any, *, milliseconds: bool = False) -> datetime | None:
    """An aware UTC datetime from a Unix timestamp (seconds, or ms when `milliseconds`; numbers or digit strings)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if milliseconds or number > 10**11:  # seconds stay below 1e11 until the year 5138
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None
