"""Conversations of the dashboard tests written as the services leave them, at chosen moments: a customer's first
message, the replies, the assignment history and the close."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.models import (
    AssignmentEvent,
    Contact,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Direction,
    Message,
    SenderKind,
    User,
)
from services.models.types import utcnow
from tests.conftest import World

ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
# 12:00 in Buenos Aires on Tuesday 1 December 2026 (UTC-3): the day the tests look at.
NOON = datetime(2026, 12, 1, 15, 0, tzinfo=utcnow().tzinfo)


def at(seconds: float) -> datetime:
    return NOON + timedelta(seconds=seconds)


@dataclass
class Reply:
    kind: SenderKind
    seconds: float  # after the customer's first message
    user: User | None = None


@dataclass
class Story:
    """One conversation: the customer writes at `start`, then `replies`, `events` (action, user, seconds)…"""

    start: datetime = NOON
    replies: Sequence[Reply] = ()
    events: Sequence[tuple[str, User | None, float]] = ()
    closed_after: float | None = None
    phone: str = ''
    name: str = 'Cliente'
    branch: str = 'central'
    assigned: User | None = None
    mode: ConversationMode = ConversationMode.AI
    waiting_since: datetime | None = None
    human_requested_at: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)


_phones = iter(range(10_000, 99_999))


async def tell(db: Database, world: World, story: Story) -> int:
    """Writes the story's rows; returns the conversation id."""
    branch = world.central if story.branch == 'central' else world.rosario
    number = world.central_number if story.branch == 'central' else world.rosario_number
    phone = story.phone or f'+54911555{next(_phones)}'
    async with db.session() as session:
        contact = Contact(phone_e164=phone, wa_id=phone.lstrip('+'), profile_name=story.name)
        session.add(contact)
        await session.flush()
        closed = story.closed_after is not None
        conversation = Conversation(
            contact_id=contact.id or 0,
            number_id=number.id or 0,
            branch_id=branch.id or 0,
            status=ConversationStatus.CLOSED if closed else ConversationStatus.OPEN,
            mode=story.mode,
            assigned_user_id=story.assigned.id if story.assigned else None,
            waiting_since=story.waiting_since,
            human_requested_at=story.human_requested_at,
            created_at=story.start,
            last_message_at=story.start,
            last_message_preview='Hola, ¿tienen pastillas de freno?',
            closed_at=story.start + timedelta(seconds=story.closed_after) if story.closed_after is not None else None,
        )
        session.add(conversation)
        await session.flush()
        conversation_id = conversation.id or 0
        session.add(
            Message(
                conversation_id=conversation_id,
                direction=Direction.INBOUND,
                sender_kind=SenderKind.CUSTOMER,
                text='Hola',
                sent_at=story.start,
                created_at=story.start,
            )
        )
        for reply in story.replies:
            moment = story.start + timedelta(seconds=reply.seconds)
            session.add(
                Message(
                    conversation_id=conversation_id,
                    direction=Direction.OUTBOUND,
                    sender_kind=reply.kind,
                    sent_by_user_id=reply.user.id if reply.user else None,
                    text='Sí, tenemos',
                    sent_at=moment,
                    created_at=moment,
                )
            )
        for action, user, seconds in story.events:
            session.add(
                AssignmentEvent(
                    conversation_id=conversation_id,
                    action=action,
                    user_id=user.id if user else None,
                    at=story.start + timedelta(seconds=seconds),
                )
            )
        await session.commit()
        return conversation_id


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)
