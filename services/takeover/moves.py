"""The pieces every takeover change is made of (T1–T5), shared by the agents' actions (`service`), the branch
rules (`rules`) and the sweeper (`workers`): the one conditional UPDATE that decides a move (`apply_move`), its
history row (`record_move`), the column values of each target state, and the `conversation.updated` event.

A move's UPDATE matches only while the row is still in one of the move's source phases (plus the caller's own
conditions), so two processes racing for the same conversation never both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, insert, literal, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..events import CONVERSATION_UPDATED, Event
from ..models import AssignmentEvent, Branch, Conversation, ConversationMode, User, table_of
from ..models.types import UTCDateTime
from .states import Action, Move, Phase, phase_in, phase_of

HANDOFF_REASON_LIMIT = 200

TABLE = table_of(Conversation)
EVENTS = table_of(AssignmentEvent)
BRANCHES = table_of(Branch)
RETURNED = (
    TABLE.c.branch_id,
    TABLE.c.status,
    TABLE.c.mode,
    TABLE.c.assigned_user_id,
    TABLE.c.human_requested_at,
    TABLE.c.takeover_deadline,
)


# Take and release are the hot path (every agent, many times a day, racing each other): they run on a plain
# connection with Core statements, which costs a fraction of an ORM session's bookkeeping. Everything else
# uses sessions; the helpers below accept either.
Executor = AsyncSession | AsyncConnection


async def execute(executor: Executor, statement: Any) -> Any:
    if isinstance(executor, AsyncSession):
        return await executor.exec(statement)
    return await executor.execute(statement)


async def user_name(session: AsyncSession, user_id: int | None) -> str:
    if user_id is None:
        return ''
    return (await session.exec(select(User.full_name).where(User.id == user_id))).first() or f'#{user_id}'


def assigned_values(user_id: int, deadline: datetime, now: datetime) -> dict[str, Any]:
    return {
        'assigned_user_id': user_id,
        'mode': ConversationMode.HUMAN,
        'takeover_deadline': deadline,
        'human_requested_at': None,
        'human_request_reason': '',
        'offered_user_id': None,
        'offer_expires_at': None,
        'updated_at': now,
    }


def ai_values(now: datetime) -> dict[str, Any]:
    return {
        'assigned_user_id': None,
        'mode': ConversationMode.AI,
        'takeover_deadline': None,
        'human_requested_at': None,
        'human_request_reason': '',
        'offered_user_id': None,
        'offer_expires_at': None,
        'updated_at': now,
    }


def waiting_values(now: datetime, *, reason: str, mode: ConversationMode) -> dict[str, Any]:
    # Waiting since the first time a person was wanted, not since the latest reason to want one.
    since = case((TABLE.c.human_requested_at.is_(None), literal(now, UTCDateTime())), else_=TABLE.c.human_requested_at)
    return {
        'assigned_user_id': None,
        'mode': mode,
        'takeover_deadline': None,
        'human_requested_at': since,
        'human_request_reason': reason[:HANDOFF_REASON_LIMIT],
        'updated_at': now,
    }


async def apply_move(
    executor: Executor,
    conversation_id: int,
    move: Move,
    values: dict[str, Any],
    conditions: Sequence[ColumnElement[bool]] = (),
) -> Any:
    """The one statement that decides: the row after the move, or None when the move no longer applies."""
    result = await execute(
        executor,
        update(TABLE)
        .where(TABLE.c.id == conversation_id, phase_in(move.sources), *conditions)
        .values(**values)
        .returning(*RETURNED),
    )
    return result.first()


def phase_of_row(row: Any) -> Phase:
    return phase_of(
        status=row.status,
        mode=row.mode,
        assigned_user_id=row.assigned_user_id,
        human_requested_at=row.human_requested_at,
    )


async def record_move(
    executor: Executor,
    conversation_id: int,
    action: Action,
    *,
    user_id: int | None,
    actor_user_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    await execute(
        executor,
        insert(EVENTS).values(
            conversation_id=conversation_id,
            action=str(action),
            user_id=user_id,
            actor_user_id=actor_user_id,
            reason=reason[:200],
            at=now,
        ),
    )


def transition_event(
    branch_id: int,
    conversation_id: int,
    action: Action,
    phase: Phase,
    *,
    user_id: int | None,
    actor_user_id: int | None,
    available: bool = False,
    wants_rule: bool = False,
    exclude_user_id: int | None = None,
    **extra: Any,
) -> Event:
    """`conversation.updated` for a takeover change. Pages read `user_id`/`actor_user_id`/`available` to notify
    (assigned to me, offered to me, free to take); the assignment worker reads `wants_rule`."""
    data: dict[str, Any] = {
        'reason': str(action),
        'phase': str(phase),
        'user_id': user_id,
        'actor_user_id': actor_user_id,
        'available': available,
        'wants_rule': wants_rule,
        **extra,
    }
    if exclude_user_id is not None:
        data['exclude_user_id'] = exclude_user_id
    return Event(CONVERSATION_UPDATED, branch_id, conversation_id, data)
