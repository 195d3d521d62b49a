"""No acknowledged message is lost to one bad message (issue 19, F1; SPEC M1).

Meta never resends a body we answered 200. On PostgreSQL a NUL character or a lone surrogate in a message's text
or in a profile name, or a message id longer than its column, used to fail the whole delivery — the good messages
beside it too — and a replay failed again. Now bad characters are replaced, a message that cannot be stored
becomes a dead letter with its error, and its neighbours are stored.
"""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User
from sqlalchemy import text
from sqlmodel import col, select

from app.runtime import runtime
from services.database import Database
from services.models import Contact, DeadLetter, DeadLetterKind, DeliveryStatus, Message, WebhookDelivery
from services.storable import REPLACEMENT
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import list_dead_letters, requeue_for_replay
from tests.conftest import World
from tests.unit.app.routes.test_whatsapp_webhook import CUSTOMER, body_for, messages_of, post, post_and_process

OTHER_CUSTOMER = '5491144445555'


async def test_nul_and_lone_surrogates_are_replaced_and_nothing_beside_them_is_lost(
    user: User, world: World, db: Database
) -> None:
    body = body_for(
        world,
        name='Martín\x00 Ruiz',
        messages=[
            build.text_message(from_=CUSTOMER, body='hola', wa_message_id='wamid.GOOD1', timestamp=1_795_000_001),
            build.text_message(from_=CUSTOMER, body='pastillas\x00 de freno', wa_message_id='wamid.NUL'),
            build.text_message(from_=CUSTOMER, body='y el \ud800 filtro', wa_message_id='wamid.SURROGATE'),
            build.text_message(from_=CUSTOMER, body='gracias 😀', wa_message_id='wamid.GOOD2', timestamp=1_795_000_009),
        ],
    )
    raw = json.dumps(body).encode()  # ASCII, with \u0000 and \ud800 escapes: valid JSON, as Meta would send it
    assert b'\\u0000' in raw and b'\\ud800' in raw

    await post_and_process(user, raw)

    texts = {m.wa_message_id: m.text for m in await messages_of(db)}
    assert texts == {
        'wamid.GOOD1': 'hola',
        'wamid.NUL': f'pastillas{REPLACEMENT} de freno',
        'wamid.SURROGATE': f'y el {REPLACEMENT} filtro',
        'wamid.GOOD2': 'gracias 😀',
    }
    async with db.session() as session:
        (contact,) = (await session.exec(select(Contact))).all()
        delivery = (await session.exec(select(WebhookDelivery))).one()
        stored = (await session.exec(select(Message).where(Message.wa_message_id == 'wamid.NUL'))).one()
    assert contact.profile_name == f'Martín{REPLACEMENT} Ruiz'
    assert delivery.status == DeliveryStatus.PROCESSED
    assert delivery.body.encode() == raw  # the journal keeps the exact bytes Meta signed
    assert stored.payload['raw']['text']['body'] == f'pastillas{REPLACEMENT} de freno'


async def test_a_message_id_longer_than_its_column_is_a_dead_letter_and_the_others_are_stored(
    user: User, world: World, db: Database
) -> None:
    long_id = 'wamid.' + 'X' * 200
    body = body_for(
        world,
        messages=[
            build.text_message(from_=CUSTOMER, body='primero', wa_message_id='wamid.OK1'),
            build.text_message(from_=CUSTOMER, body='raro', wa_message_id=long_id),
            build.text_message(from_=CUSTOMER, body='tercero', wa_message_id='wamid.OK2'),
        ],
    )

    await post_and_process(user, body)

    assert sorted(m.text for m in await messages_of(db)) == ['primero', 'tercero']
    (letter,) = await list_dead_letters(db)
    assert letter.kind == DeadLetterKind.UNSTORABLE
    assert letter.wa_message_id == long_id[:128]
    assert 'longer than 128' in letter.error
    assert letter.sample['text']['body'] == 'raro'  # the raw message is kept for the replay
    async with db.session() as session:
        delivery = (await session.exec(select(WebhookDelivery))).one()
    assert delivery.status == DeliveryStatus.FLAGGED and 'dead letter' in delivery.error


async def _refuse_text(db: Database, refused: str) -> None:
    """A trigger in the real database that refuses one text: storage failing for one message only."""
    async with db.engine.begin() as connection:
        if db.dialect == 'postgresql':
            await connection.execute(
                text(
                    'CREATE OR REPLACE FUNCTION test_refuse_text() RETURNS trigger AS $$ BEGIN '
                    f"IF NEW.text = '{refused}' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; "
                    'RETURN NEW; END $$ LANGUAGE plpgsql'
                )
            )
            await connection.execute(
                text(
                    'CREATE TRIGGER test_refuse_text BEFORE INSERT ON messages '
                    'FOR EACH ROW EXECUTE FUNCTION test_refuse_text()'
                )
            )
        else:
            await connection.execute(
                text(
                    f"CREATE TRIGGER test_refuse_text BEFORE INSERT ON messages WHEN NEW.text = '{refused}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
                )
            )


async def _allow_text(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(
            text('DROP TRIGGER IF EXISTS test_refuse_text' + (' ON messages' if db.dialect == 'postgresql' else ''))
        )
        if db.dialect == 'postgresql':
            await connection.execute(text('DROP FUNCTION IF EXISTS test_refuse_text()'))


async def test_a_message_the_database_refuses_is_a_dead_letter_until_replayed(
    user: User, world: World, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await _refuse_text(db, 'BOOM')
    try:
        body = body_for(
            world,
            messages=[
                build.text_message(from_=CUSTOMER, body='antes', wa_message_id='wamid.A'),
                build.text_message(from_=CUSTOMER, body='BOOM', wa_message_id='wamid.B'),
                build.text_message(from_=OTHER_CUSTOMER, body='después', wa_message_id='wamid.C'),
            ],
            statuses=[],
        )
        body['entry'][0]['changes'][0]['value']['contacts'].append(build.contact(wa_id=OTHER_CUSTOMER, name='Sol'))
        assert (await post(user, body)).status_code == 200
        outcome = await runtime().ingest.drain()

        assert sorted(m.text for m in await messages_of(db)) == ['antes', 'después']
        assert (outcome.messages_stored, outcome.unstorable, outcome.failed) == (2, 1, 0)
        (letter,) = await list_dead_letters(db)
        assert (letter.kind, letter.wa_message_id) == (DeadLetterKind.UNSTORABLE, 'wamid.B')
        assert 'refused by the test trigger' in letter.error
        caplog.clear()  # the logged failures (batch, then delivery) were the point
    finally:
        await _allow_text(db)

    # The cause is gone: the admin replays, and the message is stored once, beside the others, not twice.
    assert await requeue_for_replay(db, include_dead_letters=True) == 1
    await runtime().ingest.drain()

    assert sorted(m.text for m in await messages_of(db)) == ['BOOM', 'antes', 'después']
    assert await list_dead_letters(db) == []
    async with db.session() as session:
        resolved = (await session.exec(select(DeadLetter).where(col(DeadLetter.resolved_at).is_not(None)))).all()
    assert len(resolved) == 1


async def test_a_body_nested_thousands_deep_is_refused_with_400_and_not_journaled(
    user: User, world: World, db: Database
) -> None:
    raw = b'{"object":"whatsapp_business_account","entry":' + b'[' * 5000 + b']' * 5000 + b'}'

    response = await post(user, raw)

    assert response.status_code == 400
    assert 'malformed' in response.json()['error']
    async with db.session() as session:
        assert (await session.exec(select(WebhookDelivery))).all() == []
