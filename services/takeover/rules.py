"""Assignment rules per branch (T4): the faithful client's agent first, then manual pick, round robin among
online agents, or least busy within each agent's capacity.

"Online" is what the caller passes: the agents with an inbox page open (`PresenceBoard.online_user_ids`).
Decisions of one branch are serialised by a no-op UPDATE of the branch row at the start of the transaction (a
row lock on PostgreSQL, the write lock on SQLite), so two processes assigning at once see each other's counts
and round-robin cursor; the assignment itself is still a conditional UPDATE that only matches an unassigned
conversation, so a take racing with the rule leaves exactly one holder.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..branch_settings import faithful_offer_seconds
from ..database import Database
from ..events import EventPublisher
from ..models import AssignmentEvent, AssignmentRule, Branch, Conversation, ConversationStatus, Role, User, table_of
from ..models.types import utcnow
from .moves import TABLE, apply_move, assigned_values, record_move, transition_event, user_name
from .states import MOVES, UNASSIGNED, Action, Phase, phase_in, phase_of


@dataclass(frozen=True)
class RuleDecision:
    conversation_id: int
    kind: Literal['offered', 'assigned', 'none', 'skipped']
    user_id: int | None = None
    user_name: str = ''
    rule: str = ''


async def apply_rule(
    db: Database,
    *,
    conversation_id: int,
    online: Collection[int],
    publisher: EventPublisher,
    offer_seconds: int,
    now: datetime | None = None,
    exclude: Collection[int] = (),
    allow_offer: bool = True,
) -> RuleDecision:
    """Find a person for an unassigned conversation. Offers it to the customer's faithful agent when that agent is
    online (for the branch's own offer length, else `offer_seconds`; not at all where the branch switched the offer
    off); otherwise the branch rule picks among the online agents (none for manual).
    A faithful agent who is offline is skipped: the customer goes to the rule, not to someone who is not there.
    `exclude`: agents not to pick now (the one who just timed out or released it)."""
    now = now or utcnow()
    candidates = set(online) - set(exclude)
    async with db.session() as session:
        branch_id = (
            await session.exec(select(Conversation.branch_id).where(Conversation.id == conversation_id))
        ).first()
        if branch_id is None:
            return RuleDecision(conversation_id, 'skipped')
        branches = table_of(Branch)
        await session.exec(
            update(branches)
            .where(branches.c.id == branch_id)
            .values(round_robin_user_id=branches.c.round_robin_user_id)
        )
        conversation = (
            await session.exec(
                select(Conversation).where(Conversation.id == conversation_id).execution_options(populate_existing=True)
            )
        ).one()
        branch = (
            await session.exec(select(Branch).where(Branch.id == branch_id).execution_options(populate_existing=True))
        ).one()
        phase = phase_of(
            status=conversation.status,
            mode=conversation.mode,
            assigned_user_id=conversation.assigned_user_id,
            human_requested_at=conversation.human_requested_at,
        )
        if phase not in UNASSIGNED or (
            conversation.offer_expires_at is not None and conversation.offer_expires_at > now
        ):
            return RuleDecision(conversation_id, 'skipped')

        # T4: a branch may switch the faithful client's offer off, or give it its own length.
        offer_seconds = faithful_offer_seconds(branch, default=offer_seconds)
        faithful = conversation.faithful_user_id or await _inherited_faithful(session, conversation)
        if faithful is not None and conversation.faithful_user_id is None:
            await session.exec(update(TABLE).where(TABLE.c.id == conversation_id).values(faithful_user_id=faithful))
        if (
            allow_offer
            and offer_seconds > 0
            and faithful in candidates
            and await _is_branch_agent(session, faithful, branch_id)
        ):
            decision = await _offer(
                session, conversation_id, faithful, until=now + timedelta(seconds=offer_seconds), now=now
            )
            if decision is not None:
                await session.commit()
                await publisher.publish(
                    [
                        transition_event(
                            branch_id,
                            conversation_id,
                            Action.OFFER,
                            phase,
                            user_id=faithful,
                            actor_user_id=None,
                            offer_expires_at=(now + timedelta(seconds=offer_seconds)).isoformat(),
                        )
                    ]
                )
                return decision

        rule = AssignmentRule(branch.assignment_rule)
        agent = await choose_agent(session, branch=branch, rule=rule, online=candidates)
        if agent is None:
            await session.commit()  # keeps the inherited faithful mark
            return RuleDecision(conversation_id, 'none', rule=rule)
        deadline = now + timedelta(seconds=branch.takeover_timeout_seconds)
        row = await apply_move(session, conversation_id, MOVES['rule'], assigned_values(agent, deadline, now))
        if row is None:
            return RuleDecision(conversation_id, 'skipped')
        if rule == AssignmentRule.ROUND_ROBIN:
            await session.exec(update(branches).where(branches.c.id == branch_id).values(round_robin_user_id=agent))
        await record_move(
            session, conversation_id, Action.RULE, user_id=agent, actor_user_id=None, reason=rule, now=now
        )
        name = await user_name(session, agent)
        await session.commit()
    await publisher.publish(
        [
            transition_event(
                branch_id,
                conversation_id,
                Action.RULE,
                Phase.ASSIGNED,
                user_id=agent,
                actor_user_id=None,
                rule=str(rule),
            )
        ]
    )
    return RuleDecision(conversation_id, 'assigned', user_id=agent, user_name=name, rule=rule)


async def choose_agent(
    session: AsyncSession, *, branch: Branch, rule: AssignmentRule, online: Collection[int]
) -> int | None:
    """Round robin: the next online agent after the one who got the last conversation (by user id, wrapping).
    Least busy: the online agent holding the fewest open conversations, among those under their capacity."""
    if rule == AssignmentRule.MANUAL or not online:
        return None
    held = func.count(col(Conversation.id))
    rows = (
        await session.exec(
            select(User.id, User.capacity, held)
            .join(
                Conversation,
                (col(Conversation.assigned_user_id) == col(User.id))
                & (col(Conversation.status) == ConversationStatus.OPEN),
                isouter=True,
            )
            .where(
                User.branch_id == branch.id,
                User.role == Role.AGENT,
                col(User.active).is_(True),
                col(User.id).in_(sorted(online)),
            )
            .group_by(col(User.id), col(User.capacity))
        )
    ).all()
    if not rows:
        return None
    if rule == AssignmentRule.ROUND_ROBIN:
        ids = sorted(user_id for user_id, _, _ in rows if user_id is not None)
        last = branch.round_robin_user_id
        return next((user_id for user_id in ids if last is None or user_id > last), ids[0])
    free = [(count, user_id) for user_id, capacity, count in rows if user_id is not None and count < capacity]
    return min(free)[1] if free else None


async def _offer(
    session: AsyncSession, conversation_id: int, user_id: int, *, until: datetime, now: datetime
) -> RuleDecision | None:
    row = await apply_move(
        session,
        conversation_id,
        MOVES['offer'],
        {'offered_user_id': user_id, 'offer_expires_at': until, 'updated_at': now},
        [TABLE.c.offered_user_id.is_(None)],
    )
    if row is None:
        return None
    await record_move(
        session, conversation_id, Action.OFFER, user_id=user_id, actor_user_id=None, reason='faithful', now=now
    )
    return RuleDecision(
        conversation_id, 'offered', user_id=user_id, user_name=await user_name(session, user_id), rule='faithful'
    )


async def _inherited_faithful(session: AsyncSession, conversation: Conversation) -> int | None:
    """A returning customer: the faithful mark of their latest earlier conversation in this branch."""
    return (
        await session.exec(
            select(Conversation.faithful_user_id)
            .where(
                Conversation.contact_id == conversation.contact_id,
                Conversation.branch_id == conversation.branch_id,
                col(Conversation.id) != conversation.id,
                col(Conversation.faithful_user_id).is_not(None),
            )
            .order_by(col(Conversation.id).desc())
            .limit(1)
        )
    ).first()


async def _is_branch_agent(session: AsyncSession, user_id: int, branch_id: int) -> bool:
    user = await session.get(User, user_id)
    return user is not None and user.active and user.branch_id == branch_id


async def expire_offer(
    db: Database, *, conversation_id: int, user_id: int, now: datetime, publisher: EventPublisher
) -> bool:
    """The faithful agent let the offer pass: record it; the caller applies the rule without the offer."""
    async with db.session() as session:
        row = await apply_move(
            session,
            conversation_id,
            MOVES['offer_expired'],
            {'offered_user_id': None, 'offer_expires_at': None, 'updated_at': now},
            [TABLE.c.offered_user_id == user_id, TABLE.c.offer_expires_at <= now],
        )
        if row is None:
            return False
        await record_move(
            session, conversation_id, Action.OFFER_EXPIRED, user_id=user_id, actor_user_id=None, reason='', now=now
        )
        await session.commit()
    phase = phase_of(
        status=row.status,
        mode=row.mode,
        assigned_user_id=row.assigned_user_id,
        human_requested_at=row.human_requested_at,
    )
    await publisher.publish(
        [
            transition_event(
                row.branch_id,
                conversation_id,
                Action.OFFER_EXPIRED,
                phase,
                user_id=user_id,
                actor_user_id=None,
                available=True,
            )
        ]
    )
    return True


async def rule_candidates(
    db: Database, conversation_ids: Collection[int], *, now: datetime, returning_after: timedelta
) -> list[int]:
    """Of these conversations (a customer just wrote, or a person is wanted), those a rule should act on:
    open, nobody holding them, no offer running; waiting for a person, or with no assignment decision in the
    last `returning_after` (a new conversation, or a customer coming back); and in a branch whose rule is
    automatic, or with a faithful customer. One query for a whole batch of events."""
    if not conversation_ids:
        return []
    earlier = aliased(Conversation)
    recently_decided = exists().where(
        col(AssignmentEvent.conversation_id) == col(Conversation.id), col(AssignmentEvent.at) >= now - returning_after
    )
    faithful_before = exists().where(
        col(earlier.contact_id) == col(Conversation.contact_id),
        col(earlier.branch_id) == col(Conversation.branch_id),
        col(earlier.faithful_user_id).is_not(None),
    )
    rows = await db_exec(
        db,
        select(Conversation.id)
        .join(Branch, col(Branch.id) == col(Conversation.branch_id))
        .where(
            col(Conversation.id).in_(sorted(conversation_ids)),
            phase_in(UNASSIGNED),
            or_(col(Conversation.offer_expires_at).is_(None), col(Conversation.offer_expires_at) <= now),
            or_(phase_in(frozenset({Phase.WAITING})), ~recently_decided),
            or_(
                col(Branch.assignment_rule) != AssignmentRule.MANUAL,
                col(Conversation.faithful_user_id).is_not(None),
                faithful_before,
            ),
        )
        .order_by(col(Conversation.id)),
    )
    return [conversation_id for conversation_id in rows if conversation_id is not None]


async def db_exec(db: Database, query: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.exec(query)).all())
