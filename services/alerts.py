"""Alerts to admins (SPEC O4, issue 19): conditions that need a person, noticed by the system instead of a customer.

- **Journal backlog**: acknowledged webhooks waiting to be stored past a count or an age. Customers wrote and no
  agent can see it yet (the worker is down, or the database slow).
- **Send failures**: a branch whose replies fail at Meta above a rate over the last minutes (an expired token, a
  number blocked, a payment method missing): its customers are not being answered.

- **A WhatsApp-Web session down** (issue 14): a session that needs a QR (or a passkey) confirmed on the phone, or
  whose automatic restarts keep failing. Its customers write and nobody hears them.

A check opens an alert when its condition starts, keeps its figures current while it lasts and resolves it when it
clears; each opening and resolution is an audit entry (`alert.opened`, `alert.resolved`, by `system`) and a live
event that admin pages show at once. Safe with several worker processes: an open alert holds a unique `open_key`,
so a second process's insert fails and is skipped, and a resolution is a conditional UPDATE.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from . import audit
from .access import Viewer
from .database import Database
from .errors import PermissionDenied
from .events import SYSTEM_BRANCH, Event, EventPublisher
from .models import (
    Alert,
    AlertKind,
    AlertPublic,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Role,
)
from .models.types import utcnow
from .sessions.queries import sessions_needing_people
from .sessions.states import advice_for
from .whatsapp.journal import journal_backlog
from .workers import ScheduledJob

log = logging.getLogger(__name__)

ALERT_RAISED = 'alert.raised'
ALERT_RESOLVED = 'alert.resolved'
ALERT_EVENTS = (ALERT_RAISED, ALERT_RESOLVED)

# Outbound statuses that say how a send ended (queued, sending, unconfirmed and cancelled say nothing yet).
_ENDED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED, MessageStatus.FAILED)


@dataclass(frozen=True)
class AlertThresholds:
    """When a condition becomes an alert (settings `LEADMASTER_ALERT_*`, docs/operations.md)."""

    journal_pending: int = 1000
    journal_oldest_seconds: float = 120.0
    send_failure_rate: float = 0.2
    # Fewer sends than this in the window say nothing about a rate (two failures of three is not an outage).
    send_failure_minimum: int = 10
    send_window: timedelta = timedelta(minutes=15)
    # Failed restarts in a row after which a FAILED session needs a person (the probes keep trying meanwhile).
    session_failures: int = 3


@dataclass
class AlertCheck:
    opened: list[AlertPublic] = field(default_factory=list)
    resolved: list[AlertPublic] = field(default_factory=list)


@dataclass(frozen=True)
class _Condition:
    kind: AlertKind
    branch_id: int | None
    details: dict[str, Any]
    scope: str | None = None  # narrower than the branch (a session's name)

    @property
    def open_key(self) -> str:
        key = f'{self.kind}:{self.branch_id if self.branch_id is not None else "all"}'
        if not self.scope:
            return key
        scoped = f'{key}:{self.scope}'
        # The column holds 64: a long scope is shortened with a hash, so two long names never share a key.
        return scoped if len(scoped) <= 64 else f'{scoped[:47]}:{hashlib.sha256(scoped.encode()).hexdigest()[:16]}'


async def check_alerts(
    db: Database, *, publisher: EventPublisher, thresholds: AlertThresholds, now: datetime | None = None
) -> AlertCheck:
    """Compare what is true now with the open alerts: open the new ones, refresh the lasting ones, resolve the rest."""
    now = now or utcnow()
    conditions = {
        c.open_key: c
        for c in [
            *await _journal_backlog(db, thresholds, now),
            *await _send_failures(db, thresholds, now),
            *await _sessions_down(db, thresholds),
        ]
    }
    async with db.session() as session:
        open_alerts = (await session.exec(select(Alert).where(col(Alert.resolved_at).is_(None)))).all()
        for alert in open_alerts:
            if (condition := conditions.get(alert.open_key or '')) is not None:
                alert.details, alert.last_seen_at = condition.details, now
        await session.commit()
    already_open = {alert.open_key for alert in open_alerts}
    check = AlertCheck()
    for key, condition in conditions.items():
        if key not in already_open and (opened := await _open(db, condition, now)) is not None:
            check.opened.append(opened)
    for alert in open_alerts:
        if alert.open_key not in conditions and (resolved := await _resolve(db, alert, now)) is not None:
            check.resolved.append(resolved)
    events = [_event(ALERT_RAISED, alert) for alert in check.opened]
    events += [_event(ALERT_RESOLVED, alert) for alert in check.resolved]
    if events:
        await publisher.publish(events)
    return check


async def list_open_alerts(db: Database, *, viewer: Viewer) -> list[AlertPublic]:
    """The open alerts, newest first. Admins only: they concern numbers, workers and the deployment."""
    if not viewer.has_role(Role.ADMIN):
        raise PermissionDenied('only admins see alerts')
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Alert).where(col(Alert.resolved_at).is_(None)).order_by(col(Alert.opened_at).desc())
            )
        ).all()
    return [AlertPublic.model_validate(row, from_attributes=True) for row in rows]


async def _journal_backlog(db: Database, thresholds: AlertThresholds, now: datetime) -> list[_Condition]:
    pending, oldest = await journal_backlog(db)
    oldest_seconds = round((now - oldest).total_seconds()) if oldest is not None else 0
    if pending < thresholds.journal_pending and oldest_seconds < thresholds.journal_oldest_seconds:
        return []
    details = {
        'pending': pending,
        'oldest_seconds': oldest_seconds,
        'limit_pending': thresholds.journal_pending,
        'limit_seconds': thresholds.journal_oldest_seconds,
    }
    return [_Condition(AlertKind.JOURNAL_BACKLOG, None, details)]


async def _send_failures(db: Database, thresholds: AlertThresholds, now: datetime) -> list[_Condition]:
    since = now - thresholds.send_window
    failed = col(Message.status) == MessageStatus.FAILED
    async with db.autocommit_session() as session:
        rows = (
            await session.exec(
                select(Conversation.branch_id, func.count(), func.count().filter(failed))
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(
                    col(Message.direction) == Direction.OUTBOUND,
                    col(Message.sent_at) >= since,
                    col(Message.status).in_(_ENDED),
                )
                .group_by(col(Conversation.branch_id))
            )
        ).all()
        conditions = []
        for branch_id, total, failures in rows:
            if total < thresholds.send_failure_minimum or failures / total < thresholds.send_failure_rate:
                continue
            # Meta's reason for most of them: what the admin has to fix (a token, a payment method, a template).
            reasons = (
                await session.exec(
                    select(Message.error_code, Message.error_title)
                    .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                    .where(
                        col(Conversation.branch_id) == branch_id,
                        col(Message.direction) == Direction.OUTBOUND,
                        col(Message.sent_at) >= since,
                        failed,
                    )
                )
            ).all()
            (code, title), _ = Counter(reasons).most_common(1)[0]
            details = {
                'failed': failures,
                'sent': total,
                'window_minutes': round(thresholds.send_window.total_seconds() / 60),
                'limit_rate': thresholds.send_failure_rate,
                'error_code': code,
                'error_title': title,
            }
            conditions.append(_Condition(AlertKind.SEND_FAILURES, branch_id, details))
    return conditions


async def _sessions_down(db: Database, thresholds: AlertThresholds) -> list[_Condition]:
    conditions = []
    for row, branch_id in await sessions_needing_people(db, alert_after_failures=thresholds.session_failures):
        advice = advice_for(row.state, row.gateway_status)
        details = {
            'session_name': row.name,
            'state': str(row.state),
            'gateway_status': row.gateway_status,
            'failures': row.failures,
            'recommended_action': advice.recommended_action,
        }
        conditions.append(_Condition(AlertKind.SESSION_DOWN, branch_id, details, scope=row.name))
    return conditions


async def _open(db: Database, condition: _Condition, now: datetime) -> AlertPublic | None:
    alert = Alert(
        kind=condition.kind,
        branch_id=condition.branch_id,
        open_key=condition.open_key,
        details=condition.details,
        opened_at=now,
        last_seen_at=now,
    )
    async with db.session() as session:
        session.add(alert)
        try:
            await session.flush()
        except IntegrityError:  # another worker process opened it a moment ago
            await session.rollback()
            return None
        audit.record(
            session,
            action='alert.opened',
            actor_label='system',
            target_type='alert',
            target_id=alert.id or '',
            kind=condition.kind,
            branch_id=condition.branch_id,
            **condition.details,
        )
        await session.commit()
        await session.refresh(alert)
    log.warning('alert opened: %s %s', condition.open_key, condition.details)
    return AlertPublic.model_validate(alert, from_attributes=True)


async def _resolve(db: Database, alert: Alert, now: datetime) -> AlertPublic | None:
    async with db.session() as session:
        result = await session.exec(
            update(Alert)
            .where(col(Alert.id) == alert.id, col(Alert.resolved_at).is_(None))
            .values(resolved_at=now, open_key=None)
        )
        if not result.rowcount:  # another worker process resolved it
            await session.rollback()
            return None
        audit.record(
            session,
            action='alert.resolved',
            actor_label='system',
            target_type='alert',
            target_id=alert.id or '',
            kind=alert.kind,
            branch_id=alert.branch_id,
            lasted_seconds=round((now - alert.opened_at).total_seconds()),
        )
        await session.commit()
    log.warning('alert resolved: %s', alert.open_key)
    public = AlertPublic.model_validate(alert, from_attributes=True)
    return public.model_copy(update={'resolved_at': now})


def _event(kind: str, alert: AlertPublic) -> Event:
    branch_id = alert.branch_id if alert.branch_id is not None else SYSTEM_BRANCH
    return Event(kind, branch_id, data={'alert_id': alert.id, 'kind': alert.kind})


class AlertSweeper(ScheduledJob):
    """The alert check, every `interval_seconds`, in the process that runs the workers."""

    name = 'alerts'

    def __init__(
        self, db: Database, *, publisher: EventPublisher, thresholds: AlertThresholds, interval_seconds: float
    ) -> None:
        super().__init__(interval=timedelta(seconds=interval_seconds), first_run_after=timedelta(seconds=30))
        self.db = db
        self.publisher = publisher
        self.thresholds = thresholds

    async def run_once(self) -> AlertCheck:
        return await check_alerts(self.db, publisher=self.publisher, thresholds=self.thresholds)


__all__ = [
    'ALERT_EVENTS',
    'ALERT_RAISED',
    'ALERT_RESOLVED',
    'AlertCheck',
    'AlertSweeper',
    'AlertThresholds',
    'check_alerts',
    'list_open_alerts',
]
