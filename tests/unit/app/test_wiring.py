"""The built app connects the features (issues 6-8): the events the services publish reach the workers that
must act on them, through the app's own bus. Workers are driven by hand here (LEADMASTER_RUN_WORKERS=false)."""

from __future__ import annotations

import json

from nicegui.testing import User
from sqlalchemy import update
from sqlmodel import col, func, select

from app.runtime import runtime
from services.database import Database
from services.events import Event
from services.models import Conversation, ConversationMode, Direction, Message, Sale, SenderKind
from services.models.assistant import ConversationSummary
from services.models.vin import VinReading
from services.sales import quotes
from services.sales.quotes import LineDraft
from services.sales.sending import send_quote
from services.vin.decoding import decode_vehicle
from services.vin.readings import VIN_READ
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import journal_once
from tests.conftest import World
from tests.unit.services.sales.conftest import Catalog, viewer_of

CUSTOMER = '5491155550101'  # José Núñez of the `chat` fixture
GOL_VIN = '9BWAB45U5FP012345'


async def test_a_customers_si_reaches_the_sales_desk_in_human_mode(
    user: User, db: Database, world: World, catalog: Catalog, chat: int
) -> None:
    current = runtime()
    ana_viewer = await viewer_of(db, world.ana)
    async with db.session() as session:
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == chat)
            .values(mode=ConversationMode.HUMAN, assigned_user_id=world.ana.id)
        )
        await session.commit()
    quote = await quotes.create_quote(
        db, viewer=ana_viewer, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    await send_quote(current.sales, viewer=ana_viewer, quote_id=quote.id)

    # The webhook → journal → ingest path publishes message.created on the app's bus.
    await journal_once(
        db,
        json.dumps(
            build.envelope(
                phone_number_id=world.central_number.phone_number_id,
                display_phone_number='5491150000101',
                contacts=[build.contact(wa_id=CUSTOMER, name='José')],
                messages=[build.text_message(from_=CUSTOMER, body='confirmo')],
            )
        ),
    )
    await current.ingest.drain()
    await current.quote_acceptances.drain()

    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Sale))).one() == 1
    # The bot leaves a quote's "sí" to the sales desk, and an opt-out ("BAJA") to the campaigns' opt-out worker.
    assert current.assistant.claims[0] == current.quote_acceptances.answered
    assert len(current.assistant.claims) == 2


async def test_a_vin_reading_reaches_the_bot_and_the_summary(user: User, db: Database, world: World, chat: int) -> None:
    current = runtime()
    vehicle = decode_vehicle(GOL_VIN)
    assert vehicle is not None
    async with db.session() as session:
        message = Message(
            conversation_id=chat, direction=Direction.INBOUND, sender_kind=SenderKind.CUSTOMER, type='image'
        )
        session.add(message)
        await session.flush()
        session.add(
            VinReading(
                message_id=message.id or 0,
                conversation_id=chat,
                branch_id=world.central.id or 0,
                state='done',
                vin=GOL_VIN,
                status='unverified',
                source='barcode',
                confidence=0.9,
                vehicle=vehicle.to_dict(),
            )
        )
        await session.commit()
        message_id = message.id or 0

    await current.bus.publish(
        [
            Event(
                VIN_READ,
                world.central.id or 0,
                chat,
                {'message_id': message_id, 'vin': GOL_VIN, 'status': 'unverified', 'state': 'done'},
            )
        ]
    )
    assert await current.assistant.drain() == 1
    await current.summaries.drain()

    async with db.session() as session:
        told = (
            await session.exec(
                select(Message.text).where(Message.conversation_id == chat, Message.sender_kind == SenderKind.AI)
            )
        ).all()
        summary = (
            await session.exec(select(ConversationSummary).where(ConversationSummary.conversation_id == chat))
        ).all()
    assert [text.split(' — ')[0] for text in told] == ['Tu vehículo: Volkswagen Gol / Voyage / Saveiro 2015']
    assert summary and summary[-1].vin == GOL_VIN
