"""An agent sends a product into a conversation (S1): the product's WhatsApp text, queued through the outbox as
the agent, so the branch rules (B2) and the 24-hour window (M4) apply exactly as for typed replies."""

from __future__ import annotations

from ..access import Viewer
from ..database import Database
from ..errors import NotFound
from ..events import EventPublisher
from ..inbox.conversations import get_conversation
from ..models import Message, SenderKind
from ..whatsapp.outbox import queue_text
from .search import branch_names, product_by_sku, product_message


async def send_product(
    db: Database, *, viewer: Viewer, conversation_id: int, sku: str, publisher: EventPublisher
) -> Message:
    """Queue the product's text (title, price with IVA, stock at the conversation's branch, first photo, SKU).
    Raises NotFound for a conversation the viewer may not see, OutsideWindow after 24 h."""
    conversation = await get_conversation(db, viewer=viewer, conversation_id=conversation_id)
    hit = await product_by_sku(db, sku=sku, branch_id=conversation.branch_id)
    if hit is None:
        raise NotFound(f'no product {sku!r}')
    branch = (await branch_names(db, [conversation.branch_id])).get(conversation.branch_id)
    return await queue_text(
        db,
        conversation_id=conversation_id,
        text=product_message(hit, branch_name=branch),
        publisher=publisher,
        viewer=viewer,
        sender_kind=SenderKind.AGENT,
    )
