"""The two background pieces of takeover: the sweeper (T2) and the assignment worker (T4).

The sweeper is an APScheduler interval job. Deadlines are columns, so whichever process sweeps after a restart
finds every conversation whose time ran out; each release is a conditional UPDATE that matches only while the
row is still held by the same agent with the deadline passed, so several processes sweeping at once release
each conversation once, and an agent's last-second activity wins over the sweep.

The assignment worker reacts to `conversation.updated` events (a customer wrote, a person is wanted) without slowing
whoever published them: the handler only notes the conversation id; the rule runs in the worker's round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from ..database import Database
from ..events import CONVERSATION_UPDATED, Event, EventPublisher
from ..models import AssignmentRule, Branch, Conversation, ConversationMode, ConversationStatus
from ..models.types import utcnow
from ..workers import BackgroundWorker, ScheduledJob
from .moves import TABLE, apply_move, record_move, transition_event, waiting_values
from .rules import apply_rule, expire_offer, rule_candidates
from .states import MOVES, Action, Phase, phase_in

log = logging.getLogger(__name__)

OnlineAgents = Callable[[], Collection[int]]
# A customer message re-runs the rule when nothing was decided on the conversation for this long (T4 "returning").
RETURNING_AFTER = timedelta(hours=2)
MAX_PENDING = 10_000


@dataclass
class SweepReport:
    timed_out: list[int] = field(default_factory=list)
    offers_expired: list[int] = field(default_factory=list)
    assigned: list[int] = field(default_factory=list)
    deadlines_set: int = 0


async def release_expired(
    db: Database, *, publisher: EventPublisher, now: datetime | None = None, limit: int = 200
) -> list[tuple[int, int]]:
    """T2: conversations whose holder's deadline has passed go back to the AI and wait for a person.
    Returns (conversation id, agent who lost it) for each release this call made."""
    now = now or utcnow()
    async with db.session() as session:
        due = (
            await session.exec(
                select(Conversation.id, Conversation.assigned_user_id)
                .where(
                    Conversation.status == ConversationStatus.OPEN,
                    col(Conversation.assigned_user_id).is_not(None),
                    col(Conversation.takeover_deadline) <= now,
                )
                .order_by(col(Conversation.takeover_deadline))
                .limit(limit)
            )
        ).all()
    released: list[tuple[int, int]] = []
    for conversation_id, holder in due:
        if conversation_id is None or holder is None:
            continue
        async with db.session() as session:  # one transaction per release: a failure loses nothing else
            row = await apply_move(
                session,
                conversation_id,
                MOVES['timeout'],
                waiting_values(now, reason='timeout', mode=ConversationMode.AI),
                [TABLE.c.assigned_user_id == holder, TABLE.c.takeover_deadline <= now],
            )
            if row is None:
                continue  # renewed a moment ago, released by another process, or taken over
            await record_move(
                session,
                conversation_id,
                Action.TIMEOUT,
                user_id=holder,
                actor_user_id=None,
                reason='inactivity',
                now=now,
            )
            await session.commit()
        released.append((conversation_id, holder))
        await publisher.publish(
            [
                transition_event(
                    row.branch_id,
                    conversation_id,
                    Action.TIMEOUT,
                    Phase.WAITING,
                    user_id=holder,
                    actor_user_id=None,
                    available=True,
                    wants_rule=True,
                    exclude_user_id=holder,
                )
            ]
        )
    return released


async def set_missing_deadlines(db: Database, *, now: datetime | None = None, limit: int = 200) -> int:
    """A held conversation without a deadline (rows written before takeover existed, imports, the demo seed) gets
    one counted from now, so it cannot stay held for ever."""
    now = now or utcnow()
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Conversation.id, Branch.takeover_timeout_seconds)
                .join(Branch, col(Branch.id) == col(Conversation.branch_id))
                .where(
                    Conversation.status == ConversationStatus.OPEN,
                    col(Conversation.assigned_user_id).is_not(None),
                    col(Conversation.takeover_deadline).is_(None),
                )
                .limit(limit)
            )
        ).all()
        for conversation_id, timeout in rows:
            await session.exec(
                update(TABLE)
                .where(TABLE.c.id == conversation_id, TABLE.c.takeover_deadline.is_(None))
                .values(takeover_deadline=now + timedelta(seconds=timeout))
            )
        await session.commit()
    return len(rows)


class TakeoverSweeper(ScheduledJob):
    """Every `interval_seconds`: release expired holds, end faithful offers that ran out, and let the branch
    rules place conversations still waiting for a person (an agent may have come online since)."""

    name = 'takeover-sweep'

    def __init__(
        self,
        db: Database,
        *,
        publisher: EventPublisher,
        online: OnlineAgents,
        offer_seconds: int,
        interval_seconds: float,
    ) -> None:
        super().__init__(interval=timedelta(seconds=interval_seconds))
        self.db = db
        self.publisher = publisher
        self.online = online
        self.offer_seconds = offer_seconds

    async def run_once(self) -> SweepReport:
        return await self.sweep()

    async def sweep(self, *, now: datetime | None = None) -> SweepReport:
        now = now or utcnow()
        report = SweepReport()
        report.deadlines_set = await set_missing_deadlines(self.db, now=now)
        online = set(self.online())
        for conversation_id, holder in await release_expired(self.db, publisher=self.publisher, now=now):
            report.timed_out.append(conversation_id)
            await self._place(report, conversation_id, online, now=now, exclude={holder})
        for conversation_id, offered in await self._expired_offers(now):
            if await expire_offer(
                self.db, conversation_id=conversation_id, user_id=offered, now=now, publisher=self.publisher
            ):
                report.offers_expired.append(conversation_id)
                await self._place(report, conversation_id, online, now=now, exclude={offered}, allow_offer=False)
        if online:
            for conversation_id in await self._waiting_in_automatic_branches(now):
                await self._place(report, conversation_id, online, now=now)
        return report

    async def _place(
        self,
        report: SweepReport,
        conversation_id: int,
        online: set[int],
        *,
        now: datetime,
        exclude: Collection[int] = (),
        allow_offer: bool = True,
    ) -> None:
        decision = await apply_rule(
            self.db,
            conversation_id=conversation_id,
            online=online,
            publisher=self.publisher,
            offer_seconds=self.offer_seconds,
            now=now,
            exclude=exclude,
            allow_offer=allow_offer,
        )
        if decision.kind == 'assigned':
            report.assigned.append(conversation_id)

    async def _expired_offers(self, now: datetime) -> list[tuple[int, int]]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Conversation.id, Conversation.offered_user_id)
                    .where(col(Conversation.offered_user_id).is_not(None), col(Conversation.offer_expires_at) <= now)
                    .limit(200)
                )
            ).all()
        return [(conversation_id or 0, offered) for conversation_id, offered in rows if offered is not None]

    async def _waiting_in_automatic_branches(self, now: datetime) -> list[int]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Conversation.id)
                    .join(Branch, col(Branch.id) == col(Conversation.branch_id))
                    .where(
                        phase_in(frozenset({Phase.WAITING})),
                        Branch.assignment_rule != AssignmentRule.MANUAL,
                        (col(Conversation.offer_expires_at).is_(None)) | (col(Conversation.offer_expires_at) <= now),
                    )
                    .order_by(col(Conversation.human_requested_at))
                    .limit(200)
                )
            ).all()
        return [conversation_id for conversation_id in rows if conversation_id is not None]


class AssignmentWorker(BackgroundWorker):
    """Runs the branch rule for conversations a customer just wrote in, or that started waiting for a person."""

    name = 'assignment'

    def __init__(
        self,
        db: Database,
        *,
        publisher: EventPublisher,
        online: OnlineAgents,
        offer_seconds: int,
        returning_after: timedelta = RETURNING_AFTER,
        idle_poll_seconds: float = 60.0,
    ) -> None:
        super().__init__(idle_poll_seconds=idle_poll_seconds)
        self.db = db
        self.publisher = publisher
        self.online = online
        self.offer_seconds = offer_seconds
        self.returning_after = returning_after
        self._pending: dict[int, set[int]] = {}

    def on_event(self, event: Event) -> None:
        """Bus handler: cheap on purpose (ingest publishes thousands of these per second)."""
        if event.kind != CONVERSATION_UPDATED or event.conversation_id is None:
            return
        if event.data.get('reason') != 'inbound' and not event.data.get('wants_rule'):
            return
        if event.conversation_id not in self._pending and len(self._pending) >= MAX_PENDING:
            return  # the sweeper still places what waits for a person; a burst must not grow memory without end
        excluded = self._pending.setdefault(event.conversation_id, set())
        if (exclude := event.data.get('exclude_user_id')) is not None:
            excluded.add(exclude)
        self.wake()

    async def run_round(self, *, now: datetime | None = None) -> list[int]:
        """Apply the rules to everything noted so far; returns the conversations that got an agent."""
        assigned: list[int] = []
        while self._pending:
            batch, self._pending = self._pending, {}
            when = now or utcnow()
            online = set(self.online())
            for conversation_id in await rule_candidates(
                self.db, batch, now=when, returning_after=self.returning_after
            ):
                decision = await apply_rule(
                    self.db,
                    conversation_id=conversation_id,
                    online=online,
                    publisher=self.publisher,
                    offer_seconds=self.offer_seconds,
                    now=when,
                    exclude=batch[conversation_id],
                )
                if decision.kind == 'assigned':
                    assigned.append(conversation_id)
        return assigned

    async def drain(self, *, now: datetime | None = None) -> list[int]:
        return await self.run_round(now=now)
