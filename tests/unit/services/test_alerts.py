"""Alerts to admins (SPEC O4): the journal falling behind and a branch's failing sends open an alert, once, with
its figures and an audit entry; it clears when the condition does; only admins read them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlmodel import col, select

from services.access import Viewer
from services.alerts import ALERT_RAISED, ALERT_RESOLVED, AlertThresholds, check_alerts, list_open_alerts
from services.auth import viewer_for_user
from services.database import Database
from services.errors import PermissionDenied
from services.events import SYSTEM_BRANCH, Event
from services.models import (
    Alert,
    AlertKind,
    AuditEntry,
    DeliveryStatus,
    Direction,
    Message,
    MessageStatus,
    SenderKind,
    User,
    WebhookDelivery,
)
from services.models.types import utcnow
from tests.builders import conversation_with_message
from tests.conftest import World

THRESHOLDS = AlertThresholds(
    journal_pending=5, journal_oldest_seconds=60, send_failure_rate=0.2, send_failure_minimum=10
)


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)


async def journal(db: Database, *, count: int, seconds_ago: float = 0) -> None:
    async with db.session() as session:
        for _ in range(count):
            session.add(
                WebhookDelivery(
                    body='{}', status=DeliveryStatus.PENDING, received_at=utcnow() - timedelta(seconds=seconds_ago)
                )
            )
        await session.commit()


async def mark_journal_processed(db: Database) -> None:
    async with db.session() as session:
        for delivery in (await session.exec(select(WebhookDelivery))).all():
            delivery.status = DeliveryStatus.PROCESSED
        await session.commit()


async def replies(db: Database, world: World, *, sent: int, failed: int, phone: str = '+5491144440000') -> None:
    """Replies of Casa Central in the last minutes: `sent` that went out, `failed` that Meta refused."""
    conversation_id = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone=phone,
        text='Hola',
        wa_message_id=f'wamid.in.{phone}',
    )
    async with db.session() as session:
        for index in range(sent + failed):
            refused = index < failed
            session.add(
                Message(
                    conversation_id=conversation_id,
                    direction=Direction.OUTBOUND,
                    sender_kind=SenderKind.AGENT,
                    text='Tenemos stock',
                    status=MessageStatus.FAILED if refused else MessageStatus.DELIVERED,
                    error_code=131042 if refused else None,
                    error_title='Business eligibility payment issue' if refused else '',
                    sent_at=utcnow() - timedelta(minutes=2),
                )
            )
        await session.commit()


async def audit_actions(db: Database) -> list[str]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(AuditEntry.action).where(col(AuditEntry.target_type) == 'alert').order_by(col(AuditEntry.id))
                )
            ).all()
        )


async def test_a_journal_backlog_opens_one_alert_that_clears_when_the_worker_catches_up(
    db: Database, world: World
) -> None:
    publisher = RecordingPublisher()
    await journal(db, count=3)
    assert (await check_alerts(db, publisher=publisher, thresholds=THRESHOLDS)).opened == []  # under the limits

    await journal(db, count=3)  # six waiting: over the count
    opened = (await check_alerts(db, publisher=publisher, thresholds=THRESHOLDS)).opened
    assert [(alert.kind, alert.branch_id, alert.details['pending']) for alert in opened] == [
        (AlertKind.JOURNAL_BACKLOG, None, 6)
    ]
    # It lasts: the next checks open nothing new and keep its figures current.
    await journal(db, count=2)
    again = await check_alerts(db, publisher=publisher, thresholds=THRESHOLDS)
    assert (again.opened, again.resolved) == ([], [])
    jorge = await viewer_of(db, world.jorge)
    [shown] = await list_open_alerts(db, viewer=jorge)
    assert shown.details['pending'] == 8

    await mark_journal_processed(db)
    resolved = (await check_alerts(db, publisher=publisher, thresholds=THRESHOLDS)).resolved
    assert [alert.id for alert in resolved] == [opened[0].id]
    assert await list_open_alerts(db, viewer=jorge) == []
    assert [(e.kind, e.branch_id) for e in publisher.events] == [
        (ALERT_RAISED, SYSTEM_BRANCH),
        (ALERT_RESOLVED, SYSTEM_BRANCH),
    ]
    assert await audit_actions(db) == ['alert.opened', 'alert.resolved']


async def test_an_old_pending_body_is_a_backlog_even_when_few(db: Database, world: World) -> None:
    await journal(db, count=1, seconds_ago=300)  # one body stuck for 5 minutes: its customer waits
    [alert] = (await check_alerts(db, publisher=RecordingPublisher(), thresholds=THRESHOLDS)).opened
    assert alert.details['oldest_seconds'] >= 300


async def test_a_branch_whose_sends_fail_gets_an_alert_with_metas_reason(db: Database, world: World) -> None:
    publisher = RecordingPublisher()
    await replies(db, world, sent=20, failed=3)  # 13 %: a few failures are normal
    assert (await check_alerts(db, publisher=publisher, thresholds=THRESHOLDS)).opened == []

    await replies(db, world, sent=0, failed=5, phone='+5491144440001')  # 8 of 28 = 29 %
    [alert] = (await check_alerts(db, publisher=publisher, thresholds=THRESHOLDS)).opened
    assert (alert.kind, alert.branch_id) == (AlertKind.SEND_FAILURES, world.central.id)
    assert (alert.details['failed'], alert.details['sent']) == (8, 28)
    assert alert.details['error_title'] == 'Business eligibility payment issue'
    assert [(e.kind, e.branch_id) for e in publisher.events] == [(ALERT_RAISED, world.central.id)]


async def test_too_few_sends_say_nothing_about_a_rate(db: Database, world: World) -> None:
    await replies(db, world, sent=1, failed=2)
    assert (await check_alerts(db, publisher=RecordingPublisher(), thresholds=THRESHOLDS)).opened == []


async def test_two_worker_processes_checking_at_once_open_it_once(db: Database, world: World) -> None:
    await journal(db, count=10)
    checks = await asyncio.gather(
        *(check_alerts(db, publisher=RecordingPublisher(), thresholds=THRESHOLDS) for _ in range(4))
    )
    assert sum(len(check.opened) for check in checks) == 1
    async with db.session() as session:
        assert len((await session.exec(select(Alert))).all()) == 1
    assert await audit_actions(db) == ['alert.opened']


async def test_only_admins_read_alerts(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)
    with pytest.raises(PermissionDenied):
        await list_open_alerts(db, viewer=marta)
