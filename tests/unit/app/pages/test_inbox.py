"""The agents' inbox (SPEC C1–C3) in NiceGUI's simulated browser: list, filters, search, thread, composer
rules, client panel and live updates."""

from __future__ import annotations

import asyncio
import json
from typing import cast

import pytest
from nicegui import ui
from nicegui.elements.mixins.value_element import ValueElement
from nicegui.testing import User
from sqlmodel import select

from app.runtime import runtime
from services.database import Database
from services.models import (
    AuditEntry,
    Contact,
    Conversation,
    ConversationMode,
    Direction,
    Message,
    MessageStatus,
    MessageTemplate,
    SenderKind,
)
from services.whatsapp import payload_builders as build
from services.whatsapp.signatures import sign
from tests.builders import conversation_with_message
from tests.conftest import APP_SECRET, World
from tests.unit.app.pages.test_login import sign_in
from tests.unit.app.pages.waiting import eventually

XSS = '<img src=x onerror=alert(1)>'
PATIENCE = 50  # retries of should_see (0.1 s each): the shared machine is often slow


@pytest.fixture
async def chats(db: Database, world: World) -> dict[str, int]:
    """Casa Central: Martín (AI, unassigned), Lucía (held by Ana), an old one outside the 24 h window;
    Rosario: Gustavo."""
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
            text=XSS,
            wa_message_id='wamid.L1',
            hours_ago=1,
            assigned_user_id=world.ana.id,
            mode=ConversationMode.HUMAN,
            unread=0,
        ),
        'old': await conversation_with_message(
            db,
            number_id=central_number,
            branch_id=central_branch,
            phone='+5491144445555',
            name='Raúl Viejo',
            text='¿Siguen abiertos?',
            wa_message_id='wamid.O1',
            hours_ago=30,
        ),
        'gustavo': await conversation_with_message(
            db,
            number_id=world.rosario_number.id or 0,
            branch_id=world.rosario.id or 0,
            phone='+5493416667777',
            name='Gustavo Paz',
            text='Amortiguadores Palio',
            wa_message_id='wamid.G1',
        ),
    }


def listed(user: User) -> set[int]:
    return {
        int(marker.split('-')[1])
        for element in user.find(marker='conversation-list').elements
        for child in element.descendants()
        for marker in child._markers
        if marker.startswith('conversation-') and marker.split('-')[1].isdigit()
    }


async def open_inbox(user: User, world: World, username: str = 'ana') -> None:
    await sign_in(user, username, world.password)
    await user.should_see(marker='conversation-name', retries=PATIENCE)  # the list has loaded


async def test_agent_sees_her_branch_newest_first_and_nothing_of_another_branch(
    user: User, world: World, chats: dict[str, int]
) -> None:
    await open_inbox(user, world)

    assert listed(user) == {chats['martin'], chats['lucia'], chats['old']}
    await user.should_see('Martín Ruiz', retries=PATIENCE)
    await user.should_not_see('Gustavo Paz', retries=PATIENCE)


async def test_filters_mine_unassigned_mode_and_unread(user: User, world: World, chats: dict[str, int]) -> None:
    await open_inbox(user, world)

    user.find(marker='filter-assignment').click()
    user.find('Mías').click()
    await user.should_not_see('Martín Ruiz', retries=PATIENCE)
    assert listed(user) == {chats['lucia']}

    user.find(marker='filter-assignment').click()
    user.find('Sin asignar').click()
    await user.should_see('Martín Ruiz', retries=PATIENCE)
    assert listed(user) == {chats['martin'], chats['old']}

    user.find(marker='filter-unread').click()
    await user.should_see('Martín Ruiz', retries=PATIENCE)
    assert listed(user) == {chats['martin'], chats['old']}


async def test_search_finds_by_message_text_and_name_without_accents(
    user: User, world: World, chats: dict[str, int]
) -> None:
    await open_inbox(user, world)

    user.find(marker='inbox-search').type('pastillas')
    await user.should_not_see('Raúl Viejo', retries=PATIENCE)
    assert listed(user) == {chats['martin']}

    user.find(marker='inbox-search').clear().type('raul')
    await user.should_see('Raúl Viejo', retries=PATIENCE)
    assert listed(user) == {chats['old']}


async def test_opening_a_conversation_shows_the_thread_as_text_and_marks_it_read(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_inbox(user, world)

    user.find(marker=f'conversation-{chats["lucia"]}').click()
    await user.should_see(marker='message-text', retries=PATIENCE)

    texts = list(user.find(marker='message-text').elements)
    assert [cast(ui.label, element).text for element in texts] == [XSS]
    assert all(isinstance(element, ui.label) for element in texts)  # a label: shown as characters, not HTML
    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(content='Necesito pastillas de freno', marker='message-text', retries=PATIENCE)

    async def unread() -> int:
        async with db.session() as session:
            conversation = await session.get(Conversation, chats['martin'])
            return conversation.unread_count if conversation else -1

    for _ in range(30):  # the page marks it read right after showing it
        if await unread() == 0:
            break
        await asyncio.sleep(0.1)
    assert await unread() == 0


async def test_reply_inside_the_window_is_queued_and_appears_in_the_thread(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_inbox(user, world)
    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(marker='composer', retries=PATIENCE)

    user.find(marker='composer').type('Tenemos Ferodo a $ 45.000').trigger('keydown.enter.exact.prevent')

    await user.should_see(content='Tenemos Ferodo a $ 45.000', marker='message-text', retries=PATIENCE)
    async with db.session() as session:
        reply = (await session.exec(select(Message).where(Message.direction == 'out'))).one()
    assert (reply.status, reply.sent_by_user_id, reply.conversation_id) == (
        MessageStatus.QUEUED,
        world.ana.id,
        chats['martin'],
    )


async def test_outside_the_window_only_templates_can_be_sent(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    async with db.session() as session:
        session.add(
            MessageTemplate(
                number_id=world.central_number.id or 0,
                name='retomar',
                body='Hola {{1}}, ¿seguís buscando el repuesto?',
                variable_count=1,
            )
        )
        await session.commit()
    await open_inbox(user, world)

    user.find(marker=f'conversation-{chats["old"]}').click()
    await user.should_see(marker='template-select', retries=PATIENCE)
    await user.should_not_see(marker='composer', retries=PATIENCE)
    await user.should_see(
        content='Pasaron más de 24 h desde el último mensaje del cliente', marker='window-state', retries=PATIENCE
    )
    user.find(marker='template-variable-1').type('Raúl')
    user.find(marker='send-template').click()

    await user.should_see(content='Hola Raúl, ¿seguís buscando el repuesto?', marker='message-text', retries=PATIENCE)
    async with db.session() as session:
        sent = (await session.exec(select(Message).where(Message.direction == 'out'))).one()
    assert sent.type == 'template' and sent.payload['template']['variables'] == ['Raúl']


async def test_canned_response_is_offered_after_a_slash(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    from services.models import CannedResponse

    async with db.session() as session:
        session.add(CannedResponse(shortcut='vin', title='Pedir VIN', body='¿Me pasás el VIN del auto?'))
        await session.commit()
    await open_inbox(user, world)
    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(marker='composer', retries=PATIENCE)

    user.find(marker='composer').type('/vi')
    await user.should_see(marker='canned-option', retries=PATIENCE)
    user.find(marker='canned-option').click()

    assert cast(ValueElement, user.find(marker='composer').elements.pop()).value == '¿Me pasás el VIN del auto?'


async def test_inbound_message_appears_live_in_the_open_thread_and_a_new_customer_in_the_list(
    user: User, world: World, chats: dict[str, int]
) -> None:
    await open_inbox(user, world)
    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(marker='composer', retries=PATIENCE)

    body = build.merge_envelopes(
        build.envelope(
            phone_number_id='pn-central',
            display_phone_number='5491150000101',
            contacts=[build.contact(wa_id='5491133334444', name='Martín Ruiz')],
            messages=[build.text_message(from_='5491133334444', body='¿Y para el Gol Trend 2014?')],
        ),
        build.envelope(
            phone_number_id='pn-central',
            display_phone_number='5491150000101',
            contacts=[build.contact(wa_id='5491177778888', name='Nueva Clienta')],
            messages=[build.text_message(from_='5491177778888', body='Hola, ¿hacen envíos?')],
        ),
    )
    raw = json.dumps(body).encode()
    response = await user.http_client.post(
        '/webhooks/whatsapp', content=raw, headers={'X-Hub-Signature-256': sign(raw, APP_SECRET)}
    )
    assert response.status_code == 200
    await runtime().ingest.drain()

    await user.should_see(content='¿Y para el Gol Trend 2014?', marker='message-text', retries=PATIENCE)
    await user.should_see('Nueva Clienta', retries=PATIENCE)
    assert len(listed(user)) == 4


async def test_a_failed_delivery_shows_its_reason_live_in_the_open_thread(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    async with db.session() as session:
        session.add(
            Message(
                conversation_id=chats['martin'],
                direction=Direction.OUTBOUND,
                sender_kind=SenderKind.AGENT,
                sent_by_user_id=world.ana.id,
                text='Te paso el precio',
                wa_message_id='wamid.OUT1',
                status=MessageStatus.SENT,
            )
        )
        await session.commit()
    await open_inbox(user, world)
    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(content='Te paso el precio', marker='message-text', retries=PATIENCE)

    # Meta reports, minutes later, that the message could not be delivered.
    body = build.envelope(
        phone_number_id='pn-central',
        display_phone_number='5491150000101',
        statuses=[
            build.status(
                wa_message_id='wamid.OUT1',
                status='failed',
                recipient_id='5491133334444',
                errors=[
                    build.error(
                        code=131026, title='Message undeliverable', details='The recipient cannot receive this message.'
                    )
                ],
            )
        ],
    )
    raw = json.dumps(body).encode()
    await user.http_client.post(
        '/webhooks/whatsapp', content=raw, headers={'X-Hub-Signature-256': sign(raw, APP_SECRET)}
    )
    await runtime().ingest.drain()

    await user.should_see('No enviado: Message undeliverable', retries=PATIENCE)
    ticks = [element for element in user.find(marker='ticks').elements if element.props.get('title')]
    assert [element.props['title'] for element in ticks] == ['failed']


async def test_another_branch_conversation_never_reaches_the_page(
    user: User, world: World, chats: dict[str, int]
) -> None:
    await open_inbox(user, world)

    body = build.envelope(
        phone_number_id='pn-rosario',
        display_phone_number='5493415000201',
        contacts=[build.contact(wa_id='5493419990000', name='Cliente Rosarino')],
        messages=[build.text_message(from_='5493419990000', body='Hola Rosario')],
    )
    raw = json.dumps(body).encode()
    await user.http_client.post(
        '/webhooks/whatsapp', content=raw, headers={'X-Hub-Signature-256': sign(raw, APP_SECRET)}
    )
    await runtime().ingest.drain()

    await user.should_not_see('Cliente Rosarino', retries=PATIENCE)
    assert chats['gustavo'] not in listed(user)


async def test_client_panel_saves_name_and_notes_without_putting_them_in_the_audit_log(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    await open_inbox(user, world)
    user.find(marker=f'conversation-{chats["martin"]}').click()
    await user.should_see(marker='contact-name', retries=PATIENCE)

    user.find(marker='contact-name').clear().type('Martín R. (taller)')
    user.find(marker='contact-notes').type('Cliente de taller, pide factura A')
    user.find(marker='save-contact').click()

    async def saved() -> bool:  # what stays, not the "Datos guardados." toast, which may be gone already
        async with db.session() as session:
            contact = (await session.exec(select(Contact).where(Contact.phone_e164 == '+5491133334444'))).one()
        return contact.display_name == 'Martín R. (taller)'

    await eventually(saved)
    async with db.session() as session:
        contact = (await session.exec(select(Contact).where(Contact.phone_e164 == '+5491133334444'))).one()
        audit = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'contact.updated'))).one()
    assert (contact.display_name, contact.notes) == ('Martín R. (taller)', 'Cliente de taller, pide factura A')
    assert 'factura' not in json.dumps(audit.details)
    await user.should_see(content='Martín R. (taller)', marker='conversation-name', retries=PATIENCE)


async def test_media_of_another_branch_is_not_served(
    user: User, world: World, db: Database, chats: dict[str, int]
) -> None:
    from services.models import Media

    async with db.session() as session:
        media = Media(mime_type='image/jpeg', status='stored', storage_path='aa/bb/x', thumbnail_path='thumbs/x.jpg')
        session.add(media)
        await session.flush()
        message = (await session.exec(select(Message).where(Message.conversation_id == chats['gustavo']))).one()
        message.media_id = media.id
        await session.commit()

    assert (await user.http_client.get(f'/media/{media.id}')).status_code == 401  # signed out
    await open_inbox(user, world)
    assert (await user.http_client.get(f'/media/{media.id}/thumbnail')).status_code == 404  # Rosario's
