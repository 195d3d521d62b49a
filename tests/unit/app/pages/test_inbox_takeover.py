"""Takeover in the inbox (SPEC T1–T5) through NiceGUI's simulated browser: the client panel's buttons, the state
chip and countdown wherever the conversation is shown, the refusals, the history and the notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import cast

import httpx
import pytest
from nicegui import core, ui
from nicegui.elements.mixins.text_element import TextElement
from nicegui.elements.mixins.value_element import ValueElement
from nicegui.testing import User
from sqlmodel import select

from app.runtime import runtime
from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.events import CONVERSATION_UPDATED, Event, NullPublisher
from services.models import AssignmentRule, Branch, Conversation, ConversationMode, Message, Role
from services.models import User as Person
from services.models.types import utcnow
from services.passwords import hash_password
from services.takeover import request_human, take
from tests.builders import conversation_with_message
from tests.conftest import PASSWORD, World
from tests.unit.app.pages.test_login import sign_in

PATIENCE = 50  # retries of should_see: the shared CI machine can be slow


@pytest.fixture
async def chats(db: Database, world: World) -> dict[str, int]:
    """Casa Central: Martín (AI, nobody holds it) and Lucía (held by Ana)."""
    central_number, central_branch = world.central_number.id or 0, world.central.id or 0
    return {
        'martin': await conversation_with_message(
            db,
            number_id=central_number,
            branch_id=central_branch,
            phone='+5491133334444',
            name='Martín Ruiz',
            text='Necesito pastillas de freno',
            wa_message_id='wamid.M1',
        ),
        'lucia': await conversation_with_message(
            db,
            number_id=central_number,
            branch_id=central_branch,
            phone='+5491122223333',
            name='Lucía Herrera',
            text='¿Tienen kit de distribución?',
            wa_message_id='wamid.L1',
            assigned_user_id=world.ana.id,
            mode=ConversationMode.HUMAN,
        ),
    }


@pytest.fixture
async def carlos(db: Database, world: World) -> Person:
    async with db.session() as session:
        person = Person(
            username='carlos',
            full_name='Carlos Ibáñez',
            role=Role.AGENT,
            branch_id=world.central.id,
            password_hash=hash_password(PASSWORD),
        )
        session.add(person)
        await session.commit()
        return person


@pytest.fixture
async def another_user(user: User) -> AsyncIterator[Callable[[], User]]:
    """A second browser on the same app (its own cookies, so its own login)."""
    clients: list[httpx.AsyncClient] = []

    def make() -> User:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url='http://test')
        clients.append(client)
        return User(client)

    yield make
    for client in clients:
        await client.aclose()


async def open_conversation(user: User, world: World, username: str, conversation_id: int) -> None:
    await sign_in(user, username, world.password)
    await user.should_see(marker='conversation-name', retries=PATIENCE)
    user.find(marker=f'conversation-{conversation_id}').click()
    await user.should_see(marker='panel-state', retries=PATIENCE)


def text_of(user: User, marker: str) -> str:
    return ' '.join(cast(TextElement, e).text for e in user.find(marker=marker).elements if e.visible)


async def stored(db: Database, conversation_id: int) -> Conversation:
    async with db.session() as session:
        return (
            await session.exec(
                select(Conversation).where(Conversation.id == conversation_id).execution_options(populate_existing=True)
            )
        ).one()


async def test_taking_shows_the_holder_and_a_countdown_in_list_header_and_panel(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_conversation(user, world, 'ana', chats['martin'])
    await user.should_see(content='IA', marker='panel-state', retries=PATIENCE)

    user.find(marker='take').click()

    await user.should_see(content='Ana Gómez', marker='panel-state', retries=PATIENCE)
    await user.should_see(content='Se libera en 4:', marker='panel-countdown', retries=PATIENCE)
    await user.should_see(content='Atiende Ana Gómez', marker='chat-state', retries=PATIENCE)
    await user.should_see(content='Se libera en 4:', marker='chat-countdown', retries=PATIENCE)
    # The list row shows the countdown too (counted down by the browser, from the deadline).
    await user.should_see(content='4:', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    await user.should_see(content='Ana Gómez la tomó', marker='history-line', retries=PATIENCE)
    await user.should_not_see(marker='take', retries=PATIENCE)
    conversation = await stored(db, chats['martin'])
    assert (conversation.assigned_user_id, conversation.mode) == (world.ana.id, ConversationMode.HUMAN)
    # One page-level timer drives every countdown (NiceGUI's memory grows with each timer).
    assert len([element for element in user.client.elements.values() if isinstance(element, ui.timer)]) == 1  # type: ignore[union-attr]


async def test_the_loser_of_a_race_is_told_who_took_it(
    user: User, world: World, db: Database, chats: dict[str, int], carlos: Person
) -> None:
    await open_conversation(user, world, 'carlos', chats['martin'])
    ana = await runtime_viewer(db, world.ana)
    # Ana took it a moment ago; Carlos's page has not heard yet (no event published).
    await take(db, viewer=ana, conversation_id=chats['martin'], publisher=NullPublisher())

    user.find(marker='take').click()

    await user.should_see(content='Ana Gómez', marker='panel-state', retries=PATIENCE)  # reloaded: who has it now
    assert 'Ya la tomó Ana Gómez.' in user.notify.messages  # told before the reload
    assert (await stored(db, chats['martin'])).assigned_user_id == world.ana.id


@pytest.mark.usefixtures('carlos')
async def test_another_agent_sees_the_take_and_the_release_live(
    user: User, another_user: Callable[[], User], world: World, chats: dict[str, int]
) -> None:
    await open_conversation(user, world, 'ana', chats['martin'])
    colleague = another_user()
    await open_conversation(colleague, world, 'carlos', chats['martin'])

    user.find(marker='take').click()
    await colleague.should_see(content='Ana Gómez', marker='panel-state', retries=PATIENCE)
    await colleague.should_see(content='Se libera en', marker='panel-countdown', retries=PATIENCE)
    await colleague.should_not_see(marker='release', retries=PATIENCE)  # not his to release

    user.find(marker='release').click()
    await colleague.should_see(content='IA', marker='panel-state', retries=PATIENCE)
    await colleague.should_see(marker='take', retries=PATIENCE)


async def test_release_and_the_ai_switch(user: User, world: World, db: Database, chats: dict[str, int]) -> None:
    await open_conversation(user, world, 'ana', chats['lucia'])
    await user.should_see(content='Ana Gómez', marker='panel-state', retries=PATIENCE)

    user.find(marker='release').click()
    await user.should_see(content='IA', marker='panel-state', retries=PATIENCE)
    assert (await stored(db, chats['lucia'])).mode == ConversationMode.AI

    user.find(marker='ai-off').click()
    await user.should_see(content='Espera humano', marker='panel-state', retries=PATIENCE)
    await user.should_see(content='IA pausada', marker='waiting-human', retries=PATIENCE)
    assert (await stored(db, chats['lucia'])).mode == ConversationMode.HUMAN

    user.find(marker='ai-on').click()
    await user.should_see(content='IA', marker='panel-state', retries=PATIENCE)
    await user.should_see(content='Ana Gómez activó la IA', marker='history-line', retries=PATIENCE)
    assert (await stored(db, chats['lucia'])).mode == ConversationMode.AI


async def test_manager_reassigns_and_agents_have_no_such_button(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_conversation(user, world, 'marta', chats['martin'])

    user.find(marker='reassign').click()
    await user.should_see(marker='reassign-to', retries=PATIENCE)
    cast(ValueElement, user.find(marker='reassign-to').elements.pop()).value = world.ana.id
    user.find(marker='reassign-confirm').click()

    await user.should_see(content='Ana Gómez', marker='panel-state', retries=PATIENCE)
    await user.should_see(content='Marta Sosa la reasignó a Ana Gómez', marker='history-line', retries=PATIENCE)
    assert (await stored(db, chats['martin'])).assigned_user_id == world.ana.id


async def test_an_agent_sees_no_reassign_button(user: User, world: World, chats: dict[str, int]) -> None:
    await open_conversation(user, world, 'ana', chats['martin'])
    await user.should_see(marker='take', retries=PATIENCE)
    await user.should_not_see(marker='reassign')


async def test_marking_a_faithful_customer(user: User, world: World, db: Database, chats: dict[str, int]) -> None:
    await open_conversation(user, world, 'ana', chats['martin'])

    user.find(marker='faithful-toggle').click()

    await user.should_see(content='Cliente fiel de Ana Gómez', marker='faithful', retries=PATIENCE)
    await user.should_see(content='Quitar cliente fiel', marker='faithful-toggle', retries=PATIENCE)
    assert (await stored(db, chats['martin'])).faithful_user_id == world.ana.id


async def test_extend_appears_when_the_countdown_turns_amber(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_conversation(user, world, 'ana', chats['lucia'])  # hers; opening it renews the deadline
    await user.should_see(content='Se libera en 4:', marker='panel-countdown', retries=PATIENCE)
    await user.should_not_see(marker='extend')
    async with db.session() as session:  # four minutes and twenty seconds without activity later…
        conversation = await session.get(Conversation, chats['lucia'])
        assert conversation is not None
        conversation.takeover_deadline = utcnow() + timedelta(seconds=40)
        await session.commit()
    await runtime().bus.publish(
        [Event(CONVERSATION_UPDATED, world.central.id or 0, chats['lucia'], {'reason': 'deadline'})]
    )

    await user.should_see(marker='extend', retries=PATIENCE)
    await user.should_see(content='Se libera en 0:', marker='panel-countdown', retries=PATIENCE)
    user.find(marker='extend').click()

    await user.should_see(content='Se libera en 4:', marker='panel-countdown', retries=PATIENCE)
    await user.should_not_see(marker='extend', retries=PATIENCE)
    deadline = (await stored(db, chats['lucia'])).takeover_deadline
    assert deadline is not None and deadline - utcnow() > timedelta(minutes=4)


async def test_replying_to_an_unattended_conversation_takes_it(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_conversation(user, world, 'ana', chats['martin'])
    await user.should_see(marker='composer', retries=PATIENCE)

    user.find(marker='composer').type('Hola Martín, te atiendo yo').trigger('keydown.enter.exact.prevent')

    await user.should_see(content='Ana Gómez', marker='panel-state', retries=PATIENCE)
    assert (await stored(db, chats['martin'])).assigned_user_id == world.ana.id


async def test_an_agent_cannot_reply_in_a_colleagues_conversation(
    user: User, world: World, db: Database, chats: dict[str, int], carlos: Person
) -> None:
    await open_conversation(user, world, 'carlos', chats['lucia'])
    await user.should_see(marker='composer', retries=PATIENCE)

    user.find(marker='composer').type('Hola Lucía').trigger('keydown.enter.exact.prevent')

    # She is not told to take it (she cannot: Ana holds it, and no "Tomar" is offered), but who can give it to her.
    await user.should_see(
        'La atiende Ana Gómez: para responder, pedile que la libere o a un encargado que te la reasigne.',
        retries=PATIENCE,
    )
    await user.should_not_see(marker='take', retries=PATIENCE)
    async with db.session() as session:
        assert (await session.exec(select(Message).where(Message.direction == 'out'))).all() == []


async def test_agents_are_notified_of_handoffs_and_assignments(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await sign_in(user, 'ana', world.password)
    await user.should_see(marker='conversation-name', retries=PATIENCE)

    await request_human(db, conversation_id=chats['martin'], reason='pidió una persona', publisher=runtime().bus)
    # The row's new state stays; the toast raised by the same event (after the row changed) is recorded.
    await user.should_see(content='Espera humano', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    assert 'Disponible: Martín Ruiz espera un vendedor.' in user.notify.messages

    async with db.session() as session:  # the branch switches to round robin; Ana is online (her inbox is open)
        branch = await session.get(Branch, world.central.id)
        assert branch is not None
        branch.assignment_rule = AssignmentRule.ROUND_ROBIN
        await session.commit()
    await runtime().takeover_sweeper.sweep()

    await user.should_see(content='Ana Gómez', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    assert 'Te asignaron la conversación con Martín Ruiz.' in user.notify.messages
    assert (await stored(db, chats['martin'])).assigned_user_id == world.ana.id


async def runtime_viewer(db: Database, person: Person) -> Viewer:
    async with db.session() as session:
        found = await session.get(Person, person.id)
        assert found is not None
        return await viewer_for_user(session, found)


async def test_the_reason_for_a_handoff_is_said_in_the_agents_words(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    # The assistant's watchdog could not get the bot to answer Martín: an agent reads why, not a code.
    await request_human(db, conversation_id=chats['martin'], reason='unanswered', publisher=runtime().bus)
    await open_conversation(user, world, 'ana', chats['martin'])
    await user.should_see('Motivo: la IA no pudo responder a tiempo', retries=PATIENCE)
