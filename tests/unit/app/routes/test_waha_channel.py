"""The WhatsApp-Web channel end to end (SPEC M6, issue 14), against a fake WAHA over real HTTP on 127.0.0.1 shaped as
WAHA documents it: our calls go to it for real; what it posts back (signed exactly as WAHA signs) is handed to our
webhook route byte for byte, journaled, and stored by the ingest worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from nicegui.testing import User
from sqlalchemy import func
from sqlmodel import col, select

from app.runtime import runtime
from services import api_keys
from services.alerts import AlertThresholds, check_alerts
from services.database import Database
from services.models import (
    Alert,
    AlertKind,
    AuditEntry,
    Contact,
    Conversation,
    DeliveryStatus,
    Direction,
    Media,
    Message,
    MessageStatus,
    SenderKind,
    SessionState,
    WaSession,
    WaSessionTransition,
    WebhookDelivery,
)
from services.models.types import utcnow
from services.sessions import service
from services.whatsapp.waha import payload_builders as build
from services.whatsapp.waha.client import WahaClient
from services.whatsapp.waha.events import sign_body
from services.whatsapp.waha.fake_server import FakeWahaApi, PostedWebhook
from services.whatsapp.waha.fake_server.contract import DEFAULT_PAIRED_PHONE
from tests.conftest import World
from tests.unit.app.routes.test_metrics import scrape

HMAC_KEY = 'test-waha-hmac-key'
API_KEY = 'test-waha-api-key'
CUSTOMER = '5491133334444'
NOWHERE = 'http://127.0.0.1:9/webhooks/waha'  # the fake records what it posts; the test hands it to the app


@pytest.fixture
def gateway(app_environment: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWahaApi]:
    with FakeWahaApi(api_key=API_KEY, ack_delays=(0.0, 0.05)) as fake:
        monkeypatch.setenv('LEADMASTER_WAHA_BASE_URL', fake.base_url)
        monkeypatch.setenv('LEADMASTER_WAHA_API_KEY', API_KEY)
        monkeypatch.setenv('LEADMASTER_WAHA_WEBHOOK_HMAC_KEY', HMAC_KEY)
        monkeypatch.setenv('LEADMASTER_WAHA_WEBHOOK_URL', NOWHERE)
        yield fake


class Relay:
    """Hands what the fake WAHA posted to our webhook route, byte for byte with its signature headers."""

    def __init__(self, fake: FakeWahaApi, user: User) -> None:
        self.fake, self.user, self.relayed = fake, user, 0

    async def forward(self, *, new: int = 1, event: str | None = None) -> list[int]:
        """Wait for `new` more webhooks (of `event`), post every one not relayed yet, then run the ingest."""
        wanted = len([p for p in self.fake.webhooks_posted[: self.relayed] if event is None or p.event == event]) + new
        await self.fake.wait_for_webhooks(wanted, event=event, seconds=15)
        posted = self.fake.webhooks_posted
        statuses = [await self.post(item) for item in posted[self.relayed :]]
        self.relayed = len(posted)
        await runtime().ingest.drain()
        return statuses

    async def post(self, item: PostedWebhook) -> int:
        headers = {k: v for k, v in item.headers.items() if k.lower().startswith('x-webhook') or k == 'Content-Type'}
        response = await self.user.http_client.post('/webhooks/waha', content=item.raw, headers=headers)
        return response.status_code


async def ready_session(fake: FakeWahaApi, user: User, *, name: str = 'ventas', allow: bool = False) -> Relay:
    db = runtime().db
    await service.add_session(db, branch_code='SUC1', name=name, label='Ventas')
    relay = Relay(fake, user)
    await runtime().workers.sessions.start(name=name, actor=None)
    fake.scan(name)
    await relay.forward(new=3, event='session.status')  # STARTING, SCAN_QR_CODE, WORKING
    if allow:
        await service.allow_sending(db, name=name, allowed=True, actor=None)
    return relay


async def state_of(db: Database, name: str) -> WaSession:
    async with db.session() as session:
        row = (await session.exec(select(WaSession).where(col(WaSession.name) == name))).one()
        return row


async def count(db: Database, model: type, *conditions: Any) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*conditions))).one()


async def test_a_session_goes_from_qr_to_ready_through_the_gateways_webhooks(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await service.add_session(db, branch_code='SUC1', name='ventas', label='Ventas')
    _, key = await api_keys.create_api_key(db, name='erp')
    relay = Relay(gateway, user)

    started = await runtime().workers.sessions.start(name='ventas', actor=None)
    assert started.state == SessionState.QR_REQUIRED  # read from the gateway right after starting it
    qr = await user.http_client.get('/api/v1/sessions/ventas/qr', headers={'X-API-Key': key})
    assert qr.status_code == 200 and qr.headers['content-type'] == 'image/png'
    assert qr.content.startswith(b'\x89PNG\r\n\x1a\n')

    gateway.scan('ventas')
    assert set(await relay.forward(new=3, event='session.status')) == {200}
    status = (await user.http_client.get('/api/v1/sessions/ventas/status', headers={'X-API-Key': key})).json()
    assert status['state'] == 'READY' and status['connected'] and not status['needs_qr']
    assert status['gateway_status'] == 'WORKING' and status['recommended_action'] == 'none'
    assert status['last_event_at'] is not None
    assert (await user.http_client.get('/api/v1/sessions/ventas/qr', headers={'X-API-Key': key})).status_code == 409
    current = await service.get_session(db, name='ventas', viewer=None)
    assert current.display_phone == '+' + DEFAULT_PAIRED_PHONE  # learnt from the paired account
    history = await service.session_history(db, name='ventas', viewer=None)
    assert [(h.from_state, h.to_state) for h in reversed(history)] == [
        (None, SessionState.INITIALIZING),
        (SessionState.INITIALIZING, SessionState.QR_REQUIRED),
        (SessionState.QR_REQUIRED, SessionState.READY),
    ]


@pytest.mark.parametrize(
    ('gateway_status', 'state', 'action'),
    [
        ('STOPPED', SessionState.DISCONNECTED, 'start'),
        ('STARTING', SessionState.INITIALIZING, 'wait'),
        ('SCAN_QR_CODE', SessionState.QR_REQUIRED, 'scan_qr'),
        ('PASSKEY_REQUIRED', SessionState.QR_REQUIRED, 'confirm_passkey'),
        ('WORKING', SessionState.READY, 'none'),
        ('FAILED', SessionState.FAILED, 'restart'),
        ('SOMETHING_NEW_IN_2027', SessionState.INITIALIZING, 'wait'),  # a status WAHA adds later never breaks us
    ],
)
async def test_every_gateway_status_maps_to_our_state(
    *,
    gateway: FakeWahaApi,
    user: User,
    world: World,
    db: Database,
    gateway_status: str,
    state: SessionState,
    action: str,
) -> None:
    relay = await ready_session(gateway, user)
    _, key = await api_keys.create_api_key(db, name='erp')
    gateway.set_status('ventas', gateway_status)
    await relay.forward(event='session.status')
    status = (await user.http_client.get('/api/v1/sessions/ventas/status', headers={'X-API-Key': key})).json()
    assert (status['state'], status['gateway_status'], status['recommended_action']) == (state, gateway_status, action)


async def test_after_a_restart_the_state_is_read_from_the_gateway(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await ready_session(gateway, user)
    gateway.set_status('ventas', 'STOPPED')  # while LeadMaster was down: the webhook never reached us
    assert (await state_of(db, 'ventas')).state == SessionState.READY

    round_ = await runtime().workers.sessions.probe_all()
    assert round_.probed == 1
    assert (await state_of(db, 'ventas')).state == SessionState.DISCONNECTED

    unreachable = WahaClient(base_url='http://127.0.0.1:9', api_key=API_KEY, timeout=2)
    try:
        control = runtime().workers.sessions
        control.client, real = unreachable, control.client
        await control.probe_all()
    finally:
        control.client = real
        await unreachable.aclose()
    row = await state_of(db, 'ventas')
    assert row.state == SessionState.DISCONNECTED and row.gateway_status == 'gateway_unreachable'
    assert 'no responde' in row.reason


async def test_a_failed_session_is_restarted_with_growing_delays_and_alerts_admins(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    relay = await ready_session(gateway, user)
    control = runtime().workers.sessions
    now = utcnow()
    gateway.fail('ventas')
    await relay.forward(event='session.status')
    assert (await state_of(db, 'ventas')).state == SessionState.FAILED

    await control.probe_all(now=now)  # the first delay starts: no restart yet
    first = (await state_of(db, 'ventas')).next_restart_at
    assert first is not None and first - now == timedelta(seconds=30)
    restarts = [r for r in gateway.requests if r.path.endswith('/restart')]
    assert not restarts

    delays = []
    moment = now
    for _ in range(3):  # each restart fails again (the fake restarts it; it is failed again at once)
        moment = (await state_of(db, 'ventas')).next_restart_at or moment
        round_ = await control.probe_all(now=moment)
        assert round_.restarted == ['ventas']
        gateway.fail('ventas')
        row = await state_of(db, 'ventas')
        assert row.next_restart_at is not None
        delays.append(row.next_restart_at - moment)
    assert delays == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert len([r for r in gateway.requests if r.path.endswith('/restart')]) == 3
    assert await count(db, AuditEntry, col(AuditEntry.action) == 'session.auto_restart') == 3

    await check_alerts(db, publisher=runtime().bus, thresholds=AlertThresholds())
    async with db.session() as session:
        [alert] = (await session.exec(select(Alert).where(col(Alert.resolved_at).is_(None)))).all()
    assert alert.kind == AlertKind.SESSION_DOWN and alert.details['session_name'] == 'ventas'
    assert alert.details['failures'] == 3 and alert.details['recommended_action'] == 'restart'


async def test_a_session_needing_a_qr_alerts_admins_until_scanned(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await service.add_session(db, branch_code='SUC1', name='ventas')
    relay = Relay(gateway, user)
    await runtime().workers.sessions.start(name='ventas', actor=None)
    await relay.forward(new=2, event='session.status')
    async with db.session() as session:  # opened at once by the state change, not at the next minute's check
        [alert] = (await session.exec(select(Alert).where(col(Alert.resolved_at).is_(None)))).all()
    assert alert.details['recommended_action'] == 'scan_qr'
    assert await count(db, AuditEntry, col(AuditEntry.action) == 'alert.opened') == 1

    gateway.scan('ventas')
    await relay.forward(event='session.status')
    for _ in range(200):  # resolved by the READY event's alert check, which runs beside the ingest
        if await count(db, Alert, col(Alert.resolved_at).is_(None)) == 0:
            break
        await asyncio.sleep(0.05)
    assert await count(db, Alert, col(Alert.resolved_at).is_(None)) == 0
    assert await count(db, AuditEntry, col(AuditEntry.action) == 'alert.resolved') == 1


async def test_a_silent_ready_session_is_flagged_and_checked_in_business_hours(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await ready_session(gateway, user)
    control = runtime().workers.sessions
    row = await state_of(db, 'ventas')
    assert row.last_event_at is not None
    # A Tuesday at 11:00 in Buenos Aires (14:00 UTC), two hours after the last event.
    tuesday = row.last_event_at.replace(year=2026, month=12, day=8, hour=14, minute=0)
    async with db.session() as session:
        fresh = await session.get(WaSession, row.id)
        assert fresh is not None
        fresh.last_event_at = fresh.state_since = tuesday - timedelta(hours=2)
        session.add(fresh)
        await session.commit()

    round_ = await control.probe_all(now=tuesday)
    assert round_.silent == ['ventas']
    assert (await state_of(db, 'ventas')).silent
    assert any(r.path.endswith('/ventas/me') for r in gateway.requests)  # asked who it is: needs the phone
    assert await count(db, AuditEntry, col(AuditEntry.action) == 'session.silent') == 1

    sunday = tuesday.replace(day=13)  # outside business hours a quiet session is normal
    async with db.session() as session:
        fresh = await session.get(WaSession, row.id)
        assert fresh is not None
        fresh.silent = False
        session.add(fresh)
        await session.commit()
    assert (await control.probe_all(now=sunday)).silent == []


@pytest.mark.parametrize(
    ('signature', 'algorithm', 'status'),
    [(None, None, 401), ('00' * 64, 'sha512', 403), ('good', 'sha256', 403), ('good', 'sha512', 200)],
)
async def test_the_webhook_wants_the_hmac_of_the_raw_body(
    *,
    gateway: FakeWahaApi,
    user: User,
    world: World,
    db: Database,
    signature: str | None,
    algorithm: str | None,
    status: int,
) -> None:
    relay = await ready_session(gateway, user)
    before = await count(db, WebhookDelivery)
    gateway.customer_text('ventas', phone=CUSTOMER, text='Hola')
    posted = (await gateway.wait_for_webhooks(1, event='message'))[-1]
    headers = {'Content-Type': 'application/json'}
    if signature is not None:
        headers['X-Webhook-Hmac'] = posted.headers['X-Webhook-Hmac'] if signature == 'good' else signature
    if algorithm is not None:
        headers['X-Webhook-Hmac-Algorithm'] = algorithm
    response = await user.http_client.post('/webhooks/waha', content=posted.raw, headers=headers)
    assert response.status_code == status
    assert await count(db, WebhookDelivery) == before + (1 if status == 200 else 0)
    assert relay.relayed  # the session's own webhooks were relayed before


async def test_every_kind_of_event_is_stored_or_flagged_and_duplicates_ignored(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    relay = await ready_session(gateway, user)
    text_id = gateway.customer_text('ventas', phone=CUSTOMER, text='Hola, tienen pastillas de freno?')
    await relay.forward(new=2)  # `message` and `message.any`: the same message twice
    gateway.customer_text('ventas', phone=CUSTOMER, text='Para el Gol', reply_to=text_id, reply_to_body='Hola')
    gateway.customer_media('ventas', phone=CUSTOMER, kind='image', caption='la patente')
    gateway.customer_media('ventas', phone=CUSTOMER, kind='voice')
    gateway.customer_location('ventas', phone=CUSTOMER, latitude=-34.6, longitude=-58.4, description='Taller Ruiz')
    gateway.customer_contacts(
        'ventas', phone=CUSTOMER, vcards=['BEGIN:VCARD\nVERSION:3.0\nFN:Jorge Mecánico\nEND:VCARD']
    )
    gateway.group_message('ventas', group_id='120363000000000001', participant_phone='5491155556666', text='Hola grupo')
    gateway.phone_typed('ventas', phone=CUSTOMER, text='Te paso precio en un rato')
    gateway.lid_message('ventas', lid='123456789012345', text='Hola, soy sin número')
    await relay.forward(new=14)
    # A kind we did not subscribe to (an operator's gateway may send every event): kept and flagged, never dropped.
    reaction = json.dumps(
        {
            'id': 'evt_01reaction',
            'timestamp': 1_796_000_000_000,
            'event': 'message.reaction',
            'session': 'ventas',
            'payload': {'id': 'false_x@c.us_R', 'reaction': {'text': '👍', 'messageId': text_id}},
        }
    ).encode()
    headers = {'X-Webhook-Hmac': sign_body(reaction, HMAC_KEY), 'X-Webhook-Hmac-Algorithm': 'sha512'}
    assert (await user.http_client.post('/webhooks/waha', content=reaction, headers=headers)).status_code == 200
    await runtime().ingest.drain()
    await runtime().media_worker.drain()

    async with db.session() as session:
        messages = (await session.exec(select(Message).order_by(col(Message.id)))).all()
        conversations = (await session.exec(select(Conversation))).all()
        media = (await session.exec(select(Media))).all()
        contacts = (await session.exec(select(Contact))).all()
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    assert [m.type for m in inbound] == ['text', 'text', 'image', 'audio', 'location', 'contacts', 'text']
    assert inbound[1].reply_to_wa_message_id == text_id
    assert inbound[2].text == 'la patente'
    assert 'Taller Ruiz' in inbound[4].text and inbound[4].payload['fields']['latitude'] == -34.6
    assert 'Jorge Mecánico' in inbound[5].text
    assert len(conversations) == 2  # the customer, and the @lid sender; the group made none
    assert {c.wa_user_id for c in contacts} >= {'123456789012345@lid'}
    [from_phone] = [m for m in messages if m.direction == Direction.OUTBOUND]
    assert from_phone.text == 'Te paso precio en un rato' and from_phone.sender_kind == SenderKind.AGENT
    assert from_phone.payload['fields']['from_phone'] is True and from_phone.status == MessageStatus.SENT
    customer_conversation = next(c for c in conversations if c.id == inbound[0].conversation_id)
    assert customer_conversation.unread_count == 6  # the phone's own message is not unread
    assert {m.status for m in media} == {'stored'} and len(media) == 2
    async with db.session() as session:
        flagged = (
            await session.exec(select(WebhookDelivery).where(col(WebhookDelivery.status) == DeliveryStatus.FLAGGED))
        ).all()
    assert len(flagged) == 1 and 'message.reaction' in flagged[0].error

    before = len(messages)
    for item in gateway.webhooks_posted:  # WAHA retrying everything: nothing new
        await relay.post(item)
    await runtime().ingest.drain()
    assert await count(db, Message) == before


async def test_sending_is_refused_unless_ready_and_allowed_then_delivered_once_with_ticks(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await service.add_session(db, branch_code='SUC1', name='ventas')
    _, key = await api_keys.create_api_key(db, name='erp')
    body = {'to': '+54 9 11 3333-4444', 'text': 'Hola Martín, ya llegaron las pastillas'}
    not_ready = await user.http_client.post('/api/v1/sessions/ventas/send', json=body, headers={'X-API-Key': key})
    assert not_ready.status_code == 503 and 'INITIALIZING' in not_ready.json()['detail']

    relay = Relay(gateway, user)
    await runtime().workers.sessions.start(name='ventas', actor=None)
    gateway.scan('ventas')
    await relay.forward(new=3, event='session.status')
    listen_only = await user.http_client.post('/api/v1/sessions/ventas/send', json=body, headers={'X-API-Key': key})
    assert listen_only.status_code == 503 and 'listen-only' in listen_only.json()['detail']

    await service.allow_sending(db, name='ventas', allowed=True, actor=None)
    queued = await user.http_client.post('/api/v1/sessions/ventas/send', json=body, headers={'X-API-Key': key})
    assert queued.status_code == 202, queued.text
    await runtime().outbox.drain()
    [sent] = gateway.sends
    assert sent.chat_id == f'{CUSTOMER}@c.us' and sent.text == body['text']
    await relay.forward(new=2, event='message.ack')  # SERVER then DEVICE
    async with db.session() as session:
        message = await session.get(Message, queued.json()['outbox_id'])
    assert message is not None and message.wa_message_id == sent.message_id
    assert message.status == MessageStatus.DELIVERED
    gateway.ack('ventas', sent.message_id, 3)
    await relay.forward(event='message.ack')
    async with db.session() as session:
        message = await session.get(Message, queued.json()['outbox_id'])
    assert message is not None and message.status == MessageStatus.READ
    assert await count(db, Message, col(Message.direction) == Direction.OUTBOUND) == 1  # its echo is not another


async def test_a_send_cut_off_mid_flight_is_never_sent_again_and_its_echo_confirms_it(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    relay = await ready_session(gateway, user, allow=True)
    _, key = await api_keys.create_api_key(db, name='erp')
    body = {'to': '+5491133334444', 'text': 'Te confirmo el turno'}
    queued = await user.http_client.post('/api/v1/sessions/ventas/send', json=body, headers={'X-API-Key': key})
    message_id = queued.json()['outbox_id']
    gateway.script_send([5.0])  # WAHA takes it but answers after our timeout: the worker is as good as killed
    outbox = runtime().outbox
    control_timeout = outbox.waha._http.timeout  # type: ignore[union-attr]
    outbox.waha._http.timeout = type(control_timeout)(0.5)  # type: ignore[union-attr]
    try:
        await outbox.drain()
    finally:
        outbox.waha._http.timeout = control_timeout  # type: ignore[union-attr]
    async with db.session() as session:
        message = await session.get(Message, message_id)
    assert message is not None and message.status == MessageStatus.QUEUED  # may have arrived: waits for the echo
    assert message.next_attempt_at is not None and message.next_attempt_at > utcnow() + timedelta(seconds=30)
    await relay.forward(event='message.any')  # WAHA's echo of the send it did take
    async with db.session() as session:
        message = await session.get(Message, message_id)
    assert message is not None and message.wa_message_id is not None and message.status == MessageStatus.SENT
    await outbox.drain()
    assert len(gateway.sends) == 1
    assert await count(db, Message, col(Message.direction) == Direction.OUTBOUND) == 1


async def test_branch_scoped_keys_see_only_their_sessions(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await service.add_session(db, branch_code='SUC1', name='central')
    await service.add_session(db, branch_code='SUC2', name='rosario')
    _, rosario_key = await api_keys.create_api_key(db, name='rosario erp', branch_id=world.rosario.id)
    own = await user.http_client.get('/api/v1/sessions/rosario/status', headers={'X-API-Key': rosario_key})
    other = await user.http_client.get('/api/v1/sessions/central/status', headers={'X-API-Key': rosario_key})
    send = await user.http_client.post(
        '/api/v1/sessions/central/send', json={'to': '+5491133334444', 'text': 'x'}, headers={'X-API-Key': rosario_key}
    )
    qr = await user.http_client.get('/api/v1/sessions/central/qr', headers={'X-API-Key': rosario_key})
    assert own.status_code == 200 and own.json()['name'] == 'rosario'
    assert (other.status_code, send.status_code, qr.status_code) == (404, 404, 404)
    assert (await user.http_client.get('/api/v1/sessions/central/status')).status_code == 401


async def test_transitions_and_uptime_are_kept(gateway: FakeWahaApi, user: User, world: World, db: Database) -> None:
    relay = await ready_session(gateway, user)
    gateway.set_status('ventas', 'STOPPED')
    await relay.forward(event='session.status')
    days = await service.daily_uptime(db, name='ventas', viewer=None, days=2)
    assert len(days) == 1  # the session was created today
    [(_, share)] = days
    assert 0 < share < 1
    assert await count(db, WaSessionTransition) == 4
    raw = json.loads(gateway.webhooks_posted[0].raw)
    assert raw['event'] == 'session.status' and raw['session'] == 'ventas'


async def test_health_reports_sessions_and_is_degraded_while_one_is_down(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await service.add_session(db, branch_code='SUC1', name='ventas')
    relay = Relay(gateway, user)
    await runtime().workers.sessions.start(name='ventas', actor=None)
    waiting = (await user.http_client.get('/health')).json()
    assert waiting['status'] == 'degraded'
    assert waiting['sessions'] == {'total': 1, 'ready': 0, 'not_ready': {'ventas': 'QR_REQUIRED'}}

    gateway.scan('ventas')
    await relay.forward(new=3, event='session.status')
    ready = (await user.http_client.get('/health')).json()
    assert ready['status'] == 'ok' and ready['sessions'] == {'total': 1, 'ready': 1, 'not_ready': {}}


async def test_metrics_count_sessions_by_state(gateway: FakeWahaApi, user: User, world: World, db: Database) -> None:
    await service.add_session(db, branch_code='SUC1', name='ventas')
    await service.add_session(db, branch_code='SUC2', name='rosario')
    await runtime().workers.sessions.start(name='ventas', actor=None)
    scraped = await scrape(user.http_client)
    sessions = {labels: value for (name, labels), value in scraped.items() if name == 'leadmaster_wa_sessions'}
    assert sessions[(('state', 'QR_REQUIRED'),)] == 1
    assert sessions[(('state', 'INITIALIZING'),)] == 1
    assert sessions[(('state', 'READY'),)] == 0


async def test_a_phone_typed_message_never_confirms_another_customers_lost_send(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    relay = await ready_session(gateway, user, allow=True)
    other = '5491155557777'
    gateway.customer_text('ventas', phone=other, text='Hola')
    await relay.forward(new=2)
    async with db.session() as session:
        conversation = (await session.exec(select(Conversation))).one()
        lost = Message(
            conversation_id=conversation.id or 0,
            direction=Direction.OUTBOUND,
            sender_kind=SenderKind.AGENT,
            text='Gracias!',
            status=MessageStatus.UNCONFIRMED,
            attempts=1,
        )
        session.add(lost)
        await session.commit()
        await session.refresh(lost)
    gateway.phone_typed('ventas', phone=CUSTOMER, text='Gracias!')  # to another customer, typed on the phone
    await relay.forward(event='message.any')
    async with db.session() as session:
        still_lost = await session.get(Message, lost.id)
        typed = (await session.exec(select(Message).where(col(Message.payload).is_not(None)))).all()
    assert (
        still_lost is not None and still_lost.status == MessageStatus.UNCONFIRMED and still_lost.wa_message_id is None
    )
    assert [m.text for m in typed if m.payload.get('fields', {}).get('from_phone')] == ['Gracias!']


async def test_status_updates_and_channels_never_become_conversations(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    relay = await ready_session(gateway, user)
    for chat in ('status@broadcast', '120363111111111111@newsletter'):
        gateway.emit('ventas', 'message', build.message(chat_id=chat, body='Mirá mi estado', my_id='x@c.us'))
    await relay.forward(new=2, event='message')
    assert await count(db, Conversation) == 0 and await count(db, Message) == 0


async def test_statuses_are_applied_in_the_gateways_order_and_late_ones_ignored(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await service.add_session(db, branch_code='SUC1', name='ventas')
    relay = Relay(gateway, user)
    start = int(utcnow().timestamp() * 1000) + 1000  # after the session was created here
    bodies = {
        status: json.dumps(
            build.envelope(
                'session.status',
                build.session_status('ventas', status),
                session='ventas',
                timestamp_ms=start + 1000 * step,
            )
        ).encode()
        for step, status in enumerate(['STARTING', 'SCAN_QR_CODE', 'WORKING'])
    }

    async def post(raw: bytes) -> int:
        headers = {'X-Webhook-Hmac': sign_body(raw, HMAC_KEY), 'X-Webhook-Hmac-Algorithm': 'sha512'}
        return (await user.http_client.post('/webhooks/waha', content=raw, headers=headers)).status_code

    # Journaled newest first, ingested in one batch: the gateway's order still wins.
    for status in ('WORKING', 'SCAN_QR_CODE', 'STARTING'):
        assert await post(bodies[status]) == 200
    await runtime().ingest.drain()
    assert (await state_of(db, 'ventas')).state == SessionState.READY

    assert await post(bodies['SCAN_QR_CODE']) == 200  # WAHA retrying an old one
    await runtime().ingest.drain()
    assert (await state_of(db, 'ventas')).state == SessionState.READY
    assert relay.relayed == 0


async def test_a_send_waits_for_its_session_without_spending_attempts(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    relay = await ready_session(gateway, user, allow=True)
    _, key = await api_keys.create_api_key(db, name='erp')
    queued = await user.http_client.post(
        '/api/v1/sessions/ventas/send', json={'to': '+5491133334444', 'text': 'Hola'}, headers={'X-API-Key': key}
    )
    assert queued.status_code == 202
    gateway.set_status('ventas', 'SCAN_QR_CODE')  # the phone unlinked it after we queued
    await relay.forward(event='session.status')
    await runtime().outbox.drain()
    async with db.session() as session:
        message = await session.get(Message, queued.json()['outbox_id'])
    assert message is not None and message.status == MessageStatus.QUEUED and message.attempts == 0
    assert 'Esperando la sesión' in message.error_title and not gateway.sends


async def test_a_reply_typed_on_the_phone_means_the_customer_no_longer_waits(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    relay = await ready_session(gateway, user)
    gateway.customer_text('ventas', phone=CUSTOMER, text='Tienen envío a Lanús?')
    await relay.forward(new=2)
    async with db.session() as session:
        assert (await session.exec(select(Conversation))).one().waiting_since is not None
    gateway.phone_typed('ventas', phone=CUSTOMER, text='Sí, mañana te llega')
    await relay.forward(event='message.any')
    async with db.session() as session:
        assert (await session.exec(select(Conversation))).one().waiting_since is None


async def test_silence_is_audited_once_however_many_rounds_it_lasts(
    gateway: FakeWahaApi, user: User, world: World, db: Database
) -> None:
    await ready_session(gateway, user)
    row = await state_of(db, 'ventas')
    tuesday = (row.last_event_at or utcnow()).replace(year=2026, month=12, day=8, hour=14, minute=0)
    async with db.session() as session:
        fresh = await session.get(WaSession, row.id)
        assert fresh is not None
        fresh.last_event_at = fresh.state_since = tuesday - timedelta(hours=2)
        session.add(fresh)
        await session.commit()
    for minutes in (0, 1, 2):
        await runtime().workers.sessions.probe_all(now=tuesday + timedelta(minutes=minutes))
    assert await count(db, AuditEntry, col(AuditEntry.action) == 'session.silent') == 1
    assert (await state_of(db, 'ventas')).silent
