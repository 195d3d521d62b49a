"""WAHA webhook bodies into the records the ingest stores (M6): the same path as the Cloud API's — contacts →
conversations → messages, deduplicated by the gateway's message id, a bad message isolated, nothing dropped.

What differs, and why:
- The session name plays the part of Meta's `phone_number_id` (it routes to the session's number and branch).
- A `fromMe` message (typed on the phone itself, event `message.any`) is ours, not the customer's: stored as an
  outbound message "desde el teléfono", never as the customer speaking nor as unread.
- Only one-to-one chats (a phone `@c.us`, or a `@lid`) become sales conversations: groups (`@g.us`), status
  updates (`status@broadcast`), channels and broadcast lists are kept in the journal and skipped here.
- A sender hidden behind a `@lid` id has no phone: the lid is the contact's WhatsApp user id (as Meta's
  business-scoped ids are), so their messages still reach one contact.
- WAHA posts each customer message twice when both `message` and `message.any` are subscribed: the unique
  message id makes the second a duplicate.
- Acks become ticks; `session.status` becomes the session's state (services/sessions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models.types import utcnow
from .payloads import InboundMessage, MediaRef, ParsedWebhook, StatusUpdate
from .waha.events import (
    MessageKind,
    WahaAck,
    WahaMessage,
    WahaPayloadError,
    WahaSessionStatus,
    WahaUnknownEvent,
    parse_event,
)
from .waha.ids import is_lid

# Our message types for WAHA's kinds (voice notes are audio with `voice`, as in the Cloud API).
_TYPES = {
    MessageKind.TEXT: 'text',
    MessageKind.IMAGE: 'image',
    MessageKind.VIDEO: 'video',
    MessageKind.AUDIO: 'audio',
    MessageKind.VOICE: 'audio',
    MessageKind.DOCUMENT: 'document',
    MessageKind.STICKER: 'sticker',
    MessageKind.LOCATION: 'location',
    MessageKind.CONTACTS: 'contacts',
    MessageKind.UNKNOWN: 'unsupported',
}


@dataclass(frozen=True)
class SessionReport:
    session: str
    status: str
    me_id: str | None
    me_name: str | None
    observed_at: datetime | None


@dataclass
class WahaDelivery:
    webhook: ParsedWebhook
    session_statuses: list[SessionReport] = field(default_factory=list)
    sessions_heard: set[str] = field(default_factory=set)
    groups_skipped: int = 0


def parse_waha_body(payload: Any) -> WahaDelivery:
    """One WAHA envelope as ingest records; a body we cannot read is a `problem` (the delivery is flagged)."""
    try:
        event = parse_event(payload)
    except WahaPayloadError as exc:
        return WahaDelivery(ParsedWebhook(problems=[f'WAHA event unreadable: {exc}']))
    delivery = WahaDelivery(ParsedWebhook(phone_number_ids={event.session}), sessions_heard={event.session})
    if isinstance(event, WahaMessage):
        if event.phone is None and not is_lid(event.chat_id):
            # Groups, status updates (`status@broadcast`), channels (`@newsletter`), broadcast lists: not a customer
            # writing to the business. Kept in the journal, never a sales conversation.
            delivery.groups_skipped += 1
        else:
            delivery.webhook.messages.append(_inbound(event))
    elif isinstance(event, WahaAck):
        if (status := event.status) is not None and status != 'pending':
            delivery.webhook.statuses.append(
                StatusUpdate(
                    phone_number_id=event.session,
                    wa_message_id=event.message_id,
                    status=status,
                    timestamp=utcnow(),  # acks carry no time of their own; they arrive as they happen
                    recipient_id=None,
                    recipient_user_id=None,
                    biz_opaque_callback_data=None,
                    errors=(),
                    raw=dict(event.raw),
                )
            )
    elif isinstance(event, WahaSessionStatus):
        delivery.session_statuses.append(
            SessionReport(event.session, event.status, event.me_id, event.me_push_name, event.timestamp)
        )
    elif isinstance(event, WahaUnknownEvent):  # the route flags these before ingest; a replay may still bring one
        delivery.webhook.problems.append(f'WAHA event {event.event!r} is not one LeadMaster processes')
    return delivery


def _inbound(event: WahaMessage) -> InboundMessage:
    message_type = _TYPES.get(event.kind, 'unsupported')
    phone = event.phone
    # The customer is the chat (1:1 chats only reach here): for a `fromMe` message the sender is us.
    lid = event.chat_id if phone is None else None
    fields: dict[str, Any] = {}
    text = event.body
    if message_type == 'location':
        fields = {
            'latitude': event.latitude,
            'longitude': event.longitude,
            'name': event.location_name or '',
            'address': event.location_address or '',
            'url': '',
        }
        text = text or ' '.join(filter(None, [event.location_name, event.location_address])) or '[location]'
    elif message_type == 'contacts':
        fields = {'contacts': [{'vcard': card} for card in event.vcards]}
        text = text or _vcard_names(event.vcards)
    elif message_type == 'unsupported':
        fields = {'errors': [], 'original_type': str(event.raw.get('type') or 'unknown')}
    if event.from_me:
        fields['from_phone'] = True
    media = None
    if event.has_media and message_type not in ('location', 'contacts'):
        media = MediaRef(
            wa_media_id=event.message_id,
            mime_type=event.media_mimetype or '',
            filename=event.media_filename or '',
            caption=event.body,
            voice=event.kind is MessageKind.VOICE,
            download_url=event.media_url,
        )
    return InboundMessage(
        phone_number_id=event.session,
        display_phone_number='',
        wa_message_id=event.message_id,
        from_wa_id=phone,
        from_user_id=lid[:64] if lid else None,
        # Our own push name on a `fromMe` message is not the customer's.
        profile_name='' if event.from_me else (event.push_name or ''),
        timestamp=event.timestamp,
        type=message_type,
        text=text,
        media=media,
        reply_to_wa_message_id=event.reply_to_id,
        forwarded=False,
        frequently_forwarded=False,
        fields=fields,
        errors=(),
        raw=dict(event.raw),
        from_me=event.from_me,
    )


def _vcard_names(cards: tuple[str, ...]) -> str:
    names = []
    for card in cards:
        for line in card.splitlines():
            if line.upper().startswith('FN'):
                names.append(line.partition(':')[2].strip())
    return ', '.join(filter(None, names)) or '[contacts]'
