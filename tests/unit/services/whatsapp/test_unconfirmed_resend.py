"""A reply whose send was cut off (`unconfirmed`) is never resent on its own; a person sends it again with one
click, and admins see the list (issue 19, F5)."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.database import Database
from services.errors import Conflict, NotFound
from services.models import AuditEntry, Message, MessageStatus
from services.whatsapp import outbox
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.workers import OutboxWorker
from tests.conftest import World
from tests.unit.services.sales.conftest import viewer_of
from tests.unit.services.whatsapp.test_outbox import Recorder, conversation_id, message, worker  # noqa: F401


async def cut_off_reply(db: Database, conversation_id: int, text: str = 'Te paso el precio: $ 24.350') -> int:  # noqa: F811
    """A reply as a worker killed mid-send leaves it after the restart: `unconfirmed`."""
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text=text, publisher=Recorder())
    async with db.session() as session:
        await session.exec(update(Message).where(col(Message.id) == queued.id).values(status=MessageStatus.UNCONFIRMED))
        await session.commit()
    return queued.id or 0


async def test_the_agent_sends_an_unconfirmed_reply_again_and_it_goes_out_once(
    db: Database,
    world: World,
    conversation_id: int,  # noqa: F811
    worker: OutboxWorker,  # noqa: F811
    fake_graph: FakeGraphApi,
) -> None:
    message_id = await cut_off_reply(db, conversation_id)
    await worker.drain()
    assert fake_graph.sent_messages == []  # never resent on its own
    ana = await viewer_of(db, world.ana)
    events = Recorder()

    resent = await outbox.resend_unconfirmed(db, viewer=ana, message_id=message_id, publisher=events)
    await worker.drain()

    assert resent.status == MessageStatus.QUEUED
    assert [(e.kind, e.data['status']) for e in events.events] == [('message.status', 'queued')]
    assert len(fake_graph.sent_messages) == 1
    assert (await message(db, message_id)).status == MessageStatus.SENT
    async with db.session() as session:
        entry = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'message.resent'))).one()
    assert entry.target_id == str(message_id) and '24.350' not in str(entry.model_dump())  # never the body


async def test_a_reply_whatsapp_settled_meanwhile_is_not_sent_again(
    db: Database,
    world: World,
    conversation_id: int,  # noqa: F811
) -> None:
    message_id = await cut_off_reply(db, conversation_id)
    async with db.session() as session:
        await session.exec(update(Message).where(col(Message.id) == message_id).values(status=MessageStatus.DELIVERED))
        await session.commit()

    with pytest.raises(Conflict):
        await outbox.resend_unconfirmed(
            db, viewer=await viewer_of(db, world.ana), message_id=message_id, publisher=Recorder()
        )

    assert (await message(db, message_id)).status == MessageStatus.DELIVERED


async def test_another_branch_can_neither_resend_nor_see_it(
    db: Database,
    world: World,
    conversation_id: int,  # noqa: F811
) -> None:
    message_id = await cut_off_reply(db, conversation_id)
    bruno = await viewer_of(db, world.bruno)  # an agent of Rosario; the conversation is Casa Central's

    with pytest.raises(NotFound):
        await outbox.resend_unconfirmed(db, viewer=bruno, message_id=message_id, publisher=Recorder())

    assert await outbox.list_unconfirmed(db, viewer=bruno) == []
    (listed,) = await outbox.list_unconfirmed(db, viewer=await viewer_of(db, world.jorge))
    assert (listed.message_id, listed.conversation_id, listed.contact_name) == (
        message_id,
        conversation_id,
        'Martín Ruiz',
    )
    assert (await message(db, message_id)).status == MessageStatus.UNCONFIRMED
