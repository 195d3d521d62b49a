"""Reading conversations and messages for people who may see them.

Branch isolation (B2) is applied here, in every query, whatever page or API calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import aliased
from sqlmodel import and_, col, or_, select

from .access import Viewer, branch_scope
from .database import Database
from .errors import NotFound
from .models import (
    Branch,
    Contact,
    Conversation,
    ConversationLabel,
    ConversationMode,
    ConversationStatus,
    Message,
    User,
)
from .search import conversation_matches, normalize_term
from .takeover.states import Phase, phase_of


class ConversationRow(BaseModel):
    """A conversation as lists show it (and the API returns it)."""

    model_config = ConfigDict(frozen=True)

    id: int
    branch_id: int
    branch_code: str
    contact_id: int
    contact_name: str
    contact_phone: str | None
    status: ConversationStatus
    mode: ConversationMode
    assigned_user_id: int | None
    assigned_to: str | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_message_preview: str
    unread_count: int
    waiting_since: datetime | None = None  # oldest unanswered customer message
    # Takeover (T1–T4): the phase the state chip shows, the holder's deadline (countdown), "Espera humano"
    # since when and why, a faithful client's running offer, and whose faithful client it is.
    phase: Phase = Phase.AI
    takeover_deadline: datetime | None = None
    human_requested_at: datetime | None = None
    human_request_reason: str = ''
    offered_user_id: int | None = None
    offered_to: str | None = None
    offer_expires_at: datetime | None = None
    faithful_user_id: int | None = None
    faithful_to: str | None = None


Assignment = Literal['all', 'mine', 'unassigned']


@dataclass(frozen=True)
class MessageRow:
    message: Message
    conversation_id: int
    branch_id: int
    contact_phone: str | None


def _conversation_query():
    assignee, offered, faithful = aliased(User), aliased(User), aliased(User)
    return (
        select(Conversation, Contact, Branch.code, assignee.full_name, offered.full_name, faithful.full_name)
        .join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .join(Branch, col(Branch.id) == col(Conversation.branch_id))
        .join(assignee, col(assignee.id) == col(Conversation.assigned_user_id), isouter=True)
        .join(offered, col(offered.id) == col(Conversation.offered_user_id), isouter=True)
        .join(faithful, col(faithful.id) == col(Conversation.faithful_user_id), isouter=True)
    )


def _row(found: Any) -> ConversationRow:
    """One result of `_conversation_query` as a list row."""
    conversation, contact, branch_code, assignee_name, offered_name, faithful_name = found
    return ConversationRow(
        id=conversation.id or 0, branch_id=conversation.branch_id, branch_code=branch_code,
        contact_id=contact.id or 0, contact_name=contact.name, contact_phone=contact.phone_e164,
        status=ConversationStatus(conversation.status), mode=ConversationMode(conversation.mode),
        assigned_user_id=conversation.assigned_user_id, assigned_to=assignee_name,
        last_message_at=conversation.last_message_at, last_inbound_at=conversation.last_inbound_at,
        last_message_preview=conversation.last_message_preview, unread_count=conversation.unread_count,
        waiting_since=conversation.waiting_since,
        phase=phase_of(status=conversation.status, mode=conversation.mode,
                       assigned_user_id=conversation.assigned_user_id,
                       human_requested_at=conversation.human_requested_at),
        takeover_deadline=conversation.takeover_deadline, human_requested_at=conversation.human_requested_at,
        human_request_reason=conversation.human_request_reason, offered_user_id=conversation.offered_user_id,
        offered_to=offered_name, offer_expires_at=conversation.offer_expires_at,
        faithful_user_id=conversation.faithful_user_id, faithful_to=faithful_name,
    )


async def list_conversations(
    db: Database, *, viewer: Viewer, branch_id: int | None = None,
    status: ConversationStatus | None = ConversationStatus.OPEN, assignment: Assignment = 'all',
    mode: ConversationMode | None = None, unread_only: bool = False, label: str | None = None, search: str = '',
    limit: int = 50, before_id: int | None = None,
) -> list[ConversationRow]:
    """Conversations the viewer may see, most recent activity first, narrowed by the inbox filters (C1).
    `before_id` pages on: the rows after that conversation in this order (keyset, fast at any depth)."""
    query = _conversation_query().where(branch_scope(Conversation.branch_id, viewer, only=branch_id))
    if status is not None:
        query = query.where(Conversation.status == status)
    if assignment == 'mine':
        query = query.where(Conversation.assigned_user_id == viewer.user_id)
    elif assignment == 'unassigned':
        query = query.where(col(Conversation.assigned_user_id).is_(None))
    if mode is not None:
        query = query.where(Conversation.mode == mode)
    if unread_only:
        query = query.where(col(Conversation.unread_count) > 0)
    if label:
        query = query.where(col(Conversation.id).in_(
            select(ConversationLabel.conversation_id).where(ConversationLabel.label == label.strip().lower())))
    if term := normalize_term(search):
        query = query.where(conversation_matches(db.dialect, term))
    if before_id is not None:
        async with db.session() as session:
            anchor = await session.get(Conversation, before_id)
        if anchor is not None and anchor.last_message_at is not None:
            query = query.where(or_(
                col(Conversation.last_message_at) < anchor.last_message_at,
                and_(col(Conversation.last_message_at) == anchor.last_message_at, col(Conversation.id) < before_id),
                col(Conversation.last_message_at).is_(None)))
        elif anchor is not None:
            query = query.where(col(Conversation.last_message_at).is_(None), col(Conversation.id) < before_id)
    query = query.order_by(col(Conversation.last_message_at).desc().nulls_last(),
                           col(Conversation.id).desc()).limit(limit)
    async with db.session() as session:
        rows = (await session.exec(query)).all()
    return [_row(row) for row in rows]


async def get_conversation(db: Database, *, viewer: Viewer, conversation_id: int) -> ConversationRow:
    async with db.session() as session:
        row = (await session.exec(_conversation_query().where(col(Conversation.id) == conversation_id))).first()
    # Another branch's conversation is "not found": its existence is not revealed.
    if row is None or not viewer.can_see_branch(row[0].branch_id):
        raise NotFound(f'no conversation {conversation_id}')
    return _row(row)


async def list_messages(db: Database, *, viewer: Viewer, conversation_id: int, limit: int = 50,
                        before_id: int | None = None) -> list[Message]:
    """The newest `limit` messages (older than `before_id` when paging back), oldest first."""
    await get_conversation(db, viewer=viewer, conversation_id=conversation_id)
    query = select(Message).where(Message.conversation_id == conversation_id)
    async with db.session() as session:
        if before_id is not None:
            anchor = await session.get(Message, before_id)
            if anchor is not None:
                query = query.where(or_(col(Message.sent_at) < anchor.sent_at,
                                        and_(col(Message.sent_at) == anchor.sent_at, col(Message.id) < before_id)))
        rows = (await session.exec(
            query.order_by(col(Message.sent_at).desc(), col(Message.id).desc()).limit(limit))).all()
    return list(reversed(rows))


async def get_message_by_wa_id(db: Database, *, viewer: Viewer, wa_message_id: str) -> MessageRow:
    async with db.session() as session:
        row = (await session.exec(
            select(Message, Conversation.branch_id, Contact.phone_e164)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .join(Contact, col(Contact.id) == col(Conversation.contact_id))
            .where(Message.wa_message_id == wa_message_id)
        )).first()
    if row is None or not viewer.can_see_branch(row[1]):
        raise NotFound(f'no message {wa_message_id}')
    message, branch_id, phone = row
    return MessageRow(message=message, conversation_id=message.conversation_id, branch_id=branch_id,
                      contact_phone=phone)
