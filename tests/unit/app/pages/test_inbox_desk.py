"""The console's right column and thread with the assistant, quotes and VIN readings wired in (SPEC C4, S3, S4,
V1), through NiceGUI's simulated browser on SQLite and PostgreSQL: the AI summary refreshes live, an agent quotes
the AI's products and a catalog find, sends the quote and sees the sale the moment the customer says "sí"; a
photo's VIN reading appears under it live and can be corrected."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.testing import User
from sqlalchemy import update
from sqlmodel import col, select

from app.runtime import runtime
from services.catalog.search import search_products
from services.database import Database
from services.events import MESSAGE_CREATED, Event
from services.models import Conversation, Direction, Media, Message, Quote, QuoteLine, SenderKind
from services.models.vin import VinReading
from services.vin.decoding import decode_vehicle
from services.vin.readings import VIN_READ
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.app.pages.test_inbox_takeover import PATIENCE, text_of
from tests.unit.app.pages.test_login import sign_in
from tests.unit.services.assistant.conftest import add_message
from tests.unit.services.catalog.conftest import catalog, demo_catalog  # noqa: F401 - fixture and its data

GOL_VIN = '9BWAB45U5FP012345'
SLOW = 150  # sending renders a PDF and writes several rows: slow on a shared machine


async def martin(db: Database, world: World) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín Ruiz',
        text='Hola, necesito pastillas de freno para un Gol Trend 2015',
        wa_message_id='wamid.D1',
    )


async def open_in_inbox(user: User, world: World, conversation_id: int) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see(marker='conversation-name', retries=PATIENCE)
    user.find(marker=f'conversation-{conversation_id}').click()
    await user.should_see(marker='panel-state', retries=PATIENCE)


async def bot_answers(conversation_id: int, world: World) -> None:
    """What the running app does on its own (workers are driven by hand in these tests): the bot answers after
    its pause, and the summary worker recomputes on the messages' events."""
    current = runtime()
    await asyncio.sleep(current.settings.assistant_reply_delay_seconds + 0.1)
    current.assistant.on_event(
        Event(
            MESSAGE_CREATED,
            world.central.id or 0,
            conversation_id,
            {'direction': Direction.INBOUND, 'sender_kind': SenderKind.CUSTOMER},
        )
    )
    assert await current.assistant.drain() == 1
    current.summaries.on_event(Event(MESSAGE_CREATED, world.central.id or 0, conversation_id))
    await current.summaries.drain()


@pytest.mark.usefixtures('catalog')
async def test_the_summary_shows_the_vehicle_and_products_live(user: User, world: World, db: Database) -> None:
    conversation_id = await martin(db, world)
    await open_in_inbox(user, world, conversation_id)
    await user.should_see(marker='summary-empty', retries=PATIENCE)

    await bot_answers(conversation_id, world)

    await user.should_see(content='VW Gol Trend 2015', marker='summary-vehicle', retries=PATIENCE)
    await user.should_see(marker='summary-product', retries=PATIENCE)
    products = [cast(TextElement, element).text for element in user.find(marker='summary-product').elements]
    assert products and all('Pastillas de freno' in text and '$ ' in text for text in products)
    # Still one timer for the whole page (NiceGUI's memory grows with each).
    assert len([e for e in user.client.elements.values() if isinstance(e, ui.timer)]) == 1  # type: ignore[union-attr]


@pytest.mark.usefixtures('catalog')
async def test_an_agent_quotes_the_ai_products_sends_it_and_sees_the_sale(
    user: User, world: World, db: Database
) -> None:
    conversation_id = await martin(db, world)
    await bot_answers(conversation_id, world)
    await open_in_inbox(user, world, conversation_id)
    await user.should_see(marker='quote-from-summary', retries=PATIENCE)
    await user.should_see(marker='quote-none', retries=PATIENCE)

    # "Cotizar": a draft with the AI summary's products.
    user.find(marker='quote-from-summary').click()
    await user.should_see(marker='quote-line-1', retries=SLOW)
    offered = len(user.find(marker='summary-product').elements)
    assert offered >= 1
    await user.should_see(marker=f'quote-line-{offered}', retries=PATIENCE)

    # A catalog find from the console goes onto the same quote.
    user.find(marker='catalog-query').type('filtro de aceite')
    await user.should_see(marker='catalog-title', retries=SLOW)
    found = await search_products(db, query='filtro de aceite', branch_id=world.central.id, limit=8)
    user.find(marker=f'catalog-add-{found.hits[0].sku}').click()
    await user.should_see(marker=f'quote-line-{offered + 1}', retries=SLOW)
    with user.scope(marker=f'quote-line-{offered + 1}'):
        await user.should_see(found.hits[0].title)

    user.find(marker='send-quote').click()
    await user.should_see(content='Enviado', marker='quote-status', retries=SLOW)  # stays, unlike the toast
    async with db.session() as session:
        lines = (
            await session.exec(
                select(QuoteLine.sku)
                .join(Quote, col(Quote.id) == col(QuoteLine.quote_id))
                .where(Quote.conversation_id == conversation_id)
            )
        ).all()
        held = await session.get(Conversation, conversation_id)
    assert len(lines) == offered + 1 and found.hits[0].sku in lines
    assert held is not None and held.assigned_user_id == world.ana.id  # sending is answering: Ana took it

    # The customer says "sí": the section shows the sale and its ticket at once.
    message_id = await add_message(db, conversation_id, 'Sí, dale', seconds_ago=0)
    assert await runtime().quote_acceptances.check(message_id) is not None
    await user.should_see(content='Ticket SUC1-T-000001', marker='quote-sold', retries=SLOW)
    await user.should_see(content='Aceptado', marker='quote-status', retries=PATIENCE)


async def photo_being_read(db: Database, world: World) -> tuple[int, int]:
    conversation_id = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491144445555',
        name='Paula Ríos',
        text='Te mando la chapa',
        wa_message_id='wamid.V1',
    )
    async with db.session() as session:
        media = Media(
            mime_type='image/jpeg', filename='chapa.jpg', sha256='a' * 64, storage_path='aa/chapa.jpg', status='stored'
        )
        session.add(media)
        await session.flush()
        message = Message(
            conversation_id=conversation_id,
            direction=Direction.INBOUND,
            sender_kind=SenderKind.CUSTOMER,
            type='image',
            media_id=media.id,
        )
        session.add(message)
        await session.flush()
        session.add(
            VinReading(
                message_id=message.id or 0,
                conversation_id=conversation_id,
                branch_id=world.central.id or 0,
                media_id=media.id,
                state='processing',
            )
        )
        await session.commit()
        return conversation_id, message.id or 0


async def test_a_photos_vin_shows_under_it_live_and_an_agent_corrects_it(
    user: User, world: World, db: Database
) -> None:
    conversation_id, message_id = await photo_being_read(db, world)
    await open_in_inbox(user, world, conversation_id)
    with user.scope(marker=f'message-{message_id}'):
        await user.should_see('Leyendo el VIN…', retries=PATIENCE)

    # The worker finishes the reading and announces it.
    vehicle = decode_vehicle(GOL_VIN)
    assert vehicle is not None
    async with db.session() as session:
        await session.exec(
            update(VinReading)
            .where(col(VinReading.message_id) == message_id)
            .values(
                state='done',
                vin=GOL_VIN,
                machine_vin=GOL_VIN,
                status='unverified',
                source='barcode',
                confidence=0.9,
                vehicle=vehicle.to_dict(),
            )
        )
        await session.commit()
    await runtime().bus.publish(
        [
            Event(
                VIN_READ,
                world.central.id or 0,
                conversation_id,
                {'message_id': message_id, 'vin': GOL_VIN, 'status': 'unverified', 'state': 'done'},
            )
        ]
    )

    with user.scope(marker=f'message-{message_id}'):
        await user.should_see(content=GOL_VIN, marker='vin-value', retries=PATIENCE)
        await user.should_see('Volkswagen Gol / Voyage / Saveiro 2015', retries=PATIENCE)
        await user.should_see('VIN sin verificar', retries=PATIENCE)
    assert text_of(user, 'vin-value') == GOL_VIN

    user.find(marker='vin-correct').click()
    await user.should_see(marker='vin-input', retries=PATIENCE)
    user.find(marker='vin-input').clear().type('9BWZZZ377VT004251')
    user.find(marker='vin-save').click()
    await user.should_see('VIN cargado a mano', retries=PATIENCE)
    assert text_of(user, 'vin-value') == '9BWZZZ377VT004251'
    async with db.session() as session:
        stored = (await session.exec(select(VinReading).where(VinReading.message_id == message_id))).one()
    assert (stored.vin, stored.source, stored.machine_vin) == ('9BWZZZ377VT004251', 'manual', GOL_VIN)
