"""Takeover (T1–T3, T5): take, release, toggle the AI, reassign, close/reopen, faithful clients, deadlines,
and the AI's handoff entry point `request_human`.

Every change is one conditional UPDATE (the move's allowed phases plus its own conditions) with RETURNING,
then its history row, in one transaction; `conversation.updated` is published after the commit. A caller whose
UPDATE matched nothing lost a race or asked for something the phase does not allow, and is told which
(`AlreadyTaken` names the holder: "ya la tomó Ana"). Nothing here reads a row and then writes on what it read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, Interval, String, func, insert, literal, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ..events import CONVERSATION_UPDATED, MESSAGE_CREATED, Event, EventPublisher
from ..models import (
    Branch,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Role,
    SenderKind,
    User,
)
from ..models.types import UTCDateTime, utcnow
from .moves import (
    BRANCHES,
    EVENTS,
    HANDOFF_REASON_LIMIT,
    RETURNED,
    TABLE,
    Executor,
    ai_values,
    apply_move,
    assigned_values,
    execute,
    phase_of_row,
    record_move,
    transition_event,
    user_name,
    waiting_values,
)
from .states import MOVES, UNASSIGNED, Action, Move, Phase, phase_in, phase_of

# Activity renews the deadline at most this often: typing would otherwise write (and announce) every 2 s.
RENEW_STEP = timedelta(seconds=10)
TAKE_ATTEMPTS = 3


# --- errors the UI translates by their code ---------------------------------------------------------------


class AlreadyTaken(Conflict):
    """T3: somebody else won the race (or held it already)."""

    code = 'already_taken'

    def __init__(self, holder: str) -> None:
        super().__init__(f'already taken by {holder}', holder=holder)
        self.holder = holder


class OfferedToAnother(Conflict):
    """T4: reserved for the faithful client's agent until the offer expires."""

    code = 'offered_to_another'

    def __init__(self, holder: str, until: datetime) -> None:
        super().__init__(f'offered to {holder} until {until.isoformat()}', holder=holder, until=until)
        self.holder = holder
        self.until = until


class NotHolder(PermissionDenied):
    """Only the agent holding a conversation (or a manager) may release it or hand it back to the AI."""

    code = 'not_holder'

    def __init__(self, holder: str) -> None:
        super().__init__(f'held by {holder}', holder=holder)
        self.holder = holder


class NotAllowedNow(Conflict):
    """The move does not start from the conversation's phase (e.g. releasing one nobody holds)."""

    code = 'invalid_transition'

    def __init__(self, action: str, phase: Phase) -> None:
        super().__init__(f'cannot {action} a conversation that is {phase}', action=action, phase=phase)
        self.phase = phase


# --- results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    conversation_id: int
    branch_id: int
    phase: Phase
    assigned_user_id: int | None
    takeover_deadline: datetime | None
    changed: bool  # False when it already was so (an agent taking her own conversation again)


@dataclass(frozen=True)
class HandoffResult:
    """What `request_human` did. `phase` is WAITING (nobody yet) or ASSIGNED (a human already holds it)."""

    conversation_id: int
    phase: Phase
    changed: bool  # False: a human was already wanted or holding it (nothing new recorded)
    assigned_to: str | None
    waiting_since: datetime | None


@dataclass(frozen=True)
class _Context:
    conversation_id: int
    branch_id: int
    contact_id: int
    phase: Phase
    assigned_user_id: int | None
    assigned_name: str
    offered_user_id: int | None
    offered_name: str
    offer_expires_at: datetime | None
    timeout: timedelta


_HOLDER, _OFFERED = aliased(User), aliased(User)
_CONTEXT_QUERY = (
    select_columns(
        Conversation.branch_id,
        Conversation.contact_id,
        Conversation.status,
        Conversation.mode,
        Conversation.assigned_user_id,
        Conversation.human_requested_at,
        Conversation.offered_user_id,
        Conversation.offer_expires_at,
        Branch.takeover_timeout_seconds,
        _HOLDER.full_name,
        _OFFERED.full_name,
    )
    .join(Branch, col(Branch.id) == col(Conversation.branch_id))
    .join(_HOLDER, col(_HOLDER.id) == col(Conversation.assigned_user_id), isouter=True)
    .join(_OFFERED, col(_OFFERED.id) == col(Conversation.offered_user_id), isouter=True)
)


async def _context(executor: Executor, conversation_id: int, viewer: Viewer | None) -> _Context:
    row = (await execute(executor, _CONTEXT_QUERY.where(Conversation.id == conversation_id))).first()
    if row is None or (viewer is not None and not viewer.can_see_branch(row[0])):
        # Another branch's conversation is "not found": its existence is not revealed (B2).
        raise NotFound(f'no conversation {conversation_id}')
    branch_id, contact_id, status, mode, assigned, requested, offered, offer_until, timeout, holder, offeree = row
    return _Context(
        conversation_id=conversation_id,
        branch_id=branch_id,
        contact_id=contact_id,
        phase=phase_of(status=status, mode=mode, assigned_user_id=assigned, human_requested_at=requested),
        assigned_user_id=assigned,
        assigned_name=holder or '',
        offered_user_id=offered,
        offered_name=offeree or '',
        offer_expires_at=offer_until,
        timeout=timedelta(seconds=timeout),
    )


def _outcome(conversation_id: int, row: Any, *, changed: bool) -> Outcome:
    return Outcome(
        conversation_id=conversation_id,
        branch_id=row.branch_id,
        phase=phase_of_row(row),
        assigned_user_id=row.assigned_user_id,
        takeover_deadline=row.takeover_deadline,
        changed=changed,
    )


def _require_person(viewer: Viewer) -> int:
    if viewer.user_id is None:
        raise PermissionDenied('only a signed-in person can hold a conversation (not an API key)')
    return viewer.user_id


# --- taking and releasing ---------------------------------------------------------------------------------


@asynccontextmanager
async def _unit(db: Database) -> AsyncIterator[AsyncConnection]:
    """One connection for a take or a release. PostgreSQL: autocommit, each statement its own transaction (the
    move and its history row are one statement, see `_decide`), so no BEGIN/COMMIT round trips. SQLite: one
    transaction (it has no network round trips to save)."""
    if db.dialect == 'postgresql':
        async with db.engine.connect() as connection:
            yield await connection.execution_options(isolation_level='AUTOCOMMIT')
    else:
        async with db.engine.begin() as connection:
            yield connection


async def _decide(
    connection: AsyncConnection,
    conversation_id: int,
    move: Move,
    values: dict[str, Any],
    conditions: Sequence[ColumnElement[bool]],
    *,
    user_id: int | None,
    actor_user_id: int | None,
    reason: str,
    now: datetime,
) -> Any:
    """A move and its history row as one atomic unit: on PostgreSQL ONE statement (a data-modifying CTE); on
    SQLite, which has no such CTEs, two statements in the unit's transaction."""
    statement = (
        update(TABLE)
        .where(TABLE.c.id == conversation_id, phase_in(move.sources), *conditions)
        .values(**values)
        .returning(*RETURNED, TABLE.c.id.label('moved_id'))
    )
    if connection.dialect.name != 'postgresql':
        row = (await connection.execute(statement)).first()
        if row is not None:
            await record_move(
                connection,
                conversation_id,
                move.action,
                user_id=user_id,
                actor_user_id=actor_user_id,
                reason=reason,
                now=now,
            )
        return row
    moved = statement.cte('moved')
    logged = insert(EVENTS).from_select(
        ['conversation_id', 'action', 'user_id', 'actor_user_id', 'reason', 'at'],
        core_select(
            moved.c.moved_id,
            literal(str(move.action), String()),
            literal(user_id, Integer()),
            literal(actor_user_id, Integer()),
            literal(reason[:200], String()),
            literal(now, UTCDateTime()),
        ),
    )
    query = select(*(moved.c[column.name] for column in RETURNED)).add_cte(logged.cte('logged'))
    return (await connection.execute(query)).first()


def _deadline(dialect: str, context: _Context | None, now: datetime) -> Any:
    """now + the branch's timeout: in SQL on PostgreSQL (no read needed first), from the context on SQLite."""
    if context is not None:
        return now + context.timeout
    timeout = select(BRANCHES.c.takeover_timeout_seconds).where(BRANCHES.c.id == TABLE.c.branch_id).scalar_subquery()
    return literal(now, UTCDateTime()) + func.make_interval(0, 0, 0, 0, 0, 0, timeout, type_=Interval())


async def take(
    db: Database, *, viewer: Viewer, conversation_id: int, publisher: EventPublisher, now: datetime | None = None
) -> Outcome:
    """T3: the viewer takes the conversation, atomically. Exactly one of several agents pressing at once wins;
    the others get `AlreadyTaken` naming the winner. Taking one's own conversation again renews its deadline."""
    me = _require_person(viewer)
    now = now or utcnow()
    conditions = [branch_scope(TABLE.c.branch_id, viewer)]
    if not viewer.has_role(Role.MANAGER):  # T4: a faithful client's offer holds for agents, not managers
        conditions.append(
            or_(TABLE.c.offered_user_id.is_(None), TABLE.c.offered_user_id == me, TABLE.c.offer_expires_at <= now)
        )
    for _ in range(TAKE_ATTEMPTS):
        async with _unit(db) as connection:
            before = None if db.dialect == 'postgresql' else await _context(connection, conversation_id, viewer)
            row = await _decide(
                connection,
                conversation_id,
                MOVES['take'],
                assigned_values(me, _deadline(db.dialect, before, now), now),
                conditions,
                user_id=me,
                actor_user_id=me,
                reason='',
                now=now,
            )
            # Lost: who has it now (a new statement sees what the winner committed), or "not found".
            context = await _context(connection, conversation_id, viewer) if row is None else None
        if row is not None:
            await publisher.publish(
                [
                    transition_event(
                        row.branch_id, conversation_id, Action.TAKE, Phase.ASSIGNED, user_id=me, actor_user_id=me
                    )
                ]
            )
            return _outcome(conversation_id, row, changed=True)
        assert context is not None
        if context.assigned_user_id is not None and context.assigned_user_id != me:
            raise AlreadyTaken(context.assigned_name)
        if context.offered_user_id not in {None, me} and context.offer_expires_at and context.offer_expires_at > now:
            raise OfferedToAnother(context.offered_name, context.offer_expires_at)
        if context.assigned_user_id == me:
            renewed = await renew(
                db, user_id=me, conversation_id=conversation_id, publisher=publisher, now=now, step=timedelta(0)
            )
            return Outcome(
                conversation_id=conversation_id,
                branch_id=context.branch_id,
                phase=Phase.ASSIGNED,
                assigned_user_id=me,
                takeover_deadline=renewed,
                changed=False,
            )
        if context.phase not in UNASSIGNED:
            raise NotAllowedNow('take', context.phase)
        # Free again: someone took it and let it go between our statements. Try once more.
    assert context is not None  # every attempt that did not return read it
    raise NotAllowedNow('take', context.phase)


async def release(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    publisher: EventPublisher,
    to: Literal['ai', 'queue'] = 'ai',
    now: datetime | None = None,
) -> Outcome:
    """The holder (or a manager) lets it go: back to the AI, or to the queue for a colleague (the AI stays
    silent and the branch rule looks for another agent)."""
    me = _require_person(viewer)
    now = now or utcnow()
    move = MOVES['release_to_ai' if to == 'ai' else 'release_to_queue']
    values = ai_values(now) if to == 'ai' else waiting_values(now, reason='released', mode=ConversationMode.HUMAN)
    async with _unit(db) as connection:
        context = await _context(connection, conversation_id, viewer)
        holder = _check_holder(context, viewer, 'release')
        row = await _decide(
            connection,
            conversation_id,
            move,
            values,
            [TABLE.c.assigned_user_id == holder],
            user_id=holder,
            actor_user_id=me,
            reason=f'to_{to}',
            now=now,
        )
    if row is None:
        raise await _changed_meanwhile(db, conversation_id, viewer, 'release')
    await publisher.publish(
        [
            transition_event(
                row.branch_id,
                conversation_id,
                Action.RELEASE,
                phase_of_row(row),
                user_id=holder,
                actor_user_id=me,
                available=True,
                wants_rule=to == 'queue',
                exclude_user_id=holder,
            )
        ]
    )
    return _outcome(conversation_id, row, changed=True)


def _check_holder(context: _Context, viewer: Viewer, action: str) -> int:
    """The holder the move expects; agents may only move their own conversations."""
    if context.assigned_user_id is None:
        raise NotAllowedNow(action, context.phase)
    if context.assigned_user_id != viewer.user_id and not viewer.has_role(Role.MANAGER):
        raise NotHolder(context.assigned_name)
    return context.assigned_user_id


async def _changed_meanwhile(db: Database, conversation_id: int, viewer: Viewer, action: str) -> Exception:
    """The explanation for a move that matched nothing because someone changed the row in between."""
    async with db.session() as session:
        context = await _context(session, conversation_id, viewer)
    if context.assigned_user_id is not None and context.assigned_user_id != viewer.user_id:
        return AlreadyTaken(context.assigned_name)
    return NotAllowedNow(action, context.phase)


async def set_ai(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    enabled: bool,
    publisher: EventPublisher,
    now: datetime | None = None,
) -> Outcome:
    """Activar IA: the AI answers again (a held conversation is released to it). Pausar IA: the AI stops and
    the conversation waits for a person, who the branch rule looks for."""
    me = _require_person(viewer)
    now = now or utcnow()
    async with db.session() as session:
        context = await _context(session, conversation_id, viewer)
        if enabled:
            move, values = MOVES['ai_on'], ai_values(now)
            holder = _check_holder(context, viewer, 'ai_on') if context.phase == Phase.ASSIGNED else None
            conditions = (
                [TABLE.c.assigned_user_id == holder] if holder is not None else [TABLE.c.assigned_user_id.is_(None)]
            )
        else:
            move, values = MOVES['ai_off'], waiting_values(now, reason='ai_paused', mode=ConversationMode.HUMAN)
            holder, conditions = None, []
        row = await apply_move(session, conversation_id, move, values, conditions)
        if row is not None:
            await record_move(
                session, conversation_id, move.action, user_id=holder, actor_user_id=me, reason='', now=now
            )
            await session.commit()
    if row is None:
        raise await _changed_meanwhile(db, conversation_id, viewer, str(move.action))
    await publisher.publish(
        [
            transition_event(
                row.branch_id,
                conversation_id,
                move.action,
                phase_of_row(row),
                user_id=holder,
                actor_user_id=me,
                available=holder is not None or not enabled,
                wants_rule=not enabled,
            )
        ]
    )
    return _outcome(conversation_id, row, changed=True)


async def reassign(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    user_id: int,
    publisher: EventPublisher,
    now: datetime | None = None,
) -> Outcome:
    """A manager gives the conversation to an agent of its branch (whoever held it, or nobody)."""
    viewer.require_role(Role.MANAGER)
    now = now or utcnow()
    async with db.session() as session:
        context = await _context(session, conversation_id, viewer)
        target = await session.get(User, user_id)
        if (
            target is None
            or not target.active
            or target.branch_id != context.branch_id
            or target.role not in {Role.AGENT, Role.MANAGER}
        ):
            raise InvalidInput(f'user {user_id} is not an active agent of this branch')
        if context.assigned_user_id == user_id:
            return Outcome(
                conversation_id=conversation_id,
                branch_id=context.branch_id,
                phase=Phase.ASSIGNED,
                assigned_user_id=user_id,
                takeover_deadline=None,
                changed=False,
            )
        row = await apply_move(
            session, conversation_id, MOVES['reassign'], assigned_values(user_id, now + context.timeout, now)
        )
        if row is None:
            raise NotAllowedNow('reassign', context.phase)
        await record_move(
            session, conversation_id, Action.REASSIGN, user_id=user_id, actor_user_id=viewer.user_id, reason='', now=now
        )
        await session.commit()
    await publisher.publish(
        [
            transition_event(
                row.branch_id,
                conversation_id,
                Action.REASSIGN,
                Phase.ASSIGNED,
                user_id=user_id,
                actor_user_id=viewer.user_id,
                previous_user_id=context.assigned_user_id,
            )
        ]
    )
    return _outcome(conversation_id, row, changed=True)


async def branch_agents(db: Database, *, viewer: Viewer, branch_id: int) -> list[tuple[int, str]]:
    """Whom a manager may reassign to: the active agents and managers of the branch, by name."""
    viewer.require_branch(branch_id)
    async with db.session() as session:
        rows = (
            await session.exec(
                select(User.id, User.full_name)
                .where(
                    User.branch_id == branch_id,
                    col(User.active).is_(True),
                    col(User.role).in_([Role.AGENT, Role.MANAGER]),
                )
                .order_by(User.full_name)
            )
        ).all()
    return [(user_id or 0, name) for user_id, name in rows]


# --- closing, reopening -----------------------------------------------------------------------------------


async def close(
    db: Database, *, viewer: Viewer, conversation_id: int, publisher: EventPublisher, now: datetime | None = None
) -> Outcome:
    """Closing ends the hold and the wait; the next customer message opens a new conversation."""
    now = now or utcnow()
    async with db.session() as session:
        context = await _context(session, conversation_id, viewer)
        conditions = []
        if context.assigned_user_id is not None:
            conditions.append(TABLE.c.assigned_user_id == _check_holder(context, viewer, 'close'))
        row = await apply_move(
            session,
            conversation_id,
            MOVES['close'],
            {**ai_values(now), 'status': ConversationStatus.CLOSED, 'closed_at': now},
            conditions,
        )
        if row is not None:
            await record_move(
                session,
                conversation_id,
                Action.CLOSE,
                user_id=context.assigned_user_id,
                actor_user_id=viewer.user_id,
                reason='',
                now=now,
            )
            await session.commit()
    if row is None:
        raise await _changed_meanwhile(db, conversation_id, viewer, 'close')
    await publisher.publish(
        [
            transition_event(
                row.branch_id,
                conversation_id,
                Action.CLOSE,
                Phase.CLOSED,
                user_id=context.assigned_user_id,
                actor_user_id=viewer.user_id,
            )
        ]
    )
    return _outcome(conversation_id, row, changed=True)


async def reopen(
    db: Database, *, viewer: Viewer, conversation_id: int, publisher: EventPublisher, now: datetime | None = None
) -> Outcome:
    now = now or utcnow()
    async with db.session() as session:
        context = await _context(session, conversation_id, viewer)
        try:
            row = await apply_move(
                session,
                conversation_id,
                MOVES['reopen'],
                {**ai_values(now), 'status': ConversationStatus.OPEN, 'closed_at': None},
            )
        except IntegrityError as exc:  # the partial unique index: one open conversation per customer and number
            raise Conflict('the customer already has an open conversation on this number') from exc
        if row is None:
            raise NotAllowedNow('reopen', context.phase)
        await record_move(
            session, conversation_id, Action.REOPEN, user_id=None, actor_user_id=viewer.user_id, reason='', now=now
        )
        await session.commit()
    await publisher.publish(
        [
            transition_event(
                row.branch_id, conversation_id, Action.REOPEN, Phase.AI, user_id=None, actor_user_id=viewer.user_id
            )
        ]
    )
    return _outcome(conversation_id, row, changed=True)


# --- faithful clients (T4) --------------------------------------------------------------------------------


async def set_faithful(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    user_id: int | None,
    publisher: EventPublisher,
    now: datetime | None = None,
) -> None:
    """Mark (or unmark, `user_id=None`) the customer as faithful to an agent of the branch. It is set on every
    conversation of that customer in the branch, so the next one they open is offered to that agent first.
    Agents may mark customers only as their own (and unmark only their own); managers choose anyone."""
    now = now or utcnow()
    async with db.session() as session:
        context = await _context(session, conversation_id, viewer)
        current = (
            await session.exec(select(Conversation.faithful_user_id).where(Conversation.id == conversation_id))
        ).one()
        own_only = user_id not in {None, viewer.user_id} or (user_id is None and current not in {None, viewer.user_id})
        if own_only and not viewer.has_role(Role.MANAGER):
            raise PermissionDenied('agents may only mark customers as their own')
        if user_id is not None:
            target = await session.get(User, user_id)
            if target is None or not target.active or target.branch_id != context.branch_id:
                raise InvalidInput(f'user {user_id} is not an active agent of this branch')
        if current == user_id:
            return
        await session.exec(
            update(TABLE)
            .where(TABLE.c.contact_id == context.contact_id, TABLE.c.branch_id == context.branch_id)
            .values(faithful_user_id=user_id)
        )
        await record_move(
            session,
            conversation_id,
            Action.FAITHFUL,
            user_id=user_id,
            actor_user_id=viewer.user_id,
            reason='set' if user_id else 'cleared',
            now=now,
        )
        await session.commit()
    await publisher.publish(
        [
            transition_event(
                context.branch_id,
                conversation_id,
                Action.FAITHFUL,
                context.phase,
                user_id=user_id,
                actor_user_id=viewer.user_id,
            )
        ]
    )


# --- deadlines (T2) ---------------------------------------------------------------------------------------


async def renew(
    db: Database,
    *,
    user_id: int,
    conversation_id: int,
    publisher: EventPublisher,
    now: datetime | None = None,
    step: timedelta = RENEW_STEP,
) -> datetime | None:
    """Agent activity (sending, typing, opening it to reply) pushes the holder's deadline to a full timeout from
    now. Only the holder's activity counts; renewals closer than `step` to the last are skipped (no write, no
    event). Returns the new deadline, or None when nothing changed."""
    now = now or utcnow()
    async with db.session() as session:
        row = (
            await session.exec(
                select(Branch.takeover_timeout_seconds)
                .join(Conversation, col(Conversation.branch_id) == col(Branch.id))
                .where(Conversation.id == conversation_id, Conversation.assigned_user_id == user_id)
            )
        ).first()
        if row is None:
            return None
        deadline = now + timedelta(seconds=row)
        result = await session.exec(
            update(TABLE)
            .where(
                TABLE.c.id == conversation_id,
                TABLE.c.assigned_user_id == user_id,
                TABLE.c.status == ConversationStatus.OPEN,
                or_(TABLE.c.takeover_deadline.is_(None), TABLE.c.takeover_deadline < deadline - step),
            )
            .values(takeover_deadline=deadline)
            .returning(TABLE.c.branch_id)
        )
        branch_id = result.scalar_one_or_none()
        if branch_id is None:
            return None
        await session.commit()
    await publisher.publish(
        [
            Event(
                CONVERSATION_UPDATED,
                branch_id,
                conversation_id,
                {'reason': 'deadline', 'user_id': user_id, 'actor_user_id': user_id},
            )
        ]
    )
    return deadline


def renew_on_agent_messages(db: Database, publisher: EventPublisher) -> Callable[[Event], Awaitable[object] | None]:
    """Bus handler: an agent's message (from a page, the API, anywhere that queues one) renews that agent's hold.
    Decided without awaiting: the customers' messages (nearly all of them) cost no task and no queue entry."""

    def handle(event: Event) -> Awaitable[object] | None:
        user_id = event.data.get('sent_by_user_id')
        if (
            event.kind == MESSAGE_CREATED
            and event.conversation_id is not None
            and user_id is not None
            and event.data.get('sender_kind') == SenderKind.AGENT
        ):
            return renew(db, user_id=user_id, conversation_id=event.conversation_id, publisher=publisher)
        return None

    return handle


async def extend(
    db: Database, *, viewer: Viewer, conversation_id: int, publisher: EventPublisher, now: datetime | None = None
) -> datetime:
    """The holder's "extend" button: a full timeout from now."""
    me = _require_person(viewer)
    async with db.session() as session:
        context = await _context(session, conversation_id, viewer)
        if context.assigned_user_id != me:
            if context.assigned_user_id is None:
                raise NotAllowedNow('extend', context.phase)
            raise NotHolder(context.assigned_name)
    deadline = await renew(
        db, user_id=me, conversation_id=conversation_id, publisher=publisher, now=now, step=timedelta(0)
    )
    if deadline is None:
        raise await _changed_meanwhile(db, conversation_id, viewer, 'extend')
    return deadline


# --- the AI assistant's handoff (A1) ----------------------------------------------------------------------


async def request_human(
    db: Database, *, conversation_id: int, reason: str, publisher: EventPublisher, now: datetime | None = None
) -> HandoffResult:
    """The AI asks for a person (the customer asked for one, the AI is unsure, purchase intent is high).

    The conversation becomes WAITING ("Espera humano"), the history records `handoff` with `reason`, the
    branch's agents are notified and the branch rule (faithful agent first, then round robin / least busy)
    looks for someone. The mode stays AI until a person takes it, so a message the bot queues to say "te paso
    con un vendedor" is still sent; once a person holds it, every AI message is cancelled at send time.
    Calling it again, or when a person already holds it, changes nothing (`changed=False`)."""
    now = now or utcnow()
    reason = (reason or '').strip()[:HANDOFF_REASON_LIMIT] or 'requested'
    async with db.session() as session:
        context = await _context(session, conversation_id, None)
        row = await apply_move(
            session, conversation_id, MOVES['handoff'], waiting_values(now, reason=reason, mode=ConversationMode.AI)
        )
        if row is not None:
            await record_move(
                session, conversation_id, Action.HANDOFF, user_id=None, actor_user_id=None, reason=reason, now=now
            )
            await session.commit()
    if row is None:
        return await _handoff_state(db, conversation_id)
    await publisher.publish(
        [
            transition_event(
                context.branch_id,
                conversation_id,
                Action.HANDOFF,
                Phase.WAITING,
                user_id=None,
                actor_user_id=None,
                available=True,
                wants_rule=True,
            )
        ]
    )
    return HandoffResult(
        conversation_id=conversation_id,
        phase=Phase.WAITING,
        changed=True,
        assigned_to=None,
        waiting_since=row.human_requested_at,
    )


async def _handoff_state(db: Database, conversation_id: int) -> HandoffResult:
    async with db.session() as session:
        context = await _context(session, conversation_id, None)
        since = (
            await session.exec(select(Conversation.human_requested_at).where(Conversation.id == conversation_id))
        ).one()
        holder = await user_name(session, context.assigned_user_id) or None
    return HandoffResult(
        conversation_id=conversation_id, phase=context.phase, changed=False, assigned_to=holder, waiting_since=since
    )
