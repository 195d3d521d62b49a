"""Fixtures for the assistant: the demo catalog (shared with the catalog tests), conversations, the fake LLM."""

from __future__ import annotations

from datetime import timedelta

from services.database import Database
from services.models import Direction, Message, MessageStatus, SenderKind
from services.models.types import utcnow
from tests.fakes.openai_server import fake_openai  # noqa: F401 - fixture
from tests.unit.services.catalog.conftest import catalog, demo_catalog  # noqa: F401 - fixture and its data


async def add_message(
    db: Database,
    conversation_id: int,
    text: str,
    *,
    sender: SenderKind = SenderKind.CUSTOMER,
    seconds_ago: float = 30.0,
) -> int:
    """A message as ingest (customer) or the outbox (bot/agent, already sent) leaves it."""
    at = utcnow() - timedelta(seconds=seconds_ago)
    inbound = sender == SenderKind.CUSTOMER
    async with db.session() as session:
        message = Message(
            conversation_id=conversation_id,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            sender_kind=sender,
            text=text,
            sent_at=at,
            created_at=at,
            status=MessageStatus.RECEIVED if inbound else MessageStatus.SENT,
        )
        session.add(message)
        await session.commit()
        return message.id or 0
