"""A client that retries a send with the same Idempotency-Key gets the first result, never a second message
(issue 19, F4)."""

from __future__ import annotations

import asyncio

from nicegui.testing import User
from sqlmodel import func, select

from services.database import Database
from services.models import Direction, Message
from tests.unit.app.routes.test_api_conversations import setup  # noqa: F401 - the fixture


async def outbound_count(db: Database) -> int:
    async with db.session() as session:
        return (
            await session.exec(select(func.count()).select_from(Message).where(Message.direction == Direction.OUTBOUND))
        ).one()


async def test_a_retry_with_the_same_key_answers_the_first_message_and_sends_nothing_twice(
    user: User,
    setup: dict,  # noqa: F811
    db: Database,
) -> None:
    url = f'/api/v1/conversations/{setup["central"]}/messages'
    headers = {**setup['global'], 'Idempotency-Key': 'erp-order-4711'}

    first = await user.http_client.post(url, json={'text': 'Su pedido salió hoy'}, headers=headers)
    again = await user.http_client.post(url, json={'text': 'Su pedido salió hoy'}, headers=headers)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert await outbound_count(db) == 1


async def test_simultaneous_retries_settle_on_one_message(
    user: User,
    setup: dict,  # noqa: F811
    db: Database,
) -> None:
    url = f'/api/v1/conversations/{setup["central"]}/messages'
    headers = {**setup['global'], 'Idempotency-Key': 'erp-order-4712'}

    answers = await asyncio.gather(
        *(user.http_client.post(url, json={'text': 'Listo'}, headers=headers) for _ in range(5))
    )

    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.json()['id'] for answer in answers}) == 1
    assert await outbound_count(db) == 1


async def test_a_key_reused_for_another_text_is_refused_and_other_keys_are_independent(
    user: User,
    setup: dict,  # noqa: F811
    db: Database,
) -> None:
    url = f'/api/v1/conversations/{setup["central"]}/messages'
    headers = {**setup['global'], 'Idempotency-Key': 'erp-order-4713'}
    assert (await user.http_client.post(url, json={'text': 'uno'}, headers=headers)).status_code == 202

    reused = await user.http_client.post(url, json={'text': 'otro'}, headers=headers)
    fresh = await user.http_client.post(url, json={'text': 'otro'}, headers={**headers, 'Idempotency-Key': 'new'})
    without_key = await user.http_client.post(url, json={'text': 'otro'}, headers=setup['global'])

    assert reused.status_code == 422 and 'different request' in reused.json()['detail']
    assert fresh.status_code == without_key.status_code == 202
    assert await outbound_count(db) == 3


async def test_keys_of_two_api_keys_never_meet(
    user: User,
    setup: dict,  # noqa: F811
    db: Database,
) -> None:
    url = f'/api/v1/conversations/{setup["central"]}/messages'
    for api_key in (setup['global'], setup['central_key']):
        response = await user.http_client.post(url, json={'text': 'hola'}, headers={**api_key, 'Idempotency-Key': 'k1'})
        assert response.status_code == 202

    assert await outbound_count(db) == 2
