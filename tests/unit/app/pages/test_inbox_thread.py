"""The thread of the agents' console in NiceGUI's simulated browser (issue 18): who said each message, WhatsApp's
formatting shown as styles but never as HTML, and private notes written, styled apart and seen live by the branch.
On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import cast

import pytest
from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.testing import User
from sqlmodel import func, select

from app.runtime import runtime
from services.auth import viewer_for_user
from services.database import Database
from services.events import NullPublisher
from services.inbox.notes import add_note
from services.models import ConversationNote, Message, SenderKind
from services.models import User as UserRow
from services.whatsapp import outbox
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.app.pages.test_inbox import PATIENCE, open_inbox
from tests.unit.app.pages.waiting import eventually

FORMATTED = '*Hola* che, _urgente_: ~viejo~ ```ABC-123``` <b>negrita</b> <script>alert(1)</script>'


@pytest.fixture
async def chat(db: Database, world: World) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155550101',
        text=FORMATTED,
        wa_message_id='wamid.fmt-1',
        name='José Núñez',
    )


def texts(user: User, marker: str) -> list[str]:
    return [cast(TextElement, element).text for element in user.find(marker=marker).elements]


async def test_every_message_says_who_sent_it_and_none_of_ours_reads_as_the_customers(
    user: User, world: World, db: Database, chat: int
) -> None:
    async with db.session() as session:
        ana_row = await session.get(UserRow, world.ana.id)
        assert ana_row is not None
        ana = await viewer_for_user(session, ana_row)
    publisher = NullPublisher()
    for text, kind, viewer in [
        ('Hola José, soy el asistente', SenderKind.AI, None),
        ('Soy Ana, te ayudo', SenderKind.AGENT, ana),
        ('Ticket SUC1-T-000001', SenderKind.SYSTEM, None),
        ('Respuesta por la API', SenderKind.AGENT, None),  # an agent's message with no person behind it
    ]:
        await outbox.queue_text(
            db, conversation_id=chat, text=text, publisher=publisher, viewer=viewer, sender_kind=kind
        )
    await open_inbox(user, world)

    user.find(marker=f'conversation-{chat}').click()
    await user.should_see(content='Respuesta por la API', marker='message-text', retries=PATIENCE)

    senders = {}
    for bubble in user.find(marker='thread').elements:
        for row in bubble.default_slot.children:
            found = {
                marker: ''.join(
                    inner.text for inner in [element, *element.descendants()] if isinstance(inner, TextElement)
                )
                for element in row.descendants()
                for marker in element._markers
                if marker in {'sender', 'message-text'}
            }
            senders[found['message-text']] = found['sender']
    assert senders == {
        FORMATTED.replace('*', '').replace('_', '').replace('~', '').replace('```', ''): 'Cliente',
        'Hola José, soy el asistente': 'Asistente IA',
        'Soy Ana, te ayudo': 'Ana Gómez',
        'Ticket SUC1-T-000001': 'Sistema',
        'Respuesta por la API': 'Agente',
    }


async def test_whatsapp_formatting_shows_as_styles_and_markup_stays_text(user: User, world: World, chat: int) -> None:
    await open_inbox(user, world)

    user.find(marker=f'conversation-{chat}').click()
    await user.should_see(marker='wa-bold', retries=PATIENCE)

    assert texts(user, 'wa-bold') == ['Hola']
    assert texts(user, 'wa-italic') == ['urgente']
    assert texts(user, 'wa-strike') == ['viejo']
    assert texts(user, 'wa-mono') == ['ABC-123']
    [box] = user.find(marker='message-text').elements
    pieces = [cast(TextElement, child) for child in box.descendants() if child is not box]
    assert all(isinstance(piece, TextElement) and piece.tag == 'span' for piece in pieces)  # text nodes, no HTML
    assert ''.join(piece.text for piece in pieces) == (
        'Hola che, urgente: viejo ABC-123 <b>negrita</b> <script>alert(1)</script>'
    )


async def test_a_private_note_is_kept_apart_from_the_messages_and_seen_live_by_the_branch(
    user: User, world: World, db: Database, chat: int
) -> None:
    await open_inbox(user, world)
    user.find(marker=f'conversation-{chat}').click()
    await user.should_see(marker='note-toggle', retries=PATIENCE)

    user.find(marker='note-toggle').click()
    user.find(marker='composer').type('Cliente de confianza, paga en efectivo').trigger('keydown.enter.exact.prevent')

    await user.should_see(content='Cliente de confianza, paga en efectivo', marker='note-text', retries=PATIENCE)
    await user.should_see(content='Nota interna · Ana Gómez', marker='note-author')
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Message))).one() == 1  # only the customer's
        assert (await session.exec(select(ConversationNote.text))).all() == ['Cliente de confianza, paga en efectivo']

    # Marta, the branch's manager, writes one from her own page: it shows up here at once.
    async with db.session() as session:
        marta_row = await session.get(UserRow, world.marta.id)
        assert marta_row is not None
        marta = await viewer_for_user(session, marta_row)
    await add_note(db, viewer=marta, conversation_id=chat, text='Ojo: pidió factura A', publisher=runtime().bus)

    await user.should_see(content='Ojo: pidió factura A', marker='note-text', retries=PATIENCE)
    await user.should_see(content='Nota interna · Marta Sosa', marker='note-author')


async def test_notes_written_before_opening_sit_among_the_messages_by_time(
    user: User, world: World, db: Database, chat: int
) -> None:
    async with db.session() as session:
        ana_row = await session.get(UserRow, world.ana.id)
        assert ana_row is not None
        ana = await viewer_for_user(session, ana_row)
    note = await add_note(db, viewer=ana, conversation_id=chat, text='Anotado antes', publisher=NullPublisher())
    reply = await outbox.queue_text(
        db, conversation_id=chat, text='Ya te paso precio', publisher=NullPublisher(), viewer=ana
    )
    await open_inbox(user, world)

    user.find(marker=f'conversation-{chat}').click()
    await user.should_see(content='Anotado antes', marker='note-text', retries=PATIENCE)

    async def in_order() -> bool:
        [thread] = user.find(marker='thread').elements
        markers = [
            marker
            for child in thread.default_slot.children
            for inner in child.descendants()
            for marker in inner._markers
            if marker.startswith(('message-', 'note-')) and marker.split('-')[1].isdigit()
        ]
        return markers[-2:] == [f'note-{note.id}', f'message-{reply.id}']

    await eventually(in_order)
    assert isinstance(next(iter(user.find(marker='composer').elements)), ui.textarea)
