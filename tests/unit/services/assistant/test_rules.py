"""The rule engine answering es-AR dialogues against the demo catalog: it asks for what is missing, proposes real
products with price (IVA included) and stock, and hands over when asked, when buying, or when lost."""

from __future__ import annotations

import re

from sqlmodel import col, select

from services.assistant import HANDOFF_CUSTOMER_ASKED, HANDOFF_PURCHASE_INTENT, HANDOFF_UNSURE
from services.assistant.engine import AssistantTools, HistoryMessage, TurnContext
from services.assistant.rules import RuleEngine
from services.catalog import format_ars, products_by_skus
from services.catalog.formats import CatalogProduct
from services.database import Database
from services.models import ProductFitment
from tests.conftest import World


def turn(world: World, *lines: tuple[str, str], intents: list[str] | None = None) -> TurnContext:
    """A thread of (sender, text); the customer's trailing messages are the new ones."""
    history = [HistoryMessage(message_id=i, sender_kind=sender, text=text) for i, (sender, text) in enumerate(lines)]
    new: list[HistoryMessage] = []
    for message in reversed(history):
        if not message.from_customer:
            break
        new.insert(0, message)
    return TurnContext(
        conversation_id=1,
        branch_id=world.central.id or 0,
        branch_name='Casa Central',
        customer_name='Martín Ruiz',
        history=history,
        new_messages=new,
        previous_intents=intents or [],
    )


async def test_gol_trend_2015_brake_pads_get_real_products_with_price_and_stock(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    engine = RuleEngine(AssistantTools(db))

    reply = await engine.reply(turn(world, ('customer', 'Hola, necesito pastillas de freno para un Gol Trend 2015')))

    assert reply.intent == 'part_request' and reply.handoff is None
    assert reply.text.startswith('¡Hola Martín!')
    assert reply.products, reply.text
    products = await products_by_skus(db, skus=reply.products, branch_id=world.central.id)
    async with db.session() as session:
        fitments = (
            await session.exec(
                select(ProductFitment).where(col(ProductFitment.product_id).in_([p.id for p in products.values()]))
            )
        ).all()
    for sku, product in products.items():
        assert product.title.startswith('Pastillas de freno')
        assert any(
            f.product_id == product.id and f.model == 'Gol Trend' and f.year_from <= 2015 <= f.year_to for f in fitments
        )
        line = next(line for line in reply.text.splitlines() if f'SKU {sku}' in line)
        assert product.price_with_iva is not None and format_ars(product.price_with_iva) in line
        assert ('sin stock' in line) == (not product.stock)


async def test_a_part_without_a_vehicle_makes_it_ask_for_the_vehicle_or_vin(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, ('customer', 'tenés pastilals de frneo?')))

    assert not reply.products
    assert 'vehículo' in reply.text and 'VIN' in reply.text


async def test_the_vehicle_given_later_completes_the_request(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(
        turn(
            world,
            ('customer', 'necesito pastillas de freno'),
            ('ai', '¿Para qué vehículo lo necesitás? Decime marca, modelo y año o el VIN.'),
            ('customer', 'es un gol trend 2015'),
        )
    )

    assert reply.intent == 'vehicle_info'
    assert reply.products and 'Para tu VW Gol Trend 2015 tengo:' in reply.text


async def test_cuanto_sale_after_a_proposal_answers_for_the_offered_products(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    engine = RuleEngine(AssistantTools(db))
    first = await engine.reply(turn(world, ('customer', 'pastillas de freno gol trend 2015')))

    second = await engine.reply(
        turn(world, ('customer', 'pastillas de freno gol trend 2015'), ('ai', first.text), ('customer', 'cuánto sale?'))
    )

    assert second.intent == 'price'
    assert second.products == first.products
    assert all(re.search(r'\$ [\d.]+,\d\d', line) for line in second.text.splitlines() if 'SKU' in line)


async def test_asking_for_a_person_hands_over(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, ('customer', 'quiero hablar con una persona')))

    assert reply.handoff == HANDOFF_CUSTOMER_ASKED
    assert 'vendedor' in reply.text


async def test_buying_after_a_proposal_hands_over_for_the_sale(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    engine = RuleEngine(AssistantTools(db))
    first = await engine.reply(turn(world, ('customer', 'pastillas de freno gol trend 2015')))

    reply = await engine.reply(
        turn(world, ('customer', 'pastillas de freno gol trend 2015'), ('ai', first.text), ('customer', 'dale'))
    )

    assert reply.intent == 'confirm' and reply.handoff == HANDOFF_PURCHASE_INTENT


async def test_a_typed_vin_is_read_but_not_presented_as_certain(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, ('customer', 'mi vin es 9BWAB45U0FT012345')))

    assert reply.intent == 'vin'
    assert '9BWAB45U0FT012345' in reply.text and 'Volkswagen 2015' in reply.text and 'confirmame' in reply.text


async def test_a_part_code_in_the_text_is_looked_up_exactly(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    product = next(p for p in catalog if any(c.kind == 'oem' for c in p.codes))
    oem = next(c.code for c in product.codes if c.kind == 'oem')

    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, ('customer', f'tienen el {oem}?')))

    assert product.sku in reply.products


async def test_not_understanding_twice_hands_over(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    engine = RuleEngine(AssistantTools(db))

    first = await engine.reply(turn(world, ('customer', 'jajaja nada')))
    second = await engine.reply(
        turn(world, ('customer', 'jajaja nada'), ('ai', first.text), ('customer', 'mmm'), intents=['unknown'])
    )

    assert first.intent == 'unknown' and first.handoff is None
    assert second.handoff == HANDOFF_UNSURE


async def test_nothing_in_the_catalog_hands_over_instead_of_inventing(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    reply = await RuleEngine(AssistantTools(db)).reply(turn(world, ('customer', 'catalizador para ford falcon 1980')))

    assert not reply.products
    assert reply.handoff == HANDOFF_UNSURE and 'No encontré' in reply.text
