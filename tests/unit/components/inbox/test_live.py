"""The console's live path (`components/inbox/live.py`): what an agent sees change when an event arrives.

`belongs` is pure and tested on plain rows. The routing is tested on the real page in NiceGUI's simulated browser
(on SQLite and PostgreSQL), with events published on the app's bus the way the services publish them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from nicegui import ui
from nicegui.testing import User

from app.runtime import runtime
from components.inbox.live import InboxFilters, belongs
from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS, Event
from services.inbox.conversations import ConversationRow
from services.models import ConversationMode, ConversationStatus, Direction, SenderKind
from services.models import User as Person
from services.models.types import utcnow
from services.takeover import reassign
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.services.assistant.conftest import add_message

PATIENCE = 50  # retries of should_see (0.1 s each): the shared machine is often slow
ANA, BRUNO = 10, 11
ASSIGNED_TO_ME = 'Te asignaron la conversación con Martín Ruiz.'

# --- belongs: which rows a filtered list takes in (pure) ---


def row(**changes: object) -> ConversationRow:
    """Martín of branch 1: open, AI, unassigned, one unread message about brake pads."""
    values: dict[str, object] = {
        'id': 1,
        'branch_id': 1,
        'branch_code': 'SUC1',
        'contact_id': 1,
        'contact_name': 'Martín Ruiz',
        'contact_phone': '+5491133334444',
        'status': ConversationStatus.OPEN,
        'mode': ConversationMode.AI,
        'assigned_user_id': None,
        'assigned_to': None,
        'last_message_at': utcnow() - timedelta(minutes=1),
        'last_inbound_at': utcnow() - timedelta(minutes=1),
        'last_message_preview': 'Necesito pastillas de freno',
        'unread_count': 1,
    }
    return ConversationRow.model_validate(values | changes)


def test_a_row_matching_every_filter_belongs() -> None:
    filters = InboxFilters(branch_id=1, status='open', assignment='mine', mode='human', unread_only=True)

    assert belongs(row(assigned_user_id=ANA, mode=ConversationMode.HUMAN), filters, user_id=ANA, listed=set())
    assert belongs(row(status=ConversationStatus.CLOSED), InboxFilters(status='all'), user_id=ANA, listed=set())


@pytest.mark.parametrize(
    ('filters', 'changes'),
    [
        pytest.param(InboxFilters(branch_id=2), {}, id='another branch'),
        pytest.param(InboxFilters(status='open'), {'status': ConversationStatus.CLOSED}, id='closed'),
        pytest.param(InboxFilters(status='closed'), {}, id='open'),
        pytest.param(InboxFilters(assignment='mine'), {}, id='nobody holds it'),
        pytest.param(InboxFilters(assignment='mine'), {'assigned_user_id': BRUNO}, id='a colleague holds it'),
        pytest.param(InboxFilters(assignment='unassigned'), {'assigned_user_id': ANA}, id='held'),
        pytest.param(InboxFilters(mode='human'), {}, id='AI mode'),
        pytest.param(InboxFilters(mode='ai'), {'mode': ConversationMode.HUMAN}, id='human mode'),
        pytest.param(InboxFilters(unread_only=True), {'unread_count': 0}, id='read'),
    ],
)
def test_a_row_outside_the_filters_does_not_belong_even_if_listed(
    filters: InboxFilters, changes: dict[str, object]
) -> None:
    assert not belongs(row(**changes), filters, user_id=ANA, listed={1})


def test_search_matches_name_phone_or_last_message_without_accents_and_keeps_what_the_query_found() -> None:
    def found(term: str, listed: set[int] | None = None) -> bool:
        return belongs(row(), InboxFilters(search=term), user_id=ANA, listed=listed or set())

    assert found('MARTIN')  # accents and case folded, as the database's search does
    assert found('3333')  # phone
    assert found('pastillas')  # last message
    assert not found('amortiguador')
    # The query also searches older messages the row does not show: what it returned stays.
    assert found('amortiguador', listed={1})


def test_a_label_filter_keeps_only_what_the_list_already_shows() -> None:
    filters = InboxFilters(label='mayorista')  # labels are not on the row: only the query knows them

    assert not belongs(row(), filters, user_id=ANA, listed={2})
    assert belongs(row(), filters, user_id=ANA, listed={1, 2})


# --- the routing, on the real page ---


@pytest.fixture
async def chats(db: Database, world: World) -> dict[str, int]:
    """Casa Central: Martín (AI, nobody holds it) and Lucía (held by Ana)."""
    number_id, branch_id = world.central_number.id or 0, world.central.id or 0
    return {
        'martin': await conversation_with_message(
            db,
            number_id=number_id,
            branch_id=branch_id,
            phone='+5491133334444',
            name='Martín Ruiz',
            text='Necesito pastillas de freno',
            wa_message_id='wamid.M1',
        ),
        'lucia': await conversation_with_message(
            db,
            number_id=number_id,
            branch_id=branch_id,
            phone='+5491122223333',
            name='Lucía Herrera',
            text='¿Tienen kit de distribución?',
            wa_message_id='wamid.L1',
            hours_ago=1,
            assigned_user_id=world.ana.id,
            mode=ConversationMode.HUMAN,
        ),
    }


async def new_customer(db: Database, world: World) -> int:
    """Pedro writes for the first time (nobody holds his conversation)."""
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491177778888',
        name='Pedro Nuevo',
        text='Hola, ¿hacen envíos?',
        wa_message_id='wamid.P1',
        hours_ago=0,
    )


async def viewer_of(db: Database, person: Person) -> Viewer:
    async with db.session() as session:
        found = await session.get(Person, person.id)
        assert found is not None
        return await viewer_for_user(session, found)


async def publish(world: World, kind: str, conversation_id: int, **data: object) -> None:
    await runtime().bus.publish([Event(kind, world.central.id or 0, conversation_id, dict(data))])


async def open_inbox(user: User, world: World, username: str) -> None:
    await sign_in(user, username, world.password)
    await user.should_see(marker='conversation-name', retries=PATIENCE)  # the list has loaded


async def open_conversation(user: User, conversation_id: int) -> None:
    user.find(marker=f'conversation-{conversation_id}').click()
    await user.should_see(marker='composer', retries=PATIENCE)


def listed(user: User) -> set[int]:
    return {
        int(marker.split('-')[1])
        for element in user.find(marker='conversation-list').elements
        for child in element.descendants()
        for marker in child._markers
        if marker.startswith('conversation-') and marker.split('-')[1].isdigit()
    }


def thread_texts(user: User) -> list[str]:
    """The thread's message texts, top to bottom."""
    [thread] = user.find(marker='thread').elements
    return [
        child.text for child in thread.descendants() if isinstance(child, ui.label) and 'message-text' in child._markers
    ]


def ticks_of(user: User, message_id: int) -> str:
    """The status the bubble's ticks show (their title)."""
    [bubble] = user.find(marker=f'message-{message_id}').elements
    return next(str(child.props.get('title', '')) for child in bubble.descendants() if 'ticks' in child._markers)


async def until(condition: Callable[[], bool], *, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    assert condition()


async def test_a_conversation_outside_the_filters_is_not_added_and_one_that_starts_matching_is(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_inbox(user, world, 'ana')
    user.find(marker='filter-assignment').click()
    user.find('Mías').click()
    await user.should_not_see('Martín Ruiz', retries=PATIENCE)
    assert listed(user) == {chats['lucia']}

    pedro = await new_customer(db, world)
    await publish(world, CONVERSATION_UPDATED, pedro, reason='inbound')  # not hers: stays out of "Mías"
    marta = await viewer_of(db, world.marta)
    await reassign(
        db, viewer=marta, conversation_id=chats['martin'], user_id=world.ana.id or 0, publisher=runtime().bus
    )

    await user.should_see(content='Martín Ruiz', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    assert listed(user) == {chats['lucia'], chats['martin']}  # Pedro's event came first: it was left out
    await user.should_not_see('Pedro Nuevo')


async def test_a_conversation_that_stops_matching_leaves_the_list_but_the_open_one_stays(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    pedro = await new_customer(db, world)
    await open_inbox(user, world, 'ana')
    user.find(marker='filter-assignment').click()
    user.find('Sin asignar').click()
    await user.should_not_see('Lucía Herrera', retries=PATIENCE)
    assert listed(user) == {chats['martin'], pedro}
    await open_conversation(user, chats['martin'])

    marta = await viewer_of(db, world.marta)
    for conversation_id in (chats['martin'], pedro):  # both taken by someone: neither is "unassigned" any more
        await reassign(
            db, viewer=marta, conversation_id=conversation_id, user_id=world.marta.id or 0, publisher=runtime().bus
        )

    await user.should_not_see('Pedro Nuevo', retries=PATIENCE)
    assert listed(user) == {chats['martin']}  # the open conversation stays until the agent leaves it
    await user.should_see(content='Atiende Marta Sosa', marker='chat-state', retries=PATIENCE)  # and shows who has it


async def test_a_conversation_assigned_to_me_is_announced_to_me(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_inbox(user, world, 'ana')
    marta = await viewer_of(db, world.marta)

    await reassign(
        db, viewer=marta, conversation_id=chats['martin'], user_id=world.ana.id or 0, publisher=runtime().bus
    )

    # The row shows the new holder, and the same event told her (a toast, with a beep if her sound is on).
    await user.should_see(content='Ana Gómez', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    assert ASSIGNED_TO_ME in user.notify.messages


async def test_my_own_assignment_is_not_announced_to_me(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_inbox(user, world, 'marta')
    marta = await viewer_of(db, world.marta)

    # Marta, a manager, gives Martín to herself: her own action, nothing to tell her.
    await reassign(
        db, viewer=marta, conversation_id=chats['martin'], user_id=world.marta.id or 0, publisher=runtime().bus
    )

    await user.should_see(content='Marta Sosa', marker=f'conversation-{chats["martin"]}', retries=PATIENCE)
    assert not [message for message in user.notify.messages if message.startswith('Te asignaron')]


async def test_a_new_message_of_the_open_conversation_appends_one_bubble(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_inbox(user, world, 'ana')
    await open_conversation(user, chats['martin'])
    assert thread_texts(user) == ['Necesito pastillas de freno']

    first = await add_message(db, chats['martin'], '¿Y para el Gol Trend 2014?', seconds_ago=2)
    elsewhere = await add_message(db, chats['lucia'], 'Mensaje de Lucía', seconds_ago=1)
    second = await add_message(db, chats['martin'], '¿Tienen stock?', seconds_ago=0)
    inbound = {'direction': Direction.INBOUND, 'sender_kind': SenderKind.CUSTOMER}
    await publish(world, MESSAGE_CREATED, chats['martin'], message_id=first, **inbound)
    await publish(world, MESSAGE_CREATED, chats['martin'], message_id=first, **inbound)  # delivered twice (rare)
    await publish(world, MESSAGE_CREATED, chats['lucia'], message_id=elsewhere, **inbound)  # not the open one
    await publish(world, MESSAGE_CREATED, chats['martin'], message_id=second, **inbound)

    await user.should_see(content='¿Tienen stock?', marker='message-text', retries=PATIENCE)
    assert thread_texts(user) == ['Necesito pastillas de freno', '¿Y para el Gol Trend 2014?', '¿Tienen stock?']


async def test_a_status_tick_updates_that_bubble(user: User, world: World, db: Database, chats: dict[str, int]) -> None:
    earlier = await add_message(db, chats['martin'], 'Hola Martín', sender=SenderKind.AGENT, seconds_ago=20)
    reply = await add_message(db, chats['martin'], 'Tenemos Ferodo', sender=SenderKind.AGENT, seconds_ago=10)
    await open_inbox(user, world, 'ana')
    await open_conversation(user, chats['martin'])
    await user.should_see(content='Tenemos Ferodo', marker='message-text', retries=PATIENCE)
    assert (ticks_of(user, earlier), ticks_of(user, reply)) == ('sent', 'sent')

    await publish(world, MESSAGE_STATUS, chats['martin'], message_id=reply, status='delivered')
    await publish(world, MESSAGE_STATUS, chats['martin'], message_id=reply, status='read')
    await until(lambda: ticks_of(user, reply) == 'read')
    assert ticks_of(user, earlier) == 'sent'  # only the bubble the status is about

    await publish(world, MESSAGE_STATUS, chats['martin'], message_id=earlier, status='failed', error_title='Blocked')
    with user.scope(marker=f'message-{earlier}'):
        await user.should_see('No enviado: Blocked', retries=PATIENCE)
    assert (ticks_of(user, earlier), ticks_of(user, reply)) == ('failed', 'read')
