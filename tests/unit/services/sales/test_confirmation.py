"""The customer's confirmation (S4): a "sí" or a tap on the accept button, arriving through the real webhook
ingest, accepts the open quote — once — and a question or a "no" never does."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, func, select

from services.access import Viewer
from services.database import Database
from services.events import NullPublisher
from services.models import Message, QuoteStatus, Sale
from services.sales import quotes
from services.sales.closing import CUSTOMER_BUTTON, CUSTOMER_TEXT
from services.sales.confirmation import handle_customer_message, is_affirmative
from services.sales.desk import SalesDesk
from services.sales.quotes import LineDraft
from services.sales.sending import accept_button_id, send_quote
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import journal_once
from services.whatsapp.workers import IngestWorker
from tests.conftest import World

from .conftest import Catalog

CUSTOMER = '5491155550101'


@pytest.mark.parametrize(
    'text',
    [
        'sí',
        'Si',
        'SÍ!',
        'dale',
        'Dale, gracias',
        'confirmo',
        'Sí, confirmo 👍',
        'ok dale',
        'perfecto, lo compro',
        'listo',
        'de acuerdo',
        '👍',
        'sisi',
    ],
)
def test_assent_is_recognised(text: str) -> None:
    assert is_affirmative(text)


@pytest.mark.parametrize(
    'text',
    [
        'no',
        'sí, pero ¿cuánto sale el envío?',
        '¿dale?',
        'gracias',
        'no, dale que no',
        'sí tienen la de 65Ah también',
        'dale mandame el de Moura mejor',
        '',
        'hola',
        'si si si si si si si si si si',
    ],
)
def test_anything_else_is_not_an_acceptance(text: str) -> None:
    assert not is_affirmative(text)


async def customer_says(db: Database, world: World, message: dict) -> int:
    """Through the journal and ingest, as a real webhook would; returns the stored message's id."""
    await journal_once(
        db,
        json.dumps(
            build.envelope(
                phone_number_id=world.central_number.phone_number_id,
                display_phone_number='5491150000101',
                contacts=[build.contact(wa_id=CUSTOMER, name='José')],
                messages=[message],
            )
        ),
    )
    await IngestWorker(db, publisher=NullPublisher()).drain()
    async with db.session() as session:
        message_id = (
            await session.exec(select(Message.id).where(Message.direction == 'in').order_by(col(Message.id).desc()))
        ).first()
    assert message_id is not None
    return message_id


async def sent_quote(desk: SalesDesk, ana: Viewer, chat: int, catalog: Catalog) -> int:
    quote = await quotes.create_quote(
        desk.db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    await send_quote(desk, viewer=ana, quote_id=quote.id)
    return quote.id


async def sales(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Sale))).one()


async def test_the_customers_si_accepts_the_sent_quote_once(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    first = await handle_customer_message(
        desk, message_id=await customer_says(db, world, build.text_message(from_=CUSTOMER, body='Sí, dale!'))
    )
    second = await handle_customer_message(
        desk, message_id=await customer_says(db, world, build.text_message(from_=CUSTOMER, body='sí'))
    )

    assert first is not None and first.created and first.ticket_sent
    assert second is None  # nothing open any more: no second sale, no second ticket
    assert await sales(db) == 1
    quote = await quotes.get_quote(db, viewer=ana, quote_id=quote_id)
    assert (quote.status, quote.decision_source) == (QuoteStatus.ACCEPTED, CUSTOMER_TEXT)


async def test_a_question_does_not_accept(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    result = await handle_customer_message(
        desk,
        message_id=await customer_says(
            db, world, build.text_message(from_=CUSTOMER, body='sí, pero ¿hacen envíos a Quilmes?')
        ),
    )

    assert result is None
    assert (await quotes.get_quote(db, viewer=ana, quote_id=quote_id)).status == QuoteStatus.SENT


async def test_a_si_with_only_a_draft_accepts_nothing(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    await quotes.create_quote(db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)])

    result = await handle_customer_message(
        desk, message_id=await customer_says(db, world, build.text_message(from_=CUSTOMER, body='sí'))
    )

    assert result is None and await sales(db) == 0


async def test_the_accept_button_names_its_quote(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    older = await sent_quote(desk, ana, chat, catalog)
    await sent_quote(desk, ana, chat, catalog)  # a newer one, which a plain "sí" would pick

    tap = build.interactive_button_reply(from_=CUSTOMER, id=accept_button_id(older), title='Confirmo')
    result = await handle_customer_message(desk, message_id=await customer_says(db, world, tap))
    again = await handle_customer_message(
        desk,
        message_id=await customer_says(
            db, world, build.interactive_button_reply(from_=CUSTOMER, id=accept_button_id(older), title='Confirmo')
        ),
    )

    assert result is not None and result.sale.quote_id == older
    assert again is not None and not again.created and again.sale.id == result.sale.id
    assert (await quotes.get_quote(db, viewer=ana, quote_id=older)).decision_source == CUSTOMER_BUTTON
    assert await sales(db) == 1


async def test_a_template_quick_reply_labelled_confirmo_accepts(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    result = await handle_customer_message(
        desk,
        message_id=await customer_says(
            db, world, build.button_message(from_=CUSTOMER, payload='Confirmo', text='Confirmo')
        ),
    )

    assert result is not None and result.sale.quote_id == quote_id


async def test_another_conversations_button_is_ignored(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    other_chat_quote = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(product_id=catalog.pads.id)]
    )

    result = await handle_customer_message(
        desk,
        message_id=await customer_says(
            db,
            world,
            build.interactive_button_reply(from_=CUSTOMER, id=accept_button_id(other_chat_quote.id), title='Confirmo'),
        ),
    )

    assert result is None and await sales(db) == 0


async def test_outbound_messages_are_never_taken_for_assent(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    await sent_quote(desk, ana, chat, catalog)
    async with db.session() as session:
        outbound = (await session.exec(select(Message.id).where(Message.direction == 'out'))).first()

    assert await handle_customer_message(desk, message_id=outbound or 0) is None
    assert await handle_customer_message(desk, message_id=999_999) is None
