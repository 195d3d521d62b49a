"""WhatsApp Cloud API webhook contract (M1, M7): what Meta sends, what we store, what we answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from nicegui.testing import User
from sqlalchemy import func
from sqlmodel import col, select

from app.runtime import runtime
from services import branches
from services.database import Database
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS, Event
from services.models import (
    ChannelKind,
    Contact,
    Conversation,
    DeadLetter,
    DeliveryStatus,
    Direction,
    Media,
    Message,
    MessageStatus,
    SenderKind,
    WebhookDelivery,
)
from services.models.types import utcnow
from services.whatsapp import ingest as ingest_module
from services.whatsapp import payload_builders as build
from services.whatsapp.journal import JournalWriter, requeue_for_replay
from services.whatsapp.signatures import sign
from tests.conftest import APP_SECRET, VERIFY_TOKEN, World

CUSTOMER = '5491133334444'  # Martín, as WhatsApp sends his number (with Argentina's mobile 9)
NOW = 1_795_000_000


def body_for(
    world: World,
    *,
    messages: list[dict] | None = None,
    statuses: list[dict] | None = None,
    name: str = 'Martín Ruiz',
    wa_id: str | None = CUSTOMER,
    phone_number_id: str | None = None,
) -> dict:
    return build.envelope(
        phone_number_id=phone_number_id or world.central_number.phone_number_id,
        display_phone_number='5491150000101',
        contacts=[build.contact(wa_id=wa_id, name=name)] if messages else None,
        messages=messages,
        statuses=statuses,
    )


async def post(user: User, body: dict | bytes, *, secret: str | None = APP_SECRET, signature: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {'Content-Type': 'application/json'}
    if signature is not None:
        headers['X-Hub-Signature-256'] = signature
    elif secret is not None:
        headers['X-Hub-Signature-256'] = sign(raw, secret)
    return await user.http_client.post('/webhooks/whatsapp', content=raw, headers=headers)


async def post_and_process(user: User, body: dict | bytes) -> None:
    response = await post(user, body)
    assert response.status_code == 200, response.text
    await runtime().ingest.drain()


async def count(db: Database, model: type, *conditions: Any) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*conditions))).one()


async def messages_of(db: Database) -> list[Message]:
    async with db.session() as session:
        return list((await session.exec(select(Message).order_by(col(Message.sent_at), col(Message.id)))).all())


def record_events() -> list[Event]:
    seen: list[Event] = []
    runtime().bus.subscribe(seen.append, branch_ids=None)
    return seen


# --- verification ---------------------------------------------------------------------------------------


async def test_verification_echoes_the_challenge_only_for_our_token(user: User, world: World) -> None:
    good = await user.http_client.get(
        '/webhooks/whatsapp',
        params={'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444'},
    )
    wrong_token = await user.http_client.get(
        '/webhooks/whatsapp',
        params={'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1158201444'},
    )
    wrong_mode = await user.http_client.get(
        '/webhooks/whatsapp',
        params={'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444'},
    )

    assert (good.status_code, good.text, good.headers['content-type'].split(';')[0]) == (
        200,
        '1158201444',
        'text/plain',
    )
    assert wrong_token.status_code == 403 and wrong_mode.status_code == 403


# --- rejected requests store nothing --------------------------------------------------------------------


async def test_missing_signature_is_401_and_nothing_is_stored(user: User, world: World, db: Database) -> None:
    response = await post(
        user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')]), secret=None
    )

    assert response.status_code == 401
    assert await count(db, WebhookDelivery) == 0


@pytest.mark.parametrize('signature', ['sha256=' + '0' * 64, 'sha256=nothex', 'md5=abc', ''])
async def test_bad_signature_is_403_and_nothing_is_stored(
    user: User, world: World, db: Database, signature: str
) -> None:
    body = body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')])

    response = await post(user, body, signature=signature or sign(b'other body', APP_SECRET))

    assert response.status_code == 403
    assert await count(db, WebhookDelivery) == 0


async def test_signature_made_with_another_secret_is_refused(user: User, world: World, db: Database) -> None:
    response = await post(
        user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='x')]), secret='someone-else'
    )

    assert response.status_code == 403
    assert await count(db, WebhookDelivery) == 0


async def test_malformed_json_is_400_and_not_journaled(user: User, world: World, db: Database) -> None:
    response = await post(user, b'{"object": "whatsapp_business_account", "entry": [')

    assert response.status_code == 400
    assert await count(db, WebhookDelivery) == 0


async def test_oversized_body_is_413(user: User, world: World, db: Database) -> None:
    huge = b'{"padding": "' + b'x' * (4 * 1024 * 1024) + b'"}'

    response = await post(user, huge)

    assert response.status_code == 413
    assert await count(db, WebhookDelivery) == 0


async def test_unexpected_shape_is_acknowledged_journaled_and_flagged(user: User, world: World, db: Database) -> None:
    response = await post(user, {'object': 'page', 'entry': 'not a list'})

    assert response.status_code == 200
    async with db.session() as session:
        delivery = (await session.exec(select(WebhookDelivery))).one()
    assert delivery.status == DeliveryStatus.FLAGGED and 'unexpected' in delivery.error
    assert await count(db, Message) == 0


async def test_unreachable_database_means_no_acknowledgement(
    user: User, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    working = runtime().journal
    broken = JournalWriter(Database.from_url('postgresql+asyncpg://postgres@127.0.0.1:1/nowhere'))
    broken.start()
    runtime().journal = broken
    try:
        response = await post(user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')]))
    finally:
        await broken.stop()
        runtime().journal = working

    assert response.status_code == 503  # Meta redelivers what we did not acknowledge
    assert 'journal write of 1 webhook bodies failed' in caplog.text  # the writer says why, once per outage
    caplog.clear()  # the logged error was the point of this test


# --- messages -------------------------------------------------------------------------------------------


async def test_text_message_creates_contact_conversation_and_message(user: User, world: World, db: Database) -> None:
    events = record_events()
    message = build.text_message(from_=CUSTOMER, body='Hola, necesito pastillas de freno', timestamp=NOW)

    await post_and_process(user, body_for(world, messages=[message]))

    async with db.session() as session:
        contact = (await session.exec(select(Contact))).one()
        conversation = (await session.exec(select(Conversation))).one()
        stored = (await session.exec(select(Message))).one()
    assert (contact.phone_e164, contact.wa_id, contact.profile_name) == ('+5491133334444', CUSTOMER, 'Martín Ruiz')
    assert (conversation.branch_id, conversation.number_id) == (world.central.id, world.central_number.id)
    assert conversation.unread_count == 1
    assert conversation.last_inbound_at is not None and int(conversation.last_inbound_at.timestamp()) == NOW
    assert conversation.waiting_since == conversation.last_inbound_at
    assert conversation.last_message_preview == 'Hola, necesito pastillas de freno'
    assert (stored.direction, stored.sender_kind, stored.type) == (Direction.INBOUND, SenderKind.CUSTOMER, 'text')
    assert stored.wa_message_id == message['id'] and stored.text == 'Hola, necesito pastillas de freno'
    assert stored.payload['raw'] == message
    assert [event.kind for event in events] == [MESSAGE_CREATED, CONVERSATION_UPDATED]
    assert events[0].branch_id == world.central.id and events[0].data['text'] == stored.text


async def test_argentine_number_without_the_mobile_9_is_the_same_contact(
    user: User, world: World, db: Database
) -> None:
    await post_and_process(user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='uno')]))
    await post_and_process(
        user, body_for(world, wa_id='541133334444', messages=[build.text_message(from_='541133334444', body='dos')])
    )

    assert await count(db, Contact) == 1
    assert await count(db, Conversation) == 1


async def test_same_customer_on_another_branch_number_is_another_conversation(
    user: User, world: World, db: Database
) -> None:
    await post_and_process(user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='a')]))
    await post_and_process(
        user,
        body_for(
            world,
            phone_number_id=world.rosario_number.phone_number_id,
            messages=[build.text_message(from_=CUSTOMER, body='b')],
        ),
    )

    assert await count(db, Contact) == 1
    async with db.session() as session:
        branches = sorted((await session.exec(select(Conversation.branch_id))).all())
    assert branches == sorted([world.central.id or 0, world.rosario.id or 0])


MESSAGE_KINDS: dict[str, tuple[Callable[[], dict], str, Callable[[Message], bool]]] = {
    'image': (
        lambda: build.image_message(from_=CUSTOMER, media_id='1037543291543636', caption='Mi VIN'),
        'Mi VIN',
        lambda m: m.media_id is not None and m.payload['media']['wa_media_id'] == '1037543291543636',
    ),
    'document': (
        lambda: build.document_message(from_=CUSTOMER, media_id='223344', filename='factura.pdf'),
        '',
        lambda m: m.payload['media']['filename'] == 'factura.pdf',
    ),
    'audio': (
        lambda: build.audio_message(from_=CUSTOMER, media_id='556677', voice=True),
        '',
        lambda m: m.payload['media']['voice'] is True,
    ),
    'video': (
        lambda: build.video_message(from_=CUSTOMER, media_id='889900', caption='ruido'),
        'ruido',
        lambda m: m.media_id is not None,
    ),
    'sticker': (lambda: build.sticker_message(from_=CUSTOMER, media_id='121212'), '', lambda m: m.media_id is not None),
    'location': (
        lambda: build.location_message(
            from_=CUSTOMER, latitude=-34.6037, longitude=-58.3816, name='Obelisco', address='Av. 9 de Julio s/n'
        ),
        'Obelisco, Av. 9 de Julio s/n',
        lambda m: m.payload['fields']['latitude'] == -34.6037,
    ),
    'contacts': (
        lambda: build.contacts_message(
            from_=CUSTOMER, contacts=[build.contact_card(formatted_name='Taller Pérez', phone='+54 9 11 4444-5555')]
        ),
        'Taller Pérez',
        lambda m: len(m.payload['fields']['contacts']) == 1,
    ),
    'interactive': (
        lambda: build.interactive_button_reply(from_=CUSTOMER, id='confirmar', title='Confirmo'),
        'Confirmo',
        lambda m: m.payload['fields']['id'] == 'confirmar',
    ),
    'list': (
        lambda: build.interactive_list_reply(from_=CUSTOMER, id='suc2', title='Rosario', description='Bv. Oroño'),
        'Rosario',
        lambda m: m.payload['fields']['reply_type'] == 'list_reply',
    ),
    'button': (
        lambda: build.button_message(from_=CUSTOMER, payload='SI_QUIERO', text='Sí, quiero'),
        'Sí, quiero',
        lambda m: m.payload['fields']['payload'] == 'SI_QUIERO',
    ),
    'reaction': (
        lambda: build.reaction_message(from_=CUSTOMER, message_id='wamid.ORIGINAL', emoji='👍'),
        '👍',
        lambda m: m.payload['fields']['message_id'] == 'wamid.ORIGINAL',
    ),
    'unsupported': (
        lambda: build.unsupported_message(from_=CUSTOMER),
        '',
        lambda m: m.payload['errors'][0]['code'] == 131051,
    ),
    'unknown': (
        lambda: build.unknown_type_message(from_=CUSTOMER, type_name='hologram'),
        '',
        lambda m: (
            m.type == 'unsupported'
            and m.payload['fields']['original_type'] == 'hologram'
            and m.payload['raw']['type'] == 'hologram'
        ),
    ),
}


@pytest.mark.parametrize('kind', list(MESSAGE_KINDS))
async def test_every_message_type_is_stored_with_its_fields(user: User, world: World, db: Database, kind: str) -> None:
    make, expected_text, check = MESSAGE_KINDS[kind]
    raw = make()

    await post_and_process(user, body_for(world, messages=[raw]))

    (stored,) = await messages_of(db)
    assert stored.wa_message_id == raw['id']
    assert stored.text == expected_text
    assert check(stored), stored.payload


async def test_media_messages_get_a_pending_download(user: User, world: World, db: Database) -> None:
    await post_and_process(
        user,
        body_for(
            world, messages=[build.image_message(from_=CUSTOMER, media_id='1037543291543636', mime_type='image/jpeg')]
        ),
    )

    async with db.session() as session:
        media = (await session.exec(select(Media))).one()
    assert (media.wa_media_id, media.mime_type, media.status) == ('1037543291543636', 'image/jpeg', 'pending')


async def test_reply_context_and_forwarded_flags_are_kept(user: User, world: World, db: Database) -> None:
    reply = build.text_message(from_=CUSTOMER, body='¿y este?', reply_to='wamid.EARLIER', timestamp=NOW)
    forwarded = build.text_message(from_=CUSTOMER, body='mirá esto', forwarded=True, timestamp=NOW + 1)

    await post_and_process(user, body_for(world, messages=[reply, forwarded]))

    first, second = await messages_of(db)
    assert first.reply_to_wa_message_id == 'wamid.EARLIER' and 'forwarded' not in first.payload
    assert second.reply_to_wa_message_id is None and second.payload['forwarded'] is True


async def test_username_user_without_wa_id_is_identified_by_user_id(user: User, world: World, db: Database) -> None:
    message = build.text_message(from_=None, from_user_id='AR.1234567890123', body='hola sin número')
    body = build.envelope(
        phone_number_id=world.central_number.phone_number_id,
        display_phone_number='5491150000101',
        contacts=[build.contact(wa_id=None, user_id='AR.1234567890123', name='Usuario Nuevo')],
        messages=[message],
    )

    await post_and_process(user, body)
    await post_and_process(
        user,
        build.envelope(
            phone_number_id=world.central_number.phone_number_id,
            display_phone_number='5491150000101',
            contacts=[build.contact(wa_id=None, user_id='AR.1234567890123', name='Usuario Nuevo')],
            messages=[build.text_message(from_=None, from_user_id='AR.1234567890123', body='otra vez')],
        ),
    )

    async with db.session() as session:
        contact = (await session.exec(select(Contact))).one()
    assert (contact.phone_e164, contact.wa_user_id, contact.profile_name) == (None, 'AR.1234567890123', 'Usuario Nuevo')
    assert await count(db, Message) == 2


# --- duplicates, batches, order -------------------------------------------------------------------------


async def test_the_same_payload_twice_is_acknowledged_and_stored_once(user: User, world: World, db: Database) -> None:
    body = body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')])

    await post_and_process(user, body)
    await post_and_process(user, body)

    assert await count(db, Message) == 1
    async with db.session() as session:
        conversation = (await session.exec(select(Conversation))).one()
    assert conversation.unread_count == 1  # the duplicate did not count twice


async def test_concurrent_duplicates_are_stored_once(user: User, world: World, db: Database) -> None:
    body = body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')])

    responses = await asyncio.gather(*(post(user, body) for _ in range(10)))
    await asyncio.gather(*(runtime().ingest.drain() for _ in range(3)))

    assert {response.status_code for response in responses} == {200}
    assert await count(db, WebhookDelivery) == 10
    assert await count(db, Message) == 1


async def test_a_batch_of_1000_messages_is_stored_completely(user: User, world: World, db: Database) -> None:
    senders = [f'54911{5000_0000 + index:08d}' for index in range(50)]
    messages = [
        build.text_message(from_=senders[index % 50], body=f'mensaje {index}', timestamp=NOW + index)
        for index in range(1000)
    ]
    body = build.envelope(
        phone_number_id=world.central_number.phone_number_id,
        display_phone_number='5491150000101',
        contacts=[build.contact(wa_id=wa_id, name=f'Cliente {wa_id[-4:]}') for wa_id in senders],
        messages=messages,
    )

    await post_and_process(user, body)

    assert await count(db, Message) == 1000
    assert await count(db, Contact) == 50
    async with db.session() as session:
        unread = (await session.exec(select(func.sum(Conversation.unread_count)))).one()
    assert unread == 1000


async def test_every_entry_and_change_of_one_post_is_processed(user: User, world: World, db: Database) -> None:
    central = body_for(world, messages=[build.text_message(from_=CUSTOMER, body='a central')])
    rosario = body_for(
        world,
        phone_number_id=world.rosario_number.phone_number_id,
        messages=[build.text_message(from_=CUSTOMER, body='a rosario')],
    )

    await post_and_process(user, build.merge_envelopes(central, rosario))

    assert sorted(m.text for m in await messages_of(db)) == ['a central', 'a rosario']


async def test_messages_are_ordered_by_their_timestamp_not_arrival(user: User, world: World, db: Database) -> None:
    later = build.text_message(from_=CUSTOMER, body='segundo', timestamp=NOW + 60)
    earlier = build.text_message(from_=CUSTOMER, body='primero', timestamp=NOW)

    await post_and_process(user, body_for(world, messages=[later]))
    await post_and_process(user, body_for(world, messages=[earlier]))

    assert [m.text for m in await messages_of(db)] == ['primero', 'segundo']
    async with db.session() as session:
        conversation = (await session.exec(select(Conversation))).one()
    assert conversation.last_message_preview == 'segundo'  # the late arrival did not become "last"


# --- statuses -------------------------------------------------------------------------------------------


async def outbound_message(db: Database, world: World, *, wa_message_id: str, status: MessageStatus) -> int:
    async with db.session() as session:
        contact = Contact(phone_e164='+5491133334444', wa_id=CUSTOMER)
        session.add(contact)
        await session.flush()
        conversation = Conversation(
            contact_id=contact.id or 0,
            number_id=world.central_number.id or 0,
            branch_id=world.central.id or 0,
            last_inbound_at=utcnow(),
        )
        session.add(conversation)
        await session.flush()
        message = Message(
            conversation_id=conversation.id or 0,
            direction=Direction.OUTBOUND,
            sender_kind=SenderKind.AGENT,
            text='Tenemos stock',
            wa_message_id=wa_message_id,
            status=status,
        )
        session.add(message)
        await session.commit()
        return message.id or 0


async def status_of(db: Database, message_id: int) -> Message:
    async with db.session() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


async def test_statuses_only_move_forward_even_out_of_order(user: User, world: World, db: Database) -> None:
    message_id = await outbound_message(db, world, wa_message_id='wamid.OUT1', status=MessageStatus.SENT)
    events = record_events()
    read = build.status(wa_message_id='wamid.OUT1', status='read', recipient_id=CUSTOMER, timestamp=NOW + 20)
    delivered = build.status(wa_message_id='wamid.OUT1', status='delivered', recipient_id=CUSTOMER, timestamp=NOW + 10)

    await post_and_process(user, body_for(world, statuses=[read]))
    await post_and_process(user, body_for(world, statuses=[delivered]))  # late: must not undo "read"

    assert (await status_of(db, message_id)).status == MessageStatus.READ
    assert [(e.kind, e.data['status']) for e in events] == [(MESSAGE_STATUS, 'read')]


async def test_statuses_in_one_post_are_applied_in_timestamp_order(user: User, world: World, db: Database) -> None:
    message_id = await outbound_message(db, world, wa_message_id='wamid.OUT2', status=MessageStatus.SENT)
    statuses = [
        build.status(wa_message_id='wamid.OUT2', status='read', recipient_id=CUSTOMER, timestamp=NOW + 2),
        build.status(wa_message_id='wamid.OUT2', status='delivered', recipient_id=CUSTOMER, timestamp=NOW),
    ]

    await post_and_process(user, body_for(world, statuses=statuses))

    assert (await status_of(db, message_id)).status == MessageStatus.READ


async def test_failed_status_keeps_code_title_and_details(user: User, world: World, db: Database) -> None:
    message_id = await outbound_message(db, world, wa_message_id='wamid.OUT3', status=MessageStatus.SENT)

    await post_and_process(
        user,
        body_for(world, statuses=[build.failed_status(wa_message_id='wamid.OUT3', recipient_id=CUSTOMER, code=131047)]),
    )

    message = await status_of(db, message_id)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, 131047)
    assert message.error_title and 'More than 24 hours' in message.error_details


async def test_status_for_a_message_we_never_sent_is_ignored(user: User, world: World, db: Database) -> None:
    await post_and_process(
        user,
        body_for(
            world,
            statuses=[build.status(wa_message_id='wamid.SOMEONE_ELSE', status='delivered', recipient_id=CUSTOMER)],
        ),
    )

    async with db.session() as session:
        delivery = (await session.exec(select(WebhookDelivery))).one()
    assert delivery.status == DeliveryStatus.PROCESSED and await count(db, Message) == 0


# --- routing and replay ---------------------------------------------------------------------------------


async def test_unknown_number_is_acknowledged_and_kept_as_a_dead_letter(user: User, world: World, db: Database) -> None:
    body = body_for(world, phone_number_id='999000999', messages=[build.text_message(from_=CUSTOMER, body='?')])

    await post_and_process(user, body)

    assert await count(db, Message) == 0
    async with db.session() as session:
        dead = (await session.exec(select(DeadLetter))).one()
    assert (dead.phone_number_id, dead.message_count) == ('999000999', 1)


async def test_dead_letter_is_stored_after_the_number_is_added_and_replayed(
    user: User, world: World, db: Database
) -> None:
    await post_and_process(
        user,
        body_for(
            world, phone_number_id='999000999', messages=[build.text_message(from_=CUSTOMER, body='¿hay alguien?')]
        ),
    )
    await branches.add_number(
        db, branch_code='SUC2', channel=ChannelKind.CLOUD, phone_number_id='999000999', display_phone='+5493415000299'
    )
    runtime().ingest.directory.forget()

    assert await requeue_for_replay(db, include_dead_letters=True) == 1
    await runtime().ingest.drain()

    (message,) = await messages_of(db)
    assert message.text == '¿hay alguien?'
    assert await count(db, DeadLetter, col(DeadLetter.resolved_at).is_(None)) == 0


async def test_a_failure_to_store_keeps_the_message_as_a_dead_letter_and_replay_stores_it(
    user: User, world: World, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_store = ingest_module._store_inbound
    failures = {'left': 3}  # the batch, the delivery alone, the message alone

    async def flaky_store(*args: Any, **kwargs: Any) -> None:
        if failures['left']:
            failures['left'] -= 1
            raise RuntimeError('unexpected value in the payload')
        await real_store(*args, **kwargs)

    monkeypatch.setattr(ingest_module, '_store_inbound', flaky_store)
    await post_and_process(user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')]))

    async with db.session() as session:
        delivery = (await session.exec(select(WebhookDelivery))).one()
        letter = (await session.exec(select(DeadLetter))).one()
    assert delivery.status == DeliveryStatus.FLAGGED and 'unexpected value' in delivery.error
    assert letter.kind == 'unstorable' and 'unexpected value' in letter.error
    assert await count(db, Message) == 0
    assert 'webhook delivery 1 failed' in caplog.text
    caplog.clear()  # the logged failure was the point

    await requeue_for_replay(db, include_dead_letters=True)
    await runtime().ingest.drain()

    assert [m.text for m in await messages_of(db)] == ['hola']


async def test_a_database_outage_during_processing_leaves_the_delivery_pending(
    user: User, world: World, db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_store = ingest_module._store_inbound
    failures = {'left': 2}

    async def flaky_store(*args: Any, **kwargs: Any) -> None:
        if failures['left']:
            failures['left'] -= 1
            raise ConnectionResetError('database connection lost')
        await real_store(*args, **kwargs)

    monkeypatch.setattr(ingest_module, '_store_inbound', flaky_store)
    assert (
        await post(user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')]))
    ).status_code == 200
    with pytest.raises(ConnectionResetError):
        await runtime().ingest.drain()  # the worker logs this round and tries again after a pause

    async with db.session() as session:
        delivery = (await session.exec(select(WebhookDelivery))).one()
    assert delivery.status == DeliveryStatus.PENDING  # not this delivery's fault: no manual replay needed
    await runtime().ingest.drain()
    assert [m.text for m in await messages_of(db)] == ['hola']
    caplog.clear()


async def test_a_message_naming_no_sender_is_skipped_and_the_others_are_stored(
    user: User, world: World, db: Database
) -> None:
    orphan = build.text_message(from_=None, body='¿de quién soy?')
    fine = build.text_message(from_=CUSTOMER, body='hola')

    await post_and_process(user, body_for(world, messages=[orphan, fine]))

    assert [m.text for m in await messages_of(db)] == ['hola']
    async with db.session() as session:
        delivery = (await session.exec(select(WebhookDelivery))).one()
    assert delivery.status == DeliveryStatus.FLAGGED


async def test_a_known_user_id_writing_from_a_new_number_is_stored(user: User, world: World, db: Database) -> None:
    first = build.envelope(
        phone_number_id=world.central_number.phone_number_id,
        display_phone_number='5491150000101',
        contacts=[build.contact(wa_id=CUSTOMER, user_id='AR.777', name='Martín')],
        messages=[build.text_message(from_=CUSTOMER, from_user_id='AR.777', body='uno')],
    )
    second = build.envelope(
        phone_number_id=world.central_number.phone_number_id,
        display_phone_number='5491150000101',
        contacts=[build.contact(wa_id='5491122223333', user_id='AR.777', name='Martín')],
        messages=[build.text_message(from_='5491122223333', from_user_id='AR.777', body='dos')],
    )

    await post_and_process(user, first)
    await post_and_process(user, second)

    assert sorted(m.text for m in await messages_of(db)) == ['dos', 'uno']
