"""The customer's "sí" closes the sale whatever the conversation's mode, and in AI mode the bot does not also
answer it (SPEC S4, A1): whichever of the acceptance check and the bot runs first."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from app.event_bus import InProcessEventBus
from services.access import Viewer
from services.assistant import AssistantWorker, RuleEngine
from services.assistant.engine import AssistantTools
from services.database import Database
from services.events import MESSAGE_CREATED, Event, EventPublisher, NullPublisher
from services.models import Conversation, ConversationMode, Direction, Message, QuoteStatus, Sale, SenderKind
from services.models.assistant import AssistantTurn
from services.sales import quotes
from services.sales.desk import SalesDesk
from services.sales.quotes import LineDraft
from services.sales.sending import send_quote
from services.sales.workers import QuoteAcceptanceWorker
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import journal_once
from services.whatsapp.workers import IngestWorker
from tests.conftest import World
from tests.unit.services.sales.conftest import Catalog

CUSTOMER = '5491155550101'  # José Núñez of the `chat` fixture


async def customer_says(db: Database, world: World, text: str, *, publisher: EventPublisher) -> int:
    """Through the journal and ingest, as a real webhook; returns the stored message's id."""
    await journal_once(
        db,
        json.dumps(
            build.envelope(
                phone_number_id=world.central_number.phone_number_id,
                display_phone_number='5491150000101',
                contacts=[build.contact(wa_id=CUSTOMER, name='José')],
                messages=[build.text_message(from_=CUSTOMER, body=text)],
            )
        ),
    )
    await IngestWorker(db, publisher=publisher).drain()
    async with db.session() as session:
        return (
            await session.exec(
                select(Message.id).where(Message.direction == Direction.INBOUND).order_by(col(Message.id).desc())
            )
        ).first() or 0


async def sent_quote(desk: SalesDesk, ana: Viewer, chat: int, catalog: Catalog) -> int:
    quote = await quotes.create_quote(
        desk.db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id, quantity=2)]
    )
    await send_quote(desk, viewer=ana, quote_id=quote.id)
    return quote.id


async def set_mode(db: Database, conversation_id: int, mode: ConversationMode, holder: int | None = None) -> None:
    async with db.session() as session:
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(mode=mode, assigned_user_id=holder)
        )
        await session.commit()


async def sale_count(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Sale))).one()


async def ai_messages(db: Database, conversation_id: int) -> list[str]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message.text).where(
                        Message.conversation_id == conversation_id, Message.sender_kind == SenderKind.AI
                    )
                )
            ).all()
        )


def bot(db: Database, acceptances: QuoteAcceptanceWorker) -> AssistantWorker:
    return AssistantWorker(
        db,
        engine=RuleEngine(AssistantTools(db)),
        publisher=NullPublisher(),
        claims=[acceptances.answered],
        reply_delay_seconds=0,
    )


def inbound(world: World, conversation_id: int) -> Event:
    return Event(
        MESSAGE_CREATED,
        world.central.id or 0,
        conversation_id,
        {'direction': Direction.INBOUND, 'sender_kind': SenderKind.CUSTOMER},
    )


async def test_in_human_mode_the_customers_si_closes_the_sale(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    await set_mode(db, chat, ConversationMode.HUMAN, holder=world.ana.id)  # Ana holds it: the bot is silent
    quote_id = await sent_quote(desk, ana, chat, catalog)
    bus = InProcessEventBus()
    acceptances = QuoteAcceptanceWorker(desk)
    bus.subscribe(acceptances.on_event, branch_ids=None, kinds=[MESSAGE_CREATED])

    await customer_says(db, world, 'Sí, dale!', publisher=bus)
    await acceptances.drain()

    assert await sale_count(db) == 1
    quote = await quotes.get_quote(db, viewer=ana, quote_id=quote_id)
    assert quote.status == QuoteStatus.ACCEPTED and quote.ticket_code is not None


async def test_only_a_yes_is_checked_against_the_quotes(
    *,
    db: Database,
    world: World,
    desk: SalesDesk,
    catalog: Catalog,
    ana: Viewer,
    chat: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every customer message goes past this subscriber; only a "sí" may cost a database read (ingest bursts).
    await set_mode(db, chat, ConversationMode.HUMAN, holder=world.ana.id)
    await sent_quote(desk, ana, chat, catalog)
    bus = InProcessEventBus()
    acceptances = QuoteAcceptanceWorker(desk)
    checked: list[int] = []
    original = acceptances.check

    async def counting(message_id: int):
        checked.append(message_id)
        return await original(message_id)

    monkeypatch.setattr(acceptances, 'check', counting)
    bus.subscribe(acceptances.on_event, branch_ids=None, kinds=[MESSAGE_CREATED])

    question = await customer_says(db, world, '¿Y en cuántas cuotas?', publisher=bus)
    yes = await customer_says(db, world, 'dale, confirmo', publisher=bus)
    await acceptances.drain()

    assert question not in checked and len(checked) == 1
    assert await sale_count(db) == 1 and yes


async def test_a_si_whose_event_was_missed_is_found_by_the_sweep(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    await set_mode(db, chat, ConversationMode.HUMAN, holder=world.ana.id)
    quote_id = await sent_quote(desk, ana, chat, catalog)
    await customer_says(db, world, '¿Lo tienen en rojo?', publisher=NullPublisher())
    await customer_says(db, world, 'confirmo', publisher=NullPublisher())  # e.g. stored by another process

    acceptances = QuoteAcceptanceWorker(desk)
    await acceptances.run_round()
    await acceptances.run_round()  # again: nothing new

    assert await sale_count(db) == 1
    assert (await quotes.get_quote(db, viewer=ana, quote_id=quote_id)).status == QuoteStatus.ACCEPTED


@pytest.mark.parametrize('order', ['acceptance_first', 'bot_first', 'together'])
async def test_in_ai_mode_the_bot_does_not_answer_the_si_that_accepted(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int, order: str
) -> None:
    await sent_quote(desk, ana, chat, catalog)  # the conversation stays in AI mode
    acceptances = QuoteAcceptanceWorker(desk)
    worker = bot(db, acceptances)
    message_id = await customer_says(db, world, 'sí', publisher=NullPublisher())
    worker.on_event(inbound(world, chat))

    if order == 'acceptance_first':
        assert await acceptances.check(message_id) is not None
        await worker.drain()
    elif order == 'bot_first':
        await worker.drain()  # its claim hook accepts the quote itself
        assert await acceptances.check(message_id) is None  # nothing left to accept
    else:
        await asyncio.gather(acceptances.check(message_id), worker.drain())

    assert await sale_count(db) == 1
    assert await ai_messages(db, chat) == []
    async with db.session() as session:
        turn = (await session.exec(select(AssistantTurn).where(AssistantTurn.inbound_message_id == message_id))).first()
    claimed_by_the_hook = turn is not None and (turn.status, turn.detail.get('silent_because')) == (
        'silent',
        'answered_elsewhere',
    )
    if order == 'acceptance_first':
        # The ticket went out before the bot looked. It is the system's message, not a person's reply, so the bot
        # may claim a turn — which its hook finds answered by the acceptance: silent, nothing sent twice.
        assert turn is None or claimed_by_the_hook
    elif order == 'bot_first':
        assert claimed_by_the_hook
    else:  # whichever got there first
        assert turn is None or claimed_by_the_hook


async def test_in_ai_mode_a_question_after_the_quote_is_still_answered(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)
    acceptances = QuoteAcceptanceWorker(desk)
    worker = bot(db, acceptances)
    message_id = await customer_says(db, world, '¿Cuánto sale el envío a Quilmes?', publisher=NullPublisher())

    assert await acceptances.check(message_id) is None
    worker.on_event(inbound(world, chat))
    assert await worker.drain() == 1

    assert await sale_count(db) == 0
    assert len(await ai_messages(db, chat)) == 1
    assert (await quotes.get_quote(db, viewer=ana, quote_id=quote_id)).status == QuoteStatus.SENT
