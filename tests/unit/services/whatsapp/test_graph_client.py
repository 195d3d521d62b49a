"""GraphClient against the fake Graph API over real HTTP: request shapes, media, and error classification."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from services.whatsapp.fake_graph import FakeGraphApi, Reply
from services.whatsapp.graph_client import (
    GraphClient,
    GraphError,
    MediaTooLarge,
    classify_error,
    parse_retry_after,
)

PHONE_ID = '106540352242922'
CUSTOMER = '5491155550101'
INBOUND_WAMID = 'wamid.HBgNNTQ5MTE1NTU1MDEwMRUCABIYFjNFQjBDMEQ0'


@pytest.fixture(scope='module')
def shared_fake() -> Iterator[FakeGraphApi]:
    # One server for the module keeps the file fast; `fake` resets it between tests.
    with FakeGraphApi() as server:
        yield server


@pytest.fixture
def fake(shared_fake: FakeGraphApi) -> FakeGraphApi:
    shared_fake.reset()
    return shared_fake


@pytest.fixture
async def client(fake: FakeGraphApi) -> AsyncIterator[GraphClient]:
    async with GraphClient(base_url=fake.base_url, token=fake.token, timeout=5) as graph:
        yield graph


async def _send_error(client: GraphClient) -> GraphError:
    with pytest.raises(GraphError) as caught:
        await client.send_text(PHONE_ID, to=CUSTOMER, body='¿Tenés pastillas de freno para el Gol Trend?')
    return caught.value


# --- sends ---


async def test_send_text_returns_the_wamid_and_posts_the_exact_cloud_api_json(
    fake: FakeGraphApi,
    client: GraphClient,
) -> None:
    wamid = await client.send_text(
        PHONE_ID, to='+' + CUSTOMER, body='Hola Ana, sí: tenemos stock.', callback_data='outbox-41'
    )

    assert wamid.startswith('wamid.')
    [request] = fake.requests
    assert (request.method, request.path, request.status) == ('POST', f'/v23.0/{PHONE_ID}/messages', 200)
    assert request.headers['authorization'] == f'Bearer {fake.token}'
    assert request.headers['content-type'] == 'application/json'
    assert request.json == {
        'messaging_product': 'whatsapp',
        'recipient_type': 'individual',
        'to': CUSTOMER,
        'type': 'text',
        'text': {'preview_url': False, 'body': 'Hola Ana, sí: tenemos stock.'},
        'biz_opaque_callback_data': 'outbox-41',
    }


async def test_a_reply_quotes_the_customer_message_and_can_preview_links(
    fake: FakeGraphApi,
    client: GraphClient,
) -> None:
    await client.send_text(
        PHONE_ID, to=CUSTOMER, body='Mirá: https://example.com/p/1', reply_to=INBOUND_WAMID, preview_url=True
    )

    [sent] = fake.sent_messages
    assert sent['context'] == {'message_id': INBOUND_WAMID}
    assert sent['text'] == {'preview_url': True, 'body': 'Mirá: https://example.com/p/1'}
    assert 'biz_opaque_callback_data' not in sent


async def test_text_over_4096_characters_is_refused_before_any_http(fake: FakeGraphApi, client: GraphClient) -> None:
    with pytest.raises(ValueError, match='4096'):
        await client.send_text(PHONE_ID, to=CUSTOMER, body='x' * 4097)
    assert fake.requests == []

    assert (await client.send_text(PHONE_ID, to=CUSTOMER, body='ñ' * 4096)).startswith('wamid.')


async def test_template_payload_has_language_and_body_parameters(fake: FakeGraphApi, client: GraphClient) -> None:
    wamid = await client.send_template(
        PHONE_ID,
        to=CUSTOMER,
        name='presupuesto_listo',
        language='es_AR',
        body_parameters=['Ana', 'P-1042'],
        callback_data='outbox-7',
    )
    await client.send_template(PHONE_ID, to=CUSTOMER, name='hola', language='es', body_parameters=[])

    assert wamid.startswith('wamid.')
    with_parameters, without_parameters = fake.sent_messages
    assert with_parameters == {
        'messaging_product': 'whatsapp',
        'recipient_type': 'individual',
        'to': CUSTOMER,
        'type': 'template',
        'template': {
            'name': 'presupuesto_listo',
            'language': {'code': 'es_AR'},
            'components': [
                {'type': 'body', 'parameters': [{'type': 'text', 'text': 'Ana'}, {'type': 'text', 'text': 'P-1042'}]}
            ],
        },
        'biz_opaque_callback_data': 'outbox-7',
    }
    assert without_parameters['template'] == {'name': 'hola', 'language': {'code': 'es'}}


@pytest.mark.parametrize(
    ('kind', 'options', 'expected'),
    [
        ('image', {'caption': 'Pastillas Ferodo'}, {'id': 'M1', 'caption': 'Pastillas Ferodo'}),
        (
            'document',
            {'caption': 'Tu presupuesto', 'filename': 'P-1042.pdf'},
            {'id': 'M1', 'caption': 'Tu presupuesto', 'filename': 'P-1042.pdf'},
        ),
        ('video', {}, {'id': 'M1'}),
        ('audio', {}, {'id': 'M1'}),
        ('sticker', {}, {'id': 'M1'}),
    ],
)
async def test_media_send_shapes(
    fake: FakeGraphApi, client: GraphClient, kind: str, options: dict[str, str], expected: dict[str, Any]
) -> None:
    await client.send_media(PHONE_ID, to=CUSTOMER, kind=kind, media_id='M1', callback_data='outbox-9', **options)

    [sent] = fake.sent_messages
    assert sent == {
        'messaging_product': 'whatsapp',
        'recipient_type': 'individual',
        'to': CUSTOMER,
        'type': kind,
        kind: expected,
        'biz_opaque_callback_data': 'outbox-9',
    }


async def test_unknown_media_kind_fails_before_http(fake: FakeGraphApi, client: GraphClient) -> None:
    with pytest.raises(ValueError, match='unknown media kind'):
        await client.send_media(PHONE_ID, to=CUSTOMER, kind='gif', media_id='M1')
    assert fake.requests == []


async def test_mark_read(fake: FakeGraphApi, client: GraphClient) -> None:
    await client.mark_read(PHONE_ID, INBOUND_WAMID)

    [request] = fake.requests
    assert request.path == f'/v23.0/{PHONE_ID}/messages'
    assert request.json == {'messaging_product': 'whatsapp', 'status': 'read', 'message_id': INBOUND_WAMID}
    assert fake.read_receipts == [INBOUND_WAMID]
    assert fake.sent_messages == []


async def test_send_answered_2xx_without_message_id_is_permanent(fake: FakeGraphApi, client: GraphClient) -> None:
    fake.script_send([Reply(body={'messaging_product': 'whatsapp', 'contacts': []})])

    error = await _send_error(client)

    assert not error.retryable
    assert 'without a message id' in error.message


# --- media ---


async def test_upload_is_multipart_with_messaging_product_type_and_file(
    fake: FakeGraphApi,
    client: GraphClient,
) -> None:
    pdf = b'%PDF-1.4 presupuesto P-1042'

    media_id = await client.upload_media(PHONE_ID, content=pdf, mime_type='application/pdf', filename='P-1042.pdf')

    [request] = fake.requests
    assert request.path == f'/v23.0/{PHONE_ID}/media'
    assert request.headers['content-type'].startswith('multipart/form-data')
    assert request.headers['authorization'] == f'Bearer {fake.token}'
    assert request.form == {'messaging_product': 'whatsapp', 'type': 'application/pdf'}
    uploaded = request.files['file']
    assert (uploaded.filename, uploaded.content_type, uploaded.content) == ('P-1042.pdf', 'application/pdf', pdf)
    assert fake.media(media_id).content == pdf


async def test_media_info_then_download_matches_sha256(fake: FakeGraphApi, client: GraphClient) -> None:
    photo = bytes(range(256)) * 400  # 100 KiB, several chunks
    media_id = fake.add_media(photo, 'image/jpeg')

    info = await client.media_info(media_id)
    data = await client.download_media(info.url, max_bytes=16 * 1024 * 1024)

    assert (info.media_id, info.mime_type, info.file_size) == (media_id, 'image/jpeg', len(photo))
    assert info.url.startswith(fake.origin)
    assert hashlib.sha256(data).hexdigest() == info.sha256
    assert data == photo
    lookup, download = fake.requests
    assert lookup.path == f'/v23.0/{media_id}'
    assert download.headers['authorization'] == f'Bearer {fake.token}'


async def test_download_refuses_a_declared_size_over_the_limit(fake: FakeGraphApi, client: GraphClient) -> None:
    media_id = fake.add_media(b'v' * 200_000, 'video/mp4')
    info = await client.media_info(media_id)

    with pytest.raises(MediaTooLarge) as caught:
        await client.download_media(info.url, max_bytes=100_000)

    assert caught.value.declared == 200_000
    assert not caught.value.retryable


async def test_download_without_length_stops_as_soon_as_the_limit_is_passed(
    fake: FakeGraphApi,
    client: GraphClient,
) -> None:
    # Chunked and paced: reading all 64 chunks would take over a second, and the fake counts what it served.
    content = b'a' * (64 * 16 * 1024)
    media_id = fake.add_media(content, 'video/mp4', chunk_size=16 * 1024, chunk_delay=0.02, declare_length=False)
    info = await client.media_info(media_id)

    with pytest.raises(MediaTooLarge) as caught:
        await client.download_media(info.url, max_bytes=40 * 1024)

    assert caught.value.declared is None
    assert 40 * 1024 < (caught.value.received or 0) <= 40 * 1024 + 16 * 1024
    assert fake.media_bytes_served(media_id) < len(content) // 4


async def test_media_download_url_needs_the_bearer_token(fake: FakeGraphApi, client: GraphClient) -> None:
    info = await client.media_info(fake.add_media(b'jpeg', 'image/jpeg'))

    async with GraphClient(base_url=fake.base_url, token='stolen-url-only') as stranger:
        with pytest.raises(GraphError) as caught:
            await stranger.download_media(info.url, max_bytes=1024)

    assert (caught.value.status_code, caught.value.code, caught.value.retryable) == (401, 190, False)


async def test_unknown_media_id_is_a_permanent_graph_error(client: GraphClient) -> None:
    with pytest.raises(GraphError) as caught:
        await client.media_info('999')

    assert (caught.value.status_code, caught.value.code, caught.value.subcode) == (400, 100, 33)
    assert not caught.value.retryable


# --- failures over HTTP ---


async def test_http_500_is_retryable(fake: FakeGraphApi, client: GraphClient) -> None:
    fake.script_send([500])

    error = await _send_error(client)

    assert (error.status_code, error.retryable) == (500, True)
    # The queue is used up: the next attempt goes through.
    assert (await client.send_text(PHONE_ID, to=CUSTOMER, body='otra vez')).startswith('wamid.')


async def test_outside_the_24h_window_is_permanent_with_details(fake: FakeGraphApi, client: GraphClient) -> None:
    fake.script_send([(400, 131047)])

    error = await _send_error(client)

    assert (error.status_code, error.code, error.retryable) == (400, 131047, False)
    assert 'Re-engagement message' in error.message
    assert '24 hours' in error.details
    assert '24 h' in error.title
    assert error.fbtrace_id


async def test_throughput_limit_130429_is_retryable_even_as_http_400(fake: FakeGraphApi, client: GraphClient) -> None:
    fake.script_send([(400, 130429)])

    error = await _send_error(client)

    assert (error.code, error.subcode, error.retryable) == (130429, 2494055, True)


async def test_retry_after_header_is_kept(fake: FakeGraphApi, client: GraphClient) -> None:
    fake.script_send([Reply(status=429, code=4, retry_after=7)])

    error = await _send_error(client)

    assert (error.status_code, error.code, error.retryable, error.retry_after) == (429, 4, True, 7.0)


async def test_expired_token_190_is_permanent(fake: FakeGraphApi, client: GraphClient) -> None:
    fake.script_send([(401, 190)])

    error = await _send_error(client)

    assert (error.status_code, error.code, error.retryable) == (401, 190, False)


async def test_wrong_token_gets_meta_401_code_190(fake: FakeGraphApi) -> None:
    async with GraphClient(base_url=fake.base_url, token='expired') as graph:
        error = await _send_error(graph)

    assert (error.status_code, error.code, error.retryable) == (401, 190, False)
    assert fake.sent_messages  # recorded, but refused
    assert fake.requests[0].status == 401


async def test_timeout_is_retryable_without_status(fake: FakeGraphApi) -> None:
    fake.script_send([2.0])

    async with GraphClient(base_url=fake.base_url, token=fake.token, timeout=0.2) as impatient:
        error = await _send_error(impatient)

    assert (error.status_code, error.retryable) == (None, True)
    assert 'Timeout' in error.message
    # Meta did receive it: a retry may duplicate the message, which is why callback data travels with sends.
    assert len(fake.sent_messages) == 1


async def test_refused_connection_is_retryable_without_status() -> None:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        closed_port = probe.getsockname()[1]
    async with GraphClient(base_url=f'http://127.0.0.1:{closed_port}/v23.0', token='t', timeout=1) as graph:
        error = await _send_error(graph)

    assert (error.status_code, error.retryable) == (None, True)


async def test_graph_client_accepts_a_custom_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={'messages': [{'id': 'wamid.X'}]})

    async with GraphClient(
        base_url='https://graph.facebook.com/v23.0/', token='t', transport=httpx.MockTransport(answer)
    ) as graph:
        assert await graph.send_text(PHONE_ID, to=CUSTOMER, body='hola') == 'wamid.X'

    assert str(seen[0].url) == f'https://graph.facebook.com/v23.0/{PHONE_ID}/messages'


# --- classify_error ---


def _meta_error(code: int, **extra: Any) -> dict[str, Any]:
    return {
        'error': {
            'message': f'(#{code}) something',
            'type': 'OAuthException',
            'code': code,
            'error_data': {'messaging_product': 'whatsapp', 'details': f'details of {code}'},
            'fbtrace_id': 'Az8or2yhqkZfEZ',
            **extra,
        }
    }


@pytest.mark.parametrize('code', [1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131056, 133004])
def test_transient_codes_are_retryable(code: int) -> None:
    error = classify_error(400, _meta_error(code))

    assert error.retryable
    assert (error.code, error.details) == (code, f'details of {code}')


@pytest.mark.parametrize(
    'code', [131047, 131026, 131049, 131051, 131052, 131053, 100, 190, 132000, 132001, 132015, 368]
)
def test_other_codes_are_permanent(code: int) -> None:
    error = classify_error(400, _meta_error(code))

    assert not error.retryable
    assert error.title and error.title != error.message  # a readable title of our own, not Meta's raw message


@pytest.mark.parametrize('status', [None, 408, 429, 500, 502, 503, 504])
def test_no_response_429_and_5xx_are_retryable_whatever_the_body(status: int | None) -> None:
    assert classify_error(status, None).retryable
    assert classify_error(status, _meta_error(100)).retryable


def test_non_json_502_body() -> None:
    error = classify_error(502, b'<html><body><h1>502 Bad Gateway</h1></body></html>')

    assert (error.status_code, error.code, error.retryable) == (502, None, True)
    assert error.message == 'HTTP 502: 502 Bad Gateway'
    assert error.title


def test_json_text_and_bytes_bodies_are_parsed_and_string_codes_accepted() -> None:
    as_text = classify_error(400, '{"error": {"message": "(#131056) pair rate", "code": "131056"}}')
    as_bytes = classify_error(400, b'{"error": {"message": "(#131047) window", "code": 131047, "error_subcode": 2}}')

    assert (as_text.code, as_text.retryable) == (131056, True)
    assert (as_bytes.code, as_bytes.subcode, as_bytes.retryable, as_bytes.details) == (131047, 2, False, '')


def test_meta_user_title_wins_over_ours() -> None:
    error = classify_error(400, _meta_error(100, error_user_title='Número inválido', error_user_msg='Revisalo'))

    assert error.title == 'Número inválido'


def test_unknown_4xx_without_body_is_permanent_and_readable() -> None:
    error = classify_error(404, '')

    assert (error.retryable, error.message, error.code) == (False, 'HTTP 404', None)
    assert str(error)


def test_retry_after_parsing() -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)

    assert parse_retry_after('7') == 7.0
    assert 80 < (parse_retry_after(future) or 0) <= 90
    assert parse_retry_after('mañana') is None
    assert parse_retry_after(None) is None
    assert parse_retry_after('-3') == 0.0
