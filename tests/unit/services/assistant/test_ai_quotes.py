"""The AI drafts quotes (S3, A1; issue 18), through the bot's turn: a quote intent after an offer makes one AI draft
with the offered products for an agent to confirm, updated rather than duplicated; where the branch lets the AI
send quotes, the quote goes out as the assistant's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col, select

from services.assistant import AssistantWorker, QuoteDrafter, RuleEngine
from services.assistant.engine import AssistantTools
from services.assistant.quotes import picked_from_offer
from services.catalog.formats import CatalogProduct
from services.database import Database
from services.events import Event
from services.media_store import MediaStore
from services.models import Branch, Message, Quote, QuoteLine, QuoteStatus, SenderKind
from services.sales.desk import QUOTE_UPDATED, SalesDesk
from services.sales.inventory import DatabaseInventory
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.services.assistant.conftest import add_message


class Events:
    def __init__(self) -> None:
        self.published: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.published.extend(events)


class HandoffRecorder:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def __call__(self, db: Database, *, conversation_id: int, reason: str, publisher: object) -> None:
        self.reasons.append(reason)


def bot(db: Database, tmp_path: Path, events: Events, handoff: HandoffRecorder) -> AssistantWorker:
    desk = SalesDesk(db=db, publisher=events, store=MediaStore(tmp_path / 'media'), inventory=DatabaseInventory(db))
    return AssistantWorker(
        db,
        engine=RuleEngine(AssistantTools(db)),
        publisher=events,
        handoff=handoff,
        quotes=QuoteDrafter(desk),
        reply_delay_seconds=0,
    )


async def turn(worker: AssistantWorker, db: Database, conversation_id: int, text: str | None = None) -> Message:
    """The customer writes (unless `text` is None: the conversation's first message is there), the bot answers;
    returns the bot's reply."""
    if text is not None:
        await add_message(db, conversation_id, text, seconds_ago=1)
    await worker.answer(conversation_id)
    async with db.session() as session:
        return (
            await session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.sender_kind == SenderKind.AI)
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).one()


async def quotes_of(db: Database, conversation_id: int) -> list[Quote]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Quote).where(Quote.conversation_id == conversation_id).order_by(col(Quote.id))
                )
            ).all()
        )


async def skus_on(db: Database, quote_id: int) -> list[str]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(QuoteLine.sku).where(QuoteLine.quote_id == quote_id).order_by(col(QuoteLine.position))
                )
            ).all()
        )


async def outbound(db: Database, conversation_id: int) -> list[Message]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.sender_kind != SenderKind.CUSTOMER)
                    .order_by(col(Message.id))
                )
            ).all()
        )


async def customer_asks_for_pads(db: Database, world: World) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín Ruiz',
        text='Hola, necesito pastillas de freno para un Gol Trend 2015',
        wa_message_id='wamid.QUOTE1',
    )


async def test_a_quote_intent_after_an_offer_makes_one_ai_draft_for_an_agent_to_confirm(
    db: Database, world: World, catalog: list[CatalogProduct], tmp_path: Path
) -> None:
    events, handoff = Events(), HandoffRecorder()
    worker = bot(db, tmp_path, events, handoff)
    conversation_id = await customer_asks_for_pads(db, world)
    offer = await turn(worker, db, conversation_id)
    assert 'SKU ' in offer.text and await quotes_of(db, conversation_id) == []
    sent_before = len(await outbound(db, conversation_id))

    reply = await turn(worker, db, conversation_id, 'dale, pasame el presupuesto')

    [draft] = await quotes_of(db, conversation_id)
    assert draft.drafted_by_ai and draft.status == QuoteStatus.DRAFT and draft.created_by_id is None
    offered = [line.split('SKU ')[1] for line in offer.text.splitlines() if 'SKU ' in line]
    assert await skus_on(db, draft.id or 0) == offered
    # The customer is told a seller confirms it; the agents get the conversation and see the draft at once.
    assert 'presupuesto' in reply.text and 'vendedor' in reply.text
    assert handoff.reasons == ['purchase_intent']
    assert any(e.kind == QUOTE_UPDATED and e.data['quote_id'] == draft.id for e in events.published)
    # Nothing but the reply reached the customer: no quote text, no PDF.
    assert len(await outbound(db, conversation_id)) == sent_before + 1


async def test_asking_again_does_not_duplicate_the_draft_and_a_new_pick_updates_it(
    db: Database, world: World, catalog: list[CatalogProduct], tmp_path: Path
) -> None:
    worker = bot(db, tmp_path, Events(), HandoffRecorder())
    conversation_id = await customer_asks_for_pads(db, world)
    offer = await turn(worker, db, conversation_id)
    offered = [line.split('SKU ')[1] for line in offer.text.splitlines() if 'SKU ' in line]
    await turn(worker, db, conversation_id, 'pasame el presupuesto')

    await turn(worker, db, conversation_id, 'me pasás el presupuesto de nuevo?')
    [draft] = await quotes_of(db, conversation_id)
    assert await skus_on(db, draft.id or 0) == offered

    await turn(worker, db, conversation_id, 'mejor cotizame solo el 2')
    [updated] = await quotes_of(db, conversation_id)
    assert updated.id == draft.id and updated.status == QuoteStatus.DRAFT
    assert await skus_on(db, draft.id or 0) == [offered[1]]


async def test_where_the_branch_lets_the_ai_send_quotes_the_quote_goes_out_as_the_assistant(
    db: Database, world: World, catalog: list[CatalogProduct], tmp_path: Path
) -> None:
    async with db.session() as session:
        await session.exec(update(Branch).where(col(Branch.id) == world.central.id).values(ai_sends_quotes=True))
        await session.commit()
    handoff = HandoffRecorder()
    worker = bot(db, tmp_path, Events(), handoff)
    conversation_id = await customer_asks_for_pads(db, world)
    await turn(worker, db, conversation_id)
    sent_before = len(await outbound(db, conversation_id))

    await turn(worker, db, conversation_id, 'cotizame el 1')

    [quote] = await quotes_of(db, conversation_id)
    assert quote.drafted_by_ai and quote.status == QuoteStatus.SENT and quote.sent_by_id is None
    after = (await outbound(db, conversation_id))[sent_before:]
    # The reply first, then the quote's text and its PDF, all queued in the outbox as the assistant's.
    assert len(after) >= 3 and all(m.sender_kind == SenderKind.AI for m in after)
    assert 'SÍ' in after[0].text and 'presupuesto' in after[0].text
    code = f'SUC1-{quote.number:06d}'
    assert any(m.type == 'document' and code in (m.text or '') for m in after)
    assert handoff.reasons == []  # the customer answers SÍ to the quote; no person needed for that


async def test_without_products_on_offer_no_quote_is_drafted(
    db: Database, world: World, catalog: list[CatalogProduct], tmp_path: Path
) -> None:
    handoff = HandoffRecorder()
    worker = bot(db, tmp_path, Events(), handoff)
    conversation_id = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334445',
        name='Lucía',
        text='hola, me pasás un presupuesto?',
        wa_message_id='wamid.QUOTE2',
    )

    reply = await turn(worker, db, conversation_id)

    assert await quotes_of(db, conversation_id) == []
    assert reply.text and handoff.reasons == ['purchase_intent']


def test_a_pick_by_number_or_ordinal_from_the_offer() -> None:
    offered = ['A-1', 'B-2', 'C-3']
    assert picked_from_offer('dale, el 2', offered) == ['B-2']
    assert picked_from_offer('quiero la primera', offered) == ['A-1']
    assert picked_from_offer('opción 3 porfa', offered) == ['C-3']
    # Not a pick: an engine size, a year, a number past the offer.
    assert picked_from_offer('es el 1.6', offered) == []
    assert picked_from_offer('es del 12', offered) == []
    assert picked_from_offer('el 5', offered) == []


async def test_a_pick_by_price_drafts_that_product_and_a_later_purchase_keeps_it(
    db: Database, world: World, catalog: list[CatalogProduct], tmp_path: Path
) -> None:
    worker = bot(db, tmp_path, Events(), HandoffRecorder())
    conversation_id = await customer_asks_for_pads(db, world)
    offer = await turn(worker, db, conversation_id)
    offered = [line for line in offer.text.splitlines() if 'SKU ' in line]
    second_sku = offered[1].split('SKU ')[1]
    second_price = offered[1].split('— ')[1].split(' (IVA')[0]  # "$ 61.000,00", as the offer showed it

    await turn(worker, db, conversation_id, f'Dale, las de {second_price}')
    [draft] = await quotes_of(db, conversation_id)
    assert await skus_on(db, draft.id or 0) == [second_sku]

    await turn(worker, db, conversation_id, 'como te pago?')  # picks nothing: the pick stands
    [same] = await quotes_of(db, conversation_id)
    assert same.id == draft.id and await skus_on(db, draft.id or 0) == [second_sku]


async def test_after_the_ai_sent_a_quote_a_purchase_that_picks_nothing_quotes_nothing_new(
    db: Database, world: World, catalog: list[CatalogProduct], tmp_path: Path
) -> None:
    async with db.session() as session:
        await session.exec(update(Branch).where(col(Branch.id) == world.central.id).values(ai_sends_quotes=True))
        await session.commit()
    worker = bot(db, tmp_path, Events(), HandoffRecorder())
    conversation_id = await customer_asks_for_pads(db, world)
    await turn(worker, db, conversation_id)
    await turn(worker, db, conversation_id, 'cotizame el 1')
    sent_so_far = len(await outbound(db, conversation_id))

    await turn(worker, db, conversation_id, 'buenisimo, como te pago?')

    [quote] = await quotes_of(db, conversation_id)  # the one sent; no second quote of all three options
    assert quote.status == QuoteStatus.SENT
    assert len(await outbound(db, conversation_id)) == sent_so_far + 1  # only the reply
