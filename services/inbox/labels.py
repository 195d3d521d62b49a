"""The labels of many conversations at once, for the console's list rows (SPEC C1: labels shown on every row).

The list's own query stays one row per conversation (its ORDER BY is the inbox index's): the labels of the page's
rows come from this second, small query instead of a join that would multiply the rows.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select

from ..access import Viewer, branch_scope
from ..database import Database
from ..models import Conversation, ConversationLabel


async def labels_of(db: Database, *, viewer: Viewer, conversation_ids: Collection[int]) -> dict[int, list[str]]:
    """{conversation id: its labels, sorted} for those the viewer may see (B2); conversations without labels, and
    other branches' conversations, are absent."""
    if not conversation_ids:
        return {}
    query = (
        select(ConversationLabel.conversation_id, ConversationLabel.label)
        .join(Conversation, col(Conversation.id) == col(ConversationLabel.conversation_id))
        .where(col(ConversationLabel.conversation_id).in_(sorted(set(conversation_ids))))
        .where(branch_scope(Conversation.branch_id, viewer))
        .order_by(col(ConversationLabel.conversation_id), col(ConversationLabel.label))
    )
    found: dict[int, list[str]] = {}
    async with db.autocommit_session() as session:
        for conversation_id, label in (await session.exec(query)).all():
            found.setdefault(conversation_id, []).append(label)
    return found
