"""Build Cloud API webhook bodies exactly as Meta sends them.

Used by tests, the embedded simulator (M5) and the benchmarks, so that everything downstream of the
signed webhook sees the same JSON a real number would receive. Shapes and sample values follow Meta's
`messages` webhook reference pages; every function is pure and deterministic except for message ids and
timestamps, which are generated only when the caller does not pass them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

DEFAULT_WABA_ID = '102290129340398'  # the WABA id of Meta's own reference examples
ERROR_CODES_HREF = '/documentation/business-messaging/whatsapp/support/error-codes'
UNSUPPORTED_ERROR: dict[str, Any] = {
    'code': 131051,
    'title': 'Message type unknown',
    'message': 'Message type unknown',
    'error_data': {'details': 'Message type is currently not supported.'},
}
REENGAGEMENT_DETAILS = 'More than 24 hours have passed since the recipient last replied to the sender number.'


# --- envelope --------------------------------------------------------------------------------------------


def envelope(
    *,
    phone_number_id: str,
    display_phone_number: str,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """One webhook body: one entry, one change, field 'messages'. Keys left as None are omitted, as Meta does."""
    value: dict[str, Any] = {
        'messaging_product': 'whatsapp',
        'metadata': {'display_phone_number': display_phone_number, 'phone_number_id': phone_number_id},
    }
    if contacts is not None:
        value['contacts'] = contacts
    if messages is not None:
        value['messages'] = messages
    if statuses is not None:
        value['statuses'] = statuses
    if errors is not None:
        value['errors'] = errors
    return {
        'object': 'whatsapp_business_account',
        'entry': [{'id': waba_id, 'changes': [{'value': value, 'field': 'messages'}]}],
    }


def merge_envelopes(*envelopes: dict[str, Any]) -> dict[str, Any]:
    """One body carrying the entries of all `envelopes` (several entries and changes in one POST)."""
    return {
        'object': 'whatsapp_business_account',
        'entry': [entry for body in envelopes for entry in body.get('entry', [])],
    }


def contact(*, wa_id: str | None, name: str, user_id: str | None = None, username: str | None = None) -> dict[str, Any]:
    """A `value.contacts[]` item; wa_id is omitted for username users, who are known by user_id only."""
    profile: dict[str, Any] = {'name': name}
    if username is not None:
        profile['username'] = username
    item: dict[str, Any] = {'profile': profile}
    if wa_id is not None:
        item['wa_id'] = wa_id
    if user_id is not None:
        item['user_id'] = user_id
    return item


def new_wamid(*, wa_id: str = '5491155550101') -> str:
    """A unique id shaped like Meta's: base64 of a small binary record holding the user's number.

    Meta's ids decode to 0x1c 0x18 <len> <digits> 0x15 0x02 0x00 0x12 0x18 0x14 <20 hex chars> 0x00;
    mimicking that keeps column sizes and log lines realistic.
    """
    digits = wa_id.encode()[:255]
    record = (
        b'\x1c\x18'
        + bytes([len(digits)])
        + digits
        + b'\x15\x02\x00\x12\x18\x14'
        + secrets.token_hex(10).upper().encode()
        + b'\x00'
    )
    return 'wamid.' + base64.b64encode(record).decode()


# --- inbound messages ------------------------------------------------------------------------------------


def _message(
    *,
    type_: str,
    body: Any,
    from_: str | None,
    from_user_id: str | None,
    wa_message_id: str | None,
    timestamp: int | None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if context is not None:
        message['context'] = context
    if from_ is not None:
        message['from'] = from_
    if from_user_id is not None:
        message['from_user_id'] = from_user_id
    message['id'] = wa_message_id or new_wamid(wa_id=from_ or '0')
    message['timestamp'] = str(int(time.time()) if timestamp is None else timestamp)
    message['type'] = type_
    if body is not None:
        message[type_] = body
    return message


def _reply_context(reply_to: str | None, reply_to_from: str | None) -> dict[str, Any] | None:
    if reply_to is None:
        return None
    context: dict[str, Any] = {}
    if reply_to_from is not None:  # Meta puts the business display number here for replies to it
        context['from'] = reply_to_from
    context['id'] = reply_to
    return context


def _fake_sha256(media_id: str) -> str:
    # Meta always sends the base64 SHA-256 of the file; derive a stable stand-in when the caller has none.
    return base64.b64encode(hashlib.sha256(media_id.encode()).digest()).decode()


def text_message(
    *,
    from_: str | None,
    body: str,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    reply_to: str | None = None,
    reply_to_from: str | None = None,
    forwarded: bool = False,
    frequently_forwarded: bool = False,
    from_user_id: str | None = None,
    referral: dict[str, Any] | None = None,
) -> dict[str, Any]:
    context = _reply_context(reply_to, reply_to_from)
    if forwarded or frequently_forwarded:
        # Meta sends one flag or the other: forwarded up to 5 times, frequently_forwarded beyond that.
        context = {'frequently_forwarded': True} if frequently_forwarded else {'forwarded': True}
    message = _message(
        type_='text',
        body={'body': body},
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
        context=context,
    )
    if referral is not None:
        message['referral'] = referral
    return message


def _media_body(
    *, media_id: str, mime_type: str, sha256: str, caption: str = '', url: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if caption:
        body['caption'] = caption
    body['mime_type'] = mime_type
    body['sha256'] = sha256 or _fake_sha256(media_id)
    body['id'] = media_id
    if url is not None:
        body['url'] = url
    return body


def image_message(
    *,
    from_: str | None,
    media_id: str,
    mime_type: str = 'image/jpeg',
    sha256: str = '',
    caption: str = '',
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    body = _media_body(media_id=media_id, mime_type=mime_type, sha256=sha256, caption=caption, url=url)
    return _message(
        type_='image',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def document_message(
    *,
    from_: str | None,
    media_id: str,
    filename: str,
    mime_type: str = 'application/pdf',
    sha256: str = '',
    caption: str = '',
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    media = _media_body(media_id=media_id, mime_type=mime_type, sha256=sha256, url=url)
    # Meta's key order for documents: caption, filename, then the common media keys.
    body: dict[str, Any] = {'caption': caption} if caption else {}
    body['filename'] = filename
    body.update(media)
    return _message(
        type_='document',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def audio_message(
    *,
    from_: str | None,
    media_id: str,
    mime_type: str = 'audio/ogg; codecs=opus',
    sha256: str = '',
    voice: bool = True,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    body = _media_body(media_id=media_id, mime_type=mime_type, sha256=sha256, url=url)
    body['voice'] = voice
    return _message(
        type_='audio',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def video_message(
    *,
    from_: str | None,
    media_id: str,
    mime_type: str = 'video/mp4',
    sha256: str = '',
    caption: str = '',
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    body = _media_body(media_id=media_id, mime_type=mime_type, sha256=sha256, caption=caption, url=url)
    return _message(
        type_='video',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def sticker_message(
    *,
    from_: str | None,
    media_id: str,
    mime_type: str = 'image/webp',
    sha256: str = '',
    animated: bool = False,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    body = _media_body(media_id=media_id, mime_type=mime_type, sha256=sha256, url=url)
    body['animated'] = animated
    return _message(
        type_='sticker',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def location_message(
    *,
    from_: str | None,
    latitude: float,
    longitude: float,
    name: str = '',
    address: str = '',
    url: str = '',
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    # Meta's current example sends the coordinates as JSON numbers.
    body: dict[str, Any] = {}
    if address:
        body['address'] = address
    body['latitude'] = latitude
    body['longitude'] = longitude
    if name:
        body['name'] = name
    if url:
        body['url'] = url
    return _message(
        type_='location',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def contact_card(
    *,
    formatted_name: str,
    first_name: str = '',
    last_name: str = '',
    phone: str = '',
    wa_id: str | None = None,
    phone_type: str = 'MOBILE',
) -> dict[str, Any]:
    """One card of a `contacts` message, in the shape of Meta's example."""
    name: dict[str, Any] = {}
    if first_name:
        name['first_name'] = first_name
    if last_name:
        name['last_name'] = last_name
    name['formatted_name'] = formatted_name
    card: dict[str, Any] = {'name': name}
    if phone:
        phone_item: dict[str, Any] = {'phone': phone}
        if wa_id is not None:
            phone_item['wa_id'] = wa_id
        phone_item['type'] = phone_type
        card['phones'] = [phone_item]
    return card


def contacts_message(
    *,
    from_: str | None,
    contacts: list[dict[str, Any]],
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    return _message(
        type_='contacts',
        body=contacts,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def interactive_button_reply(
    *,
    from_: str | None,
    id: str,  # noqa: A002 - named after Meta's button_reply.id
    title: str,
    reply_to: str | None = None,
    reply_to_from: str | None = None,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    body = {'type': 'button_reply', 'button_reply': {'id': id, 'title': title}}
    return _message(
        type_='interactive',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
        context=_reply_context(reply_to, reply_to_from),
    )


def interactive_list_reply(
    *,
    from_: str | None,
    id: str,  # noqa: A002 - named after Meta's list_reply.id
    title: str,
    description: str = '',
    reply_to: str | None = None,
    reply_to_from: str | None = None,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {'id': id, 'title': title}
    if description:
        row['description'] = description
    body = {'type': 'list_reply', 'list_reply': row}
    return _message(
        type_='interactive',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
        context=_reply_context(reply_to, reply_to_from),
    )


def button_message(
    *,
    from_: str | None,
    payload: str,
    text: str,
    reply_to: str | None = None,
    reply_to_from: str | None = None,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    """A tap on a template's quick-reply button."""
    return _message(
        type_='button',
        body={'payload': payload, 'text': text},
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
        context=_reply_context(reply_to, reply_to_from),
    )


def reaction_message(
    *,
    from_: str | None,
    message_id: str,
    emoji: str,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    """A reaction; an empty `emoji` is a removed reaction, which Meta sends without the emoji key."""
    body: dict[str, Any] = {'message_id': message_id}
    if emoji:
        body['emoji'] = emoji
    return _message(
        type_='reaction',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def order_message(
    *,
    from_: str | None,
    catalog_id: str,
    product_items: list[dict[str, Any]],
    text: str = '',
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {'catalog_id': catalog_id}
    if text:
        body['text'] = text
    body['product_items'] = product_items
    return _message(
        type_='order',
        body=body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def system_message(
    *,
    from_: str | None,
    body: str,
    new_wa_id: str,
    system_type: str = 'user_changed_number',
    wa_message_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A user changed number (Meta sends these without a contacts array)."""
    return _message(
        type_='system',
        body={'body': body, 'wa_id': new_wa_id, 'type': system_type},
        from_=from_,
        from_user_id=None,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def request_welcome_message(
    *,
    from_: str | None,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    """A user opened the chat for the first time (no body object)."""
    return _message(
        type_='request_welcome',
        body=None,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


def unsupported_message(
    *,
    from_: str | None,
    unsupported_type: str = 'edit',
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    """What Meta sends for a message the Cloud API cannot deliver (poll, edit, view-once…): error 131051."""
    message = _message(
        type_='unsupported',
        body={'type': unsupported_type},
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )
    message['errors'] = [dict(UNSUPPORTED_ERROR, error_data=dict(UNSUPPORTED_ERROR['error_data']))]
    return message


def unknown_type_message(
    *,
    from_: str | None,
    type_name: str,
    body: dict[str, Any] | None = None,
    wa_message_id: str | None = None,
    timestamp: int | None = None,
    from_user_id: str | None = None,
) -> dict[str, Any]:
    """A message of a type Meta may add later: `type` plus a body under the same key."""
    return _message(
        type_=type_name,
        body={} if body is None else body,
        from_=from_,
        from_user_id=from_user_id,
        wa_message_id=wa_message_id,
        timestamp=timestamp,
    )


# --- statuses --------------------------------------------------------------------------------------------


def status(
    *,
    wa_message_id: str,
    status: str,
    recipient_id: str | None,
    timestamp: int | None = None,
    errors: list[dict[str, Any]] | None = None,
    biz_opaque_callback_data: str | None = None,
    pricing: bool = False,
    conversation: bool = False,
    recipient_user_id: str | None = None,
    pricing_category: str = 'service',
    pricing_type: str = 'free_customer_service',
    conversation_id: str | None = None,
    conversation_expiration: int | None = None,
) -> dict[str, Any]:
    """A `statuses[]` item. Meta attaches pricing to `sent` and one of `delivered`/`read`; the conversation
    object only before v24.0 or inside a free entry point window, and its expiration only on `sent`."""
    ts = int(time.time()) if timestamp is None else timestamp
    item: dict[str, Any] = {'id': wa_message_id, 'status': status, 'timestamp': str(ts)}
    if recipient_id is not None:
        item['recipient_id'] = recipient_id
    if recipient_user_id is not None:
        item['recipient_user_id'] = recipient_user_id
    if biz_opaque_callback_data is not None:
        item['biz_opaque_callback_data'] = biz_opaque_callback_data
    if conversation:
        conv: dict[str, Any] = {'id': conversation_id or hashlib.sha256(wa_message_id.encode()).hexdigest()[:32]}
        if status == 'sent':
            conv['expiration_timestamp'] = str(
                ts + 24 * 3600 if conversation_expiration is None else conversation_expiration
            )
        conv['origin'] = {'type': pricing_category}
        item['conversation'] = conv
    if pricing:
        item['pricing'] = {
            'billable': pricing_type == 'regular',
            'pricing_model': 'PMP',
            'type': pricing_type,
            'category': pricing_category,
        }
    if errors is not None:
        item['errors'] = errors
    return item


def error(
    *, code: int, title: str, details: str, message: str | None = None, href: str | None = ERROR_CODES_HREF
) -> dict[str, Any]:
    """An `errors[]` item as Meta sends it on failed statuses and at change level (message equals title)."""
    item: dict[str, Any] = {
        'code': code,
        'title': title,
        'message': title if message is None else message,
        'error_data': {'details': details},
    }
    if href is not None:
        item['href'] = href
    return item


def failed_status(
    *,
    wa_message_id: str,
    recipient_id: str | None,
    code: int = 131047,
    title: str = 'Re-engagement message',
    message: str | None = None,
    details: str = REENGAGEMENT_DETAILS,
    timestamp: int | None = None,
    recipient_user_id: str | None = None,
) -> dict[str, Any]:
    """A `failed` status; defaults to 131047, the 24-hour window error."""
    return status(
        wa_message_id=wa_message_id,
        status='failed',
        recipient_id=recipient_id,
        recipient_user_id=recipient_user_id,
        timestamp=timestamp,
        errors=[error(code=code, title=title, message=message, details=details)],
    )
