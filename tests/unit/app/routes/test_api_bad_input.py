"""Bad input to the HTTP API is a 4xx with a clear message, never a 500 (issue 19, F3)."""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User
from sqlmodel import func, select

from services.database import Database
from services.models import Message
from tests.unit.app.routes.test_api_conversations import setup  # noqa: F401 - the fixture

HUGE = '99999999999999999999'  # far past a 32-bit database id


@pytest.mark.parametrize(
    'path',
    [
        f'/api/v1/conversations/{HUGE}/messages',
        '/api/v1/conversations/0/messages',
        f'/api/v1/conversations/1/messages?before_id={HUGE}',
        f'/api/v1/conversations?before_id={HUGE}',
        f'/api/v1/conversations?branch_id={HUGE}',
        '/api/v1/messages/wamid.%00X',
        f'/api/v1/messages/wamid.{"X" * 200}',
    ],
)
async def test_ids_a_database_cannot_hold_are_422(user: User, setup: dict, path: str) -> None:  # noqa: F811
    response = await user.http_client.get(path, headers=setup['global'])

    assert response.status_code == 422, response.text
    assert response.json()['detail']  # FastAPI names the field and the rule it broke


# A NUL is valid text that PostgreSQL refuses (our rule); a lone surrogate is no valid string at all (pydantic's).
@pytest.mark.parametrize(('text', 'says'), [('a\u0000b', 'cannot be stored'), ('roto \ud800 emoji', 'valid string')])
async def test_text_with_a_character_that_cannot_be_stored_is_422_and_nothing_is_queued(
    user: User,
    setup: dict,  # noqa: F811
    db: Database,
    text: str,
    says: str,
) -> None:
    async with db.session() as session:
        before = (await session.exec(select(func.count()).select_from(Message))).one()
    body = json.dumps({'type': 'text', 'text': text})  # ASCII escapes: valid JSON

    response = await user.http_client.post(
        f'/api/v1/conversations/{setup["central"]}/messages',
        content=body,
        headers={**setup['global'], 'Content-Type': 'application/json'},
    )

    assert response.status_code == 422, response.text
    assert says in response.text
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Message))).one() == before


async def test_template_variables_with_nul_are_422(user: User, setup: dict) -> None:  # noqa: F811
    body = json.dumps({'type': 'template', 'template': 'retomar', 'variables': ['Ana\u0000']})

    response = await user.http_client.post(
        f'/api/v1/conversations/{setup["central"]}/messages',
        content=body,
        headers={**setup['global'], 'Content-Type': 'application/json'},
    )

    assert response.status_code == 422, response.text


async def test_an_unknown_query_parameter_is_400_not_ignored(user: User, setup: dict) -> None:  # noqa: F811
    # A typo silently ignored would answer every branch's conversations to a caller who asked for one.
    typo = await user.http_client.get('/api/v1/conversations?brnch_id=2', headers=setup['global'])
    right = await user.http_client.get('/api/v1/conversations?branch_id=2', headers=setup['global'])
    assert typo.status_code == 400 and 'brnch_id' in typo.json()['detail']
    assert right.status_code == 200
