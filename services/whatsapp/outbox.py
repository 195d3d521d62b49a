"""The durable outbox (M3) and the 24-hour window (M4): queueing outbound messages.

Every outbound message is a `messages` row first (status `queued`); `workers.OutboxWorker` sends it. The state
machine is queued → sending → sent/failed, plus `unconfirmed` for a send whose worker died mid-request:

- `queued → sending` is a conditional UPDATE committed before the HTTP call, so two workers (or two
  processes) can never both send a row.
- A row found in `sending` after its worker died is never resent blindly (Meta may have it): it becomes
  `unconfirmed`, and a later status webhook carrying our id in `biz_opaque_callback_data` moves it on.
- Retryable errors (5xx, timeouts, throttling) go back to `queued` with exponential backoff and jitter in
  `next_attempt_at`; permanent ones (e.g. 131047) end in `failed` with Meta's code and a readable title.

The retry schedule lives in database columns rather than in a retry library's loop because it must
survive restarts; the backoff formula is one line (`retry_delay`). Rate limits use `aiolimiter`.

The send gate (L2, seed 002's "sender middleware") sits here, where every outbound message is born, so no page, API
or job can go around it: a business-initiated message (a campaign's, or a template to a customer whose 24 h window
is closed) to a contact who opted out, is not technically validated, or scores under the threshold is stored
`blocked` with the reason and never reaches the worker (it claims only `queued`). A reply inside the window the
customer opened is never gated.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from .. import audit
from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceError
from ..events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS, Event, EventPublisher
from ..media_store import MediaStore
from ..models import (
    ChannelKind,
    Contact,
    Conversation,
    Direction,
    IdempotencyKey,
    Media,
    Message,
    MessagePriority,
    MessageStatus,
    MessageTemplate,
    SenderKind,
    TemplateStatus,
    WhatsAppNumber,
    table_of,
)
from ..models.campaigns import campaign_payload
from ..models.types import utcnow
from ..storable import has_unstorable
from .graph_client import TEXT_BODY_LIMIT

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Idempotency:
    """A caller's key for one request (issue 19, F4): the same key and request give the same message, never a
    second one. `scope` is whose key it is (an API key), so two callers' keys never meet."""

    scope: str
    key: str
    request_hash: str


class IdempotencyConflict(Conflict):
    code = 'idempotency_conflict'


IDEMPOTENCY_HOURS = 24  # how long a key is remembered (the retention job forgets older ones)


class OutsideWindow(ServiceError):
    """M4: more than 24 h since the customer's last message; only an approved template may be sent."""

    code = 'outside_window'


@dataclass(frozen=True)
class WindowState:
    open: bool
    closes_at: datetime | None


def window_state(conversation: Conversation, *, now: datetime | None = None) -> WindowState:
    return window_state_at(conversation.last_inbound_at, now=now)


def window_state_at(last_inbound_at: datetime | None, *, now: datetime | None = None) -> WindowState:
    """Free text may be sent until 24 h after the customer's last message (M4)."""
    if last_inbound_at is None:
        return WindowState(open=False, closes_at=None)
    closes_at = last_inbound_at + WINDOW
    return WindowState(open=(now or utcnow()) < closes_at, closes_at=closes_at)


def retry_delay(attempt: int, *, base: float = 2.0, cap: float = 300.0, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter: ~2 s, 4 s, 8 s … capped at 5 min; Meta's Retry-After wins if longer."""
    delay = min(cap, base * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto
    return max(delay, retry_after or 0.0)


# --- the send gate (L2) ------------------------------------------------------------------------------------


class BlockReason(StrEnum):
    OPTED_OUT = 'opted_out'
    NOT_VALIDATED = 'not_validated'
    LOW_SCORE = 'low_score'


@dataclass(frozen=True)
class SendGate:
    """Who may receive a business-initiated message: technically validated, scoring at least `min_score`, and never
    an opted-out contact (that one is not configurable)."""

    min_score: int = 70
    require_validated: bool = True


_gate = SendGate()


def configure_send_gate(gate: SendGate) -> None:
    """Set once per process from the settings (app/background_campaigns.py builds it in every process)."""
    global _gate  # noqa: PLW0603 - one process-wide policy, like the metrics' configuration
    _gate = gate


def send_gate() -> SendGate:
    return _gate


def gate_refusal(
    *, score: int, validated: bool, opted_out_at: datetime | None, min_score: int | None = None
) -> BlockReason | None:
    """Why the gate refuses a business-initiated message to this contact, or None. `min_score` (a campaign's own)
    can only raise the gate's threshold, never lower it."""
    if opted_out_at is not None:
        return BlockReason.OPTED_OUT
    if _gate.require_validated and not validated:
        return BlockReason.NOT_VALIDATED
    if score < max(_gate.min_score, min_score or 0):
        return BlockReason.LOW_SCORE
    return None


def blocked_title(reason: BlockReason, *, score: int, min_score: int | None = None) -> str:
    """The reason as the sender reads it in the thread and in the campaign's results (es-AR, like Meta's errors)."""
    if reason == BlockReason.OPTED_OUT:
        return 'Bloqueado: el contacto pidió la baja'
    if reason == BlockReason.NOT_VALIDATED:
        return 'Bloqueado: el contacto no está validado técnicamente'
    return f'Bloqueado: contactabilidad {score} (mínimo {max(_gate.min_score, min_score or 0)})'


# --- queueing (what pages, the AI and the API call) -------------------------------------------------------


async def _sendable_conversation(
    session: Any, conversation_id: int, viewer: Viewer | None
) -> tuple[Conversation, WhatsAppNumber]:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or (viewer is not None and not viewer.can_see_branch(conversation.branch_id)):
        # Same answer for "absent" and "another branch's": existence is not leaked across branches.
        raise NotFound(f'no conversation {conversation_id}')
    number = await session.get(WhatsAppNumber, conversation.number_id)
    assert number is not None
    if not number.sending_enabled:
        raise PermissionDenied(f'sending is disabled on {number.display_phone} (listen-only gateway number)')
    return conversation, number


async def _queue(
    db: Database,
    *,
    viewer: Viewer | None,
    conversation_id: int,
    publisher: EventPublisher,
    type_: str,
    text: str,
    sender_kind: SenderKind,
    priority: MessagePriority,
    payload: dict[str, Any],
    needs_window: bool,
    media_id: int | None = None,
    idempotency: Idempotency | None = None,
) -> Message:
    now = utcnow()
    async with db.session() as session:
        conversation, number = await _sendable_conversation(session, conversation_id, viewer)
        # The 24 h window is the Cloud API's rule; a WhatsApp-Web session has none (seed 001 keeps it listen-only).
        window_open = number.channel == ChannelKind.WAHA or window_state(conversation, now=now).open
        if needs_window and not window_open:
            raise OutsideWindow('more than 24 h since the customer last wrote: send an approved template')
        status, error_title = MessageStatus.QUEUED, ''
        if not window_open:  # only a template gets here: the business writes first, so the gate decides (L2)
            contact = await session.get(Contact, conversation.contact_id)
            assert contact is not None
            # Also a follow-up (a quote, a ticket) to a customer whose window closed: issue 16's gate covers "a
            # template to a contact who has not written in 24 h". Their message counts as WhatsApp's proof in the
            # score (docs/leads.md), so what usually stops it is the validation a person gives in one click.
            reason = gate_refusal(
                score=contact.score_contactabilidad,
                validated=contact.validado_tecnicamente,
                opted_out_at=contact.opted_out_at,
            )
            if reason is not None:
                status, error_title = MessageStatus.BLOCKED, blocked_title(reason, score=contact.score_contactabilidad)
        message = Message(
            conversation_id=conversation_id,
            direction=Direction.OUTBOUND,
            sender_kind=sender_kind,
            sent_by_user_id=viewer.user_id if viewer and sender_kind == SenderKind.AGENT else None,
            type=type_,
            text=text,
            payload=payload,
            status=status,
            error_title=error_title,
            priority=priority,
            media_id=media_id,
            sent_at=now,
            created_at=now,
            status_updated_at=now,
        )
        session.add(message)
        conversation.last_message_at = now
        conversation.last_message_preview = (text or f'[{type_}]')[:200]
        conversation.updated_at = now
        if sender_kind in {SenderKind.AGENT, SenderKind.AI} and status == MessageStatus.QUEUED:
            # Someone answered: the customer is no longer waiting.
            conversation.waiting_since = None
        if idempotency is not None:
            await session.flush()
            session.add(
                IdempotencyKey(
                    scope=idempotency.scope,
                    key=idempotency.key,
                    request_hash=idempotency.request_hash,
                    message_id=message.id or 0,
                    created_at=now,
                )
            )
        try:
            await session.commit()
        except IntegrityError:
            if idempotency is None:
                raise
            # The same key raced this request and won (unique scope + key): its message is the answer.
            await session.rollback()
            if (earlier := await _earlier_answer(db, idempotency)) is not None:
                return earlier
            raise
        branch_id = conversation.branch_id
    await publisher.publish(
        [
            Event(MESSAGE_CREATED, branch_id, conversation_id, message_event_data(message)),
            Event(CONVERSATION_UPDATED, branch_id, conversation_id, {'reason': 'outbound'}),
        ]
    )
    return message


def message_event_data(message: Message) -> dict[str, Any]:
    return {
        'message_id': message.id,
        'wa_message_id': message.wa_message_id,
        'direction': message.direction,
        'sender_kind': message.sender_kind,
        'type': message.type,
        'text': message.text,
        'sent_at': message.sent_at.isoformat(),
        'media_id': message.media_id,
        'status': message.status,
        'sent_by_user_id': message.sent_by_user_id,
        'error_title': message.error_title,
    }


async def queue_text(
    db: Database,
    *,
    conversation_id: int,
    text: str,
    publisher: EventPublisher,
    viewer: Viewer | None = None,
    sender_kind: SenderKind = SenderKind.AGENT,
    priority: MessagePriority | None = None,
    idempotency: Idempotency | None = None,
) -> Message:
    """Queue a free-text reply. Refused outside the 24 h window (M4) and over 4096 characters."""
    if idempotency is not None and (earlier := await _earlier_answer(db, idempotency)) is not None:
        return earlier  # a retry: what the first request queued, checked for nothing else (not even the window)
    text = text.strip()
    if not text:
        raise InvalidInput('the message is empty')
    _refuse_unstorable(text)
    if len(text) > TEXT_BODY_LIMIT:
        raise InvalidInput(f'WhatsApp text messages are limited to {TEXT_BODY_LIMIT} characters ({len(text)} given)')
    return await _queue(
        db,
        viewer=viewer,
        conversation_id=conversation_id,
        publisher=publisher,
        type_='text',
        text=text,
        sender_kind=sender_kind,
        needs_window=True,
        payload={},
        priority=priority or _default_priority(sender_kind),
        idempotency=idempotency,
    )


async def queue_template(
    db: Database,
    *,
    conversation_id: int,
    template_name: str,
    variables: Sequence[str],
    publisher: EventPublisher,
    viewer: Viewer | None = None,
    language: str | None = None,
    sender_kind: SenderKind = SenderKind.AGENT,
    priority: MessagePriority | None = None,
    idempotency: Idempotency | None = None,
) -> Message:
    """Queue an approved template of the conversation's number; allowed at any time (M4). Outside the 24 h window
    it is business-initiated: the send gate may store it `blocked` instead (the returned message says so)."""
    if idempotency is not None and (earlier := await _earlier_answer(db, idempotency)) is not None:
        return earlier
    _refuse_unstorable(template_name, language or '', *map(str, variables))
    async with db.session() as session:
        conversation, number = await _sendable_conversation(session, conversation_id, viewer)
        query = select(MessageTemplate).where(
            MessageTemplate.number_id == number.id, MessageTemplate.name == template_name
        )
        if language:
            query = query.where(MessageTemplate.language == language)
        template = (await session.exec(query)).first()
    if template is None:
        raise NotFound(f'no template {template_name!r} for {number.display_phone}')
    if template.status != TemplateStatus.APPROVED:
        raise InvalidInput(f'template {template_name!r} is {template.status}, not approved')
    values = [str(value).strip() for value in variables]
    if len(values) != template.variable_count or any(not value for value in values):
        raise InvalidInput(
            f'template {template_name!r} needs {template.variable_count} non-empty values, {len(values)} given'
        )
    return await _queue(
        db,
        viewer=viewer,
        conversation_id=conversation.id or 0,
        publisher=publisher,
        type_='template',
        text=render_template(template.body, values),
        sender_kind=sender_kind,
        needs_window=False,
        priority=priority or _default_priority(sender_kind),
        payload={'template': {'name': template.name, 'language': template.language, 'variables': values}},
        idempotency=idempotency,
    )


async def queue_media(
    db: Database,
    *,
    conversation_id: int,
    store: MediaStore,
    content: bytes,
    mime_type: str,
    filename: str,
    publisher: EventPublisher,
    caption: str = '',
    viewer: Viewer | None = None,
    sender_kind: SenderKind = SenderKind.AGENT,
    max_bytes: int = 16 * 1024 * 1024,
) -> Message:
    """Queue an image or document (e.g. a quote PDF). The worker uploads it to Meta, then sends it."""
    if len(content) > max_bytes:
        raise InvalidInput(f'file too large: {len(content)} bytes (limit {max_bytes})')
    if not content:
        raise InvalidInput('the file is empty')
    kind = 'image' if mime_type in {'image/jpeg', 'image/png'} else 'document'
    stored = await store.save(content, mime_type=mime_type)
    async with db.session() as session:
        await _sendable_conversation(session, conversation_id, viewer)  # fail before storing a row
        media = Media(
            mime_type=mime_type,
            filename=filename[:255],
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            storage_path=stored.storage_path,
            thumbnail_path=stored.thumbnail_path,
            status='stored',
        )
        session.add(media)
        await session.commit()
    return await _queue(
        db,
        viewer=viewer,
        conversation_id=conversation_id,
        publisher=publisher,
        type_=kind,
        text=caption.strip(),
        sender_kind=sender_kind,
        needs_window=True,
        media_id=media.id,
        priority=_default_priority(sender_kind),
        payload={'filename': filename},
    )


async def _earlier_answer(db: Database, idempotency: Idempotency) -> Message | None:
    """The message an earlier request with this key queued; a key reused for another request is refused."""
    async with db.session() as session:
        row = (
            await session.exec(
                select(IdempotencyKey, Message)
                .join(Message, col(Message.id) == col(IdempotencyKey.message_id))
                .where(IdempotencyKey.scope == idempotency.scope, IdempotencyKey.key == idempotency.key)
            )
        ).first()
    if row is None:
        return None
    stored, message = row
    if stored.request_hash != idempotency.request_hash:
        raise IdempotencyConflict('this Idempotency-Key was already used for a different request')
    return message


def _refuse_unstorable(*texts: str) -> None:
    """Our own users' text is refused, not cleaned (as a customer's is at ingest): they can correct it."""
    if any(has_unstorable(text) for text in texts):
        raise InvalidInput('the text contains a character that cannot be stored or sent (NUL or a broken emoji)')


def render_template(body: str, values: Sequence[str]) -> str:
    for index, value in enumerate(values, start=1):
        body = body.replace('{{' + str(index) + '}}', value)
    return body


def _default_priority(sender_kind: SenderKind) -> MessagePriority:
    return MessagePriority.AGENT if sender_kind == SenderKind.AGENT else MessagePriority.BOT


# --- campaigns: many templates at once, through the same gate ---------------------------------------------


@dataclass(frozen=True)
class BulkRecipient:
    """One campaign message to stage: the recipient's open conversation on the campaign's number, what the gate
    reads of the contact, and the template's values for them."""

    conversation_id: int
    contact_id: int
    score: int
    validated: bool
    opted_out_at: datetime | None
    variables: Sequence[str]


@dataclass(frozen=True)
class StagedMessage:
    contact_id: int
    conversation_id: int
    message_id: int
    status: MessageStatus
    blocked: BlockReason | None
    text: str
    send_at: datetime | None


async def stage_campaign_templates(
    session: Any,
    *,
    campaign_id: int,
    template: MessageTemplate,
    recipients: Iterable[BulkRecipient],
    next_slot: Callable[[], datetime],
    min_score: int | None = None,
) -> list[StagedMessage]:
    """Insert a campaign's template messages in the caller's transaction (the caller commits and then publishes
    `campaign_events`): `queued` at BULK priority with `next_attempt_at` from `next_slot()` (the campaign's pace: it
    lives in the rows, so it survives restarts and holds with several worker processes), or `blocked` by the gate
    (a campaign's message is business-initiated even inside a window). One multi-row INSERT per call."""
    if template.status != TemplateStatus.APPROVED:
        raise InvalidInput(f'template {template.name!r} is {template.status}, not approved')
    now = utcnow()
    rows: list[dict[str, Any]] = []
    staged: list[StagedMessage] = []
    for recipient in recipients:
        values = [str(value).strip() for value in recipient.variables]
        if len(values) != template.variable_count or any(not value for value in values):
            raise InvalidInput(f'template {template.name!r} needs {template.variable_count} non-empty values')
        reason = gate_refusal(
            score=recipient.score,
            validated=recipient.validated,
            opted_out_at=recipient.opted_out_at,
            min_score=min_score,
        )
        send_at = next_slot() if reason is None else None
        text = render_template(template.body, values)
        rows.append(
            {
                'conversation_id': recipient.conversation_id,
                'direction': Direction.OUTBOUND,
                'sender_kind': SenderKind.SYSTEM,
                'type': 'template',
                'text': text,
                'payload': campaign_payload(
                    campaign_id, {'name': template.name, 'language': template.language, 'variables': values}
                ),
                'status': MessageStatus.QUEUED if reason is None else MessageStatus.BLOCKED,
                'error_code': None,
                'error_title': ''
                if reason is None
                else blocked_title(reason, score=recipient.score, min_score=min_score),
                'error_details': '',
                'priority': MessagePriority.BULK,
                'attempts': 0,
                'next_attempt_at': send_at,
                'sent_at': now,
                'created_at': now,
                'status_updated_at': now,
            }
        )
        staged.append(
            StagedMessage(
                contact_id=recipient.contact_id,
                conversation_id=recipient.conversation_id,
                message_id=0,
                status=MessageStatus.QUEUED if reason is None else MessageStatus.BLOCKED,
                blocked=reason,
                text=text,
                send_at=send_at,
            )
        )
    if not rows:
        return []
    table = table_of(Message)
    ids = (await session.exec(insert(table).returning(table.c.id, sort_by_parameter_order=True), params=rows)).all()
    return [replace(item, message_id=message_id) for item, (message_id,) in zip(staged, ids, strict=True)]


def campaign_events(branch_id: int, staged: Sequence[StagedMessage]) -> list[Event]:
    """What a thread shows of staged campaign messages, and what wakes the outbox (a queued one)."""
    now = utcnow()
    events: list[Event] = []
    for item in staged:
        data = {
            'message_id': item.message_id,
            'wa_message_id': None,
            'direction': Direction.OUTBOUND,
            'sender_kind': SenderKind.SYSTEM,
            'type': 'template',
            'text': item.text,
            'sent_at': now.isoformat(),
            'media_id': None,
            'status': item.status,
            'sent_by_user_id': None,
        }
        events.append(Event(MESSAGE_CREATED, branch_id, item.conversation_id, data))
    return events


async def block_queued_business_messages(
    session: Any, *, contact_id: int, reason: BlockReason
) -> list[tuple[int, int, int]]:
    """An opt-out honored at once: the contact's queued business-initiated messages (campaigns' and templates) become
    `blocked` in the caller's transaction. A worker that already claimed one loses: its `queued → sending` UPDATE
    finds it no longer queued. Returns (message id, conversation id, branch id) for the events."""
    messages, conversations = table_of(Message), table_of(Conversation)
    result = await session.exec(
        update(messages)
        .where(
            messages.c.status == MessageStatus.QUEUED,
            messages.c.direction == Direction.OUTBOUND,
            (messages.c.type == 'template') | (messages.c.priority == MessagePriority.BULK),
            messages.c.conversation_id.in_(
                select(conversations.c.id).where(conversations.c.contact_id == contact_id).scalar_subquery()
            ),
        )
        .values(
            status=MessageStatus.BLOCKED,
            error_title=blocked_title(reason, score=0),
            leased_until=None,
            status_updated_at=utcnow(),
        )
        .returning(messages.c.id, messages.c.conversation_id)
    )
    rows = result.all()
    if not rows:
        return []
    branches = dict(
        (
            await session.exec(
                select(conversations.c.id, conversations.c.branch_id).where(
                    conversations.c.id.in_(sorted({conversation_id for _, conversation_id in rows}))
                )
            )
        ).all()
    )
    return [(message_id, conversation_id, branches[conversation_id]) for message_id, conversation_id in rows]


async def resend_unconfirmed(db: Database, *, viewer: Viewer, message_id: int, publisher: EventPublisher) -> Message:
    """F5: queue again a reply left `unconfirmed` (its sender died mid-request: Meta may or may not have it). A
    person decides, since the customer may get it twice; it is never resent on its own. The same row goes back to
    `queued`, so the thread shows one bubble; a late status for the first send no longer matches it (its WhatsApp
    id will be the new send's). Refused (`Conflict`) once it is no longer unconfirmed: a status webhook settled it."""
    now = utcnow()
    async with db.session() as session:
        found = (
            await session.exec(
                select(Message, Conversation)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(Message.id == message_id, Message.direction == Direction.OUTBOUND)
            )
        ).first()
        if found is None or not viewer.can_see_branch(found[1].branch_id):
            raise NotFound(f'no message {message_id}')  # another branch's message is "not found" (B2)
        message, conversation = found
        result = await session.exec(
            update(Message)
            .where(col(Message.id) == message_id, col(Message.status) == MessageStatus.UNCONFIRMED)
            .values(
                status=MessageStatus.QUEUED,
                attempts=0,
                next_attempt_at=None,
                leased_until=None,
                error_code=None,
                error_title='',
                error_details='',
                status_updated_at=now,
            )
        )
        if not result.rowcount:
            raise Conflict(f'message {message_id} is {message.status}, no longer unconfirmed')
        audit.record(session, action='message.resent', actor=viewer, target_type='message', target_id=message_id)
        await session.commit()
        await session.refresh(message)
    await publisher.publish(
        [
            Event(
                MESSAGE_STATUS,
                conversation.branch_id,
                conversation.id,
                {'message_id': message_id, 'status': message.status},
            )
        ]
    )
    return message


@dataclass(frozen=True)
class UnconfirmedSend:
    """A reply whose send was interrupted, for the admins' list (no text: they open the conversation)."""

    message_id: int
    conversation_id: int
    branch_id: int
    contact_name: str
    since: datetime


async def list_unconfirmed(db: Database, *, viewer: Viewer, limit: int = 100) -> list[UnconfirmedSend]:
    """Unconfirmed replies of the branches the viewer may see, oldest first (they wait longest)."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select_columns(
                    Message.id,
                    Message.conversation_id,
                    Conversation.branch_id,
                    Contact.display_name,
                    Contact.profile_name,
                    Contact.phone_e164,
                    Message.status_updated_at,
                    Message.created_at,
                )
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                .where(
                    col(Message.status) == MessageStatus.UNCONFIRMED, branch_scope(col(Conversation.branch_id), viewer)
                )
                .order_by(col(Message.id))
                .limit(limit)
            )
        ).all()
    return [
        UnconfirmedSend(
            message_id=message_id,
            conversation_id=conversation_id,
            branch_id=branch_id,
            contact_name=display or profile or phone or '',
            since=updated or created,
        )
        for message_id, conversation_id, branch_id, display, profile, phone, updated, created in rows
    ]
