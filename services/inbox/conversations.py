"""Reading conversations and messages for people who may see them.

Branch isolation (B2) is applied here, in every query, whatever page or API calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement
from sqlalchemy.orm import aliased
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import NotFound
from ..models import (
    Branch,
    Contact,
    Conversation,
    ConversationLabel,
    ConversationMode,
    ConversationStatus,
    Message,
    User,
)
from ..takeover.states import Phase, phase_of
from .search import conversation_matches, normalize_term


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


# The three people a row names (holder, offered agent, faithful agent). Built once: aliasing and adapting
# columns costs far more than the query itself when it is rebuilt on every call.
_assignee, _offered, _faithful = (
    aliased(User, name='assignee'),
    aliased(User, name='offered'),
    aliased(User, name='faithful'),
)
# Plain columns, not entities: a list row is read-only, and loading ORM objects for 50 conversations and their
# contacts costs more Python time than PostgreSQL spends on the query.
_ROW_COLUMNS = (
    Conversation.id,
    Conversation.branch_id,
    Branch.code,
    Conversation.contact_id,
    Contact.display_name,
    Contact.profile_name,
    Contact.phone_e164,
    Contact.wa_user_id,
    Conversation.status,
    Conversation.mode,
    Conversation.assigned_user_id,
    _assignee.full_name,
    Conversation.last_message_at,
    Conversation.last_inbound_at,
    Conversation.last_message_preview,
    Conversation.unread_count,
    Conversation.waiting_since,
    Conversation.human_requested_at,
    Conversation.takeover_deadline,
    Conversation.human_request_reason,
    Conversation.offered_user_id,
    _offered.full_name,
    Conversation.offer_expires_at,
    Conversation.faithful_user_id,
    _faithful.full_name,
)
_CONVERSATION_QUERY = (
    select_columns(*_ROW_COLUMNS)
    .join(Contact, col(Contact.id) == col(Conversation.contact_id))
    .join(Branch, col(Branch.id) == col(Conversation.branch_id))
    .join(_assignee, col(_assignee.id) == col(Conversation.assigned_user_id), isouter=True)
    .join(_offered, col(_offered.id) == col(Conversation.offered_user_id), isouter=True)
    .join(_faithful, col(_faithful.id) == col(Conversation.faithful_user_id), isouter=True)
)


ROW_WIDTH = len(_ROW_COLUMNS)


def conversation_select(*extra_columns: Any) -> Any:
    """Conversation ⋈ contact ⋈ branch ⟕ the three people: the columns `row_from` reads, then `extra_columns`
    (joined by the caller) after them."""
    return _CONVERSATION_QUERY.add_columns(*extra_columns) if extra_columns else _CONVERSATION_QUERY


def row_from(found: Any) -> ConversationRow:
    """One result of `conversation_select` as a list row (its first ROW_WIDTH columns)."""
    (
        id_,
        branch_id,
        branch_code,
        contact_id,
        display_name,
        profile_name,
        phone,
        wa_user_id,
        status,
        mode,
        assigned_user_id,
        assignee_name,
        last_message_at,
        last_inbound_at,
        preview,
        unread_count,
        waiting_since,
        human_requested_at,
        takeover_deadline,
        human_request_reason,
        offered_user_id,
        offered_name,
        offer_expires_at,
        faithful_user_id,
        faithful_name,
    ) = found[:ROW_WIDTH]
    return ConversationRow(
        id=id_,
        branch_id=branch_id,
        branch_code=branch_code,
        contact_id=contact_id,
        # Contact.name's rule, on the columns.
        contact_name=display_name or profile_name or phone or wa_user_id or '?',
        contact_phone=phone,
        status=ConversationStatus(status),
        mode=ConversationMode(mode),
        assigned_user_id=assigned_user_id,
        assigned_to=assignee_name,
        last_message_at=last_message_at,
        last_inbound_at=last_inbound_at,
        last_message_preview=preview,
        unread_count=unread_count,
        waiting_since=waiting_since,
        phase=phase_of(
            status=status, mode=mode, assigned_user_id=assigned_user_id, human_requested_at=human_requested_at
        ),
        takeover_deadline=takeover_deadline,
        human_requested_at=human_requested_at,
        human_request_reason=human_request_reason,
        offered_user_id=offered_user_id,
        offered_to=offered_name,
        offer_expires_at=offer_expires_at,
        faithful_user_id=faithful_user_id,
        faithful_to=faithful_name,
    )


async def list_conversations(
    db: Database,
    *,
    viewer: Viewer,
    branch_id: int | None = None,
    status: ConversationStatus | None = ConversationStatus.OPEN,
    assignment: Assignment = 'all',
    mode: ConversationMode | None = None,
    unread_only: bool = False,
    label: str | None = None,
    search: str = '',
    limit: int = 50,
    before_id: int | None = None,
) -> list[ConversationRow]:
    """Conversations the viewer may see, most recent activity first, narrowed by the inbox filters (C1).
    `before_id` pages on: the rows after that conversation in this order (keyset, fast at any depth)."""
    query = conversation_select().where(branch_scope(Conversation.branch_id, viewer, only=branch_id))
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
        query = query.where(
            col(Conversation.id).in_(
                select(ConversationLabel.conversation_id).where(ConversationLabel.label == label.strip().lower())
            )
        )
    if term := normalize_term(search):
        query = query.where(conversation_matches(db.dialect, term))
    # This ORDER BY is exactly the one of the inbox indexes (`ix_conversations_inbox_order*`), so the database
    # reads the first `limit` rows in index order instead of sorting every open conversation of the branch.
    ordered = (col(Conversation.last_message_at).desc().nulls_last(), col(Conversation.id).desc())
    async with db.autocommit_session() as session:
        if before_id is not None:
            anchor = (
                await session.exec(
                    select(Conversation.id, Conversation.last_message_at).where(Conversation.id == before_id)
                )
            ).first()
            if anchor is not None:  # an unknown anchor pages from the top, as before
                query = query.where(_after_in_list_order(before_id, anchor[1]))
        rows = (await session.exec(query.order_by(*ordered).limit(limit))).all()
    return [row_from(row) for row in rows]


def _after_in_list_order(anchor_id: int, anchor_at: datetime | None) -> ColumnElement[bool]:
    """The rows after the anchor in the list order (latest activity first, never-active last, then id)."""
    if anchor_at is None:
        return and_(col(Conversation.last_message_at).is_(None), col(Conversation.id) < anchor_id)
    return or_(
        col(Conversation.last_message_at) < anchor_at,
        and_(col(Conversation.last_message_at) == anchor_at, col(Conversation.id) < anchor_id),
        col(Conversation.last_message_at).is_(None),
    )


async def get_conversation(db: Database, *, viewer: Viewer, conversation_id: int) -> ConversationRow:
    async with db.autocommit_session() as session:
        return await conversation_row(session, viewer=viewer, conversation_id=conversation_id)


async def conversation_row(session: AsyncSession, *, viewer: Viewer, conversation_id: int) -> ConversationRow:
    """`get_conversation` inside a session the caller already holds (one connection for a whole page action)."""
    row = (await session.exec(conversation_select().where(col(Conversation.id) == conversation_id))).first()
    # Another branch's conversation is "not found": its existence is not revealed.
    if row is None or not viewer.can_see_branch(row[1]):
        raise NotFound(f'no conversation {conversation_id}')
    return row_from(row)


async def visible_branch(session: AsyncSession, *, viewer: Viewer, conversation_id: int) -> int:
    """The conversation's branch, or NotFound when the viewer may not see it (the cheap check before a read)."""
    branch_id = (await session.exec(select(Conversation.branch_id).where(Conversation.id == conversation_id))).first()
    if branch_id is None or not viewer.can_see_branch(branch_id):
        raise NotFound(f'no conversation {conversation_id}')
    return branch_id


async def list_messages(
    db: Database, *, viewer: Viewer, conversation_id: int, limit: int = 50, before_id: int | None = None
) -> list[Message]:
    """The newest `limit` messages (older than `before_id` when paging back), oldest first."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    async with db.autocommit_session() as session:
        await visible_branch(session, viewer=viewer, conversation_id=conversation_id)
        if before_id is not None:
            anchor = await session.get(Message, before_id)
            if anchor is not None:
                query = query.where(
                    or_(
                        col(Message.sent_at) < anchor.sent_at,
                        and_(col(Message.sent_at) == anchor.sent_at, col(Message.id) < before_id),
                    )
                )
        rows = (
            await session.exec(query.order_by(col(Message.sent_at).desc(), col(Message.id).desc()).limit(limit))
        ).all()
    return list(reversed(rows))


async def get_message_by_wa_id(db: Database, *, viewer: Viewer, wa_message_id: str) -> MessageRow:
    async with db.session() as session:
        row = (
            await session.exec(
                select(Message, Conversation.branch_id, Contact.phone_e164)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                .where(Message.wa_message_id == wa_message_id)
            )
        ).first()
    if row is None or not viewer.can_see_branch(row[1]):
        raise NotFound(f'no message {wa_message_id}')
    message, branch_id, phone = row
    return MessageRow(
        message=message, conversation_id=message.conversation_id, branch_id=branch_id, contact_phone=phone
    )
