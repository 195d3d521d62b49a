"""The catalog page (S1) in NiceGUI's simulated browser: search with typos, see price/stock/photo, send a
product into a conversation (as the agent, through the outbox), the AI summary alongside, admin-only import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import pytest
from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.elements.mixins.value_element import ValueElement
from nicegui.testing import User
from sqlmodel import col, select

from services.assistant import refresh_summary
from services.database import Database
from services.events import Event
from services.models import Message, MessageStatus, SenderKind
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually
from tests.unit.services.catalog.conftest import catalog, demo_catalog  # noqa: F401 - fixture and its data


class Events:
    async def publish(self, events: Sequence[Event]) -> None:
        return None


async def martin(db: Database, world: World, *, hours_ago: float = 0.5) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín Ruiz',
        text='Necesito pastillas de freno para un Gol Trend 2015',
        wa_message_id='wamid.C1',
        hours_ago=hours_ago,
    )


def texts(user: User, marker: str) -> list[str]:
    return [cast(TextElement, element).text for element in user.find(marker=marker).elements]


@pytest.mark.usefixtures('catalog')
async def test_an_agent_finds_products_despite_typos_and_sees_price_stock_and_photo(user: User, world: World) -> None:
    await sign_in(user, 'ana', world.password)
    await user.open('/catalog')

    user.find(marker='catalog-query').type('pastilals de freno gol trend 2015')
    await user.should_see(marker='catalog-title')

    titles = texts(user, 'catalog-title')
    assert titles and all(title.startswith('Pastillas de freno') for title in titles)
    await user.should_see('Vehículo: VW Gol Trend 2015')
    await user.should_see('Se buscó «pastillas» en lugar de «pastilals»')
    assert all(text.startswith('$ ') for text in texts(user, 'catalog-price'))
    assert all(text.startswith('Stock: ') for text in texts(user, 'catalog-stock'))
    assert user.find(marker='catalog-photo').elements
    assert all(isinstance(element, ui.label) for element in user.find(marker='catalog-title').elements)
    await user.should_not_see(marker='catalog-target')  # no conversation: nothing to send to


@pytest.mark.usefixtures('catalog')
async def test_sending_a_product_queues_its_text_as_the_agent(user: User, world: World, db: Database) -> None:
    conversation_id = await martin(db, world)
    await sign_in(user, 'ana', world.password)
    await user.open(f'/catalog?c={conversation_id}')
    await user.should_see('Enviando a: Martín Ruiz')

    user.find(marker='catalog-query').type('kit distribucion')
    await user.should_see(marker='catalog-title')
    first_sku = next(
        marker.removeprefix('catalog-hit-')
        for element in user.find(marker='catalog-results').elements
        for child in element.descendants()
        for marker in child._markers
        if marker.startswith('catalog-hit-')
    )
    user.find(marker=f'catalog-send-{first_sku}').click()

    async def agent_messages() -> list[Message]:
        async with db.session() as session:
            query = select(Message).where(
                Message.conversation_id == conversation_id, Message.sender_kind == SenderKind.AGENT
            )
            return list((await session.exec(query)).all())

    async def queued() -> bool:  # what stays of "Producto enviado a la conversación.": the queued message
        return bool(await agent_messages())

    await eventually(queued)
    [sent] = await agent_messages()
    assert sent.status == MessageStatus.QUEUED and sent.sent_by_user_id == world.ana.id
    assert f'SKU {first_sku}' in sent.text and '(IVA incluido)' in sent.text


@pytest.mark.usefixtures('catalog')
async def test_outside_the_24h_window_nothing_is_sent(user: User, world: World, db: Database) -> None:
    conversation_id = await martin(db, world, hours_ago=30)
    await sign_in(user, 'ana', world.password)
    await user.open(f'/catalog?c={conversation_id}')

    user.find(marker='catalog-query').type('bujia')
    await user.should_see(marker='catalog-title')
    send_marker = next(
        marker
        for element in user.find(marker='catalog-results').elements
        for child in element.descendants()
        for marker in child._markers
        if marker.startswith('catalog-send-')
    )
    user.find(marker=send_marker).click()
    await user.should_see('solo se pueden enviar plantillas')

    async with db.session() as session:
        assert (await session.exec(select(Message).where(col(Message.sender_kind) == SenderKind.AGENT))).all() == []


@pytest.mark.usefixtures('catalog')
async def test_another_branchs_conversation_is_not_offered(user: User, world: World, db: Database) -> None:
    rosario = await conversation_with_message(
        db,
        number_id=world.rosario_number.id or 0,
        branch_id=world.rosario.id or 0,
        phone='+5493416667777',
        name='Gustavo Paz',
        text='hola',
        wa_message_id='wamid.C2',
    )
    await sign_in(user, 'ana', world.password)
    await user.open(f'/catalog?c={rosario}')

    await user.should_see(marker='catalog-no-conversation')
    await user.should_not_see('Gustavo Paz')


@pytest.mark.usefixtures('catalog')
async def test_the_ai_summary_panel_shows_vehicle_stage_and_confidence(user: User, world: World, db: Database) -> None:
    conversation_id = await martin(db, world)
    summary = await refresh_summary(db, conversation_id=conversation_id, publisher=Events())
    assert summary is not None
    await sign_in(user, 'ana', world.password)
    await user.open(f'/catalog?c={conversation_id}')

    await user.should_see(marker='summary-panel')
    assert texts(user, 'summary-vehicle') == ['VW Gol Trend 2015']
    assert texts(user, 'summary-stage') == ['Etapa: Vehículo']
    assert texts(user, 'summary-confidence') == [f'Confianza {summary.confidence} %']
    assert texts(user, 'summary-intent') == ['Intención de compra: Media']
    bar = user.find(marker='summary-stage-bar').elements.pop()
    assert cast(ValueElement, bar).value == summary.stage_progress


async def test_only_admins_see_the_import(user: User, world: World) -> None:
    await sign_in(user, 'ana', world.password)
    await user.open('/catalog')
    await user.should_see(marker='catalog-query')
    await user.should_not_see(marker='catalog-import')
