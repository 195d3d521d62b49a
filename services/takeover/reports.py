"""Counts for the manager dashboard (B3) and reports (T5): where conversations stand now, per branch, and what
each agent did since a moment (takes, rule assignments, releases, timeouts). Branch isolation as everywhere."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func
from sqlmodel import col, select

from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..models import AssignmentEvent, Branch, Conversation, ConversationStatus, Role, User
from .states import Action, Phase, phase_in


@dataclass(frozen=True)
class BranchCounts:
    branch_id: int
    branch_code: str
    ai: int  # open, answered by the AI
    waiting: int  # open, waiting for a person ("Espera humano")
    assigned: int  # open, held by an agent
    actions: dict[str, int]  # history rows since `since` by action (take, rule, release, timeout, handoff, …)


@dataclass(frozen=True)
class AgentCounts:
    user_id: int
    name: str
    branch_id: int | None
    capacity: int
    holding: int  # open conversations held right now
    actions: dict[str, int]  # history rows about this agent since `since` (take, rule, reassign, release, timeout…)


@dataclass(frozen=True)
class AssignmentCounts:
    since: datetime
    branches: list[BranchCounts]
    agents: list[AgentCounts]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def assignment_counts(
    db: Database, *, viewer: Viewer, since: datetime, branch_id: int | None = None
) -> AssignmentCounts:
    scope = branch_scope(Conversation.branch_id, viewer, only=branch_id)
    async with db.session() as session:
        phases = (
            await session.exec(
                select_columns(
                    Branch.id,
                    Branch.code,
                    _count_if(phase_in(frozenset({Phase.AI}))),
                    _count_if(phase_in(frozenset({Phase.WAITING}))),
                    _count_if(phase_in(frozenset({Phase.ASSIGNED}))),
                )
                .join(
                    Conversation,
                    (col(Conversation.branch_id) == col(Branch.id))
                    & (col(Conversation.status) == ConversationStatus.OPEN),
                    isouter=True,
                )
                .where(branch_scope(Branch.id, viewer, only=branch_id))
                .group_by(col(Branch.id), col(Branch.code))
                .order_by(col(Branch.code))
            )
        ).all()
        branch_actions = (
            await session.exec(
                select(Conversation.branch_id, AssignmentEvent.action, func.count())
                .join(Conversation, col(Conversation.id) == col(AssignmentEvent.conversation_id))
                .where(scope, col(AssignmentEvent.at) >= since)
                .group_by(col(Conversation.branch_id), col(AssignmentEvent.action))
            )
        ).all()
        agent_actions = (
            await session.exec(
                select(AssignmentEvent.user_id, AssignmentEvent.action, func.count())
                .join(Conversation, col(Conversation.id) == col(AssignmentEvent.conversation_id))
                .where(
                    scope,
                    col(AssignmentEvent.at) >= since,
                    col(AssignmentEvent.user_id).is_not(None),
                    col(AssignmentEvent.action).in_(
                        [
                            Action.TAKE,
                            Action.RULE,
                            Action.REASSIGN,
                            Action.RELEASE,
                            Action.TIMEOUT,
                            Action.OFFER,
                            Action.OFFER_EXPIRED,
                        ]
                    ),
                )
                .group_by(col(AssignmentEvent.user_id), col(AssignmentEvent.action))
            )
        ).all()
        holding = dict(
            (
                await session.exec(
                    select(Conversation.assigned_user_id, func.count())
                    .where(
                        scope,
                        Conversation.status == ConversationStatus.OPEN,
                        col(Conversation.assigned_user_id).is_not(None),
                    )
                    .group_by(col(Conversation.assigned_user_id))
                )
            ).all()
        )
        people = (
            await session.exec(
                select(User)
                .where(
                    branch_scope(User.branch_id, viewer, only=branch_id),
                    col(User.role).in_([Role.AGENT, Role.MANAGER]),
                    col(User.active).is_(True),
                )
                .order_by(User.full_name)
            )
        ).all()
    per_branch: dict[int, dict[str, int]] = defaultdict(dict)
    for owner, action, count in branch_actions:
        per_branch[owner][action] = count
    per_agent: dict[int, dict[str, int]] = defaultdict(dict)
    for user_id, action, count in agent_actions:
        per_agent[user_id or 0][action] = count
    return AssignmentCounts(
        since=since,
        branches=[
            BranchCounts(
                branch_id=id_ or 0,
                branch_code=code,
                ai=int(ai),
                waiting=int(waiting),
                assigned=int(assigned),
                actions=per_branch.get(id_ or 0, {}),
            )
            for id_, code, ai, waiting, assigned in phases
        ],
        agents=[
            AgentCounts(
                user_id=person.id or 0,
                name=person.full_name,
                branch_id=person.branch_id,
                capacity=person.capacity,
                holding=holding.get(person.id, 0),
                actions=per_agent.get(person.id or 0, {}),
            )
            for person in people
        ],
    )
