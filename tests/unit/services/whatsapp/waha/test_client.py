"""WahaClient against the fake WAHA over real HTTP: every method, WAHA's answers per engine, and its errors."""

from __future__ import annotations

import base64
import io
import socket

import httpx
import pytest
import zxingcpp
from PIL import Image

from services.whatsapp.waha import (
    WEBHOOK_EVENTS,
    MediaTooLarge,
    SessionStatus,
    WahaClient,
    WahaError,
    WahaSessionNotReady,
    WahaUnreachable,
    message_id_of,
    parse_message_id,
)
from services.whatsapp.waha.fake_server import FakeWahaApi, Reply, WebhookTarget
from services.whatsapp.waha.fake_server.media import sample_image
from tests.unit.services.whatsapp.waha.conftest import WebhookReceiver

CUSTOMER = '5491155550101'
CHAT = f'{CUSTOMER}@c.us'


# --- sessions and pairing ---------------------------------------------------------------------------------


async def test_create_session_asks_for_our_webhook_events_signed(fake: FakeWahaApi, client: WahaClient) -> None:
    created = await client.create_session(
        'ventas', webhook_url='http://lm.local/webhooks/waha', webhook_hmac_key='s3cret', metadata={'branch': '2'}
    )

    assert created.name == 'ventas'
    assert created.status == SessionStatus.STARTING
    sent = next(r.json for r in fake.requests if r.method == 'POST' and r.path == '/api/sessions')
    assert sent == {
        'name': 'ventas',
        'start': True,
        'config': {
            'webhooks': [
                {
                    'url': 'http://lm.local/webhooks/waha',
                    'events': ['message', 'message.any', 'message.ack', 'session.status'],
                    'hmac': {'key': 's3cret'},
                }
            ],
            'metadata': {'branch': '2'},
        },
    }
    assert tuple(sent['config']['webhooks'][0]['events']) == WEBHOOK_EVENTS


async def test_create_session_twice_is_waha_422(client: WahaClient) -> None:
    await client.create_session('ventas', webhook_url=None, webhook_hmac_key=None, start=False)

    with pytest.raises(WahaError) as caught:
        await client.create_session('ventas', webhook_url=None, webhook_hmac_key=None)

    assert caught.value.status_code == 422
    assert 'already exists' in str(caught.value)
    assert not caught.value.retryable


async def test_pairing_lifecycle(fake: FakeWahaApi, client: WahaClient) -> None:
    await client.create_session('ventas', webhook_url=None, webhook_hmac_key=None)

    waiting = await client.get_session('ventas')
    assert waiting.status == SessionStatus.SCAN_QR_CODE
    assert waiting.me is None
    assert await client.me('ventas') is None

    png = await client.get_qr_png('ventas')
    assert png.startswith(b'\x89PNG\r\n\x1a\n')
    value = await client.get_qr_value('ventas')
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [code.text for code in decoded] == [value]  # the PNG is a real QR of the raw value

    fake.scan('ventas', phone='5491122223333', push_name='Repuestos Norte')
    working = await client.get_session('ventas')
    assert working.status == SessionStatus.WORKING
    assert working.me is not None
    assert working.me.id == '5491122223333@c.us'
    assert working.me.phone == '5491122223333'
    assert working.me.push_name == 'Repuestos Norte'
    assert working.engine == 'WEBJS'
    assert await client.me('ventas') == working.me

    stopped = await client.stop_session('ventas')
    assert stopped.status == SessionStatus.STOPPED
    assert await client.me('ventas') is None
    assert [s.name for s in await client.list_sessions(all=False)] == []
    assert [s.status for s in await client.list_sessions()] == [SessionStatus.STOPPED]

    restarted = await client.start_session('ventas')
    assert restarted.status == SessionStatus.WORKING  # still paired: no new QR
    again = await client.restart_session('ventas')
    assert again.status == SessionStatus.WORKING

    logged_out = await client.logout_session('ventas')
    assert logged_out.status == SessionStatus.SCAN_QR_CODE  # running: starts over and asks for a QR
    assert await client.get_qr_value('ventas') != value

    await client.delete_session('ventas')
    with pytest.raises(WahaError) as caught:
        await client.get_session('ventas')
    assert caught.value.status_code == 404
    assert "didn't find a session" in str(caught.value)


async def test_update_session_replaces_the_webhook(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session('ventas')

    updated = await client.update_session('ventas', webhook_url='http://lm.local/hook', webhook_hmac_key=None)

    assert updated.status == SessionStatus.WORKING
    assert updated.config == {'webhooks': [{'url': 'http://lm.local/hook', 'events': list(WEBHOOK_EVENTS)}]}


async def test_qr_outside_scan_qr_code_is_session_not_ready(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session('ventas')  # paired: WORKING

    with pytest.raises(WahaSessionNotReady) as caught:
        await client.get_qr_png('ventas')

    assert caught.value.status_code == 422
    assert caught.value.session_status == 'WORKING'
    assert caught.value.expected == ['SCAN_QR_CODE']
    assert caught.value.retryable
    with pytest.raises(WahaSessionNotReady):
        await client.get_qr_value('ventas')


async def test_qr_png_from_waha_base64_answer(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session('ventas', paired_phone=None)
    async with httpx.AsyncClient() as plain:
        answer = await plain.get(
            f'{fake.base_url}/api/ventas/auth/qr',
            headers={'X-Api-Key': fake.api_key or '', 'Accept': 'application/json'},
        )
    raw = answer.json()
    assert raw['mimetype'] == 'image/png'

    assert await client.get_qr_png('ventas') == base64.b64decode(raw['data'])


@pytest.mark.parametrize('status', ['PASSKEY_REQUIRED', 'PASSKEY_CONFIRMATION_REQUIRED', 'SOMETHING_WAHA_ADDS'])
async def test_new_and_unknown_statuses_are_kept_raw(fake: FakeWahaApi, client: WahaClient, status: str) -> None:
    fake.add_session('ventas', paired_phone=None)
    fake.set_status('ventas', status)

    session = await client.get_session('ventas')

    assert session.status == status
    assert session.is_known_status is (status != 'SOMETHING_WAHA_ADDS')
    assert [s.status for s in await client.list_sessions()] == [status]


# --- sends ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize('engine', ['WEBJS', 'NOWEB', 'GOWS'])
async def test_send_text_returns_the_id_its_acks_carry(fake: FakeWahaApi, client: WahaClient, engine: str) -> None:
    fake.engine = engine
    fake.add_session('ventas')

    message_id = await client.send_text('ventas', chat_id=CHAT, text='Tenemos el filtro', reply_to='false_x@c.us_AB')

    parsed = parse_message_id(message_id)
    assert parsed is not None
    assert (parsed.from_me, parsed.chat_id) == (True, CHAT)
    assert [s.message_id for s in fake.sends] == [message_id]
    assert fake.sends[0].payload == {
        'session': 'ventas',
        'chatId': CHAT,
        'text': 'Tenemos el filtro',
        'reply_to': 'false_x@c.us_AB',
    }


async def test_send_image_and_file_carry_the_bytes(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session()
    picture = sample_image()

    image_id = await client.send_image(
        'default', chat_id=CHAT, content=picture, mime_type='image/jpeg', filename='filtro.jpg', caption='Este?'
    )
    file_id = await client.send_file(
        'default', chat_id=CHAT, content=b'%PDF-1.4 quote', mime_type='application/pdf', filename='presupuesto.pdf'
    )

    image, document = fake.sends
    assert (image.endpoint, image.message_id, image.content, image.text) == ('sendImage', image_id, picture, 'Este?')
    assert image.payload['file']['filename'] == 'filtro.jpg'
    assert (document.endpoint, document.message_id, document.content) == ('sendFile', file_id, b'%PDF-1.4 quote')
    assert document.payload['file']['mimetype'] == 'application/pdf'
    assert 'caption' not in document.payload


async def test_send_while_not_working_is_session_not_ready(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session('ventas', paired_phone=None)  # SCAN_QR_CODE

    with pytest.raises(WahaSessionNotReady) as caught:
        await client.send_text('ventas', chat_id=CHAT, text='hola')

    assert caught.value.session_status == 'SCAN_QR_CODE'
    assert caught.value.expected == ['WORKING']
    assert 'Session status is not as expected' in str(caught.value)
    assert fake.sends == []


async def test_send_seen_and_check_exists(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session()
    fake.set_number_exists('5491100001111', False)

    await client.send_seen('default', chat_id=CHAT, message_ids=[f'false_{CHAT}_3EB0AA', f'false_{CHAT}_3EB0BB'])

    assert [(r.chat_id, r.message_ids) for r in fake.seen] == [(CHAT, (f'false_{CHAT}_3EB0AA', f'false_{CHAT}_3EB0BB'))]
    assert await client.check_exists('default', phone='+54 9 11 5555-0101') == (True, CHAT)
    assert await client.check_exists('default', phone='5491100001111') == (False, None)


async def test_validation_error_is_not_retryable_and_carries_waha_text(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session()

    with pytest.raises(WahaError) as caught:
        await client.send_text('default', chat_id=CHAT, text='')

    assert caught.value.status_code == 400
    assert not caught.value.retryable
    assert caught.value.waha_message == 'text should not be empty'


@pytest.mark.parametrize(
    ('script', 'status', 'retryable'),
    [(500, 500, True), (503, 503, True), (502, 502, True), (429, 429, True), (404, 404, False)],
)
async def test_scripted_failures_are_classified(
    fake: FakeWahaApi, client: WahaClient, script: int, status: int, retryable: bool
) -> None:
    fake.add_session()
    fake.script_send([script])

    with pytest.raises(WahaError) as caught:
        await client.send_text('default', chat_id=CHAT, text='hola')

    assert caught.value.status_code == status
    assert caught.value.retryable is retryable
    assert not isinstance(caught.value, WahaUnreachable)
    # The next send succeeds: the script was used up.
    assert await client.send_text('default', chat_id=CHAT, text='hola')


async def test_engine_500_message_is_in_the_error(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session()
    fake.script_send([Reply(status=500, message='Evaluation failed: chat not found')])

    with pytest.raises(WahaError, match='Evaluation failed: chat not found'):
        await client.send_text('default', chat_id=CHAT, text='hola')


async def test_a_send_that_times_out_is_retryable_and_not_retried(fake: FakeWahaApi) -> None:
    fake.add_session()
    fake.script_send([30.0])  # answers only after the client gave up
    async with WahaClient(base_url=fake.base_url, api_key=fake.api_key, timeout=0.5) as client:
        with pytest.raises(WahaError) as caught:
            await client.send_text('default', chat_id=CHAT, text='hola')

    assert caught.value.retryable
    assert caught.value.status_code is None
    assert 'timed out' in str(caught.value)
    assert len([r for r in fake.requests if r.path == '/api/sendText']) == 1  # the client itself never retries


async def test_a_2xx_without_message_id_says_it_was_accepted(fake: FakeWahaApi, client: WahaClient) -> None:
    fake.add_session()
    fake.script_send([Reply(status=201, body={})])

    with pytest.raises(WahaError) as caught:
        await client.send_text('default', chat_id=CHAT, text='hola')

    assert caught.value.accepted
    assert not caught.value.retryable


def test_message_id_of_every_engine_shape() -> None:
    webjs = {'id': {'fromMe': True, 'remote': CHAT, 'id': '3EB0AA', '_serialized': f'true_{CHAT}_3EB0AA'}}
    webjs_data_only = {'_data': {'id': {'_serialized': f'true_{CHAT}_3EB0AA'}}}
    noweb = {'key': {'remoteJid': f'{CUSTOMER}@s.whatsapp.net', 'fromMe': True, 'id': '3EB0AA'}}
    wamessage = {'id': f'true_{CHAT}_3EB0AA', 'fromMe': True}

    assert {message_id_of(a) for a in (webjs, webjs_data_only, noweb, wamessage)} == {f'true_{CHAT}_3EB0AA'}
    assert message_id_of(None) is None
    assert message_id_of({'status': 'ok'}) is None


# --- keys and reachability --------------------------------------------------------------------------------


@pytest.mark.parametrize('api_key', ['wrong-key', None])
async def test_bad_or_missing_key_is_a_401_not_retryable(fake: FakeWahaApi, api_key: str | None) -> None:
    async with WahaClient(base_url=fake.base_url, api_key=api_key) as client:
        with pytest.raises(WahaError) as caught:
            await client.list_sessions()

    assert caught.value.status_code == 401
    assert caught.value.bad_api_key
    assert not caught.value.retryable
    assert caught.value.waha_message == 'Unauthorized'
    assert 'API key' in str(caught.value)


async def test_unreachable_gateway() -> None:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        async with WahaClient(base_url=f'http://127.0.0.1:{port}', api_key='k') as client:
            with pytest.raises(WahaUnreachable) as caught:
                await client.get_session('default')

    assert caught.value.retryable
    assert caught.value.status_code is None
    assert 'unreachable' in str(caught.value)


# --- media ------------------------------------------------------------------------------------------------


def media_url(fake: FakeWahaApi, message_id: str) -> str:
    payload = next(p.body['payload'] for p in fake.webhooks_posted if p.body['payload'].get('id') == message_id)
    return str(payload['media']['url'])


@pytest.fixture
def fake_with_hook(fake: FakeWahaApi, receiver: WebhookReceiver) -> FakeWahaApi:
    fake.default_webhook = WebhookTarget(receiver.url)
    fake.add_session()
    return fake


async def test_download_media_with_the_key(fake_with_hook: FakeWahaApi, client: WahaClient) -> None:
    message_id = fake_with_hook.customer_media('default', phone=CUSTOMER, kind='image')
    await fake_with_hook.wait_for_webhooks(1, event='message')
    url = media_url(fake_with_hook, message_id)

    content, content_type = await client.download_media(url, max_bytes=1_000_000)

    assert content == fake_with_hook.media(url).content
    assert content_type == 'image/jpeg'
    async with WahaClient(base_url=fake_with_hook.base_url, api_key='wrong') as stranger:
        with pytest.raises(WahaError) as caught:
            await stranger.download_media(url, max_bytes=1_000_000)
    assert caught.value.status_code == 401


@pytest.mark.parametrize('declare_length', [True, False])
async def test_download_media_refuses_over_the_limit_without_reading_it_all(
    fake_with_hook: FakeWahaApi, client: WahaClient, declare_length: bool
) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    message_id = fake_with_hook.customer_media(
        'default',
        phone=CUSTOMER,
        kind='document',
        content=big,
        chunk_size=16 * 1024,
        chunk_delay=0.02,
        declare_length=declare_length,
    )
    await fake_with_hook.wait_for_webhooks(1, event='message')
    url = media_url(fake_with_hook, message_id)

    with pytest.raises(MediaTooLarge) as caught:
        await client.download_media(url, max_bytes=64 * 1024)

    assert caught.value.max_bytes == 64 * 1024
    assert caught.value.size == (len(big) if declare_length else None)
    assert not caught.value.retryable
    assert fake_with_hook.media(url).bytes_served < len(big)


async def test_media_urls_on_another_origin(fake_with_hook: FakeWahaApi, client: WahaClient) -> None:
    message_id = fake_with_hook.customer_media('default', phone=CUSTOMER, kind='voice')
    await fake_with_hook.wait_for_webhooks(1, event='message')
    url = media_url(fake_with_hook, message_id)
    # WAHA_BASE_URL set to an address LeadMaster does not use: the file is fetched from our base_url.
    elsewhere = url.replace(fake_with_hook.origin, 'http://waha.internal:3000')

    content, content_type = await client.download_media(elsewhere, max_bytes=1_000_000)

    assert content == fake_with_hook.media(url).content
    assert content_type == 'audio/ogg'
    with pytest.raises(WahaError, match='not on the WAHA gateway'):
        await client.download_media('http://evil.example/steal', max_bytes=1_000_000)
    missing = url.rsplit('/', 1)[0] + '/nothing.jpeg'
    with pytest.raises(WahaError) as caught:
        await client.download_media(missing, max_bytes=1_000_000)
    assert caught.value.status_code == 404
    assert caught.value.waha_message == 'File not found'
