"""HTTP API v1: conversations, messages, sending, lookup by WhatsApp id — with branch-scoped keys."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from services import api_keys
from services.database import Database
from services.models import Message, MessageStatus, MessageTemplate
from tests.builders import conversation_with_message
from tests.conftest import World


@pytest.fixture
async def setup(db: Database, world: World) -> dict:
    central = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491133334444',
        text='Hola, ¿tienen filtros?',
        wa_message_id='wamid.CENTRAL1',
    )
    rosario = await conversation_with_message(
        db,
        number_id=world.rosario_number.id or 0,
        branch_id=world.rosario.id or 0,
        phone='+5493416667777',
        text='Amortiguadores Palio',
        wa_message_id='wamid.ROSARIO1',
    )
    _, global_key = await api_keys.create_api_key(db, name='erp')
    _, central_key = await api_keys.create_api_key(db, name='central erp', branch_id=world.central.id)
    return {
        'central': central,
        'rosario': rosario,
        'global': {'X-API-Key': global_key},
        'central_key': {'X-API-Key': central_key},
    }


async def test_conversations_are_listed_per_key_scope(user: User, setup: dict) -> None:
    everything = await user.http_client.get('/api/v1/conversations', headers=setup['global'])
    central_only = await user.http_client.get('/api/v1/conversations', headers=setup['central_key'])

    assert {c['id'] for c in everything.json()} == {setup['central'], setup['rosario']}
    (only,) = central_only.json()
    assert (only['id'], only['branch_code'], only['contact_phone'], only['window_open']) == (
        setup['central'],
        'SUC1',
        '+5491133334444',
        True,
    )


async def test_messages_of_a_conversation_and_another_branch_is_404(user: User, setup: dict) -> None:
    own = await user.http_client.get(f'/api/v1/conversations/{setup["central"]}/messages', headers=setup['central_key'])
    foreign = await user.http_client.get(
        f'/api/v1/conversations/{setup["rosario"]}/messages', headers=setup['central_key']
    )

    assert [m['text'] for m in own.json()] == ['Hola, ¿tienen filtros?']
    assert foreign.status_code == 404


async def test_message_by_whatsapp_id_has_the_documented_fields(user: User, setup: dict) -> None:
    response = await user.http_client.get('/api/v1/messages/wamid.CENTRAL1', headers=setup['central_key'])
    hidden = await user.http_client.get('/api/v1/messages/wamid.ROSARIO1', headers=setup['central_key'])

    body = response.json()
    assert {key: body[key] for key in ('type', 'text', 'direction', 'status', 'conversation_id', 'contact_phone')} == {
        'type': 'text',
        'text': 'Hola, ¿tienen filtros?',
        'direction': 'in',
        'status': 'received',
        'conversation_id': setup['central'],
        'contact_phone': '+5491133334444',
    }
    assert hidden.status_code == 404


async def test_send_text_queues_it_in_the_outbox(user: User, setup: dict, db: Database) -> None:
    response = await user.http_client.post(
        f'/api/v1/conversations/{setup["central"]}/messages', headers=setup['central_key'], json={'text': 'Sí, tenemos'}
    )

    assert response.status_code == 202
    assert (response.json()['status'], response.json()['direction']) == ('queued', 'out')
    async with db.session() as session:
        stored = await session.get(Message, response.json()['id'])
    assert stored is not None and stored.status == MessageStatus.QUEUED and stored.text == 'Sí, tenemos'


async def test_send_into_another_branch_is_404(user: User, setup: dict) -> None:
    response = await user.http_client.post(
        f'/api/v1/conversations/{setup["rosario"]}/messages', headers=setup['central_key'], json={'text': 'hola'}
    )

    assert response.status_code == 404


async def test_free_text_outside_the_window_is_409_and_template_is_accepted(
    user: User, world: World, db: Database, setup: dict
) -> None:
    old = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491122223333',
        text='hace mucho',
        wa_message_id='wamid.OLD',
        hours_ago=30,
    )
    async with db.session() as session:
        session.add(
            MessageTemplate(
                number_id=world.central_number.id or 0, name='seguimiento', body='Hola {{1}}', variable_count=1
            )
        )
        await session.commit()

    text = await user.http_client.post(
        f'/api/v1/conversations/{old}/messages', headers=setup['central_key'], json={'text': 'hola'}
    )
    template = await user.http_client.post(
        f'/api/v1/conversations/{old}/messages',
        headers=setup['central_key'],
        json={'type': 'template', 'template': 'seguimiento', 'variables': ['Lucía']},
    )

    assert text.status_code == 409 and '24 h' in text.json()['detail']
    assert template.status_code == 202 and template.json()['text'] == 'Hola Lucía'


async def test_invalid_bodies_and_keys_are_refused_clearly(user: User, setup: dict) -> None:
    empty = await user.http_client.post(
        f'/api/v1/conversations/{setup["central"]}/messages', headers=setup['central_key'], json={'text': ''}
    )
    no_key = await user.http_client.get('/api/v1/conversations')

    assert empty.status_code == 422
    assert no_key.status_code == 401
    assert '/api/v1/messages/{whatsapp_message_id}' in (await user.http_client.get('/openapi.json')).json()['paths']
