"""The labels of a page of list rows in one query (SPEC C1), never another branch's (B2)."""

from __future__ import annotations

from services.database import Database
from services.events import NullPublisher
from services.inbox.console import set_labels
from services.inbox.labels import labels_of
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.services.sales.conftest import viewer_of


async def test_labels_of_many_conversations_sorted_and_only_of_visible_branches(db: Database, world: World) -> None:
    async def customer(number: int, branch: int, phone: str) -> int:
        return await conversation_with_message(
            db, number_id=number, branch_id=branch, phone=phone, text='Hola', wa_message_id=f'wamid.{phone}'
        )

    central = (world.central_number.id or 0, world.central.id or 0)
    martin = await customer(*central, '+5491133334444')
    raul = await customer(*central, '+5491144445555')
    gustavo = await customer(world.rosario_number.id or 0, world.rosario.id or 0, '+5493416667777')
    admin = await viewer_of(db, world.jorge)
    await set_labels(
        db, viewer=admin, conversation_id=martin, labels=['urgente', 'Mayorista'], publisher=NullPublisher()
    )
    await set_labels(db, viewer=admin, conversation_id=gustavo, labels=['rosario'], publisher=NullPublisher())

    ana = await viewer_of(db, world.ana)
    assert await labels_of(db, viewer=ana, conversation_ids=[martin, raul, gustavo]) == {
        martin: ['mayorista', 'urgente']
    }
    assert await labels_of(db, viewer=admin, conversation_ids=[martin, raul, gustavo]) == {
        martin: ['mayorista', 'urgente'],
        gustavo: ['rosario'],
    }
    assert await labels_of(db, viewer=ana, conversation_ids=[]) == {}
