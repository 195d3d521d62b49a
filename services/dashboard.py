"""The manager dashboard (B3, T5): the queue as it stands, who is online and how loaded, and the service figures of
a range of business days — first response (by anyone, and by a person), resolution, what the AI resolved alone,
takeovers and the ones that expired, attendance per agent, sales.

Branch isolation as everywhere (`branch_scope`): a manager's figures never include another branch's rows.

Definitions (the manual, docs/manual/gerentes.md, says the same to managers):
- a conversation belongs to the day its customer first wrote (its `created_at`, in the business time zone);
- first response: from the customer's first message to the first reply by the AI or a person; first response by a
  person: to the first message an agent wrote (conversations nobody answered are left out, not counted as 0);
- resolution: from the first message to the close, for the conversations of the range closed so far;
- resolved by the AI alone: closed without an agent ever writing in it nor holding it (take, rule, reassign);
- takeovers: an agent took it or was given it (take, rule, reassign); expired: the holder's inactivity released it
  (T2 timeout);
- attendance: per agent, the conversations she wrote in or held, her messages, takeovers, releases and expiries.

Each conversation's moments (first customer message, first reply by anyone and by a person, close, whether a person
held it) are stored in `conversation_figures` (services/models/dashboard.py), so a range reads one narrow row per
conversation instead of probing its messages: a row is computed when missing or stale (the conversation's `status`,
`closed_at`, `last_message_at` or `updated_at` moved since) by the read that finds it so, and by
`DashboardFiguresSweeper` between reads. Durations are computed by the database from those rows (seconds between two
columns) and percentiles here: SQLite has no percentile function.
"""

from __future__ import annotations

import bisect
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement as SqlColumnElement
from sqlalchemy.types import Float

from .access import Viewer, branch_scope
from .database import Database, select_columns
from .errors import InvalidInput
from .models import (
    AssignmentEvent,
    Branch,
    Contact,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Message,
    Role,
    SenderKind,
    User,
    table_of,
)
from .models.dashboard import ConversationFigures
from .models.types import UTCDateTime, utcnow
from .sales.day_totals import day_bounds
from .sales.reports import MAX_REPORT_DAYS, daily_report
from .takeover.states import Action, Phase, phase_of
from .workers import ScheduledJob

QUEUE_LIMIT = 100
TAKEOVER_ACTIONS = (Action.TAKE, Action.RULE, Action.REASSIGN)
REPLY_KINDS = (SenderKind.AI, SenderKind.AGENT)

CONVERSATIONS = table_of(Conversation)
MESSAGES = table_of(Message)
EVENTS = table_of(AssignmentEvent)


class _SecondsBetween(SqlColumnElement[float]):
    """`later - earlier` in seconds (NULL when either is): the two databases spell it differently."""

    inherit_cache = True
    type = Float()

    def __init__(self, later: Any, earlier: Any) -> None:
        self.later = later
        self.earlier = earlier


@compiles(_SecondsBetween)
def _seconds_postgresql(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    later, earlier = compiler.process(element.later, **kw), compiler.process(element.earlier, **kw)
    # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT gives a numeric, and numeric arithmetic over a month's
    # ~50,000 conversations cost the dashboard's range query more than its join (date_part stays in floats).
    return f"date_part('epoch', {later} - {earlier})"


@compiles(_SecondsBetween, 'sqlite')
def _seconds_sqlite(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    # SQLite keeps UTC datetimes as naive ISO text (services.models.types.UTCDateTime), which julianday reads.
    later, earlier = compiler.process(element.later, **kw), compiler.process(element.earlier, **kw)
    return f'((julianday({later}) - julianday({earlier})) * 86400.0)'


def seconds_between(later: Any, earlier: Any) -> ColumnElement[float]:
    return _SecondsBetween(later, earlier)


# --- the queue and the agents: how things stand now ---


@dataclass(frozen=True)
class QueueRow:
    conversation_id: int
    branch_code: str
    contact_name: str
    phase: Phase  # ai (the bot owes an answer), waiting (a person is wanted) or assigned
    assigned_name: str  # '' = nobody holds it
    waiting_since: datetime
    preview: str  # the last message, plain text (the page renders it as text)

    def waiting_seconds(self, now: datetime) -> int:
        return max(0, int((now - self.waiting_since).total_seconds()))


@dataclass(frozen=True)
class AgentLoad:
    user_id: int
    name: str
    branch_code: str
    online: bool
    holding: int
    capacity: int

    @property
    def state(self) -> str:
        """offline, free (online, holds nothing), busy (holds some) or full (at capacity)."""
        if not self.online:
            return 'offline'
        if self.holding >= self.capacity:
            return 'full'
        return 'busy' if self.holding else 'free'


@dataclass(frozen=True)
class Now:
    at: datetime
    queue: tuple[QueueRow, ...]  # the first QUEUE_LIMIT, in the order they should be attended
    queue_size: int
    waiting_for_person: int  # of the queue: nobody holds it and a person is wanted
    unassigned: int
    agents: tuple[AgentLoad, ...]

    @property
    def online(self) -> int:
        return sum(agent.online for agent in self.agents)

    @property
    def busy(self) -> int:
        return sum(agent.state == 'busy' for agent in self.agents)

    @property
    def full(self) -> int:
        return sum(agent.state == 'full' for agent in self.agents)


def _in_queue() -> ColumnElement[bool]:
    """Open and owed something: the customer's last message is unanswered, or a person is wanted and nobody holds
    it. The same predicate as the partial index `ix_conversations_queue` (migration 0021), so PostgreSQL reads the
    queue from it instead of every open conversation."""
    table = CONVERSATIONS
    return and_(
        table.c.status == ConversationStatus.OPEN,
        or_(
            table.c.waiting_since.is_not(None),
            table.c.human_requested_at.is_not(None),
            and_(table.c.mode == ConversationMode.HUMAN, table.c.assigned_user_id.is_(None)),
        ),
    )


async def dashboard_now(
    db: Database,
    *,
    viewer: Viewer,
    online_user_ids: Iterable[int] = (),
    branch_id: int | None = None,
    now: datetime | None = None,
    limit: int = QUEUE_LIMIT,
) -> Now:
    """The queue and the agents' load. `online_user_ids`: the presence board's (services/presence.py), which lives
    in the web process, not in the database. `branch_id` narrows (the header's selector); a manager asking for a
    branch not hers gets nothing."""
    viewer.require_role(Role.MANAGER)
    now = now or utcnow()
    table = CONVERSATIONS
    holder = User.__table__.alias('holder')  # type: ignore[attr-defined]
    contacts = table_of(Contact)
    branches = table_of(Branch)
    scope = branch_scope(table.c.branch_id, viewer, only=branch_id)
    # The order it should be attended: unassigned first; of those, the ones waiting for a person; then the longest
    # waiting. Ordered and cut in the database: every branch's queue is thousands of rows on a busy day and the page
    # shows the first `limit`; the counts come from the same partial index (`ix_conversations_queue`).
    assigned = table.c.assigned_user_id.is_not(None)
    waiting = and_(
        table.c.assigned_user_id.is_(None),
        or_(table.c.human_requested_at.is_not(None), table.c.mode == ConversationMode.HUMAN),
    )
    waiting_from = case(
        (table.c.waiting_since.is_(None), func.coalesce(table.c.human_requested_at, bindparam_utc(now))),
        (table.c.human_requested_at.is_(None), table.c.waiting_since),
        (table.c.waiting_since < table.c.human_requested_at, table.c.waiting_since),
        else_=table.c.human_requested_at,
    )
    async with db.session() as session:
        size, waiting_count, unassigned_count = (
            await session.exec(
                select_columns(
                    func.count(),
                    func.coalesce(func.sum(case((waiting, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((assigned, 0), else_=1)), 0),
                ).where(_in_queue(), scope)
            )
        ).one()
        found = (
            await session.exec(
                select_columns(
                    table.c.id,
                    branches.c.code,
                    contacts.c.display_name,
                    contacts.c.profile_name,
                    contacts.c.phone_e164,
                    table.c.status,
                    table.c.mode,
                    table.c.assigned_user_id,
                    table.c.human_requested_at,
                    table.c.waiting_since,
                    holder.c.full_name,
                    table.c.last_message_preview,
                )
                .join(branches, branches.c.id == table.c.branch_id)
                .join(contacts, contacts.c.id == table.c.contact_id)
                .outerjoin(holder, holder.c.id == table.c.assigned_user_id)
                .where(_in_queue(), scope)
                .order_by(case((assigned, 1), else_=0), case((waiting, 0), else_=1), waiting_from, table.c.id)
                .limit(limit)
            )
        ).all()
        users = table_of(User)
        people = (
            await session.exec(
                select_columns(users.c.id, users.c.full_name, branches.c.code, users.c.capacity)
                .join(branches, branches.c.id == users.c.branch_id)
                .where(
                    branch_scope(users.c.branch_id, viewer, only=branch_id),
                    users.c.role.in_([Role.AGENT, Role.MANAGER]),
                    users.c.active.is_(True),
                )
                .order_by(users.c.full_name)
            )
        ).all()
        holding = dict(
            (
                await session.exec(
                    select_columns(table.c.assigned_user_id, func.count())
                    .where(
                        table.c.status == ConversationStatus.OPEN,
                        table.c.assigned_user_id.in_([person[0] for person in people] or [-1]),
                    )
                    .group_by(table.c.assigned_user_id)
                )
            ).all()
        )
    rows = []
    for id_, code, display, profile, phone, status, mode, assigned, requested, waiting, holder_name, preview in found:
        since = min(moment for moment in (waiting, requested) if moment is not None) if (waiting or requested) else now
        rows.append(
            QueueRow(
                conversation_id=id_,
                branch_code=code,
                contact_name=display or profile or phone or '?',
                phase=phase_of(status=status, mode=mode, assigned_user_id=assigned, human_requested_at=requested),
                assigned_name=holder_name or '',
                waiting_since=since,
                preview=preview or '',
            )
        )
    online = set(online_user_ids)
    return Now(
        at=now,
        queue=tuple(rows),
        queue_size=int(size),
        waiting_for_person=int(waiting_count),
        unassigned=int(unassigned_count),
        agents=tuple(
            AgentLoad(
                user_id=user_id,
                name=name,
                branch_code=code,
                online=user_id in online,
                holding=int(holding.get(user_id, 0)),
                capacity=capacity,
            )
            for user_id, name, code, capacity in people
        ),
    )


# --- the figures of a range of days ---


@dataclass(frozen=True)
class Spread:
    """Percentiles of durations in seconds; None when there is nothing to measure (0 would be a claim)."""

    count: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(0, None, None)
        if len(values) == 1:
            return cls(1, values[0], values[0])
        deciles = statistics.quantiles(values, n=10, method='inclusive')
        return cls(len(values), deciles[4], deciles[8])


@dataclass(frozen=True)
class Attendance:
    """T5 per agent over the range."""

    user_id: int
    name: str
    conversations: int  # she wrote in or held
    messages: int
    takeovers: int  # take, rule, reassign to her
    releases: int
    expired: int  # released by her inactivity


@dataclass(frozen=True)
class DayFigures:
    day: date
    conversations: int
    first_response_p50: float | None
    first_human_response_p50: float | None
    resolved_by_ai: int
    resolved_by_people: int
    takeovers: int
    expired: int
    sales_total: Decimal


@dataclass(frozen=True)
class RecentAnswer:
    """A conversation of the range a person answered, and how long the customer waited for it."""

    conversation_id: int
    contact_name: str
    seconds: float


@dataclass(frozen=True)
class PeriodFigures:
    start: date
    end: date
    conversations: int
    first_response: Spread
    first_human_response: Spread
    resolution: Spread
    resolved_by_ai: int
    resolved_by_people: int
    takeovers: int
    expired: int
    sales: int
    sales_total: Decimal
    days: tuple[DayFigures, ...]
    attendance: tuple[Attendance, ...]
    recent_answers: tuple[RecentAnswer, ...] = field(default=())

    @property
    def ai_share_percent(self) -> float | None:
        resolved = self.resolved_by_ai + self.resolved_by_people
        return None if not resolved else 100.0 * self.resolved_by_ai / resolved


def _first(kinds: Sequence[str]) -> Any:
    """The conversation's first message of these senders; one index probe each (`ix_messages_first_by_sender`)."""
    messages = MESSAGES.alias()
    return (
        select(func.min(messages.c.sent_at))
        .where(messages.c.conversation_id == CONVERSATIONS.c.id, messages.c.sender_kind.in_(list(kinds)))
        .scalar_subquery()
    )


def _day_index(column: Any, bounds: Sequence[datetime]) -> Any:
    """Which business day of the range an instant falls on: a CASE over the zone's midnights, so both databases cut
    days alike (SQLite has no time zones) and a daylight-saving change would be right."""
    whens = [(column < bound, index) for index, bound in enumerate(bounds[1:-1])]
    return case(*whens, else_=len(bounds) - 2) if whens else literal(0)


async def period_figures(
    db: Database,
    *,
    viewer: Viewer,
    start: date,
    end: date,
    zone: ZoneInfo,
    branch_id: int | None = None,
    recent: int = 8,
    cache: DayCache | None = None,
) -> PeriodFigures:
    """The figures of the business days `start`…`end` (inclusive) in `zone`, per day as well. `recent`: how many of
    the latest answers by a person to name (0: none). `cache`: keeps the figures of days that have ended for a few
    minutes, so a month's refresh reads only today (what changes later — a late answer, a close — shows when the
    entry expires)."""
    viewer.require_role(Role.MANAGER)
    if end < start:
        raise InvalidInput(f'the range ends ({end}) before it starts ({start})')
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput(f'a range covers at most {MAX_REPORT_DAYS} days')
    bounds = day_bounds(start, end, zone)
    since, until = bounds[0], bounds[-1]
    per_day: list[_Tally] = [_Tally() for _ in range(len(bounds) - 1)]
    # Days already read lately come from `cache` (ended days only, and not when the latest answers are wanted):
    # the read starts at the first day it lacks.
    first = 0
    if cache is not None and not recent:
        while first < len(per_day) and (found := cache.get(_day_key(viewer, branch_id, zone, start, first))):
            per_day[first] = found
            first += 1
    table = CONVERSATIONS
    scope = branch_scope(table.c.branch_id, viewer, only=branch_id)
    async with db.session() as session:
        await _without_jit(session)
        answered: list[_Answered] = []
        if first < len(per_day):
            answered = await _read_days(
                session,
                scope,
                bounds[first:],
                per_day[first:],
                narrowed=_narrowed(viewer, branch_id),
                answers=recent > 0,
            )
        attendance = await _attendance(session, viewer=viewer, branch_id=branch_id, since=since, until=until)
        recent_answers = await _recent_answers(session, answered, limit=recent)
    if cache is not None:
        today = utcnow().astimezone(zone).date()
        for index in range(first, len(per_day)):
            if start + timedelta(days=index) < today:  # today's figures still move
                cache.put(_day_key(viewer, branch_id, zone, start, index), per_day[index])
    sales = await daily_report(db, viewer=viewer, start=start, end=end, branch_id=branch_id)
    whole = _Tally.merged(per_day)
    sales_by_day = dict(sales.by_day)
    days = tuple(
        DayFigures(
            day=start + timedelta(days=index),
            conversations=tally.conversations,
            first_response_p50=Spread.of(tally.replies).p50,
            first_human_response_p50=Spread.of(tally.human).p50,
            resolved_by_ai=tally.by_ai,
            resolved_by_people=tally.by_people,
            takeovers=tally.takeovers,
            expired=tally.expired,
            sales_total=sales_by_day[start + timedelta(days=index)].total,
        )
        for index, tally in enumerate(per_day)
    )
    return PeriodFigures(
        start=start,
        end=end,
        conversations=whole.conversations,
        first_response=Spread.of(whole.replies),
        first_human_response=Spread.of(whole.human),
        resolution=Spread.of(whole.resolution),
        resolved_by_ai=whole.by_ai,
        resolved_by_people=whole.by_people,
        takeovers=whole.takeovers,
        expired=whole.expired,
        sales=sales.totals.sales,
        sales_total=sales.totals.total,
        days=days,
        attendance=attendance,
        recent_answers=recent_answers,
    )


@dataclass(frozen=True, slots=True)
class _Answered:
    """A conversation of the range a person answered: `at`, seconds after the range's start; `waited`, seconds."""

    id: int
    at: float
    waited: float


def _tally_conversations(
    rows: Iterable[Sequence[Any]], per_day: Sequence[_Tally], *, midnights: Sequence[float], answers: bool
) -> list[_Answered]:
    """Adds each conversation of the range to its day (among `midnights`, seconds after the range's start); returns
    the ones a person answered (when `answers`). One plain loop over what the database computed (`_figure_values`):
    a month of every branch is ~50,000 rows, and each operation per row shows in the page's time."""
    answered: list[_Answered] = []
    for id_, _fresh, opened, reply, human, resolution, by_people, answered_at in rows:
        tally = per_day[bisect.bisect_right(midnights, opened)]
        tally.conversations += 1
        if reply is not None:
            tally.replies.append(reply)
        if human is not None:
            tally.human.append(human)
            if answers:
                answered.append(_Answered(id_, answered_at, human))
        if resolution is not None:
            tally.resolution.append(resolution)
            if by_people:
                tally.by_people += 1
            else:
                tally.by_ai += 1
    return answered


async def _without_jit(session: Any) -> None:
    """PostgreSQL's planner prices a range's per-conversation probes high enough to compile the query (JIT), which
    took seconds for a query that runs in a fraction of one: off for this transaction. And a plan for these dates,
    not the prepared statement's generic one: without the dates the planner guesses 500 conversations and probes the
    figures one by one (270 ms for a month of every branch) where a hash join of the month's ~50,000 takes 85 ms."""
    connection = await session.connection()
    if connection.dialect.name == 'postgresql':
        await connection.execute(text('SET LOCAL jit = off'))
        await connection.execute(text('SET LOCAL plan_cache_mode = force_custom_plan'))


@dataclass
class _Tally:
    """The figures of a range or of one of its days, added up row by row."""

    conversations: int = 0
    replies: list[float] = field(default_factory=list)
    human: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    by_ai: int = 0
    by_people: int = 0
    takeovers: int = 0
    expired: int = 0

    @classmethod
    def merged(cls, parts: Sequence[_Tally]) -> _Tally:
        whole = cls()
        for part in parts:
            whole.conversations += part.conversations
            whole.replies += part.replies
            whole.human += part.human
            whole.resolution += part.resolution
            whole.by_ai += part.by_ai
            whole.by_people += part.by_people
            whole.takeovers += part.takeovers
            whole.expired += part.expired
        return whole

    def add_events(self, action: str, count: int) -> None:
        if action == Action.TIMEOUT:
            self.expired += count
        else:
            self.takeovers += count


def _narrowed(viewer: Viewer, branch_id: int | None) -> bool:
    """Whether queries must filter by branch (joining conversations); an admin's every-branch view need not."""
    return not viewer.sees_all_branches or branch_id is not None


async def _read_days(
    session: Any,
    scope: ColumnElement[bool],
    bounds: Sequence[datetime],
    per_day: Sequence[_Tally],
    *,
    narrowed: bool,
    answers: bool,
) -> list[_Answered]:
    """Adds the conversations, takeovers and expiries of the days between `bounds` to `per_day`; returns the
    conversations a person answered (when `answers`). Each conversation's figures come from `conversation_figures`;
    the ones missing or stale there are computed now, stored, and counted as computed."""
    since, until = bounds[0], bounds[-1]
    table = CONVERSATIONS
    in_range = and_(scope, table.c.created_at >= bindparam_utc(since), table.c.created_at < bindparam_utc(until))
    # One pass: every conversation of the range with its stored figures when they are fresh (NULLs when not: the
    # figures' own id, second, marks the conversation to compute).
    stored = (
        select_columns(table.c.id, *_figure_values(FIGURES, bounds))
        .select_from(table.outerjoin(FIGURES, and_(FIGURES.c.conversation_id == table.c.id, _fresh(FIGURES))))
        .where(in_range)
    )
    midnights = [(bound - since).total_seconds() for bound in bounds[1:-1]]
    connection = await session.connection()
    rows: list[Sequence[Any]] = []
    answered: list[_Answered] = []
    if connection.dialect.name == 'postgresql':
        # Added up by the database, day by day: a month of every branch is ~50,000 rows, and fetching them one by one
        # cost more in the driver and SQLAlchemy than the query itself (docs/benchmarks.md, dashboard).
        stale, answered = await _add_up_in_postgresql(session, stored, per_day, midnights, answers=answers)
    else:
        rows = list((await session.exec(stored)).all())
        stale = [row[0] for row in rows if row[1] is None]
        rows = [row for row in rows if row[1] is not None]
    if stale:
        for first in range(0, len(stale), REFRESH_BATCH):
            chunk = stale[first : first + REFRESH_BATCH]
            await connection.execute(_store_figures(connection.dialect.name, table.c.id.in_(chunk)))
            # Read back as just stored, not through the freshness test: a change committed meanwhile shows next time.
            # (Not INSERT … RETURNING: on SQLite, through SQLAlchemy, an upsert's RETURNING gave a wrong CASE result.)
            rows.extend(
                (
                    await session.exec(
                        select_columns(table.c.id, *_figure_values(FIGURES, bounds))
                        .select_from(table.join(FIGURES, FIGURES.c.conversation_id == table.c.id))
                        .where(table.c.id.in_(chunk))
                    )
                ).all()
            )
        await session.commit()
        await _without_jit(session)  # the commit ended the transaction it was off for
    event_day = _day_index(EVENTS.c.at, bounds)
    events_query = (
        select_columns(event_day, EVENTS.c.action, func.count())
        .select_from(EVENTS)
        .where(
            EVENTS.c.at >= bindparam_utc(since),
            EVENTS.c.at < bindparam_utc(until),
            EVENTS.c.action.in_([*TAKEOVER_ACTIONS, Action.TIMEOUT]),
        )
        .group_by(event_day, EVENTS.c.action)
    )
    if narrowed:
        events_query = events_query.join(table, table.c.id == EVENTS.c.conversation_id).where(scope)
    answered += _tally_conversations(rows, per_day, midnights=midnights, answers=answers)
    for day, action, count in (await session.exec(events_query)).all():
        per_day[int(day)].add_events(action, count)
    return answered


async def _add_up_in_postgresql(
    session: Any, stored: Any, per_day: Sequence[_Tally], midnights: Sequence[float], *, answers: bool
) -> tuple[list[int], list[_Answered]]:
    """`_tally_conversations` done by PostgreSQL: one row per day with its counts and its durations as arrays (the
    percentiles are taken over the whole range too, so the values themselves are needed, not the day's median).
    Returns the ids of the conversations whose stored figures are missing or stale, and the answered ones (when
    `answers`)."""
    id_, fresh, opened, reply, human, resolution, by_people, answered_at = list(stored.subquery().c)
    day: Any = (
        func.width_bucket(opened, literal(list(midnights), ARRAY(Float())))  # = bisect_right, as in the loop
        if midnights
        else literal(0)
    )
    known = fresh.is_not(None)
    columns = [
        day,
        func.count(fresh),
        func.array_agg(reply).filter(and_(known, reply.is_not(None))),
        func.array_agg(human).filter(and_(known, human.is_not(None))),
        func.array_agg(resolution).filter(and_(known, resolution.is_not(None))),
        func.count().filter(and_(known, by_people == 1)),
        func.count().filter(and_(known, by_people == 0)),
        func.array_agg(id_).filter(fresh.is_(None)),
    ]
    if answers:
        with_answer = and_(known, human.is_not(None))
        columns += [
            func.array_agg(id_).filter(with_answer),
            func.array_agg(answered_at).filter(with_answer),
            func.array_agg(human).filter(with_answer),
        ]
    stale: list[int] = []
    answered: list[_Answered] = []
    for row in (await session.exec(select_columns(*columns).group_by(day))).all():
        stale += row[7] or []
        if row[0] is None:  # only conversations without fresh figures: no day yet
            continue
        tally = per_day[int(row[0])]
        tally.conversations += row[1]
        tally.replies += row[2] or []
        tally.human += row[3] or []
        tally.resolution += row[4] or []
        tally.by_people += row[5]
        tally.by_ai += row[6]
        if answers and row[8]:
            answered += [_Answered(*found) for found in zip(row[8], row[9], row[10], strict=True)]
    return stale, answered


# --- the stored per-conversation figures ---

FIGURES = table_of(ConversationFigures)
REFRESH_BATCH = 5_000  # conversations per statement: under both databases' bound-parameter limits


def _fresh(figures: Any) -> ColumnElement[bool]:
    """The stored row was computed from the conversation as it is now: nothing that moves a figure has changed since
    (a message moves `last_message_at` and `updated_at`, a take or release `updated_at`, a close or reopen `status`
    and `closed_at`)."""
    table = CONVERSATIONS
    return and_(
        figures.c.seen_status == table.c.status,
        figures.c.seen_closed_at.is_not_distinct_from(table.c.closed_at),
        figures.c.seen_last_message_at.is_not_distinct_from(table.c.last_message_at),
        figures.c.seen_updated_at == table.c.updated_at,
    )


def _computed_figures(where: ColumnElement[bool]) -> Any:
    """The conversations' figures computed from their messages and history, in `conversation_figures`' column order
    (one index probe per figure: `ix_messages_first_by_sender`, `ix_assignment_events_conversation_id`)."""
    table = CONVERSATIONS
    return (
        select_columns(
            table.c.id,
            table.c.branch_id,
            table.c.created_at,
            _first([SenderKind.CUSTOMER]),
            _first(REPLY_KINDS),
            _first([SenderKind.AGENT]),
            case((table.c.status == ConversationStatus.CLOSED, table.c.closed_at)),
            exists().where(EVENTS.c.conversation_id == table.c.id, EVENTS.c.action.in_(list(TAKEOVER_ACTIONS))),
            table.c.status,
            table.c.closed_at,
            table.c.last_message_at,
            table.c.updated_at,
        )
        .where(where)
        # One order for every writer (pages and the sweeper), so two writing the same rows wait, never deadlock.
        .order_by(table.c.id)
    )


FIGURE_COLUMNS = (
    'conversation_id',
    'branch_id',
    'opened_at',
    'first_customer_at',
    'first_response_at',
    'first_human_response_at',
    'resolved_at',
    'held',
    'seen_status',
    'seen_closed_at',
    'seen_last_message_at',
    'seen_updated_at',
)


def _store_figures(dialect: str, where: ColumnElement[bool]) -> Any:
    """INSERT … SELECT of the conversations' computed figures, replacing the stored ones: one statement per batch,
    the database doing the work (both dialects spell the upsert alike; SQLAlchemy has one class per dialect)."""
    insert = postgresql_insert if dialect == 'postgresql' else sqlite_insert
    statement = insert(ConversationFigures).from_select(list(FIGURE_COLUMNS), _computed_figures(where))
    return statement.on_conflict_do_update(
        index_elements=[FIGURES.c.conversation_id],
        set_={name: statement.excluded[name] for name in FIGURE_COLUMNS[1:]},
    )


def _figure_values(figures: Any, bounds: Sequence[datetime]) -> tuple[Any, ...]:
    """What `_tally_conversations` reads of a figures row, computed by the database so the loop over a range's rows
    only adds them up: the stored row's id (NULL: none fresh), when it opened (seconds after the range's start), the
    first response by anyone and by a person, the resolution (seconds from the customer's first message, or from the
    opening when there is none), whether people resolved it (NULL: open), and when the person answered (seconds after
    the range's start, to name the latest answers)."""
    started = func.coalesce(figures.c.first_customer_at, figures.c.opened_at)
    return (
        figures.c.conversation_id,
        # Seconds after the range's start; `_tally_conversations` finds the day among the midnights (a CASE over 31
        # midnights cost PostgreSQL more than the whole join).
        seconds_between(figures.c.opened_at, bindparam_utc(bounds[0])),
        _duration(figures.c.first_response_at, started),
        _duration(figures.c.first_human_response_at, started),
        _duration(figures.c.resolved_at, started),
        case(
            (figures.c.resolved_at.is_(None), null()),
            (or_(figures.c.held.is_(True), figures.c.first_human_response_at.is_not(None)), literal_column('1')),
            else_=literal_column('0'),
        ),
        seconds_between(figures.c.first_human_response_at, bindparam_utc(bounds[0])),
    )


def _duration(later: Any, earlier: Any) -> ColumnElement[float]:
    """Seconds from `earlier` to `later`, to the millisecond (SQLite's julianday arithmetic is off by microseconds)
    and at least 0 (a customer's clock, which WhatsApp's timestamp is, may run a little ahead of ours)."""
    seconds = _Milliseconds(seconds_between(later, earlier))
    return case((seconds < 0, 0.0), else_=seconds)


class _Milliseconds(SqlColumnElement[float]):
    """A number of seconds rounded to 3 decimals: PostgreSQL rounds only numerics, SQLite rounds its reals."""

    inherit_cache = True
    type = Float()

    def __init__(self, seconds: Any) -> None:
        self.seconds = seconds


@compiles(_Milliseconds)
def _milliseconds_postgresql(element: _Milliseconds, compiler: Any, **kw: Any) -> str:
    # In floats (see _seconds_postgresql): round(x * 1000) / 1000, not round(x::numeric, 3).
    thousand = 'CAST(1000 AS DOUBLE PRECISION)'
    return f'(ROUND({compiler.process(element.seconds, **kw)} * {thousand}) / {thousand})'


@compiles(_Milliseconds, 'sqlite')
def _milliseconds_sqlite(element: _Milliseconds, compiler: Any, **kw: Any) -> str:
    return f'ROUND({compiler.process(element.seconds, **kw)}, 3)'


async def refresh_figures(db: Database, *, batch: int = REFRESH_BATCH) -> int:
    """Computes and stores the figures of every conversation whose row is missing or stale, `batch` at a time (a
    transaction each); returns how many. Closed conversations' rows stay fresh; open ones are recomputed after
    each change."""
    table = CONVERSATIONS
    refreshed = 0
    while True:
        async with db.session() as session:
            await _without_jit(session)
            ids = (
                await session.exec(
                    select_columns(table.c.id)
                    .select_from(
                        table.outerjoin(FIGURES, and_(FIGURES.c.conversation_id == table.c.id, _fresh(FIGURES)))
                    )
                    .where(FIGURES.c.conversation_id.is_(None))
                    .order_by(table.c.id)
                    .limit(batch)
                )
            ).all()
            if ids:
                await (await session.connection()).execute(
                    _store_figures(db.dialect, table.c.id.in_([id_ for (id_,) in ids]))
                )
                await session.commit()
        refreshed += len(ids)
        if len(ids) < batch:
            return refreshed


class DashboardFiguresSweeper(ScheduledJob):
    """Keeps `conversation_figures` true between page loads (`refresh_figures`), so a range's first read after a
    busy hour finds its rows stored."""

    name = 'dashboard-figures'

    def __init__(self, db: Database, *, interval_seconds: float = 60.0, batch: int = REFRESH_BATCH) -> None:
        super().__init__(interval=timedelta(seconds=interval_seconds), first_run_after=timedelta(seconds=20))
        self.db = db
        self.batch = batch

    async def run_once(self) -> int:
        return await refresh_figures(self.db, batch=self.batch)


class DayCache:
    """The figures of ended days, per viewer scope, for `ttl_seconds`. One per process (the pages share it); a
    plain dict with expiry times rather than a cache library: a handful of entries per open dashboard, no
    eviction policy needed beyond a size bound."""

    def __init__(self, *, ttl_seconds: float = 300.0, max_entries: int = 20_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[tuple[Any, ...], tuple[float, _Tally]] = {}

    def get(self, key: tuple[Any, ...]) -> _Tally | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: tuple[Any, ...], tally: _Tally) -> None:
        if len(self._entries) >= self._max:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            if len(self._entries) >= self._max:
                self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, tally)


def _day_key(viewer: Viewer, branch_id: int | None, zone: ZoneInfo, start: date, index: int) -> tuple[Any, ...]:
    # By what the viewer may see, not who she is: two managers of a branch share entries.
    return (viewer.branch_ids, branch_id, zone.key, start + timedelta(days=index))


def bindparam_utc(moment: datetime) -> Any:
    """A datetime literal bound with the column type, so SQLite gets the same naive-UTC text it stores."""
    return literal(moment, UTCDateTime())


async def _recent_answers(session: Any, rows: Sequence[_Answered], *, limit: int) -> tuple[RecentAnswer, ...]:
    """The last conversations a person answered (by when she did), with the customer's names read for those only."""
    answered = sorted(rows, key=lambda row: -row.at)[:limit]
    if not answered:
        return ()
    contacts = table_of(Contact)
    names = {
        id_: display or profile or phone or '?'
        for id_, display, profile, phone in (
            await session.exec(
                select_columns(
                    CONVERSATIONS.c.id, contacts.c.display_name, contacts.c.profile_name, contacts.c.phone_e164
                )
                .join(contacts, contacts.c.id == CONVERSATIONS.c.contact_id)
                .where(CONVERSATIONS.c.id.in_([row.id for row in answered]))
            )
        ).all()
    }
    return tuple(
        RecentAnswer(conversation_id=row.id, contact_name=names.get(row.id, '?'), seconds=row.waited)
        for row in answered
    )


async def _attendance(
    session: Any, *, viewer: Viewer, branch_id: int | None, since: datetime, until: datetime
) -> tuple[Attendance, ...]:
    table = CONVERSATIONS
    scope = branch_scope(table.c.branch_id, viewer, only=branch_id)
    narrowed = not viewer.sees_all_branches or branch_id is not None
    # One pass over the agents' messages (the partial index `ix_messages_agent_sent`) and one over the history:
    # a message row counts as a message, both kinds of row as "attended" that conversation.
    written = select(
        MESSAGES.c.sent_by_user_id.label('user_id'),
        MESSAGES.c.conversation_id.label('conversation_id'),
        literal(1).label('message'),
    ).where(
        MESSAGES.c.sender_kind == SenderKind.AGENT,
        MESSAGES.c.sent_by_user_id.is_not(None),
        MESSAGES.c.sent_at >= bindparam_utc(since),
        MESSAGES.c.sent_at < bindparam_utc(until),
    )
    held = select(
        EVENTS.c.user_id.label('user_id'),
        EVENTS.c.conversation_id.label('conversation_id'),
        literal(0).label('message'),
    ).where(
        EVENTS.c.user_id.is_not(None),
        EVENTS.c.action.in_(list(TAKEOVER_ACTIONS)),
        EVENTS.c.at >= bindparam_utc(since),
        EVENTS.c.at < bindparam_utc(until),
    )
    event_counts_query = (
        select_columns(EVENTS.c.user_id, EVENTS.c.action, func.count())
        .where(
            EVENTS.c.user_id.is_not(None),
            EVENTS.c.action.in_([*TAKEOVER_ACTIONS, Action.RELEASE, Action.TIMEOUT]),
            EVENTS.c.at >= bindparam_utc(since),
            EVENTS.c.at < bindparam_utc(until),
        )
        .group_by(EVENTS.c.user_id, EVENTS.c.action)
    )
    if narrowed:
        written = written.join(table, table.c.id == MESSAGES.c.conversation_id).where(scope)
        held = held.join(table, table.c.id == EVENTS.c.conversation_id).where(scope)
        event_counts_query = event_counts_query.join(table, table.c.id == EVENTS.c.conversation_id).where(scope)
    both = union_all(written, held).subquery()
    # Per agent and conversation first, then per agent: PostgreSQL hashes the pairs, where COUNT(DISTINCT) sorted
    # every row of the range (a month of every branch, ~140,000, spilt to disk: ~190 ms on the bench).
    pairs = (
        select_columns(both.c.user_id, func.sum(both.c.message).label('messages'))
        .group_by(both.c.user_id, both.c.conversation_id)
        .subquery()
    )
    attended: dict[int, int] = {}
    messages: dict[int, int] = {}
    for user_id, conversations, written_count in (
        await session.exec(
            select_columns(pairs.c.user_id, func.count(), func.sum(pairs.c.messages)).group_by(pairs.c.user_id)
        )
    ).all():
        attended[user_id], messages[user_id] = int(conversations), int(written_count or 0)
    actions: dict[int, dict[str, int]] = defaultdict(dict)
    for user_id, action, count in (await session.exec(event_counts_query)).all():
        actions[user_id][action] = count
    users = table_of(User)
    people = (
        await session.exec(
            select_columns(users.c.id, users.c.full_name)
            .where(users.c.id.in_(sorted(set(attended) | set(actions) | set(messages)) or [-1]))
            .order_by(users.c.full_name)
        )
    ).all()
    return tuple(
        Attendance(
            user_id=user_id,
            name=name,
            conversations=int(attended.get(user_id, 0)),
            messages=int(messages.get(user_id, 0)),
            takeovers=sum(actions[user_id].get(action, 0) for action in TAKEOVER_ACTIONS),
            releases=actions[user_id].get(Action.RELEASE, 0),
            expired=actions[user_id].get(Action.TIMEOUT, 0),
        )
        for user_id, name in people
    )
