"""Webhook bodies → typed events: the docs' own examples (fixtures/), every message kind each engine reports, and
the HMAC check. No server needed."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.whatsapp.waha import (
    MessageKind,
    WahaAck,
    WahaMessage,
    WahaPayloadError,
    WahaSessionStatus,
    WahaUnknownEvent,
    parse_event,
    sign_body,
    verify_hmac,
)
from services.whatsapp.waha import payload_builders as build
from tests.unit.services.whatsapp.waha.conftest import docs_example

CUSTOMER = '5491155550101'


def message_event(body: dict[str, Any]) -> WahaMessage:
    event = parse_event(body)
    assert isinstance(event, WahaMessage)
    return event


# --- the docs' examples -----------------------------------------------------------------------------------


def test_the_docs_message_example_is_our_own_text_typed_on_the_phone() -> None:
    message = message_event(docs_example('message_text'))

    assert message.event == 'message'
    assert message.session == 'default'
    assert message.message_id == 'true_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    assert message.from_me is True
    assert message.source == 'app'
    assert message.chat_id == '11111111111@c.us'
    assert message.phone == '11111111111'
    assert message.body == 'Hi there!'
    assert message.kind is MessageKind.TEXT
    assert message.timestamp == datetime(2022, 11, 4, 11, 31, 25, tzinfo=UTC)
    assert message.ack == 1
    assert message.vcards == ()
    assert not message.is_group


def test_the_docs_envelope_gives_event_id_and_our_account() -> None:
    message = message_event(docs_example('envelope_structure'))

    assert message.event_id == 'evt_1111111111111111111111111111'
    assert message.engine == 'WEBJS'
    assert message.from_me is False
    assert message.sender == '11111111111@c.us'
    assert message.sender_phone == '11111111111'


def test_the_docs_image_example_has_its_media_url_and_caption() -> None:
    message = message_event(docs_example('message_media_image'))

    assert message.kind is MessageKind.IMAGE
    assert message.has_media
    assert message.media_url == (
        'http://localhost:3000/api/files/true_11111111111@c.us_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.jpg'
    )
    assert message.media_mimetype == 'image/jpeg'
    assert message.media_filename is None
    assert message.media_error is None
    assert message.body == 'Check this out (caption for the media)!'


def test_the_docs_document_example_keeps_the_file_name() -> None:
    message = message_event(docs_example('message_media_document'))

    assert message.kind is MessageKind.DOCUMENT
    assert message.has_media  # no hasMedia in the example, but a media URL
    assert message.media_filename == 'some-file.pdf'
    assert message.body == ''


def test_the_docs_reply_example_points_at_the_quoted_message() -> None:
    message = message_event(docs_example('message_reply'))

    assert message.reply_to_id == 'false_22222222@c.us_AAAAAAAAAAAAAAAAAAA'
    assert message.reply_to_body == 'Check this out!'
    assert message.body == 'Yes!'
    assert not message.has_media  # the quoted message's media is not this one's


def test_the_docs_noweb_group_message_reads_the_protobuf_data() -> None:
    message = message_event(docs_example('message_group_noweb'))

    assert message.is_group
    assert message.chat_id == '111111111111111111111@g.us'
    assert message.phone is None
    assert message.kind is MessageKind.TEXT
    assert message.push_name == 'Sim2'
    assert message.engine == 'NOWEB'


def test_the_docs_ack_example_is_read() -> None:
    ack = parse_event(docs_example('message_ack'))

    assert isinstance(ack, WahaAck)
    assert ack.message_id == 'true_11111111111@c.us_4CC5EDD64BC22EBA6D639F2AF571346C'
    assert ack.chat_id == '11111111111@c.us'
    assert ack.ack == 3
    assert ack.ack_name == 'READ'
    assert ack.status == 'read'
    assert ack.participant is None


def test_the_docs_group_ack_example_names_the_member() -> None:
    ack = parse_event(docs_example('message_ack_group'))

    assert isinstance(ack, WahaAck)
    assert ack.chat_id == '11111111111@g.us'
    assert ack.participant == '9999@lid'
    assert ack.status == 'read'


def test_the_docs_session_status_example() -> None:
    status = parse_event(docs_example('session_status_working'))

    assert isinstance(status, WahaSessionStatus)
    assert status.session == 'default'
    assert status.status == 'WORKING'
    assert status.me_id == '7911111@c.us'
    assert status.me_push_name == '~'
    assert status.data is None


def test_the_docs_passkey_status_is_kept_with_its_challenge() -> None:
    status = parse_event(docs_example('session_status_passkey'))

    assert isinstance(status, WahaSessionStatus)
    assert status.status == 'PASSKEY_REQUIRED'
    assert status.data is not None
    assert status.data['rpId'] == 'web.whatsapp.com'


@pytest.mark.parametrize(
    ('fixture', 'event'),
    [
        ('message_reaction', 'message.reaction'),
        ('message_revoked', 'message.revoked'),
        ('presence_update', 'presence.update'),
        ('call_received', 'call.received'),
    ],
)
def test_other_docs_events_are_kept_as_unknown_events(fixture: str, event: str) -> None:
    body = docs_example(fixture)

    parsed = parse_event(body)

    assert isinstance(parsed, WahaUnknownEvent)
    assert parsed.event == event
    assert parsed.session == 'default'
    assert parsed.payload == body['payload']


# --- kinds, from what each engine says --------------------------------------------------------------------


@pytest.mark.parametrize(
    ('kind', 'mimetype', 'expected'),
    [
        ('image', 'image/jpeg', MessageKind.IMAGE),
        ('video', 'video/mp4', MessageKind.VIDEO),
        ('audio', 'audio/mpeg', MessageKind.AUDIO),
        ('voice', 'audio/ogg; codecs=opus', MessageKind.VOICE),
        ('document', 'application/pdf', MessageKind.DOCUMENT),
        ('sticker', 'image/webp', MessageKind.STICKER),
    ],
)
def test_media_kinds_from_webjs_data(kind: str, mimetype: str, expected: MessageKind) -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', kind=kind, media=build.media('http://w/api/files/a', mimetype))

    message = message_event(build.envelope('message', payload))

    assert message.kind is expected
    assert message.media_mimetype == mimetype


@pytest.mark.parametrize(
    ('mimetype', 'expected'),
    [
        ('image/png', MessageKind.IMAGE),
        ('image/webp', MessageKind.STICKER),
        ('video/mp4', MessageKind.VIDEO),
        ('audio/ogg; codecs=opus', MessageKind.VOICE),
        ('audio/mpeg', MessageKind.AUDIO),
        ('application/vnd.ms-excel', MessageKind.DOCUMENT),
    ],
)
def test_media_kinds_from_the_mimetype_when_data_says_nothing(mimetype: str, expected: MessageKind) -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', media=build.media('http://w/api/files/a', mimetype))
    payload['_data'] = {}

    assert message_event(build.envelope('message', payload)).kind is expected


@pytest.mark.parametrize(
    ('proto', 'expected'),
    [
        ({'conversation': 'hola'}, MessageKind.TEXT),
        ({'extendedTextMessage': {'text': 'hola'}}, MessageKind.TEXT),
        ({'imageMessage': {'mimetype': 'image/jpeg'}}, MessageKind.IMAGE),
        ({'audioMessage': {'ptt': True}}, MessageKind.VOICE),
        ({'audioMessage': {'ptt': False}}, MessageKind.AUDIO),
        ({'documentWithCaptionMessage': {}}, MessageKind.DOCUMENT),
        ({'stickerMessage': {}}, MessageKind.STICKER),
        ({'contactsArrayMessage': {}}, MessageKind.CONTACTS),
        ({'pollCreationMessageV3': {}}, MessageKind.UNKNOWN),
    ],
)
def test_kinds_from_noweb_protobuf(proto: dict[str, Any], expected: MessageKind) -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us')
    payload['body'] = ''
    payload['_data'] = {'key': {'remoteJid': f'{CUSTOMER}@s.whatsapp.net', 'id': 'X'}, 'message': proto}

    assert message_event(build.envelope('message', payload, engine='NOWEB')).kind is expected


def test_kind_and_push_name_from_gows_info() -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', has_media=True)
    payload['_data'] = {'Info': {'Type': 'media', 'MediaType': 'ptt', 'PushName': 'Marta'}}

    message = message_event(build.envelope('message', payload, engine='GOWS'))

    assert message.kind is MessageKind.VOICE
    assert message.push_name == 'Marta'


def test_media_not_downloaded_is_flagged_without_url() -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', has_media=True)
    payload['_data'] = {}

    message = message_event(build.envelope('message', payload))

    assert message.has_media
    assert message.media_url is None
    assert message.kind is MessageKind.UNKNOWN


def test_location_from_walocation_strings() -> None:
    payload = build.message(
        chat_id=f'{CUSTOMER}@c.us', kind='location', location=build.location(-34.6037, -58.3816, 'Obelisco')
    )

    message = message_event(build.envelope('message', payload))

    assert message.kind is MessageKind.LOCATION
    assert (message.latitude, message.longitude) == (-34.6037, -58.3816)
    assert message.location_name == 'Obelisco'


def test_location_from_noweb_data_when_the_common_field_is_missing() -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us')
    payload['_data'] = {'message': {'locationMessage': {'degreesLatitude': -31.42, 'degreesLongitude': -64.18}}}

    message = message_event(build.envelope('message', payload, engine='NOWEB'))

    assert message.kind is MessageKind.LOCATION
    assert (message.latitude, message.longitude) == (-31.42, -64.18)


def test_contacts_keep_the_vcards() -> None:
    card = build.vcard('Taller Gómez', '+54 9 11 4444-0000')
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', kind='contacts', vcards=[card])

    message = message_event(build.envelope('message', payload))

    assert message.kind is MessageKind.CONTACTS
    assert message.vcards == (card,)
    assert 'waid=5491144440000' in message.vcards[0]


def test_group_message_sender_is_the_participant() -> None:
    payload = build.message(chat_id='120363000000000000@g.us', participant=f'{CUSTOMER}@c.us', body='hola grupo')

    message = message_event(build.envelope('message', payload))

    assert message.is_group
    assert message.chat_id == '120363000000000000@g.us'
    assert message.sender == f'{CUSTOMER}@c.us'
    assert message.sender_phone == CUSTOMER
    assert message.phone is None
    assert message.message_id.endswith(f'_{CUSTOMER}@c.us')


def test_lid_sender_has_no_phone() -> None:
    payload = build.message(chat_id='123456789012345@lid', body='hola', push_name='Juan')

    message = message_event(build.envelope('message', payload))

    assert message.sender_is_lid
    assert message.phone is None
    assert message.push_name == 'Juan'


def test_s_whatsapp_net_ids_become_c_us() -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', body='hola')
    payload['from'] = f'{CUSTOMER}:12@s.whatsapp.net'

    message = message_event(build.envelope('message', payload))

    assert message.chat_id == f'{CUSTOMER}@c.us'
    assert message.phone == CUSTOMER


def test_from_me_message_any_is_ours_and_chat_is_the_customer() -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', body='ya te lo mando', from_me=True, my_id='5491100000000@c.us')
    body = build.envelope('message.any', payload, me=build.me('5491100000000'))

    message = message_event(body)

    assert message.event == 'message.any'
    assert message.from_me
    assert message.chat_id == f'{CUSTOMER}@c.us'
    assert message.sender == '5491100000000@c.us'


def test_timestamp_in_milliseconds_or_missing_falls_back_sanely() -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', body='hola', timestamp=1710481111853)
    assert message_event(build.envelope('message', payload)).timestamp.year == 2024
    del payload['timestamp']
    body = build.envelope('message', payload, timestamp_ms=1741249702485)
    assert message_event(body).timestamp == datetime.fromtimestamp(1741249702.485, UTC)


# --- acks and statuses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('ack', 'status'), [(-1, 'failed'), (0, 'pending'), (1, 'sent'), (2, 'delivered'), (3, 'read'), (4, 'played')]
)
def test_ack_values_map_to_ticks(ack: int, status: str) -> None:
    body = build.envelope(
        'message.ack', build.ack(f'true_{CUSTOMER}@c.us_3EB0AA', chat_id=f'{CUSTOMER}@c.us', ack_value=ack)
    )

    parsed = parse_event(body)

    assert isinstance(parsed, WahaAck)
    assert parsed.status == status


def test_ack_name_alone_is_enough_and_unknown_values_do_not_break() -> None:
    payload: dict[str, Any] = {'id': f'true_{CUSTOMER}@c.us_3EB0AA', 'ackName': 'DEVICE'}
    parsed = parse_event(build.envelope('message.ack', payload))
    assert isinstance(parsed, WahaAck)
    assert parsed.status == 'delivered'

    payload = {'id': f'true_{CUSTOMER}@c.us_3EB0AA', 'ack': 9, 'ackName': 'SOMETHING_NEW'}
    parsed = parse_event(build.envelope('message.ack', payload))
    assert isinstance(parsed, WahaAck)
    assert parsed.ack == 9
    assert parsed.status is None


def test_unknown_session_status_is_kept_raw() -> None:
    body = build.envelope('session.status', build.session_status('default', 'QUANTUM_PAIRING'))

    parsed = parse_event(body)

    assert isinstance(parsed, WahaSessionStatus)
    assert parsed.status == 'QUANTUM_PAIRING'


def test_unknown_event_names_never_raise() -> None:
    parsed = parse_event({'event': 'chat.pinned.v3', 'session': 'ventas', 'payload': [1, 2]})

    assert isinstance(parsed, WahaUnknownEvent)
    assert (parsed.event, parsed.session, parsed.payload) == ('chat.pinned.v3', 'ventas', [1, 2])


# --- bodies we refuse -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'words'),
    [
        ([], 'JSON object'),
        ({'session': 'default', 'payload': {}}, '"event"'),
        ({'event': 'message', 'payload': {}}, '"session"'),
        ({'event': 7, 'session': 'default'}, '"event"'),
        ({'event': 'message', 'session': ['default']}, '"session"'),
        ({'event': 'message', 'session': 'default', 'payload': 'hola'}, '"payload"'),
        ({'event': 'message', 'session': 'default', 'payload': {'body': 'hola', 'from': '1@c.us'}}, '"id"'),
        ({'event': 'message.ack', 'session': 'default', 'payload': {'ack': 3}}, '"id"'),
        ({'event': 'session.status', 'session': 'default', 'payload': {'status': None}}, '"status"'),
    ],
)
def test_untrustworthy_bodies_raise_a_clear_error(body: Any, words: str) -> None:
    with pytest.raises(WahaPayloadError, match=words):
        parse_event(body)


def test_parsing_does_not_change_the_body() -> None:
    body = docs_example('message_reply')
    before = copy.deepcopy(body)

    parse_event(body)

    assert body == before


# --- HMAC -------------------------------------------------------------------------------------------------

# The docs' test vector (content/docs/how-to/events/index.md, "HMAC authentication").
DOCS_BODY = b'{"event":"message","session":"default","engine":"WEBJS"}'
DOCS_KEY = 'my-secret-key'
DOCS_HMAC = (
    '208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8'
    '097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89'
)


def test_sign_body_matches_the_docs_vector() -> None:
    assert sign_body(DOCS_BODY, DOCS_KEY) == DOCS_HMAC


def test_verify_hmac_accepts_the_docs_vector() -> None:
    assert verify_hmac(DOCS_BODY, key=DOCS_KEY, signature=DOCS_HMAC, algorithm='sha512')
    assert verify_hmac(DOCS_BODY, key=DOCS_KEY, signature=DOCS_HMAC.upper(), algorithm='SHA512')
    assert verify_hmac(DOCS_BODY, key=DOCS_KEY, signature=DOCS_HMAC, algorithm=None)


@pytest.mark.parametrize(
    ('body', 'key', 'signature', 'algorithm'),
    [
        (DOCS_BODY + b' ', DOCS_KEY, DOCS_HMAC, 'sha512'),  # body changed
        (DOCS_BODY, 'other-key', DOCS_HMAC, 'sha512'),  # wrong key
        (DOCS_BODY, DOCS_KEY, None, 'sha512'),  # no signature header
        (DOCS_BODY, DOCS_KEY, '', 'sha512'),
        (DOCS_BODY, DOCS_KEY, DOCS_HMAC, 'sha256'),  # not the algorithm WAHA uses
        (DOCS_BODY, DOCS_KEY, DOCS_HMAC[:-2], 'sha512'),  # truncated
        (DOCS_BODY, DOCS_KEY, DOCS_HMAC[:-1] + 'é', 'sha512'),  # junk in a forged header
        (DOCS_BODY, '', DOCS_HMAC, 'sha512'),  # no key configured: nothing verifies
    ],
)
def test_verify_hmac_refuses(body: bytes, key: str, signature: str | None, algorithm: str | None) -> None:
    assert not verify_hmac(body, key=key, signature=signature, algorithm=algorithm)


def test_builders_produce_json_serializable_bodies() -> None:
    payload = build.message(chat_id=f'{CUSTOMER}@c.us', body='ñandú ✓')
    raw = json.dumps(build.envelope('message', payload), ensure_ascii=False).encode()

    assert message_event(json.loads(raw)).body == 'ñandú ✓'
