"""Rows for tests, built the way ingest would leave them."""

from __future__ import annotations

from datetime import timedelta

from services.database import Database
from services.models import Contact, Conversation, ConversationMode, Direction, Message, SenderKind
from services.models.types import utcnow


async def conversation_with_message(
    db: Database,
    *,
    number_id: int,
    branch_id: int,
    phone: str,
    text: str,
    wa_message_id: str,
    hours_ago: float = 0.5,
    name: str = '',
    assigned_user_id: int | None = None,
    mode: ConversationMode = ConversationMode.AI,
    unread: int = 1,
) -> int:
    """A customer who wrote `text` `hours_ago` hours ago; returns the conversation id."""
    async with db.session() as session:
        contact = Contact(phone_e164=phone, wa_id=phone.lstrip('+'), profile_name=name or f'Cliente {phone[-4:]}')
        session.add(contact)
        await session.flush()
        at = utcnow() - timedelta(hours=hours_ago)
        conversation = Conversation(
            contact_id=contact.id or 0,
            number_id=number_id,
            branch_id=branch_id,
            last_inbound_at=at,
            last_message_at=at,
            last_message_preview=text[:200],
            unread_count=unread,
            waiting_since=at,
            assigned_user_id=assigned_user_id,
            mode=mode,
        )
        session.add(conversation)
        await session.flush()
        session.add(
            Message(
                conversation_id=conversation.id or 0,
                direction=Direction.INBOUND,
                sender_kind=SenderKind.CUSTOMER,
                text=text,
                wa_message_id=wa_message_id,
                sent_at=at,
            )
        )
        await session.commit()
        return conversation.id or 0
