"""In the thread, a reply whose send was cut off says so and offers "Reenviar"; the admin's list shows it too
(issue 19, F5)."""

from __future__ import annotations

from nicegui.testing import User
from sqlalchemy import update
from sqlmodel import col

from services.database import Database
from services.models import Message, MessageStatus
from services.whatsapp import outbox
from tests.conftest import World
from tests.unit.app.pages.test_inbox import PATIENCE, chats, open_inbox  # noqa: F401 - a fixture
from tests.unit.app.pages.test_login import table_rows
from tests.unit.app.pages.waiting import eventually
from tests.unit.services.whatsapp.test_outbox import Recorder


async def unconfirmed_reply(db: Database, conversation_id: int) -> int:
    queued = await outbox.queue_text(
        db, conversation_id=conversation_id, text='Las pastillas salen $ 24.350', publisher=Recorder()
    )
    async with db.session() as session:
        await session.exec(update(Message).where(col(Message.id) == queued.id).values(status=MessageStatus.UNCONFIRMED))
        await session.commit()
    return queued.id or 0


async def status_of(db: Database, message_id: int) -> str:
    async with db.session() as session:
        found = await session.get(Message, message_id)
        return found.status if found else ''


async def test_the_agent_sees_the_unconfirmed_reply_and_sends_it_again(
    user: User,
    world: World,
    db: Database,
    chats: dict[str, int],  # noqa: F811
) -> None:
    message_id = await unconfirmed_reply(db, chats['lucia'])
    await open_inbox(user, world)

    user.find(marker=f'conversation-{chats["lucia"]}').click()
    await user.should_see(marker=f'message-{message_id}', retries=PATIENCE)
    with user.scope(marker=f'message-{message_id}'):
        await user.should_see('Envío sin confirmar', retries=PATIENCE)
        user.find(marker='resend').click()

    async def queued_again() -> bool:
        return await status_of(db, message_id) == MessageStatus.QUEUED

    await eventually(queued_again)
    with user.scope(marker=f'message-{message_id}'):
        await user.should_not_see('Envío sin confirmar', retries=PATIENCE)  # the status event reached the bubble


async def test_the_admin_lists_unconfirmed_replies_of_every_branch(
    user: User,
    world: World,
    db: Database,
    chats: dict[str, int],  # noqa: F811
) -> None:
    await unconfirmed_reply(db, chats['lucia'])
    await open_inbox(user, world, 'jorge')

    await user.open('/admin/webhooks')

    await user.should_see('Envíos sin confirmar', retries=PATIENCE)
    assert [(row['contact'], row['branch']) for row in table_rows(user, 'unconfirmed-table')] == [
        ('Lucía Herrera', 'SUC1')
    ]
