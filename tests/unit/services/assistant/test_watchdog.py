"""No customer left unanswered (issue 18): every customer message in AI mode gets a reply or a visible handoff. The
assistant's watchdog answers what no turn took, hands to a person what the bot cannot answer, and expires turns
lost mid-way (their lease ends)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from services.assistant import AssistantWorker, RuleEngine
from services.assistant.engine import AssistantTools, EngineReply, TurnContext
from services.assistant.workers import HANDOFF_UNANSWERED
from services.catalog.formats import CatalogProduct
from services.database import Database
from services.events import CONVERSATION_UPDATED, Event
from services.models import AssignmentEvent, Conversation, ConversationMode, Message, SenderKind
from services.models.assistant import AssistantTurn
from services.models.types import utcnow
from services.takeover import request_human
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.services.assistant.conftest import add_message

PART_QUESTION = 'Hola, tienen pastillas de freno para un Gol Trend 2015?'


class Events:
    def __init__(self) -> None:
        self.published: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.published.extend(events)


def watchdog_worker(db: Database, *, enabled: bool = True) -> AssistantWorker:
    """A bot whose watchdog acts on customers waiting over 45 s, with the real handoff (takeover's)."""
    return AssistantWorker(
        db,
        engine=RuleEngine(AssistantTools(db)),
        publisher=Events(),
        handoff=request_human,
        reply_delay_seconds=0,
        enabled=enabled,
        turn_lease=timedelta(seconds=90),
        unanswered_after=timedelta(seconds=45),
    )


async def customer_waiting(db: Database, world: World, text: str, *, written_seconds_ago: float) -> int:
    """A customer of Casa Central in AI mode whose message has waited `written_seconds_ago`, with no answer."""
    conversation_id = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín Ruiz',
        text=text,
        wa_message_id='wamid.WAIT1',
        hours_ago=written_seconds_ago / 3600,
    )
    at = utcnow() - timedelta(seconds=written_seconds_ago)
    async with db.session() as session:
        await session.exec(update(Message).where(col(Message.conversation_id) == conversation_id).values(created_at=at))
        await session.commit()
    return conversation_id


async def bot_replies(db: Database, conversation_id: int) -> list[str]:
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


async def handed_off(db: Database, conversation_id: int) -> str | None:
    """The reason a person was asked for (what the console shows as "Espera humano"), or None."""
    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.human_request_reason if conversation.human_requested_at is not None else None


async def lost_turn(db: Database, conversation_id: int, *, lease_ended_seconds_ago: float) -> None:
    """A turn claimed for the customer's message by a worker that then died (or whose database failed)."""
    async with db.session() as session:
        message_id = (await session.exec(select(Message.id).where(Message.conversation_id == conversation_id))).one()
        session.add(
            AssistantTurn(
                conversation_id=conversation_id,
                inbound_message_id=message_id or 0,
                lease_until=utcnow() - timedelta(seconds=lease_ended_seconds_ago),
            )
        )
        await session.commit()


async def test_a_message_no_turn_took_is_answered(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    conversation_id = await customer_waiting(db, world, PART_QUESTION, written_seconds_ago=60)

    report = await watchdog_worker(db).watchdog()

    assert report.answered == 1 and report.handed_off == 0
    [reply] = await bot_replies(db, conversation_id)
    assert 'SKU ' in reply
    assert await handed_off(db, conversation_id) is None


async def test_a_lost_turn_expires_and_a_person_is_asked_for(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, 'Es 1.6 nafta. Cuánto salen?', written_seconds_ago=120)
    await lost_turn(db, conversation_id, lease_ended_seconds_ago=5)

    report = await watchdog_worker(db).watchdog()

    assert (report.expired_turns, report.handed_off) == (1, 1)
    assert await handed_off(db, conversation_id) == HANDOFF_UNANSWERED
    async with db.session() as session:
        assert (await session.exec(select(AssistantTurn.status))).one() == 'expired'
    assert await bot_replies(db, conversation_id) == []  # never a second, late bot reply to that message


async def test_a_turn_within_its_lease_is_left_to_finish(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, 'hola', written_seconds_ago=60)
    await lost_turn(db, conversation_id, lease_ended_seconds_ago=-60)  # still a minute to go

    report = await watchdog_worker(db).watchdog()

    assert (report.expired_turns, report.answered, report.handed_off) == (0, 0, 0)
    assert await handed_off(db, conversation_id) is None


async def test_a_customer_waiting_less_than_the_threshold_is_left_to_the_bot(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, 'hola', written_seconds_ago=10)

    report = await watchdog_worker(db).watchdog()

    assert (report.answered, report.handed_off) == (0, 0)
    assert await bot_replies(db, conversation_id) == []


async def test_with_the_assistant_off_every_waiting_customer_goes_to_a_person(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, 'hola, tienen amortiguadores?', written_seconds_ago=60)

    await watchdog_worker(db, enabled=False).watchdog()

    assert await handed_off(db, conversation_id) == HANDOFF_UNANSWERED
    assert await bot_replies(db, conversation_id) == []


async def test_an_old_message_goes_to_a_person_unless_an_agent_just_gave_it_back_to_the_ai(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, PART_QUESTION, written_seconds_ago=30 * 60)
    async with db.session() as session:  # Ana held it and released it to the AI a minute ago, unanswered
        session.add(
            AssignmentEvent(
                conversation_id=conversation_id,
                action='release',
                user_id=None,
                actor_user_id=world.ana.id,
                reason='to_ai',
                at=utcnow() - timedelta(minutes=1),
            )
        )
        await session.commit()

    report = await watchdog_worker(db).watchdog()
    assert report.answered == 1 and await handed_off(db, conversation_id) is None

    other = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155556666',
        text='Hola, están abiertos?',
        wa_message_id='wamid.OLD2',
        hours_ago=0.5,
    )
    async with db.session() as session:
        await session.exec(
            update(Message)
            .where(col(Message.conversation_id) == other)
            .values(created_at=utcnow() - timedelta(minutes=30))
        )
        await session.commit()
    await watchdog_worker(db).watchdog()
    assert await handed_off(db, other) == HANDOFF_UNANSWERED  # a person answers a 30-minute-old message better


async def test_a_release_back_to_the_ai_wakes_the_bot_for_the_pending_question(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, PART_QUESTION, written_seconds_ago=20)
    worker = watchdog_worker(db)

    worker.on_event(
        Event(CONVERSATION_UPDATED, world.central.id or 0, conversation_id, {'phase': 'ai', 'reason': 'release'})
    )
    assert await worker.drain() == 1
    assert len(await bot_replies(db, conversation_id)) == 1


async def test_a_conversation_a_person_holds_is_not_the_bots(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, 'hola', written_seconds_ago=120)
    async with db.session() as session:
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(mode=ConversationMode.HUMAN, assigned_user_id=world.ana.id)
        )
        await session.commit()

    report = await watchdog_worker(db).watchdog()

    assert (report.answered, report.handed_off) == (0, 0)


async def test_a_question_the_agent_answered_before_giving_it_back_is_not_answered_again(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, PART_QUESTION, written_seconds_ago=20)
    await add_message(db, conversation_id, 'Sí, tenemos Ferodo a $ 45.000', sender=SenderKind.AGENT, seconds_ago=5)
    worker = watchdog_worker(db)

    worker.on_event(
        Event(CONVERSATION_UPDATED, world.central.id or 0, conversation_id, {'phase': 'ai', 'reason': 'release'})
    )
    assert await worker.drain() == 0
    assert await bot_replies(db, conversation_id) == []


async def test_a_turn_that_outlived_its_lease_drops_its_reply(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await customer_waiting(db, world, PART_QUESTION, written_seconds_ago=20)

    class SlowerThanItsLease:
        name = 'llm'

        async def reply(self, turn: TurnContext) -> EngineReply:
            # Meanwhile the watchdog expired the turn and asked for a person.
            async with db.session() as session:
                await session.exec(update(AssistantTurn).values(status='expired'))
                await session.commit()
            return EngineReply(text='¡Hola! Tenemos pastillas Ferodo.', intent='part_request', engine='llm')

    worker = AssistantWorker(db, engine=SlowerThanItsLease(), publisher=Events(), reply_delay_seconds=0)
    worker.on_event(
        Event(CONVERSATION_UPDATED, world.central.id or 0, conversation_id, {'phase': 'ai', 'reason': 'release'})
    )
    assert await worker.drain() == 0
    assert await bot_replies(db, conversation_id) == []  # a person is answering: no late bot reply
