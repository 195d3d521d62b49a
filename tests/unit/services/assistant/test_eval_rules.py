"""Rules fixed after the assistant evaluation (issue 18, bench/assistant_eval.py), one test each: a message in
capitals is not a VIN; store questions (hours, shipping, address) get the store's answer or a person; amounts are
not parts; a part said with extra words still finds the part; every way of asking for a person hands over; a
phone number is not a part code; "pasar a buscar" is buying."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.assistant import HANDOFF_CUSTOMER_ASKED, HANDOFF_UNSURE
from services.assistant.engine import AssistantTools, HistoryMessage, TurnContext, product_line
from services.assistant.nlu import understand
from services.assistant.rules import RuleEngine
from services.assistant.vin import find_vin
from services.catalog import products_by_skus
from services.catalog.formats import CatalogProduct
from services.catalog.search import ProductHit
from services.database import Database
from services.models import CannedResponse
from tests.conftest import World


def turn(world: World, *texts: str) -> TurnContext:
    """A thread where the customer wrote `texts` (the last one is this turn's)."""
    history = [HistoryMessage(message_id=i, sender_kind='customer', text=text) for i, text in enumerate(texts, 1)]
    return TurnContext(
        conversation_id=1,
        branch_id=world.central.id or 0,
        branch_name='Casa Central',
        customer_name='',
        history=history,
        new_messages=history[-1:],
    )


# --- a VIN is not a sentence in capitals ---


def test_a_message_in_capitals_is_not_read_as_a_vin_and_keeps_its_vehicle() -> None:
    text = 'HOLA NECESITO LÁMPARAS H4 PARA EL VENTO 2010, CUÁNTO SALEN?'

    assert find_vin(text) is None
    understood = understand(text)
    assert understood.vehicle is not None
    assert (understood.vehicle.model, understood.vehicle.year) == ('Vento', 2010)


def test_a_vin_typed_in_groups_is_still_found() -> None:
    reading = find_vin('el chasis es 9BW AB45U5 FP012345')
    assert reading is not None and reading.vin == '9BWAB45U5FP012345' and reading.valid


# --- store questions ---


@pytest.mark.parametrize(
    ('text', 'topic'),
    [
        ('buenas, a que hora abren mañana?', 'hours'),
        ('los sabados atienden? hasta que hora?', 'hours'),
        ('hola hacen envios a lanus?', 'shipping'),
        ('donde estan ubicados?', 'address'),
    ],
)
def test_a_question_about_the_store_is_a_store_question_not_a_purchase(text: str, topic: str) -> None:
    understood = understand(text)
    assert understood.intent == 'info' and understood.info_topics == (topic,)


def test_a_store_question_beside_a_part_keeps_the_part_first() -> None:
    understood = understand('bomba de agua para siena 2011, hacen envio a rosario?')
    assert understood.intent == 'part_request' and 'info' in understood.signals


async def store_says(db: Database, shortcut: str, body: str, branch_id: int | None = None) -> None:
    async with db.session() as session:
        session.add(CannedResponse(shortcut=shortcut, title=shortcut, body=body, branch_id=branch_id))
        await session.commit()


async def test_hours_are_answered_with_the_branch_s_own_quick_reply(db: Database, world: World) -> None:
    await store_says(db, 'horario', 'Atendemos de 8 a 18.')
    await store_says(db, 'horario', 'En Casa Central: de 9 a 19.', branch_id=world.central.id)

    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, 'a que hora abren?'))

    assert reply.intent == 'info' and reply.handoff is None
    assert reply.text.startswith('En Casa Central: de 9 a 19.')


async def test_a_store_question_nobody_wrote_an_answer_for_goes_to_a_person(db: Database, world: World) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, 'hacen envios a lanus?'))

    assert reply.handoff == HANDOFF_UNSURE and 'vendedor' in reply.text


async def test_the_cost_of_shipping_is_a_person_s_to_quote(db: Database, world: World) -> None:
    await store_says(db, 'envio', 'Enviamos a todo el país.')

    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, 'cuanto sale el envio a quilmes?'))

    assert reply.text.startswith('Enviamos a todo el país.') and reply.handoff == HANDOFF_UNSURE


async def test_a_part_request_with_a_shipping_question_gets_both(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    await store_says(db, 'envio', 'Enviamos a todo el país.')

    reply = await RuleEngine(AssistantTools(db)).reply(
        turn(world, 'pastillas de freno para gol trend 2015, hacen envio a rosario?')
    )

    assert reply.products and reply.text.endswith('Enviamos a todo el país.')


# --- amounts are not parts ---


def test_money_slang_is_a_price_not_a_part() -> None:
    understood = understand('en otro lado me pedian 90 lucas')  # "lucas" is one letter from "luces"
    assert understood.intent == 'price' and understood.part_words == ()


def test_a_yes_that_names_the_price_of_an_offer_is_a_yes() -> None:
    assert understand('Dale, las de 61 mil').intent == 'confirm'


def test_distances_are_not_part_words() -> None:
    understood = understand('el corolla 2015 tiene 120k km, filtro de aceite tenes?')
    assert '120k' not in understood.part_words and 'km' not in understood.part_words


async def test_a_part_said_with_extra_words_still_finds_the_part(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(
        turn(world, 'tengo un gol trend 2015 y me cobraron 35000 por las pastillas, tenes mas baratas?')
    )

    assert reply.handoff is None and reply.products, reply.text
    found = await products_by_skus(db, skus=reply.products, branch_id=world.central.id)
    assert all(hit.title.startswith('Pastillas de freno') for hit in found.values())


# --- asking for a person ---


@pytest.mark.parametrize(
    'text',
    [
        'me pasas con alguien?',
        'hay alguien ahi?',
        'con quien hablo?',
        'me pueden llamar al 1155667788?',
        'no entendes nada',
        'atencion al cliente',
        'operador',
        'me comunicas con un vendedor',
        'hablo con una persona o con un bot?',
    ],
)
async def test_every_way_of_asking_for_a_person_hands_over(db: Database, world: World, text: str) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, text))

    assert reply.handoff == HANDOFF_CUSTOMER_ASKED


def test_a_phone_number_is_not_a_part_code() -> None:
    assert understand('mi cel es 11 5566-7788, pasame precio de pastillas').codes == ()
    assert understand('tenes el 0 986 494 086?').codes == ('0986494086',)


def test_coming_to_pick_it_up_is_buying() -> None:
    assert understand('quiero pasar a buscar un filtro de aire para el fiesta 2012').purchase_signal


def test_a_proposal_line_has_no_double_period() -> None:
    hit = ProductHit(
        id=1,
        sku='FRE-1',
        title='Pastillas',
        brand='',
        category='',
        price=Decimal('100'),
        iva_rate=Decimal('21'),
        image_url=None,
        stock=2,
        stock_by_branch={1: 2},
    )
    assert 'últimas 2 unidades. SKU FRE-1' in product_line(1, hit)


def test_what_the_car_has_is_not_a_stock_question() -> None:
    assert understand('el auto tiene 80000 km, es un vento 2012').intent == 'vehicle_info'
    assert understand('lo tiene?').intent == 'stock'
