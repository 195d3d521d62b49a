"""WhatsApp-Web sessions in our database (SPEC M6): adding them, reading them per branch, their state changes with
history and uptime, and the admin's "allow sending" switch. Talking to the gateway is `control.py`; this module
only reads and writes our tables, so the webhook ingest and the probes record states the same way.

A state is only ever recorded from something the gateway said (a `session.status` webhook, a probe's answer, or
its silence: unreachable → DISCONNECTED), never invented: after a restart of LeadMaster the state shown is the
stored one until the first probe reads the real one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import audit
from ..access import Viewer, branch_scope
from ..branches import WAITING_FOR_GATEWAY, get_branch_by_code
from ..database import Database, add_unique
from ..errors import InvalidInput, NotFound
from ..events import Event
from ..models import (
    ChannelKind,
    Role,
    SessionState,
    WaSession,
    WaSessionPublic,
    WaSessionTransition,
    WaSessionTransitionPublic,
    WhatsAppNumber,
)
from ..models.types import utcnow
from ..phones import normalize_phone
from .states import advice_for, state_for

SESSION_STATE = 'session.state'  # an event: a session changed state (admin pages redraw its chip)
SESSION_NAME = re.compile(r'^[A-Za-z0-9_-]{1,54}$')  # WAHA's names: letters, digits, - and _


@dataclass(frozen=True)
class StateChange:
    session_id: int
    branch_id: int
    name: str
    previous: SessionState | None
    state: SessionState
    reason: str

    def event(self) -> Event:
        return Event(
            SESSION_STATE,
            self.branch_id,
            data={'name': self.name, 'state': self.state, 'previous': self.previous, 'reason': self.reason},
        )


def _public(row: WaSession, number: WhatsAppNumber) -> WaSessionPublic:
    return WaSessionPublic(
        **row.model_dump(exclude={'next_restart_at', 'created_at', 'status_observed_at'}, warnings=False),
        branch_id=number.branch_id,
        display_phone=number.display_phone,
        label=number.label,
        sending_enabled=number.sending_enabled,
    )


async def add_session(
    db: Database,
    *,
    branch_code: str,
    name: str,
    display_phone: str = '',
    label: str = '',
    actor: Viewer | None = None,
) -> WaSessionPublic:
    """A new WA-Web session for a branch: a `waha` number (listen-only until an admin allows sending, seed 001)
    and its state row, INITIALIZING until the gateway says otherwise."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    name = name.strip()
    if not SESSION_NAME.match(name):
        raise InvalidInput(f'invalid session name {name!r}: use 1 to 54 letters, digits, "-" or "_"')
    branch = await get_branch_by_code(db, code=branch_code)
    display = normalize_phone(display_phone) if display_phone.strip() else ''
    number = WhatsAppNumber(
        branch_id=branch.id or 0,
        channel=ChannelKind.WAHA,
        phone_number_id=name,
        display_phone=display,
        label=label or name,
        sending_enabled=False,
    )
    async with db.session() as session:
        await add_unique(session, number, conflict=f'a number or session named {name!r} already exists')
        row = WaSession(number_id=number.id or 0, name=name, reason=WAITING_FOR_GATEWAY)
        session.add(row)
        await session.flush()
        session.add(WaSessionTransition(session_id=row.id or 0, to_state=row.state, reason=row.reason))
        audit.record(
            session, action='session.created', actor=actor, target_type='wa_session', target_id=name, branch=branch.code
        )
        await session.commit()
        return _public(row, number)


async def _find(session: AsyncSession, name: str, viewer: Viewer | None) -> tuple[WaSession, WhatsAppNumber]:
    query = (
        select(WaSession, WhatsAppNumber)
        .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(WaSession.number_id))
        .where(col(WaSession.name) == name)
    )
    if viewer is not None:
        # Another branch's session does not exist for this viewer (a branch-scoped API key learns nothing of it).
        query = query.where(branch_scope(WhatsAppNumber.branch_id, viewer))
    found = (await session.exec(query)).first()
    if found is None:
        raise NotFound(f'no session named {name!r}')
    return found


async def get_session(db: Database, *, name: str, viewer: Viewer | None) -> WaSessionPublic:
    """One session; `viewer` None is the system (CLI, workers)."""
    async with db.session() as session:
        return _public(*await _find(session, name, viewer))


async def list_sessions(db: Database, *, viewer: Viewer | None, only_active: bool = True) -> list[WaSessionPublic]:
    async with db.session() as session:
        query = (
            select(WaSession, WhatsAppNumber)
            .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(WaSession.number_id))
            .order_by(col(WhatsAppNumber.branch_id), col(WaSession.name))
        )
        if only_active:
            query = query.where(col(WhatsAppNumber.active).is_(True))
        if viewer is not None:
            query = query.where(branch_scope(WhatsAppNumber.branch_id, viewer))
        return [_public(row, number) for row, number in (await session.exec(query)).all()]


async def session_history(
    db: Database, *, name: str, viewer: Viewer | None, limit: int = 50
) -> list[WaSessionTransitionPublic]:
    """The session's state changes, newest first."""
    async with db.session() as session:
        row, _ = await _find(session, name, viewer)
        transitions = (
            await session.exec(
                select(WaSessionTransition)
                .where(col(WaSessionTransition.session_id) == row.id)
                .order_by(col(WaSessionTransition.at).desc(), col(WaSessionTransition.id).desc())
                .limit(limit)
            )
        ).all()
    return [WaSessionTransitionPublic.model_validate(t, from_attributes=True) for t in transitions]


async def daily_uptime(
    db: Database, *, name: str, viewer: Viewer | None, days: int = 7, now: datetime | None = None
) -> list[tuple[date, float]]:
    """Share of each of the last `days` UTC days the session was READY (seed 000's goal: ≥ 95 %), from its
    transitions; today counts up to now. Oldest day first; a day before the session existed is left out."""
    now = now or utcnow()
    first_day = now.date() - timedelta(days=days - 1)
    start = datetime.combine(first_day, time(), tzinfo=UTC)
    async with db.session() as session:
        row, _ = await _find(session, name, viewer)
        before = (
            await session.exec(
                select(WaSessionTransition.to_state)
                .where(col(WaSessionTransition.session_id) == row.id, col(WaSessionTransition.at) < start)
                .order_by(col(WaSessionTransition.at).desc(), col(WaSessionTransition.id).desc())
                .limit(1)
            )
        ).first()
        changes = (
            await session.exec(
                select(WaSessionTransition.at, WaSessionTransition.to_state)
                .where(col(WaSessionTransition.session_id) == row.id, col(WaSessionTransition.at) >= start)
                .order_by(col(WaSessionTransition.at), col(WaSessionTransition.id))
            )
        ).all()
    ready_since: datetime | None = start if before == SessionState.READY else None
    intervals: list[tuple[datetime, datetime]] = []
    for at, state in changes:
        if state == SessionState.READY and ready_since is None:
            ready_since = at
        elif state != SessionState.READY and ready_since is not None:
            intervals.append((ready_since, at))
            ready_since = None
    if ready_since is not None:
        intervals.append((ready_since, now))
    existed_from = row.created_at
    result = []
    for offset in range(days):
        day_start = start + timedelta(days=offset)
        day_end = min(day_start + timedelta(days=1), now)
        if day_end <= existed_from:
            continue
        counted_from = max(day_start, existed_from)
        span = (day_end - counted_from).total_seconds()
        ready = sum(
            max(0.0, (min(end, day_end) - max(begin, counted_from)).total_seconds()) for begin, end in intervals
        )
        result.append((day_start.date(), ready / span if span > 0 else 0.0))
    return result


async def allow_sending(db: Database, *, name: str, allowed: bool, actor: Viewer | None) -> WaSessionPublic:
    """Seed 001: a WA-Web number listens only; an admin may allow sending through it, knowing the risk."""
    if actor is not None:
        actor.require_role(Role.ADMIN)
    async with db.session() as session:
        row, number = await _find(session, name, actor)
        number.sending_enabled = allowed
        session.add(number)
        audit.record(
            session,
            action='session.sending_allowed' if allowed else 'session.sending_forbidden',
            actor=actor,
            target_type='wa_session',
            target_id=name,
        )
        await session.commit()
        await session.refresh(number)
        await session.refresh(row)
        return _public(row, number)


async def record_gateway_status(
    session: AsyncSession,
    *,
    name: str,
    gateway_status: str,
    reason: str,
    now: datetime,
    me_id: str | None = None,
    me_name: str | None = None,
    observed_at: datetime | None = None,
) -> StateChange | None:
    """Store what the gateway said about a session, in the caller's transaction; a change of state gets a
    transition row and is returned (the caller publishes its event after commit). None: unknown session, no change
    of state, or news older (`observed_at`, when the gateway said it) than the state we hold."""
    found = (
        await session.exec(
            select(WaSession, WhatsAppNumber)
            .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(WaSession.number_id))
            .where(col(WaSession.name) == name)
        )
    ).first()
    if found is None:
        return None
    row, number = found
    observed_at = observed_at or now
    if row.status_observed_at is not None and observed_at < row.status_observed_at:
        # Late news (WAHA retries, an ingest backlog, a probe that asked before a webhook came): what the gateway
        # said more recently stands. The status history stays in the journal.
        return None
    row.status_observed_at = observed_at
    state = state_for(gateway_status)
    if row.gateway_status != gateway_status[:32]:
        row.reason = reason[:300]  # the same state for another cause (stopped, then the gateway unreachable)
    row.gateway_status = gateway_status[:32]
    if me_id is not None:
        row.me_id = me_id[:64]
        if not number.display_phone and (phone := _phone_of(me_id)):
            number.display_phone = phone
            session.add(number)
    if me_name is not None:
        row.me_name = me_name[:120]
    if state is SessionState.READY:
        # Not `silent`: only an event clears that (`note_events`); a probe saying WORKING is what silence looks like.
        row.failures, row.next_restart_at = 0, None
    previous = row.state
    if previous == state:
        session.add(row)
        return None
    row.state, row.reason, row.state_since = state, reason[:300], now
    session.add(row)
    session.add(
        WaSessionTransition(
            session_id=row.id or 0,
            from_state=previous,
            to_state=state,
            gateway_status=gateway_status[:32],
            reason=reason,
            at=now,
        )
    )
    return StateChange(row.id or 0, number.branch_id, name, previous, state, reason)


def _phone_of(wa_id: str) -> str:
    """'5491155550101@c.us' → '+5491155550101'; '' for ids that are not a phone (`@lid`)."""
    user, _, server = wa_id.partition('@')
    if server not in ('c.us', 's.whatsapp.net') or not user.isdigit():
        return ''
    try:
        return normalize_phone('+' + user)
    except InvalidInput:
        return ''


async def note_events(session: AsyncSession, *, names: set[str], now: datetime) -> None:
    """The gateway spoke for these sessions (any webhook): they are not silent."""
    if not names:
        return
    # One statement per ingest batch (this runs for every batch of WAHA webhooks).
    await session.exec(
        update(WaSession).where(col(WaSession.name).in_(sorted(names))).values(last_event_at=now, silent=False)
    )


def status_document(current: WaSessionPublic) -> dict[str, object]:
    """Seed 000's `/status` answer for a session, as the API and `leadmaster sessions status --json` give it."""
    advice = advice_for(current.state, current.gateway_status)
    return {
        'name': current.name,
        'state': str(current.state),
        'gateway_status': current.gateway_status,
        'connected': advice.connected,
        'needs_qr': advice.needs_qr,
        'is_recoverable': advice.is_recoverable,
        'recommended_action': advice.recommended_action,
        'reason': current.reason,
        'since': current.state_since,
        'last_event_at': current.last_event_at,
        'sending_allowed': current.sending_enabled,
    }
