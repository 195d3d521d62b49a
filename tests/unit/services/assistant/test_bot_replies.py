"""Bot replies (A1): only in AI mode, through the outbox as AI messages, once per customer message, after a
human-like pause, with the handoff hook called when it hands over."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.assistant import AssistantWorker, RuleEngine
from services.assistant.engine import AssistantTools, EngineReply, TurnContext
from services.catalog.formats import CatalogProduct
from services.database import Database
from services.events import MESSAGE_CREATED, Event
from services.models import Conversation, ConversationMode, Direction, Message, MessageStatus, SenderKind
from services.models.assistant import AssistantTurn
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
        self.calls: list[tuple[int, str]] = []

    async def __call__(self, db: Database, *, conversation_id: int, reason: str, publisher: object) -> None:
        self.calls.append((conversation_id, reason))


async def bot_messages(db: Database, conversation_id: int) -> list[Message]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.sender_kind == SenderKind.AI)
                    .order_by(col(Message.id))
                )
            ).all()
        )


async def customer_writes(
    db: Database, world: World, text: str, *, mode: ConversationMode = ConversationMode.AI
) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín Ruiz',
        text=text,
        wa_message_id='wamid.BOT1',
        mode=mode,
    )


def worker_for(
    db: Database, *, delay: float = 0.0, handoff: HandoffRecorder | None = None, events: Events | None = None
) -> AssistantWorker:
    return AssistantWorker(
        db,
        engine=RuleEngine(AssistantTools(db)),
        publisher=events or Events(),
        handoff=handoff,
        reply_delay_seconds=delay,
    )


def inbound_event(world: World, conversation_id: int) -> Event:
    return Event(
        MESSAGE_CREATED,
        world.central.id or 0,
        conversation_id,
        {'direction': Direction.INBOUND, 'sender_kind': SenderKind.CUSTOMER},
    )


async def test_in_ai_mode_the_bot_answers_through_the_outbox_as_ai(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_writes(db, world, 'Hola, necesito pastillas de freno para un Gol Trend 2015')
    events = Events()
    worker = worker_for(db, events=events)

    worker.on_event(inbound_event(world, conversation_id))
    assert await worker.drain() == 1

    [reply] = await bot_messages(db, conversation_id)
    assert reply.direction == Direction.OUTBOUND and reply.status == MessageStatus.QUEUED
    assert 'SKU ' in reply.text and '$ ' in reply.text
    assert any(e.kind == MESSAGE_CREATED and e.data['message_id'] == reply.id for e in events.published)
    async with db.session() as session:
        turn = (await session.exec(select(AssistantTurn))).one()
    assert (turn.status, turn.engine, turn.intent, turn.reply_message_id) == (
        'replied',
        'rules',
        'part_request',
        reply.id,
    )


async def test_one_customer_message_never_gets_two_bot_replies(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_writes(db, world, 'hola')
    first, second = worker_for(db), worker_for(db)  # e.g. two processes

    for worker in (first, second):
        worker.on_event(inbound_event(world, conversation_id))
        worker.on_event(inbound_event(world, conversation_id))  # a duplicate event
    replies = await asyncio.gather(first.drain(), second.drain())
    again = await first.drain()

    assert sum(replies) == 1 and again == 0
    assert len(await bot_messages(db, conversation_id)) == 1


async def test_a_burst_of_messages_gets_one_answer(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    conversation_id = await customer_writes(db, world, 'hola')
    await add_message(db, conversation_id, 'necesito pastillas de freno', seconds_ago=5)
    await add_message(db, conversation_id, 'para un gol trend 2015', seconds_ago=3)
    worker = worker_for(db, delay=1.0)

    worker.on_event(inbound_event(world, conversation_id))
    await worker.drain()

    [reply] = await bot_messages(db, conversation_id)
    assert 'Gol Trend 2015' in reply.text and 'SKU ' in reply.text


async def test_in_human_mode_the_bot_stays_silent(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    conversation_id = await customer_writes(db, world, 'hola, necesito pastillas', mode=ConversationMode.HUMAN)
    worker = worker_for(db)

    worker.on_event(inbound_event(world, conversation_id))
    await worker.drain()

    assert await bot_messages(db, conversation_id) == []
    async with db.session() as session:
        assert (await session.exec(select(AssistantTurn))).all() == []


async def test_it_waits_like_a_person_before_answering(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_writes(db, world, 'hola')
    worker = worker_for(db, delay=0.4)

    worker.on_event(inbound_event(world, conversation_id))
    assert await worker.drain() == 0  # the message arrived a moment ago
    assert await bot_messages(db, conversation_id) == []
    await asyncio.sleep(0.5)
    assert await worker.drain() == 1


async def test_a_human_taking_over_while_it_thinks_silences_it(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_writes(db, world, 'hola')

    class TakenOverMidway:
        name = 'rules'

        async def reply(self, turn: TurnContext) -> EngineReply:
            async with db.session() as session:
                await session.exec(
                    update(Conversation)
                    .where(col(Conversation.id) == conversation_id)
                    .values(mode=ConversationMode.HUMAN)
                )
                await session.commit()
            return EngineReply(text='¡Hola!', intent='greeting', engine='rules')

    worker = AssistantWorker(db, engine=TakenOverMidway(), publisher=Events(), reply_delay_seconds=0)
    worker.on_event(inbound_event(world, conversation_id))
    await worker.drain()

    assert await bot_messages(db, conversation_id) == []
    async with db.session() as session:
        turn = (await session.exec(select(AssistantTurn))).one()
    assert turn.status == 'silent' and turn.detail['silent_because'] == 'human_mode'


@pytest.mark.parametrize(
    ('text', 'reason'),
    [('quiero hablar con una persona', 'customer_asked'), ('me lo reservas? lo compro', 'purchase_intent')],
)
async def test_handing_over_tells_the_customer_then_calls_the_hook(
    db: Database, world: World, catalog: list[CatalogProduct], text: str, reason: str
) -> None:
    conversation_id = await customer_writes(db, world, text)
    handoff = HandoffRecorder()
    worker = worker_for(db, handoff=handoff)

    worker.on_event(inbound_event(world, conversation_id))
    await worker.drain()

    [reply] = await bot_messages(db, conversation_id)
    assert 'vendedor' in reply.text
    assert handoff.calls == [(conversation_id, reason)]


async def test_old_messages_are_left_to_people(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    conversation_id = await customer_writes(db, world, 'hola')
    async with db.session() as session:
        from services.models.types import utcnow

        await session.exec(
            update(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .values(created_at=utcnow() - timedelta(hours=2))
        )
        await session.commit()
    worker = worker_for(db)

    worker.on_event(inbound_event(world, conversation_id))

    assert await worker.drain() == 0


async def test_the_periodic_sweep_finds_messages_whose_event_was_missed(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_writes(db, world, 'hola')
    async with db.session() as session:
        from services.models.types import utcnow

        await session.exec(
            update(Conversation).where(col(Conversation.id) == conversation_id).values(last_inbound_at=utcnow())
        )
        await session.commit()
    worker = worker_for(db)

    await worker.run_round()  # no event: e.g. stored by another process

    assert len(await bot_messages(db, conversation_id)) == 1
