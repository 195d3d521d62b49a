"""Admins see dead letters and problem webhooks, and can replay them once the number exists (M1)."""

from __future__ import annotations

import json

from nicegui.testing import User
from sqlmodel import select

from app.runtime import runtime
from services import branches
from services.database import Database
from services.models import AuditEntry, ChannelKind, Message
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import journal_once
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in, table_rows
from tests.unit.app.pages.waiting import eventually


async def test_admin_replays_a_dead_letter_after_adding_the_number(user: User, world: World, db: Database) -> None:
    await journal_once(
        db,
        json.dumps(
            build.envelope(
                phone_number_id='777000777',
                display_phone_number='5492615550101',
                contacts=[build.contact(wa_id='5491133334444', name='Martín')],
                messages=[build.text_message(from_='5491133334444', body='hola Mendoza')],
            )
        ),
    )
    await runtime().ingest.drain()
    await sign_in(user, 'jorge', world.password)
    await user.should_see('Jorge Pereyra')

    await user.open('/admin/webhooks')
    assert [row['phone_number_id'] for row in table_rows(user, 'dead-letters-table')] == ['777000777']

    await branches.add_number(
        db, branch_code='SUC2', channel=ChannelKind.CLOUD, phone_number_id='777000777', display_phone='+5492615550101'
    )
    runtime().ingest.directory.forget()
    user.find(marker='replay-webhooks').click()

    async def requeued() -> bool:  # what stays of "1 webhooks reprocesándose.": the replay's audit entry
        async with db.session() as session:
            return (
                await session.exec(select(AuditEntry).where(AuditEntry.action == 'webhooks.replayed'))
            ).first() is not None

    await eventually(requeued)
    async with db.session() as session:
        replayed = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'webhooks.replayed'))).one()
    assert replayed.details['count'] == 1
    await runtime().ingest.drain()

    async with db.session() as session:
        assert (await session.exec(select(Message.text))).all() == ['hola Mendoza']


async def test_managers_cannot_open_the_webhooks_page(user: User, world: World) -> None:
    await sign_in(user, 'marta', world.password)
    await user.should_see('Marta Sosa')

    await user.open('/admin/webhooks')

    await user.should_see('Sin permiso')
    await user.should_not_see(marker='dead-letters-table')
