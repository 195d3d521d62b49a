"""The fake WAHA posts signed webhooks to a real receiver on 127.0.0.1, and each parses into the event LeadMaster
expects; its control routes, its mounting inside an app, and its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI

from services.whatsapp.waha import (
    HMAC_ALGORITHM_HEADER,
    HMAC_HEADER,
    MessageKind,
    SessionStatus,
    WahaAck,
    WahaClient,
    WahaMessage,
    WahaSessionStatus,
    WahaUnknownEvent,
    parse_event,
    verify_hmac,
)
from services.whatsapp.waha import payload_builders as build
from services.whatsapp.waha.fake_server import FakeWaha, FakeWahaApi, FakeWahaError, MemoryBackend, WebhookTarget
from tests.conftest import REPO_ROOT
from tests.unit.services.whatsapp.waha.conftest import ReceivedPost, WebhookReceiver

CUSTOMER = '5491155550101'
CHAT = f'{CUSTOMER}@c.us'
KEY = 'hmac-k3y'


def verified(post: ReceivedPost, key: str = KEY) -> bool:
    return verify_hmac(
        post.raw,
        key=key,
        signature=post.headers.get(HMAC_HEADER.lower()),
        algorithm=post.headers.get(HMAC_ALGORITHM_HEADER.lower()),
    )


def statuses(receiver: WebhookReceiver) -> list[str]:
    return [p.body['payload']['status'] for p in receiver.posts if p.event == 'session.status']


@pytest.fixture
def working(fake: FakeWahaApi, receiver: WebhookReceiver) -> FakeWahaApi:
    """Session `default`, paired and WORKING, posting every event to the receiver, signed with KEY."""
    fake.add_session(webhook=WebhookTarget(receiver.url, KEY, ('*',)))
    receiver.wait_for_events('session.status', 'session.status')  # STARTING, WORKING
    receiver.clear()
    return fake


def inbound(receiver: WebhookReceiver, message_id: str, event: str = 'message') -> WahaMessage:
    post = receiver.wait_for(
        lambda posts: any(p.event == event and p.body['payload']['id'] == message_id for p in posts)
    )
    match = next(p for p in post if p.event == event and p.body['payload']['id'] == message_id)
    assert verified(match)
    parsed = parse_event(match.body)
    assert isinstance(parsed, WahaMessage)
    return parsed


# --- sessions ---------------------------------------------------------------------------------------------


async def test_session_created_by_the_client_posts_signed_status_changes(
    fake: FakeWahaApi, client: WahaClient, receiver: WebhookReceiver
) -> None:
    await client.create_session('ventas', webhook_url=receiver.url, webhook_hmac_key=KEY)
    posts = receiver.wait_for_events('session.status', 'session.status')

    assert [p.body['payload']['status'] for p in posts] == ['STARTING', 'SCAN_QR_CODE']
    assert all(verified(p) for p in posts)
    assert all(p.headers['x-webhook-hmac-algorithm'] == 'sha512' for p in posts)
    assert all(p.headers['x-webhook-request-id'] and p.headers['x-webhook-timestamp'].isdigit() for p in posts)
    assert not verified(posts[0], key='another-key')

    fake.scan('ventas', phone='5491122223333')
    (post,) = receiver.wait_for_events('session.status', 'session.status', 'session.status')[2:]
    event = parse_event(post.body)
    assert isinstance(event, WahaSessionStatus)
    assert (event.session, event.status, event.me_id) == ('ventas', 'WORKING', '5491122223333@c.us')
    assert [s['status'] for s in post.body['payload']['statuses']] == ['STARTING', 'SCAN_QR_CODE', 'WORKING']

    with pytest.raises(FakeWahaError, match='no QR'):
        fake.scan('ventas')


async def test_qr_rotation_fail_and_any_status_are_posted(working: FakeWahaApi, receiver: WebhookReceiver) -> None:
    working.fail('default')
    working.set_status('default', 'PASSKEY_REQUIRED')
    working.set_status('default', 'BRAND_NEW_STATUS')
    posts = receiver.wait_for_events('session.status', 'session.status', 'session.status')

    parsed = [parse_event(p.body) for p in posts]
    assert [e.status for e in parsed if isinstance(e, WahaSessionStatus)] == [
        'FAILED',
        'PASSKEY_REQUIRED',
        'BRAND_NEW_STATUS',
    ]
    passkey = parsed[1]
    assert isinstance(passkey, WahaSessionStatus)
    assert passkey.data is not None
    assert passkey.data['rpId'] == 'web.whatsapp.com'


async def test_logout_then_qr_rotation(working: FakeWahaApi, client: WahaClient, receiver: WebhookReceiver) -> None:
    await client.logout_session('default')
    receiver.wait_for(lambda posts: statuses(receiver)[-1:] == ['SCAN_QR_CODE'])
    first = await client.get_qr_value('default')

    working.rotate_qr('default')
    receiver.wait_for(lambda posts: statuses(receiver).count('SCAN_QR_CODE') == 2)

    assert statuses(receiver) == ['STOPPED', 'STARTING', 'SCAN_QR_CODE', 'SCAN_QR_CODE']
    assert await client.get_qr_value('default') != first


async def test_webhooks_only_get_the_events_they_asked_for(fake: FakeWahaApi, receiver: WebhookReceiver) -> None:
    fake.add_session(webhook=WebhookTarget(receiver.url, None, ('message',)))
    message_id = fake.customer_text('default', phone=CUSTOMER, text='hola')

    receiver.wait_for(lambda posts: len(posts) >= 1)
    await fake.wait_for_webhooks(1)

    assert [(p.event, p.body['payload']['id']) for p in receiver.posts] == [('message', message_id)]
    assert HMAC_HEADER.lower() not in receiver.posts[0].headers  # no key, no signature


# --- sends ------------------------------------------------------------------------------------------------


async def test_a_send_is_echoed_then_acked_sent_then_delivered(
    working: FakeWahaApi, client: WahaClient, receiver: WebhookReceiver
) -> None:
    message_id = await client.send_text('default', chat_id=CHAT, text='Sale $ 12.500')

    posts = receiver.wait_for_events('message.any', 'message.ack', 'message.ack')

    echo = parse_event(posts[0].body)
    assert isinstance(echo, WahaMessage)
    assert (echo.message_id, echo.from_me, echo.source, echo.chat_id, echo.body) == (
        message_id,
        True,
        'api',
        CHAT,
        'Sale $ 12.500',
    )
    acks = [parse_event(p.body) for p in posts[1:]]
    assert all(isinstance(a, WahaAck) and a.message_id == message_id for a in acks)
    assert [a.status for a in acks if isinstance(a, WahaAck)] == ['sent', 'delivered']
    assert all(verified(p) for p in posts)

    working.ack('default', message_id, 3)
    working.ack('default', message_id, -1)
    later = receiver.wait_for_events('message.ack', 'message.ack', 'message.ack', 'message.ack')[2:]
    assert [a.status for a in map(parse_event, (p.body for p in later)) if isinstance(a, WahaAck)] == [
        'read',
        'failed',
    ]


# --- what customers send ----------------------------------------------------------------------------------


async def test_customer_text_comes_as_message_and_message_any(working: FakeWahaApi, receiver: WebhookReceiver) -> None:
    message_id = working.customer_text('default', phone=CUSTOMER, text='Tienen pastillas de freno?', push_name='Ana')

    message = inbound(receiver, message_id)
    also = inbound(receiver, message_id, 'message.any')

    # The same message twice (each event with its own envelope id): ingest dedupes by message_id.
    assert replace(also, event='message', event_id=message.event_id) == message
    assert also.event_id != message.event_id
    assert (message.kind, message.body, message.phone, message.push_name) == (
        MessageKind.TEXT,
        'Tienen pastillas de freno?',
        CUSTOMER,
        'Ana',
    )
    assert not message.from_me
    assert message.sender == CHAT
    post = next(p for p in receiver.posts if p.event == 'message')
    assert post.body['me'] == {'id': '5491100000000@c.us', 'pushName': 'Repuestos LeadMaster'}
    assert post.body['engine'] == 'WEBJS'
    assert post.body['id'].startswith('evt_')


async def test_customer_reply_points_at_our_message(working: FakeWahaApi, receiver: WebhookReceiver) -> None:
    ours = f'true_{CHAT}_3EB0C0FFEE'
    message_id = working.customer_text('default', phone=CUSTOMER, text='Ese sí', reply_to=ours, reply_to_body='Este?')

    message = inbound(receiver, message_id)

    assert (message.reply_to_id, message.reply_to_body) == (ours, 'Este?')


@pytest.mark.parametrize(
    'case',
    [
        ('image', MessageKind.IMAGE, 'image/jpeg'),
        ('document', MessageKind.DOCUMENT, 'application/pdf'),
        ('voice', MessageKind.VOICE, 'audio/ogg; codecs=opus'),
        ('video', MessageKind.VIDEO, 'video/mp4'),
        ('sticker', MessageKind.STICKER, 'image/webp'),
    ],
)
async def test_customer_media_can_be_downloaded(
    working: FakeWahaApi, client: WahaClient, receiver: WebhookReceiver, case: tuple[str, MessageKind, str]
) -> None:
    kind, expected, mimetype = case
    message_id = working.customer_media('default', phone=CUSTOMER, kind=kind, caption='mirá')

    message = inbound(receiver, message_id)

    assert (message.kind, message.has_media, message.media_mimetype, message.body) == (expected, True, mimetype, 'mirá')
    assert message.media_filename == ('presupuesto.pdf' if kind == 'document' else None)
    assert message.media_url is not None
    content, content_type = await client.download_media(message.media_url, max_bytes=5_000_000)
    assert content == working.media(message.media_url).content
    assert content_type == mimetype.split(';', maxsplit=1)[0]


async def test_media_waha_did_not_download(working: FakeWahaApi, receiver: WebhookReceiver) -> None:
    message_id = working.customer_media('default', phone=CUSTOMER, kind='video', downloaded=False)

    message = inbound(receiver, message_id)

    assert message.has_media
    assert message.media_url is None
    assert message.kind is MessageKind.VIDEO  # WEBJS still says what it was


async def test_customer_location_and_contacts(working: FakeWahaApi, receiver: WebhookReceiver) -> None:
    where = working.customer_location(
        'default', phone=CUSTOMER, latitude=-34.6037, longitude=-58.3816, description='Acá'
    )
    card = build.vcard('Taller Gómez', '5491144440000')
    who = working.customer_contacts('default', phone=CUSTOMER, vcards=[card])

    location = inbound(receiver, where)
    contacts = inbound(receiver, who)

    assert (location.kind, location.latitude, location.longitude, location.location_name) == (
        MessageKind.LOCATION,
        -34.6037,
        -58.3816,
        'Acá',
    )
    assert (contacts.kind, contacts.vcards) == (MessageKind.CONTACTS, (card,))


async def test_group_lid_and_phone_typed_messages(working: FakeWahaApi, receiver: WebhookReceiver) -> None:
    in_group = working.group_message('default', group_id='120363000000000001', participant_phone=CUSTOMER, text='hola')
    hidden = working.lid_message('default', lid='98765432109876', text='soy yo')
    typed = working.phone_typed('default', phone=CUSTOMER, text='te llamo')

    group = inbound(receiver, in_group)
    lid = inbound(receiver, hidden)
    mine = inbound(receiver, typed, 'message.any')

    assert (group.is_group, group.chat_id, group.sender) == (True, '120363000000000001@g.us', CHAT)
    assert (lid.sender_is_lid, lid.phone, lid.chat_id) == (True, None, '98765432109876@lid')
    assert (mine.from_me, mine.source, mine.chat_id, mine.sender) == (True, 'app', CHAT, '5491100000000@c.us')
    assert not any(p.event == 'message' and p.body['payload']['id'] == typed for p in receiver.posts)


async def test_other_events_reach_the_receiver_as_unknown(working: FakeWahaApi, receiver: WebhookReceiver) -> None:
    working.emit(
        'default', 'message.reaction', build.reaction(chat_id=CHAT, message_id=f'true_{CHAT}_3EB0AA', emoji='👍')
    )
    working.emit('default', 'presence.update', build.presence_update(chat_id=CHAT))
    working.emit('default', 'call.received', {'id': 'ABC', 'from': CHAT, 'timestamp': 1721374000, 'isVideo': False})
    posts = receiver.wait_for_events('message.reaction', 'presence.update', 'call.received')

    parsed = [parse_event(p.body) for p in posts]

    assert all(isinstance(e, WahaUnknownEvent) for e in parsed)
    assert [e.event for e in parsed if isinstance(e, WahaUnknownEvent)] == [
        'message.reaction',
        'presence.update',
        'call.received',
    ]


async def test_no_messages_arrive_while_not_working(working: FakeWahaApi) -> None:
    working.fail('default')

    with pytest.raises(FakeWahaError, match='FAILED'):
        working.customer_text('default', phone=CUSTOMER, text='hola')


# --- the control routes, mounting and its own process ------------------------------------------------------


async def test_control_routes_drive_the_fake_over_http(fake: FakeWahaApi, receiver: WebhookReceiver) -> None:
    headers = {'X-Api-Key': fake.api_key or ''}
    async with httpx.AsyncClient(base_url=f'{fake.base_url}/_fake', headers=headers) as control:
        created = await control.post('/sessions/bench/create', json={'webhook': receiver.url, 'hmacKey': KEY})
        assert created.json()['status'] == 'WORKING'
        answer = await control.post('/sessions/bench/inbound', json={'type': 'text', 'phone': CUSTOMER, 'text': 'hola'})
        message = inbound(receiver, answer.json()['id'])
        assert message.body == 'hola'
        assert (await control.post('/script-send', json={'items': [500]})).json() == {'queued': 1}
        assert (await control.post('/sessions/bench/status', json={'status': 'FAILED'})).json()['status'] == 'FAILED'
        refused = await control.post('/sessions/bench/scan')
        assert refused.status_code == 409
        assert (await control.post('/numbers/5491100002222', json={'exists': False})).json() == {'exists': False}
        anonymous = await httpx.AsyncClient().post(f'{fake.base_url}/_fake/sessions/bench/fail')
        assert anonymous.status_code == 401


async def test_mounted_inside_an_app(receiver: WebhookReceiver) -> None:
    fake = FakeWaha(MemoryBackend(), api_key='demo', public_url='http://test/fake-waha')
    app = FastAPI()
    app.mount('/fake-waha', fake)
    transport = httpx.ASGITransport(app=app)
    try:
        async with WahaClient(base_url='http://test/fake-waha', api_key='demo', transport=transport) as client:
            await client.create_session('default', webhook_url=receiver.url, webhook_hmac_key=KEY)
            assert (await client.get_session('default')).status == SessionStatus.SCAN_QR_CODE
            assert (await client.get_qr_png('default')).startswith(b'\x89PNG')
            fake.scan('default')
            message_id = fake.customer_media('default', phone=CUSTOMER, kind='image')
            # The fake posts from this test's own loop here: await it, never block the loop.
            await fake.wait_for_webhooks(1, event='message')
            message = inbound(receiver, message_id)
            assert message.media_url is not None
            assert message.media_url.startswith('http://test/fake-waha/api/files/default/')
            content, _ = await client.download_media(message.media_url, max_bytes=1_000_000)
            assert content.startswith(b'\xff\xd8')  # a JPEG
    finally:
        await fake.aclose()


@pytest.fixture
def fake_process(receiver: WebhookReceiver) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        '-m',
        'services.whatsapp.waha.fake_server',
        '--port',
        str(port),
        '--webhook',
        receiver.url,
        '--hmac-key',
        KEY,
        '--session',
        'default',
    ]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, 'PYTHONPATH': str(REPO_ROOT)})
    base_url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f'{base_url}/api/server/version', headers={'X-Api-Key': 'fake-waha-key'})
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('the fake WAHA process did not start') from None
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_runs_as_its_own_process(fake_process: str, receiver: WebhookReceiver) -> None:
    async with WahaClient(base_url=fake_process, api_key='fake-waha-key') as client:
        assert (await client.get_session('default')).status == SessionStatus.WORKING
        message_id = await client.send_text('default', chat_id=CHAT, text='hola')

    acks = receiver.wait_for_events('message.ack', 'message.ack')
    assert all(verified(p) for p in acks)
    assert [p.body['payload']['id'] for p in acks] == [message_id, message_id]


async def test_a_slow_start_stays_starting_until_whatsapp_answers(receiver: WebhookReceiver) -> None:
    with FakeWahaApi(start_delay=0.3) as slow:
        async with WahaClient(base_url=slow.base_url, api_key=slow.api_key) as client:
            await client.create_session('default', webhook_url=receiver.url, webhook_hmac_key=None)
            assert (await client.get_session('default')).status == SessionStatus.STARTING
            receiver.wait_for(lambda posts: statuses(receiver) == ['STARTING', 'SCAN_QR_CODE'])
            assert (await client.get_session('default')).status == SessionStatus.SCAN_QR_CODE

            await client.stop_session('default')
            await client.start_session('default')
            await client.stop_session('default')  # stopped while STARTING: its boot step adds nothing
            await client.start_session('default')  # only this start's boot step moves it on
            receiver.wait_for(lambda posts: statuses(receiver)[-1:] == ['SCAN_QR_CODE'] and len(statuses(receiver)) > 2)

            assert statuses(receiver) == [
                'STARTING',
                'SCAN_QR_CODE',
                'STOPPED',
                'STARTING',
                'STOPPED',
                'STARTING',
                'SCAN_QR_CODE',
            ]
