"""Private notes in a conversation (C1), on SQLite and PostgreSQL: written and read by the branch's agents and
managers, invisible to another branch, never a message (nothing for the outbox to send)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlmodel import func, select

from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.errors import InvalidInput, NotFound
from services.events import Event
from services.inbox import console
from services.inbox.notes import NOTE_CREATED, add_note, get_note, list_notes
from services.models import Message, User
from tests.builders import conversation_with_message
from tests.conftest import World


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)


@pytest.fixture
async def chat(db: Database, world: World) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155550101',
        text='Hola, ¿tienen pastillas de freno?',
        wa_message_id='wamid.in-1',
        name='José Núñez',
    )


async def test_a_note_is_read_by_the_branch_live_and_never_becomes_a_message(
    db: Database, world: World, chat: int
) -> None:
    ana, marta = await viewer_of(db, world.ana), await viewer_of(db, world.marta)
    recorder = Recorder()

    note = await add_note(
        db, viewer=ana, conversation_id=chat, text='  Cliente de confianza: paga en efectivo  ', publisher=recorder
    )

    assert (note.text, note.author_name) == ('Cliente de confianza: paga en efectivo', 'Ana Gómez')
    [event] = recorder.events
    assert (event.kind, event.branch_id, event.conversation_id, event.data) == (
        NOTE_CREATED,
        world.central.id,
        chat,
        {'note_id': note.id},
    )
    assert [found.text for found in await list_notes(db, viewer=marta, conversation_id=chat)] == [note.text]
    assert (await get_note(db, viewer=marta, note_id=note.id)).text == note.text
    async with db.session() as session:
        messages = (await session.exec(select(func.count()).select_from(Message))).one()
    assert messages == 1  # only the customer's: the note is no message
    assert [message.text for message in await console.thread(db, viewer=ana, conversation_id=chat)] == [
        'Hola, ¿tienen pastillas de freno?'
    ]


async def test_another_branch_can_neither_read_nor_write_a_note(db: Database, world: World, chat: int) -> None:
    ana, bruno = await viewer_of(db, world.ana), await viewer_of(db, world.bruno)
    note = await add_note(db, viewer=ana, conversation_id=chat, text='Reservar para el jueves', publisher=Recorder())
    recorder = Recorder()

    with pytest.raises(NotFound):
        await list_notes(db, viewer=bruno, conversation_id=chat)
    with pytest.raises(NotFound):
        await get_note(db, viewer=bruno, note_id=note.id)
    with pytest.raises(NotFound):
        await add_note(db, viewer=bruno, conversation_id=chat, text='Hola', publisher=recorder)
    assert recorder.events == []


async def test_an_empty_or_overlong_note_is_refused_and_nothing_is_kept(db: Database, world: World, chat: int) -> None:
    ana = await viewer_of(db, world.ana)

    with pytest.raises(InvalidInput):
        await add_note(db, viewer=ana, conversation_id=chat, text='   ', publisher=Recorder())
    with pytest.raises(InvalidInput, match='2000'):
        await add_note(db, viewer=ana, conversation_id=chat, text='x' * 2001, publisher=Recorder())

    assert await list_notes(db, viewer=ana, conversation_id=chat) == []
