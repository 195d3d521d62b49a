"""A customer's photo (SPEC V1, A1, C4): in AI mode the bot tells once what its VIN reading found, never answers
the photo as if it were a text, knows the vehicle afterwards, and the AI summary shows the photo's vehicle."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from services.assistant import AssistantWorker, RuleEngine
from services.assistant.engine import AssistantTools
from services.assistant.summary import refresh_summary
from services.catalog.formats import CatalogProduct
from services.database import Database
from services.events import MESSAGE_CREATED, Event, NullPublisher
from services.models import Conversation, ConversationMode, Direction, Message, SenderKind
from services.models.assistant import AssistantTurn
from services.models.vin import VinReading
from services.vin.decoding import decode_vehicle
from services.vin.readings import VIN_READ
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.services.assistant.conftest import add_message

GOL_VIN = '9BWAB45U5FP012345'  # the simulator's sample photo: a Volkswagen Gol 2015


async def photo(
    db: Database,
    conversation_id: int,
    *,
    branch_id: int,
    vin: str | None = GOL_VIN,
    state: str = 'done',
    caption: str = '',
) -> int:
    """A customer's photo and its finished reading, as the VIN worker leaves them."""
    async with db.session() as session:
        message = Message(
            conversation_id=conversation_id,
            direction=Direction.INBOUND,
            sender_kind=SenderKind.CUSTOMER,
            type='image',
            text=caption,
        )
        session.add(message)
        await session.flush()
        vehicle = decode_vehicle(vin) if vin else None
        session.add(
            VinReading(
                message_id=message.id or 0,
                conversation_id=conversation_id,
                branch_id=branch_id,
                state=state,
                vin=vin,
                status='unverified' if vin else 'none',
                source='barcode' if vin else '',
                confidence=0.9 if vin else 0.0,
                vehicle=vehicle.to_dict() if vehicle else None,
            )
        )
        await session.commit()
        return message.id or 0


async def chat(
    db: Database,
    world: World,
    text: str = 'Hola, les mando la foto de la chapa',
    mode: ConversationMode = ConversationMode.AI,
) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        name='Martín Ruiz',
        text=text,
        wa_message_id='wamid.PHOTO1',
        mode=mode,
    )


def read_event(world: World, conversation_id: int, message_id: int, **data: object) -> Event:
    return Event(
        VIN_READ,
        world.central.id or 0,
        conversation_id,
        {'message_id': message_id, 'vin': GOL_VIN, 'status': 'unverified', 'state': 'done', **data},
    )


def inbound_event(world: World, conversation_id: int) -> Event:
    return Event(
        MESSAGE_CREATED,
        world.central.id or 0,
        conversation_id,
        {'direction': Direction.INBOUND, 'sender_kind': SenderKind.CUSTOMER},
    )


def worker_for(db: Database) -> AssistantWorker:
    return AssistantWorker(db, engine=RuleEngine(AssistantTools(db)), publisher=NullPublisher(), reply_delay_seconds=0)


async def bot_texts(db: Database, conversation_id: int) -> list[str]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message.text)
                    .where(Message.conversation_id == conversation_id, Message.sender_kind == SenderKind.AI)
                    .order_by(col(Message.id))
                )
            ).all()
        )


async def test_the_bot_tells_a_photos_vehicle_once(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    conversation_id = await chat(db, world)
    message_id = await photo(db, conversation_id, branch_id=world.central.id or 0)
    first, second = worker_for(db), worker_for(db)  # e.g. two processes, and a repeated event

    for worker in (first, second):
        worker.on_event(read_event(world, conversation_id, message_id))
        worker.on_event(read_event(world, conversation_id, message_id))
    assert await first.drain() + await second.drain() == 1

    [reply] = await bot_texts(db, conversation_id)
    assert reply.startswith(f'Tu vehículo: Volkswagen Gol / Voyage / Saveiro 2015 — VIN {GOL_VIN}')
    assert 'sin verificar' in reply  # read from its barcode alone: never presented as certain


async def test_an_unreadable_photo_gets_a_request_for_a_better_one(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await chat(db, world)
    message_id = await photo(db, conversation_id, branch_id=world.central.id or 0, vin=None)
    worker = worker_for(db)

    worker.on_event(read_event(world, conversation_id, message_id, vin=None, status='none'))
    await worker.drain()

    assert [text[:30] for text in await bot_texts(db, conversation_id)] == ['No pude leer el VIN en la foto']


async def test_no_photo_answer_in_human_mode_or_for_an_agents_correction(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await chat(db, world, mode=ConversationMode.HUMAN)
    message_id = await photo(db, conversation_id, branch_id=world.central.id or 0)
    worker = worker_for(db)

    worker.on_event(read_event(world, conversation_id, message_id))
    await worker.drain()
    async with db.session() as session:
        await session.exec(
            update(Conversation).where(col(Conversation.id) == conversation_id).values(mode=ConversationMode.AI)
        )
        await session.commit()
    worker.on_event(read_event(world, conversation_id, message_id, corrected=True))
    await worker.drain()

    assert await bot_texts(db, conversation_id) == []


async def test_a_photo_is_not_answered_as_a_text(db: Database, world: World, catalog: list[CatalogProduct]) -> None:
    conversation_id = await chat(db, world)
    worker = worker_for(db)
    worker.on_event(inbound_event(world, conversation_id))
    assert await worker.drain() == 1  # the greeting
    await photo(db, conversation_id, branch_id=world.central.id or 0, state='processing', vin=None)

    worker.on_event(inbound_event(world, conversation_id))  # the photo's message.created
    assert await worker.drain() == 0  # its answer comes with its reading

    assert len(await bot_texts(db, conversation_id)) == 1
    async with db.session() as session:
        assert len((await session.exec(select(AssistantTurn))).all()) == 1


async def test_after_a_photo_the_bot_knows_the_vehicle(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await chat(db, world)
    message_id = await photo(db, conversation_id, branch_id=world.central.id or 0)
    worker = worker_for(db)
    worker.on_event(read_event(world, conversation_id, message_id))
    await worker.drain()

    await add_message(db, conversation_id, 'necesito pastillas de freno', seconds_ago=1)
    worker.on_event(inbound_event(world, conversation_id))
    assert await worker.drain() == 1

    offer = (await bot_texts(db, conversation_id))[-1]
    assert 'SKU ' in offer and '$ ' in offer  # products proposed at once: no "¿para qué vehículo?"
    assert 'Gol' in offer


async def test_the_summary_takes_the_vehicle_from_the_photo_unless_the_text_says_otherwise(
    db: Database, world: World, catalog: list[CatalogProduct]
) -> None:
    conversation_id = await chat(db, world, text='Necesito pastillas de freno')
    await photo(db, conversation_id, branch_id=world.central.id or 0)

    from_photo = await refresh_summary(db, conversation_id=conversation_id, publisher=NullPublisher())

    assert from_photo is not None and from_photo.vin == GOL_VIN
    assert from_photo.vehicle is not None
    assert (from_photo.vehicle.make, from_photo.vehicle.year) == ('Volkswagen', 2015)
    assert from_photo.stage == 'vehicle'

    await add_message(db, conversation_id, 'perdón, es para el Corsa 2010 de mi señora', seconds_ago=1)
    from_text = await refresh_summary(db, conversation_id=conversation_id, publisher=NullPublisher())

    assert from_text is not None and from_text.vehicle is not None
    assert (from_text.vehicle.model, from_text.vehicle.year) == ('Corsa', 2010)
