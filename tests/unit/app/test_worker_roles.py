"""Several worker processes (issue 20): `leadmaster worker --only …` runs only the named workers, and worker
processes side by side share one rate per number towards Meta."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from app.background import ROLES, build_workers, parse_roles
from app.cli import cli
from app.event_bus import InProcessEventBus, PostgresEventBus
from app.settings import Settings
from app.worker_process import WorkerProcess
from services.database import Database
from services.events import Event
from services.media_store import MediaStore
from services.models import Contact, Conversation, DeliveryStatus, WebhookDelivery
from services.models.types import utcnow
from services.presence import PRESENCE_ONLINE
from services.whatsapp import outbox
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.journal import journal_once
from tests.conftest import APP_SECRET, World

ON_POSTGRESQL = pytest.mark.parametrize('database_url', ['postgresql'], indirect=True)
STARTUP_SECONDS = 180  # two child processes import the app; the test machine is often very busy


def test_roles_are_read_from_a_comma_separated_list() -> None:
    assert parse_roles(None) == frozenset(ROLES) == parse_roles('')
    assert parse_roles(' ingest, outbox ') == {'ingest', 'outbox'}
    with pytest.raises(ValueError, match=r'unknown worker role.*inbox'):
        parse_roles('ingest,inbox')


def test_the_worker_command_refuses_an_unknown_role(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    result = CliRunner().invoke(cli, ['worker', '--only', 'ingest,sendings'])
    assert result.exit_code == 2
    assert 'unknown worker role(s): sendings' in result.output


async def test_only_the_named_workers_start(
    db: Database, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('LEADMASTER_DATABASE_URL', database_url)
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    monkeypatch.setenv('LEADMASTER_ASSISTANT_ENABLED', 'false')
    settings = Settings()
    graph = GraphClient(base_url='http://127.0.0.1:9/v23.0', token='unused')
    workers = build_workers(
        settings, db=db, bus=InProcessEventBus(), media=MediaStore(tmp_path / 'media'), graph=graph, online=set
    )
    workers.roles = parse_roles('ingest,outbox,retention')
    workers.start()
    try:
        started = {
            role: [getattr(worker, '_task', None) is not None or getattr(worker, 'running', False) for worker in group]
            for role, group in workers.by_role().items()
        }
    finally:
        await workers.stop()
        await graph.aclose()
    assert started['ingest'] == started['outbox'] == started['retention'] == [True]
    assert started['assistant'] == started['summaries'] == started['media'] == [False]
    assert started['takeover'] == [False, False]


class WorkerHellos:
    """A starting worker process asks who is online: that is how the test knows it listens."""

    def __init__(self, bus: PostgresEventBus) -> None:
        self.hellos: asyncio.Queue[Event] = asyncio.Queue()
        bus.subscribe(
            lambda event: self.hellos.put_nowait(event) if event.data.get('ask') else None,
            branch_ids=None,
            kinds=[PRESENCE_ONLINE],
        )


@pytest.fixture
async def hellos(database_url: str) -> AsyncIterator[WorkerHellos]:
    bus = PostgresEventBus.from_sqlalchemy_url(database_url)
    await bus.start(wait_seconds=10)
    yield WorkerHellos(bus)
    await bus.stop()


class Quiet:
    async def publish(self, events: object) -> None:
        pass


async def open_conversations(db: Database, world: World, count: int) -> list[int]:
    """`count` customers who wrote to Casa Central a minute ago (the 24-hour window open), one conversation each."""
    ids = []
    async with db.session() as session:
        for index in range(count):
            wa_id = f'54911555{index:05d}'
            contact = Contact(phone_e164=f'+{wa_id}', wa_id=wa_id, profile_name=f'Cliente {index}')
            session.add(contact)
            await session.flush()
            conversation = Conversation(
                contact_id=contact.id or 0,
                number_id=world.central_number.id or 0,
                branch_id=world.central.id or 0,
                last_inbound_at=utcnow() - timedelta(minutes=1),
            )
            session.add(conversation)
            await session.flush()
            ids.append(conversation.id or 0)
        await session.commit()
    return ids


@ON_POSTGRESQL
async def test_two_outbox_processes_never_exceed_a_numbers_rate_together(
    *,
    db: Database,
    database_url: str,
    world: World,
    hellos: WorkerHellos,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """24 replies to 24 customers on one number limited to 4 per second: two outbox-only worker processes send
    them together at that rate (4 at once, then one every 0.25 s: about 5 s), where buckets of their own would have
    let each send 4 per second (about 2.5 s). And `--only outbox` runs no ingest: a webhook stays in the journal."""
    with FakeGraphApi() as meta:
        for name, value in {
            'LEADMASTER_DATABASE_URL': database_url,
            'LEADMASTER_VAR_DIR': str(tmp_path / 'var'),
            'LEADMASTER_WHATSAPP_APP_SECRET': APP_SECRET,
            'LEADMASTER_WHATSAPP_TOKEN': meta.token,
            'LEADMASTER_GRAPH_API_BASE': meta.base_url,
            'LEADMASTER_OUTBOX_RATE_PER_NUMBER': '4',
            'LEADMASTER_ASSISTANT_ENABLED': 'false',
        }.items():
            monkeypatch.setenv(name, value)
        webhook = await journal_once(db, '{"object": "whatsapp_business_account", "entry": []}')
        for conversation_id in await open_conversations(db, world, 24):
            await outbox.queue_text(db, conversation_id=conversation_id, text='Tenemos stock', publisher=Quiet())

        workers = WorkerProcess(Settings(), restart_delay_seconds=0.2, count=2, roles='outbox')
        workers.start()
        try:
            for _ in range(2):
                await asyncio.wait_for(hellos.hellos.get(), timeout=STARTUP_SECONDS)
            assert len(workers.pids) == 2
            sends = await meta.wait_for_sends(24, seconds=STARTUP_SECONDS)
        finally:
            await workers.stop()
        times = sorted(request.time for request in meta.requests if request.path.endswith('/messages'))

    assert len(sends) == len(times) == 24
    # Together: the burst of 4, then 20 at 4 per second, 5 s (less the first sends' own delays on a busy machine).
    # Each with buckets of its own: 4 + 4 at once, then 16 at 8 per second, 2 s.
    assert times[-1] - times[0] >= 3.5
    assert times[-1] - times[4] >= 3.0
    async with db.session() as session:
        status = (await session.exec(select(WebhookDelivery.status).where(col(WebhookDelivery.id) == webhook))).one()
    assert status == DeliveryStatus.PENDING
