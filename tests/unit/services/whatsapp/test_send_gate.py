"""The send gate (L2, seed 002's sender middleware) in the outbox, against a fake Graph API over real HTTP: a
business-initiated message to a contact who opted out, is not validated or scores under 70 is stored `blocked` with
the reason and never reaches Meta; a reply inside the window the customer opened is never gated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from app.settings import Settings
from app.worker_process import WorkerProcess
from services.campaigns.service import Audience, Schedule, StartOutcome, create_campaign, start_campaign
from services.database import Database
from services.events import Event
from services.media_store import MediaStore
from services.models import Contact, Conversation, Message, MessageStatus
from services.models.types import utcnow
from services.whatsapp import outbox
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.outbox import SendGate, configure_send_gate, send_gate
from services.whatsapp.workers import OutboxWorker
from tests.conftest import APP_SECRET, World
from tests.unit.services.campaigns.prospects import TEMPLATE, Prospect, add_prospects, add_template

ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
ALWAYS_OPEN = Schedule(rate_per_minute=6000, days=(0, 1, 2, 3, 4, 5, 6), from_hour=0, to_hour=24)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


@pytest.fixture
async def worker(db: Database, fake_graph: FakeGraphApi, tmp_path: Path) -> AsyncIterator[OutboxWorker]:
    client = GraphClient(base_url=fake_graph.base_url, token=fake_graph.token, timeout=5.0)
    yield OutboxWorker(
        db, client=client, publisher=Recorder(), store=MediaStore(tmp_path / 'media'), delay=lambda attempt, after: 0.0
    )
    await client.aclose()


async def conversation_with(db: Database, world: World, contact_id: int, *, wrote_hours_ago: float | None) -> int:
    async with db.session() as session:
        conversation = Conversation(
            contact_id=contact_id,
            number_id=world.central_number.id or 0,
            branch_id=world.central.id or 0,
            last_inbound_at=utcnow() - timedelta(hours=wrote_hours_ago) if wrote_hours_ago is not None else None,
        )
        session.add(conversation)
        await session.commit()
        return conversation.id or 0


def recipients_of(fake_graph: FakeGraphApi) -> list[str]:
    return sorted(str(request['to']) for request in fake_graph.sent_messages)


async def template_to(db: Database, conversation_id: int, name: str = 'Lucía') -> Message:
    return await outbox.queue_template(
        db,
        conversation_id=conversation_id,
        template_name=TEMPLATE,
        variables=[name, 'Casa Central'],
        publisher=Recorder(),
    )


async def start_central_campaign(db: Database, world: World) -> StartOutcome:
    """A campaign to Casa Central's prospects, always within its hours, started (its messages queued or blocked)."""
    campaign = await create_campaign(
        db,
        viewer=None,
        name='Pastillas',
        phone_number_id='pn-central',
        template_name=TEMPLATE,
        audience=Audience(branch_id=world.central.id),
        schedule=ALWAYS_OPEN,
    )
    return await start_campaign(db, campaign_id=campaign.id or 0, publisher=Recorder(), zone=ZONE)


async def test_a_template_outside_the_window_to_an_unfit_contact_is_blocked_and_never_reaches_meta(
    db: Database, world: World, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    await add_template(db, world.central_number)
    ids = await add_prospects(
        db,
        [
            Prospect('5491160000001', 'Lucía Paz', score=45),
            Prospect('5491160000002', 'Hugo Díaz', score=95, validated=False),
            Prospect('5491160000003', 'Rita Sol', score=95, opted_out_at=utcnow() - timedelta(days=3)),
            Prospect('5491160000004', 'Omar Gil', score=85),
        ],
    )
    messages = {
        phone: await template_to(db, await conversation_with(db, world, contact_id, wrote_hours_ago=None))
        for phone, contact_id in ids.items()
    }
    await worker.drain()

    assert {phone: message.status for phone, message in messages.items()} == {
        '5491160000001': MessageStatus.BLOCKED,
        '5491160000002': MessageStatus.BLOCKED,
        '5491160000003': MessageStatus.BLOCKED,
        '5491160000004': MessageStatus.QUEUED,
    }
    assert messages['5491160000001'].error_title == 'Bloqueado: contactabilidad 45 (mínimo 70)'
    assert messages['5491160000002'].error_title == 'Bloqueado: el contacto no está validado técnicamente'
    assert messages['5491160000003'].error_title == 'Bloqueado: el contacto pidió la baja'
    assert recipients_of(fake_graph) == ['5491160000004']  # counted at Meta's end
    async with db.session() as session:
        stored = (
            await session.exec(select(Message.status).where(col(Message.id) == messages['5491160000001'].id))
        ).one()
    assert stored == MessageStatus.BLOCKED  # still blocked after the worker's round: never claimed


async def test_a_reply_inside_the_window_the_customer_opened_is_never_gated(
    db: Database, world: World, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    await add_template(db, world.central_number)
    ids = await add_prospects(
        db, [Prospect('5491160000011', 'Lucía Paz', score=10, validated=False, opted_out_at=utcnow())]
    )
    conversation_id = await conversation_with(db, world, ids['5491160000011'], wrote_hours_ago=1)

    reply = await outbox.queue_text(db, conversation_id=conversation_id, text='¡Hola Lucía!', publisher=Recorder())
    template = await template_to(db, conversation_id)  # a template inside the window is a reply too
    await worker.drain()

    assert reply.status == template.status == MessageStatus.QUEUED
    assert recipients_of(fake_graph) == ['5491160000011', '5491160000011']


async def test_a_follow_up_template_to_a_customer_whose_window_closed_goes_through_the_whole_gate(
    db: Database, world: World, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    # Issue 16: "a template to a contact who has not written in 24 h" is business-initiated. A customer who wrote
    # three days ago is gated like a prospect: sent once a person validated them and their score is 70 or more
    # (their own message counts as WhatsApp's proof, see test_scoring), blocked with the reason otherwise.
    await add_template(db, world.central_number)
    ids = await add_prospects(
        db,
        [
            Prospect('5491160000021', 'Lucía Paz', score=90, validated=True),
            Prospect('5491160000022', 'Hugo Díaz', score=90, validated=False),
            Prospect('5491160000023', 'Rita Sol', score=90, validated=True, opted_out_at=utcnow()),
        ],
    )
    sent = {
        phone: await template_to(db, await conversation_with(db, world, contact_id, wrote_hours_ago=72))
        for phone, contact_id in ids.items()
    }
    await worker.drain()

    assert {phone: (message.status, message.error_title) for phone, message in sent.items()} == {
        '5491160000021': (MessageStatus.QUEUED, ''),
        '5491160000022': (MessageStatus.BLOCKED, 'Bloqueado: el contacto no está validado técnicamente'),
        '5491160000023': (MessageStatus.BLOCKED, 'Bloqueado: el contacto pidió la baja'),
    }
    assert recipients_of(fake_graph) == ['5491160000021']


async def test_the_threshold_is_configurable_and_a_campaign_can_only_raise_it(db: Database, world: World) -> None:
    await add_template(db, world.central_number)
    ids = await add_prospects(db, [Prospect('5491160000021', 'Lucía Paz', score=62)])
    conversation_id = await conversation_with(db, world, ids['5491160000021'], wrote_hours_ago=None)
    before = send_gate()
    configure_send_gate(SendGate(min_score=60))
    try:
        assert (await template_to(db, conversation_id)).status == MessageStatus.QUEUED
        with pytest.raises(Exception, match='cannot go lower'):
            await create_campaign(
                db,
                viewer=None,
                name='x',
                phone_number_id='pn-central',
                template_name=TEMPLATE,
                audience=Audience(),
                min_score=50,
            )
    finally:
        configure_send_gate(before)
    assert (await template_to(db, conversation_id)).status == MessageStatus.BLOCKED


async def test_a_campaign_message_is_gated_even_inside_a_window(
    db: Database, world: World, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    await add_template(db, world.central_number)
    ids = await add_prospects(
        db,
        [
            Prospect('5491160000031', 'Lucía Paz', score=40, branch_ids=[world.central.id or 0]),
            Prospect('5491160000032', 'Omar Gil', score=90, branch_ids=[world.central.id or 0]),
        ],
    )
    await conversation_with(db, world, ids['5491160000031'], wrote_hours_ago=1)  # she wrote an hour ago
    outcome = await start_central_campaign(db, world)
    await worker.drain()

    assert (outcome.queued, outcome.blocked) == (1, 1)
    assert recipients_of(fake_graph) == ['5491160000032']


async def test_a_campaign_message_whose_contact_opts_out_after_it_was_queued_is_never_sent(
    db: Database, world: World, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    # The race the opt-out worker cannot close alone: its "BAJA" commits while a campaign chunk is being queued, so
    # it finds nothing queued to block; the outbox checks the contact again when it sends.
    await add_template(db, world.central_number)
    ids = await add_prospects(db, [Prospect('5491160000051', 'Omar Gil', score=90, branch_ids=[world.central.id or 0])])
    outcome = await start_central_campaign(db, world)
    async with db.session() as session:
        await session.exec(update(Contact).where(col(Contact.id) == ids['5491160000051']).values(opted_out_at=utcnow()))
        await session.commit()
    await worker.drain()

    assert outcome.queued == 1
    assert fake_graph.sent_messages == []
    async with db.session() as session:
        status, title = (await session.exec(select(Message.status, Message.error_title))).one()
    assert (status, title) == (MessageStatus.BLOCKED, 'Bloqueado: el contacto pidió la baja')


async def test_a_campaign_message_whose_contact_no_longer_passes_the_gate_when_it_is_sent_is_blocked(
    db: Database, world: World, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    # Queued while both passed; then a person rejected one and a failed send lowered the other's score. The outbox
    # asks the gate again when it sends a campaign's message: neither reaches Meta, each says why.
    await add_template(db, world.central_number)
    branch = [world.central.id or 0]
    ids = await add_prospects(
        db,
        [
            Prospect('5491160000061', 'Omar Gil', score=90, branch_ids=branch),
            Prospect('5491160000062', 'Rita Sol', score=90, branch_ids=branch),
            Prospect('5491160000063', 'Hugo Díaz', score=90, branch_ids=branch),
        ],
    )
    outcome = await start_central_campaign(db, world)
    async with db.session() as session:
        await session.exec(
            update(Contact).where(col(Contact.id) == ids['5491160000061']).values(validado_tecnicamente=False)
        )
        await session.exec(
            update(Contact).where(col(Contact.id) == ids['5491160000062']).values(score_contactabilidad=50)
        )
        await session.commit()
    await worker.drain()

    assert outcome.queued == 3
    assert recipients_of(fake_graph) == ['5491160000063']
    async with db.session() as session:
        titles = sorted(
            (await session.exec(select(Message.error_title).where(Message.status == MessageStatus.BLOCKED))).all()
        )
    assert titles == [
        'Bloqueado: contactabilidad 50 (mínimo 70)',
        'Bloqueado: el contacto no está validado técnicamente',
    ]


# --- two worker processes on PostgreSQL ---------------------------------------------------------------------

ON_POSTGRESQL = pytest.mark.parametrize('database_url', ['postgresql'], indirect=True)
STARTUP_SECONDS = 60


@ON_POSTGRESQL
async def test_two_worker_processes_send_each_allowed_message_once_and_no_blocked_one(
    *,
    db: Database,
    world: World,
    fake_graph: FakeGraphApi,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await add_template(db, world.central_number)
    central = world.central.id or 0
    prospects = [
        Prospect(f'54911700{index:05d}', f'Cliente {index}', score=40 + (index % 6) * 10, branch_ids=[central])
        for index in range(60)
    ]  # scores 40, 50 … 90: half under 70
    await add_prospects(db, prospects)
    campaign = await create_campaign(
        db,
        viewer=None,
        name='Dos procesos',
        phone_number_id='pn-central',
        template_name=TEMPLATE,
        audience=Audience(branch_id=central),
        schedule=ALWAYS_OPEN,
    )
    outcome = await start_campaign(db, campaign_id=campaign.id or 0, publisher=Recorder(), zone=ZONE)
    allowed = sorted(p.phone for p in prospects if p.score >= 70)
    assert outcome.queued == len(allowed) == 30

    for name, value in {
        'LEADMASTER_DATABASE_URL': database_url,
        'LEADMASTER_WHATSAPP_APP_SECRET': APP_SECRET,
        'LEADMASTER_WHATSAPP_TOKEN': fake_graph.token,
        'LEADMASTER_GRAPH_API_BASE': fake_graph.base_url,
        'LEADMASTER_ASSISTANT_ENABLED': 'false',
        'LEADMASTER_BACKUP_ENABLED': 'false',
    }.items():
        monkeypatch.setenv(name, value)
    processes = []
    for index in range(2):
        monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / f'var{index}'))
        processes.append(WorkerProcess(Settings(), restart_delay_seconds=0.2))
    for process in processes:
        process.start()
    try:
        async with asyncio.timeout(STARTUP_SECONDS * 2):
            while True:
                async with db.session() as session:
                    waiting = (
                        await session.exec(
                            select(func.count()).where(
                                col(Message.status).in_([MessageStatus.QUEUED, MessageStatus.SENDING])
                            )
                        )
                    ).one()
                if waiting == 0:
                    break
                await asyncio.sleep(0.2)
    finally:
        for process in processes:
            await process.stop()
    assert recipients_of(fake_graph) == allowed  # each once, none of the blocked
    async with db.session() as session:
        blocked = (await session.exec(select(func.count()).where(col(Message.status) == MessageStatus.BLOCKED))).one()
        low = (
            await session.exec(select(func.count()).where(col(Contact.score_contactabilidad) < 70, col(Contact.id) > 0))
        ).one()
    assert blocked == low == 30


async def test_opting_out_blocks_what_was_queued_before_a_worker_claims_it(
    db: Database, world: World, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    await add_template(db, world.central_number)
    ids = await add_prospects(db, [Prospect('5491160000041', 'Omar Gil', score=90)])
    conversation_id = await conversation_with(db, world, ids['5491160000041'], wrote_hours_ago=None)
    queued = await template_to(db, conversation_id, 'Omar')
    async with db.session() as session:
        blocked = await outbox.block_queued_business_messages(
            session, contact_id=ids['5491160000041'], reason=outbox.BlockReason.OPTED_OUT
        )
        await session.exec(update(Contact).values(opted_out_at=utcnow()))
        await session.commit()
    await worker.drain()

    assert [message_id for message_id, _, _ in blocked] == [queued.id]
    assert fake_graph.sent_messages == []
