"""The conversation summary (C4, A3): structured, stored, versioned, recomputed only into a new version when
something changed, published after commit, visible only to the branch's people."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from services.access import Viewer
from services.assistant import SUMMARY_UPDATED, SummaryWorker, latest_summary, refresh_summary
from services.assistant.engine import AssistantTools, HistoryMessage, TurnContext
from services.assistant.rules import RuleEngine
from services.assistant.summary import PhotoVehicle, SummaryFacts, compute_summary, summary_versions
from services.catalog import Vehicle, products_by_skus
from services.catalog.formats import CatalogProduct
from services.database import Database
from services.errors import NotFound
from services.events import MESSAGE_CREATED, Event
from services.models import ProductStock, QuoteStatus, Role, SenderKind
from services.models.assistant import ConversationSummary
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.services.assistant.conftest import add_message


class Events:
    def __init__(self) -> None:
        self.published: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.published.extend(events)


def viewer(world: World, branch_id: int) -> Viewer:
    return Viewer(
        user_id=world.ana.id,
        username='ana',
        full_name='Ana',
        role=Role.AGENT,
        branch_id=branch_id,
        branch_ids=frozenset({branch_id}),
    )


async def offered_dialogue(db: Database, world: World) -> tuple[int, list[str]]:
    """Martín asks for brake pads for his Gol Trend 2015 and the bot proposes some."""
    conversation_id = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín',
        text='Hola, necesito pastillas de freno para un Gol Trend 2015',
        wa_message_id='wamid.S1',
    )
    history = [HistoryMessage(1, 'customer', 'Hola, necesito pastillas de freno para un Gol Trend 2015')]
    reply = await RuleEngine(AssistantTools(db)).reply(
        TurnContext(
            conversation_id=conversation_id,
            branch_id=world.central.id or 0,
            branch_name='Casa Central',
            customer_name='Martín',
            history=history,
            new_messages=history,
        )
    )
    await add_message(db, conversation_id, reply.text, sender=SenderKind.AI, seconds_ago=10)
    return conversation_id, reply.products


async def test_the_summary_has_vehicle_need_products_with_price_and_stock_stage_and_intent(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id, offered = await offered_dialogue(db, world)
    events = Events()

    summary = await refresh_summary(db, conversation_id=conversation_id, publisher=events)

    assert summary is not None and summary.version == 1
    assert summary.vehicle is not None
    assert (summary.vehicle.make, summary.vehicle.model, summary.vehicle.year) == ('Volkswagen', 'Gol Trend', 2015)
    assert summary.needs == ['pastillas freno']
    current = await products_by_skus(db, skus=offered, branch_id=world.central.id)
    assert [(p.sku, p.price, p.stock) for p in summary.products] == [
        (sku, current[sku].price_with_iva, current[sku].stock) for sku in offered
    ]
    assert (summary.stage, summary.intent) == ('products', 'medium')
    assert 0 < summary.confidence <= 100
    assert 'Gol Trend 2015' in summary.gist
    assert [(e.kind, e.conversation_id, e.branch_id) for e in events.published] == [
        (SUMMARY_UPDATED, conversation_id, world.central.id)
    ]


async def test_nothing_changed_means_no_new_version_and_no_event(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id, _ = await offered_dialogue(db, world)
    events = Events()
    await refresh_summary(db, conversation_id=conversation_id, publisher=events)

    again = await refresh_summary(db, conversation_id=conversation_id, publisher=events)

    assert again is not None and again.version == 1
    assert len(events.published) == 1
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(ConversationSummary))).one() == 1


async def test_a_purchase_signal_moves_it_to_closing_with_high_intent_as_a_new_version(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id, _ = await offered_dialogue(db, world)
    await refresh_summary(db, conversation_id=conversation_id, publisher=Events())
    await add_message(db, conversation_id, 'dale, me lo reservás?', seconds_ago=1)

    summary = await refresh_summary(db, conversation_id=conversation_id, publisher=Events())

    assert summary is not None and (summary.version, summary.stage, summary.intent) == (2, 'closing', 'high')
    versions = await summary_versions(db, viewer=viewer(world, world.central.id or 0), conversation_id=conversation_id)
    assert [v.stage for v in versions] == ['products', 'closing']


async def test_a_stock_change_is_picked_up_by_the_periodic_refresh(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id, offered = await offered_dialogue(db, world)
    events = Events()
    worker = SummaryWorker(db, publisher=events, refresh_seconds=30)
    worker.on_event(Event(MESSAGE_CREATED, world.central.id or 0, conversation_id, {}))
    assert await worker.drain() == 1
    current = await products_by_skus(db, skus=offered[:1], branch_id=world.central.id)
    async with db.session() as session:
        await session.exec(
            update(ProductStock)
            .where(
                col(ProductStock.product_id) == current[offered[0]].id, col(ProductStock.branch_id) == world.central.id
            )
            .values(quantity=(current[offered[0]].stock or 0) + 40)
        )
        await session.commit()

    await worker.run_round()  # the first round sweeps active conversations

    summary = await latest_summary(db, viewer=viewer(world, world.central.id or 0), conversation_id=conversation_id)
    assert summary is not None and summary.version == 2
    assert summary.products[0].stock == (current[offered[0]].stock or 0) + 40
    assert [e.kind for e in events.published] == [SUMMARY_UPDATED, SUMMARY_UPDATED]


async def test_another_branch_cannot_read_it(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    conversation_id, _ = await offered_dialogue(db, world)
    await refresh_summary(db, conversation_id=conversation_id, publisher=Events())

    with pytest.raises(NotFound):
        await latest_summary(db, viewer=viewer(world, world.rosario.id or 0), conversation_id=conversation_id)


async def test_a_greeting_only_is_the_first_stage_with_low_intent(db: Database, world: World) -> None:
    conversation_id = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334445',
        text='hola buenas',
        wa_message_id='wamid.S2',
    )

    summary = await refresh_summary(db, conversation_id=conversation_id, publisher=Events())

    assert summary is not None
    assert (summary.stage, summary.intent, summary.vehicle, summary.products) == ('greeting', 'low', None, [])
    assert summary.stage_progress == 0.0


# The summary's rules, one step each (pure: no database). The bot's offer is the rule engine's wording, whose
# "SKU …" mark is what the summary reads back.
OFFER = (
    'Para tu Gol Trend 2015 tengo:\n'
    '1. Pastillas de freno delanteras Frasle — $ 38.500 (IVA incl.), 6 en stock. SKU FR-PF-1234\n'
    '¿Te reservo alguno o te paso el presupuesto?'
)


def thread(*messages: tuple[str, str]) -> list[HistoryMessage]:
    return [HistoryMessage(number, sender, text) for number, (sender, text) in enumerate(messages, start=1)]


def panel(
    history: list[HistoryMessage], facts: SummaryFacts | None = None, photo: PhotoVehicle | None = None
) -> tuple[str, str, int]:
    """What the agent sees on the summary panel: stage, intent level, confidence."""
    view = compute_summary(1, history, {}, facts or SummaryFacts(), photo=photo)
    return view.stage, view.intent, view.confidence


def test_the_stage_is_the_furthest_step_the_sale_reached() -> None:
    greeting = [('customer', 'hola buenas, cómo va?')]
    need = [*greeting, ('customer', 'necesito pastillas de freno')]
    vehicle = [*need, ('customer', 'es para un Gol Trend 2015')]
    products = [*vehicle, ('ai', OFFER)]
    yes = [*products, ('customer', 'dale, me las reservás?')]

    assert [panel(thread(*step))[0] for step in (greeting, need, vehicle, products)] == [
        'greeting',
        'need',
        'vehicle',
        'products',
    ]
    assert panel(thread(*products), SummaryFacts(quote_statuses=[QuoteStatus.DRAFT]))[0] == 'quote'
    assert panel(thread(*products), SummaryFacts(quote_statuses=[QuoteStatus.ACCEPTED]))[0] == 'closing'
    assert panel(thread(*yes), SummaryFacts(quote_statuses=[QuoteStatus.SENT]))[0] == 'closing'
    assert panel(thread(*yes), SummaryFacts(sold=True))[0] == 'closed'
    assert panel(thread(*greeting), SummaryFacts(closed=True))[0] == 'closed'


def test_a_yes_before_any_offer_does_not_close_the_sale() -> None:
    stage, intent, _ = panel(thread(('customer', 'hola'), ('customer', 'dale')))

    assert (stage, intent) == ('greeting', 'low')


def test_the_intent_rises_with_what_the_customer_asks() -> None:
    just_hello = thread(('customer', 'hola, buen día'))
    price = thread(('customer', 'hola'), ('customer', 'cuánto sale el filtro de aceite?'))
    part_and_car = thread(('customer', 'tenés amortiguadores traseros para un Palio 2008?'))
    quote = thread(('customer', 'pasame un presupuesto de embrague para el Corsa'))
    buy = thread(('customer', 'pastillas para Gol Trend 2015'), ('ai', OFFER), ('customer', 'listo, me lo llevo'))

    assert [panel(history)[1] for history in (just_hello, price, part_and_car, quote, buy)] == [
        'low',
        'medium',
        'medium',
        'high',
        'high',
    ]
    assert panel(just_hello, SummaryFacts(sold=True))[1] == 'high'


def test_the_confidence_adds_up_what_is_known_and_drops_when_cars_are_mixed() -> None:
    asked = thread(('customer', 'necesito pastillas de freno para un Gol Trend 2015'))
    offered = thread(('customer', 'necesito pastillas de freno para un Gol Trend 2015'), ('ai', OFFER))
    two_cars = thread(
        ('customer', 'necesito pastillas de freno para un Gol Trend 2015'),
        ('customer', 'ah, y también para el Corsa 2009 de mi señora'),
    )
    wrong_vin = thread(('customer', 'hola, el chasis es 1HGCM82633A004353'))
    photo = PhotoVehicle(vin='9BWAB45U0FT012345', vehicle=Vehicle(make='Volkswagen', year=2015))

    assert panel(thread())[2] == 0  # nothing from the customer yet
    assert panel(thread(('customer', 'hola')))[2] == 30
    assert panel(asked)[2] == 30 + 15 + 20 + 10  # need, model, year
    assert panel(offered)[2] == 30 + 15 + 20 + 10 + 10  # and products
    assert panel(two_cars)[2] == 30 + 15 + 20 + 10 - 20  # the summary may mix the two cars
    assert panel(wrong_vin)[2] == 30 - 10  # a VIN that does not validate
    assert panel(wrong_vin, photo=photo)[2] == 30 + 10 + 15  # the photo's year and valid VIN


def test_numbers_that_are_prices_or_distances_are_not_the_cars_year() -> None:
    # Issue 18: "Dale, las de 61 mil" made the vehicle a "VW Gol Trend 1961" with full confidence.
    history = thread(
        ('customer', 'Hola, necesito pastillas de freno para un Gol Trend'),
        ('ai', OFFER),
        ('customer', 'Dale, las de 61 mil'),
        ('customer', 'y tiene 2000 km nomás'),
    )
    view = compute_summary(1, history, {}, SummaryFacts())
    assert view.vehicle is not None and (view.vehicle.model, view.vehicle.year) == ('Gol Trend', None)


def test_the_year_decoded_from_the_photos_vin_outranks_the_text_and_the_conflict_lowers_confidence() -> None:
    history = thread(('customer', 'necesito pastillas de freno para un Gol Trend 2012'))
    photo = PhotoVehicle(vin='9BWAB45U0FT012345', vehicle=Vehicle(make='Volkswagen', year=2015))

    agreeing = compute_summary(
        1, thread(('customer', 'pastillas de freno para un Gol Trend')), {}, SummaryFacts(), photo=photo
    )
    conflicting = compute_summary(1, history, {}, SummaryFacts(), photo=photo)

    assert conflicting.vehicle is not None
    assert (conflicting.vehicle.model, conflicting.vehicle.year) == (
        'Gol Trend',
        2015,
    )  # the VIN's year, the text's model
    assert conflicting.confidence == agreeing.confidence - 15
