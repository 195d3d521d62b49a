"""Opt-out (L4): a customer's "BAJA" is honored at once and forever.

In one transaction: the `opt_outs` row (unique per contact: the first wins, and only the winner confirms, so two
processes seeing the same message never reply twice), `contacts.opted_out_at`, and every queued business-initiated
message to them turned `blocked` (services/whatsapp/outbox.py). Then one confirmation, inside the window the customer
just opened. From then on the send gate blocks every campaign message and every template outside a window; replies
to what they write later are still allowed (they are not business-initiated).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import col, select

from .. import audit
from ..database import Database
from ..errors import ServiceError
from ..events import MESSAGE_STATUS, Event, EventPublisher
from ..models import Contact, Conversation, Direction, Message, MessageStatus, SenderKind, table_of
from ..models.campaigns import CampaignRecipient, OptOut
from ..models.types import utcnow
from ..whatsapp import outbox
from ..whatsapp.ingest import insert_ignoring_duplicates
from ..whatsapp.outbox import BlockReason
from .keywords import matched_keyword

log = logging.getLogger(__name__)

# Message types a customer can opt out with: typed text, a template's quick-reply button, an interactive reply.
CHECKED_TYPES = frozenset({'text', 'button', 'interactive'})


@dataclass(frozen=True)
class OptOutPolicy:
    keywords: Sequence[str]
    confirmation: str


@dataclass(frozen=True)
class OptedOut:
    contact_id: int
    keyword: str
    blocked_message_ids: list[int]
    confirmation_id: int | None


async def handle_customer_message(
    db: Database, *, message_id: int, policy: OptOutPolicy, publisher: EventPublisher
) -> OptedOut | None:
    """Opt the sender out if this inbound message is an opt-out keyword; None otherwise or when already done."""
    async with db.session() as session:
        found = (
            await session.exec(
                select(Message, Conversation)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(Message.id == message_id)
            )
        ).first()
    if found is None:
        return None
    message, conversation = found
    if message.direction != Direction.INBOUND or message.sender_kind != SenderKind.CUSTOMER:
        return None
    if message.type not in CHECKED_TYPES:
        return None
    keyword = matched_keyword(message.text, policy.keywords)
    if keyword is None:
        return None
    now = utcnow()
    contact_id = conversation.contact_id
    async with db.session() as session:
        won = (
            await session.exec(
                insert_ignoring_duplicates(db.dialect, table_of(OptOut)).returning(table_of(OptOut).c.id),
                params=[
                    {'contact_id': contact_id, 'message_id': message_id, 'keyword': keyword[:60], 'created_at': now}
                ],
            )
        ).all()
        if not won:
            await session.rollback()
            return None  # opted out already (this message seen twice, or an earlier BAJA)
        await session.exec(
            update(Contact)
            .where(col(Contact.id) == contact_id, col(Contact.opted_out_at).is_(None))
            .values(opted_out_at=now, updated_at=now)
        )
        blocked = await outbox.block_queued_business_messages(
            session, contact_id=contact_id, reason=BlockReason.OPTED_OUT
        )
        if blocked:
            await session.exec(
                update(CampaignRecipient)
                .where(col(CampaignRecipient.message_id).in_([message_id for message_id, _, _ in blocked]))
                .values(blocked_reason=BlockReason.OPTED_OUT)
            )
        # No message text in the audit log (O3): which contact, and by which configured keyword.
        audit.record(
            session,
            action='contact.opted_out',
            actor_label='customer',
            target_type='contact',
            target_id=contact_id,
            keyword=keyword,
            blocked=len(blocked),
        )
        await session.commit()
    await publisher.publish(
        [
            Event(
                MESSAGE_STATUS,
                branch_id,
                conversation_id,
                {
                    'message_id': blocked_id,
                    'status': MessageStatus.BLOCKED,
                    'error_title': outbox.blocked_title(BlockReason.OPTED_OUT, score=0),
                },
            )
            for blocked_id, conversation_id, branch_id in blocked
        ]
    )
    confirmation_id = None
    try:
        confirmation = await outbox.queue_text(
            db,
            conversation_id=conversation.id or 0,
            text=policy.confirmation,
            publisher=publisher,
            sender_kind=SenderKind.SYSTEM,
        )
        confirmation_id = confirmation.id
    except ServiceError as exc:  # e.g. a sweep finding a BAJA older than the window: they are out, unconfirmed
        log.warning('opt-out of contact %s not confirmed: %s', contact_id, exc)
    log.info('contact %s opted out (%s); %d queued messages blocked', contact_id, keyword, len(blocked))
    return OptedOut(
        contact_id=contact_id,
        keyword=keyword,
        blocked_message_ids=[message_id for message_id, _, _ in blocked],
        confirmation_id=confirmation_id,
    )


async def unchecked_candidates(db: Database, *, since_id: int, limit: int) -> list[tuple[int, str]]:
    """Inbound customer texts after `since_id` from contacts not opted out: (id, text) for the sweep to test."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Message.id, Message.text)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                .where(
                    col(Message.id) > since_id,
                    Message.direction == Direction.INBOUND,
                    Message.sender_kind == SenderKind.CUSTOMER,
                    col(Message.type).in_(sorted(CHECKED_TYPES)),
                    col(Contact.opted_out_at).is_(None),
                )
                .order_by(col(Message.id))
                .limit(limit)
            )
        ).all()
    return [(message_id or 0, text) for message_id, text in rows]
