"""WAHA webhook bodies, shaped exactly as WAHA documents them: for the fake gateway, the demo and tests.

`envelope(event, session, payload, …)` wraps a payload the way WAHA posts it (`{id: "evt_…", timestamp (ms), event,
session, metadata, me, payload, engine, environment}`). The payload builders follow the docs' examples field by
field; `_data` is WEBJS's (whatsapp-web.js: `type`, `notifyName`, `t`, …), the engine the fake plays by default.

Sources (waha-docs): content/docs/how-to/events/index.md (envelope, message, message.any, message.ack,
message.reaction, message.revoked, session.status, presence.update, call.received), content/docs/how-to/
receive-messages/index.md (media, replyTo), content/docs/how-to/sessions/index.md (session.status with `statuses`,
`data`, PASSKEY_REQUIRED), WAHA src/structures/responses.dto.ts (WALocation: latitude/longitude as strings, vCards).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from .ids import GROUP_SUFFIX, new_message_id, normalize_chat_id

DEFAULT_SESSION = 'default'
DEFAULT_ENGINE = 'WEBJS'
WAHA_VERSION = '2026.6.1'
ACK_NAMES = {-1: 'ERROR', 0: 'PENDING', 1: 'SERVER', 2: 'DEVICE', 3: 'READ', 4: 'PLAYED'}
# WEBJS `_data.type` for each kind a customer can send.
WEBJS_TYPES = {
    'text': 'chat',
    'image': 'image',
    'video': 'video',
    'audio': 'audio',
    'voice': 'ptt',
    'document': 'document',
    'sticker': 'sticker',
    'location': 'location',
    'contacts': 'vcard',
}
_ULID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'  # Crockford base32, lower case as WAHA writes event ids


def new_event_id() -> str:
    """`evt_` + a lower-case ULID (26 characters), as WAHA ids its events."""
    millis = int(time.time() * 1000)
    head = ''.join(_ULID_ALPHABET[(millis >> shift) & 31] for shift in range(45, -1, -5))
    tail = ''.join(secrets.choice(_ULID_ALPHABET) for _ in range(16))
    return f'evt_{head}{tail}'


def environment(engine: str = DEFAULT_ENGINE) -> dict[str, Any]:
    return {'version': WAHA_VERSION, 'engine': engine, 'tier': 'CORE', 'browser': None}


def envelope(
    event: str,
    payload: Any,
    *,
    session: str = DEFAULT_SESSION,
    me: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
    engine: str = DEFAULT_ENGINE,
    timestamp_ms: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The body WAHA posts to a webhook."""
    return {
        'id': event_id or new_event_id(),
        'timestamp': timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        'event': event,
        'session': session,
        'metadata': metadata or {},
        'me': me,
        'payload': payload,
        'engine': engine,
        'environment': environment(engine),
    }


def me(phone: str, push_name: str = 'LeadMaster') -> dict[str, Any]:
    """The `me` block: the gateway's own account (`{id, pushName}`)."""
    return {'id': f'{phone}@c.us', 'pushName': push_name}


# --- session.status ---------------------------------------------------------------------------------------


def session_status(
    name: str, status: str, *, statuses: Sequence[tuple[str, int]] = (), data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`session.status` payload: the status, the recent ones (`(status, timestamp_ms)`, at most 3), and `data`."""
    recent = [{'status': s, 'timestamp': t} for s, t in statuses][-3:]
    return {'name': name, 'status': status, 'statuses': recent, 'data': data}


def passkey_challenge() -> dict[str, Any]:
    """The `data` of PASSKEY_REQUIRED: WebAuthn request options (docs' example)."""
    return {
        'challenge': secrets.token_urlsafe(32),
        'timeout': 60000,
        'rpId': 'web.whatsapp.com',
        'allowCredentials': [
            {'id': secrets.token_urlsafe(16), 'type': 'public-key', 'transports': ['internal', 'hybrid']}
        ],
        'userVerification': 'required',
    }


# --- messages ---------------------------------------------------------------------------------------------


def message(
    *,
    chat_id: str,
    body: str = '',
    kind: str = 'text',
    from_me: bool = False,
    my_id: str | None = None,
    participant: str | None = None,
    push_name: str | None = None,
    message_id: str | None = None,
    timestamp: int | None = None,
    source: str = 'app',
    media: dict[str, Any] | None = None,
    has_media: bool | None = None,
    location: dict[str, Any] | None = None,
    vcards: Sequence[str] = (),
    reply_to: dict[str, Any] | None = None,
    ack: int | None = None,
) -> dict[str, Any]:
    """A `message` / `message.any` payload (WAHA's WAMessage), with WEBJS `_data`.

    `chat_id` is the conversation; in a group (`…@g.us`) `participant` is who wrote. `from_me`: typed by us (on the
    phone, `source: app`, or through the API, `source: api`); `my_id` is then our own `…@c.us`.
    """
    chat_id = normalize_chat_id(chat_id)
    in_group = chat_id.endswith(GROUP_SUFFIX)
    message_id = message_id or new_message_id(chat_id, from_me=from_me, participant=participant if in_group else None)
    timestamp = timestamp if timestamp is not None else int(time.time())
    mine = my_id or 'me@c.us'
    sender, receiver = (mine, chat_id) if from_me else (chat_id, mine)
    if ack is None:
        ack = 1 if from_me else 2
    data: dict[str, Any] = {
        'id': {'fromMe': from_me, 'remote': chat_id, 'id': message_id.split('_')[2], '_serialized': message_id},
        'type': WEBJS_TYPES.get(kind, kind),
        't': timestamp,
        'body': body,
        'notifyName': push_name or '',
        'from': sender,
        'to': receiver,
        'isNewMsg': True,
        'ack': ack,
    }
    if participant:
        data['author'] = participant
    if location is not None:
        data.update({'lat': location.get('latitude'), 'lng': location.get('longitude')})
        if location.get('description'):
            data['loc'] = location['description']
    if has_media is None:
        has_media = media is not None
    return {
        'id': message_id,
        'timestamp': timestamp,
        'from': sender,
        'fromMe': from_me,
        'source': source,
        'to': receiver,
        'participant': participant,
        'body': body,
        'hasMedia': has_media,
        'media': media,
        'ack': ack,
        'ackName': ACK_NAMES.get(ack, 'UNKNOWN'),
        'location': location,
        'vCards': list(vcards),
        'replyTo': reply_to,
        '_data': data,
    }


def media(url: str, mimetype: str, filename: str | None = None, error: Any = None) -> dict[str, Any]:
    """The `media` block: `{url, mimetype, filename, error}` (`filename` is null but for documents)."""
    return {'url': url, 'mimetype': mimetype, 'filename': filename, 'error': error}


def location(latitude: float, longitude: float, description: str | None = None) -> dict[str, Any]:
    """WALocation: coordinates as strings, as WAHA's DTO declares them."""
    return {'latitude': str(latitude), 'longitude': str(longitude), 'description': description}


def vcard(name: str, phone: str) -> str:
    """A vCard 3.0 as WhatsApp shares a contact (`waid` carries the number's digits)."""
    digits = ''.join(ch for ch in phone if ch.isdigit())
    return (
        'BEGIN:VCARD\nVERSION:3.0\n'
        f'N:;{name};;;\nFN:{name}\n'
        f'TEL;type=CELL;type=VOICE;waid={digits}:+{digits}\n'
        'END:VCARD'
    )


def reply_to(message_id: str, body: str, *, participant: str | None = None) -> dict[str, Any]:
    """The `replyTo` block of a message that quotes `message_id`."""
    return {'id': message_id, 'participant': participant, 'body': body, '_data': {}}


# --- message.ack and others -------------------------------------------------------------------------------


def ack(message_id: str, *, chat_id: str, ack_value: int, participant: str | None = None) -> dict[str, Any]:
    """`message.ack` payload (the minimum every engine sends, per the docs)."""
    return {
        'id': message_id,
        'from': chat_id,
        'participant': participant,
        'fromMe': message_id.startswith('true_'),
        'ack': ack_value,
        'ackName': ACK_NAMES.get(ack_value, 'UNKNOWN'),
    }


def reaction(*, chat_id: str, message_id: str, emoji: str) -> dict[str, Any]:
    """`message.reaction` payload: the customer reacted with `emoji` ('' removes it) to `message_id`."""
    return {
        'id': new_message_id(chat_id, from_me=False),
        'from': chat_id,
        'fromMe': False,
        'participant': chat_id,
        'to': chat_id,
        'timestamp': round(time.time(), 3),
        'reaction': {'text': emoji, 'messageId': message_id},
    }


def revoked(*, chat_id: str, revoked_key: str) -> dict[str, Any]:
    """`message.revoked` payload: the customer deleted a message (`revokedMessageId` is the bare key)."""
    return {
        'after': {'id': new_message_id(chat_id, from_me=False), 'timestamp': int(time.time()), 'body': '', '_data': {}},
        'revokedMessageId': revoked_key,
        'before': None,
    }


def presence_update(*, chat_id: str, status: str = 'typing') -> dict[str, Any]:
    """`presence.update` payload (`typing`, `recording`, `paused`, `online`, `offline`)."""
    return {
        'id': chat_id,
        'presences': [{'participant': chat_id, 'lastKnownPresence': status, 'lastSeen': None}],
    }
