"""Opt-out (L4) on SQLite and PostgreSQL: the customer's "BAJA" (any case, accents, punctuation) arrives through the
signed-webhook ingest, is honored at once (their queued campaign message is blocked before any worker sends it), is
confirmed once, and holds forever (a second campaign blocks them)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.campaigns.keywords import matched_keyword
from services.campaigns.opt_out import OptOutPolicy
from services.campaigns.service import Audience, Schedule, campaign_results, create_campaign, start_campaign
from services.campaigns.workers import OptOutWorker
from services.database import Database
from services.events import Event
from services.media_store import MediaStore
from services.models import Contact, Message
from services.models.types import utcnow
from services.whatsapp import payload_builders as build
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.journal import journal_once
from services.whatsapp.workers import IngestWorker, OutboxWorker
from tests.conftest import World
from tests.unit.services.campaigns.prospects import TEMPLATE, Prospect, add_prospects, add_template

ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
KEYWORDS = ['BAJA', 'STOP', 'no me escriban más', 'dame de baja']
CONFIRMATION = 'Listo, te dimos de baja.'
LUCIA = '5491160000001'


@pytest.mark.parametrize(
    'text',
    ['BAJA', 'baja', 'Baja!!', ' baja. ', 'BÁJA', 'stop', 'STOP!', 'No me escriban más', 'no me escriban mas!!!',
     'Por favor, NO ME ESCRIBAN MÁS. Gracias', 'dame de baja por favor'],
)  # fmt: skip
def test_opt_out_keywords_ignore_case_accents_and_punctuation(text: str) -> None:
    assert matched_keyword(text, KEYWORDS) is not None


@pytest.mark.parametrize(
    'text', ['se me rompió el stop', 'quiero dar de alta', 'la baja de precios', 'bajá el precio y compro', '']
)
def test_a_keyword_inside_a_conversation_is_not_an_opt_out(text: str) -> None:
    assert matched_keyword(text, KEYWORDS) is None


class Bus:
    """Records events and hands `message.created` to the opt-out worker, as the app's bus does."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.opt_outs: OptOutWorker | None = None

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)
        for event in events:
            if self.opt_outs is not None and event.kind == 'message.created':
                self.opt_outs.on_event(event)


@pytest.fixture
def bus() -> Bus:
    return Bus()


@pytest.fixture
def opt_outs(db: Database, bus: Bus) -> OptOutWorker:
    worker = OptOutWorker(db, policy=OptOutPolicy(keywords=KEYWORDS, confirmation=CONFIRMATION), publisher=bus)
    bus.opt_outs = worker
    return worker


@pytest.fixture
async def outbox(db: Database, fake_graph: FakeGraphApi, tmp_path: Path, bus: Bus) -> AsyncIterator[OutboxWorker]:
    client = GraphClient(base_url=fake_graph.base_url, token=fake_graph.token, timeout=5.0)
    yield OutboxWorker(db, client=client, publisher=bus, store=MediaStore(tmp_path / 'media'), delay=lambda a, b: 0.0)
    await client.aclose()


async def customer_writes(db: Database, bus: Bus, world: World, text: str, wamid: str) -> None:
    await journal_once(
        db,
        json.dumps(
            build.envelope(
                phone_number_id=world.central_number.phone_number_id,
                display_phone_number='5491150000101',
                contacts=[build.contact(wa_id=LUCIA, name='Lucía')],
                messages=[build.text_message(from_=LUCIA, body=text, wa_message_id=wamid)],
            )
        ),
    )
    await IngestWorker(db, publisher=bus).drain()


async def start(db: Database, bus: Bus, world: World, name: str, *, per_minute: float) -> int:
    campaign = await create_campaign(
        db,
        viewer=None,
        name=name,
        phone_number_id='pn-central',
        template_name=TEMPLATE,
        audience=Audience(branch_id=world.central.id),
        schedule=Schedule(rate_per_minute=per_minute, days=(0, 1, 2, 3, 4, 5, 6), from_hour=0, to_hour=24),
    )
    await start_campaign(db, campaign_id=campaign.id or 0, publisher=bus, zone=ZONE)
    return campaign.id or 0


async def test_baja_is_honored_at_once_confirmed_once_and_forever(
    *, db: Database, world: World, bus: Bus, opt_outs: OptOutWorker, outbox: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    await add_template(db, world.central_number)
    central = world.central.id or 0
    await add_prospects(
        db,
        [
            Prospect(LUCIA, 'Lucía Paz', score=90, branch_ids=[central]),
            Prospect('5491160000002', 'Omar Gil', score=85, branch_ids=[central]),
        ],
    )
    # The first campaign reaches Lucía now (Omar's turn is in 30 s); a second one is queued for her, not yet sent.
    first = await start(db, bus, world, 'Primera', per_minute=2)
    await outbox.drain()
    assert [request['to'] for request in fake_graph.sent_messages] == [LUCIA]
    second = await start(db, bus, world, 'Segunda', per_minute=2)

    await customer_writes(db, bus, world, 'Baja!!', 'wamid.baja-1')
    await opt_outs.drain()
    async with db.session() as session:
        lucia = (await session.exec(select(Contact).where(Contact.wa_id == LUCIA))).one()
        await session.exec(update(Message).values(next_attempt_at=None))  # whatever is scheduled is due now
        await session.commit()
    await outbox.drain()

    assert lucia.opted_out_at is not None
    sent = [(request['to'], request['type']) for request in fake_graph.sent_messages]
    assert sorted(sent) == sorted(
        [(LUCIA, 'template'), (LUCIA, 'text'), ('5491160000002', 'template'), ('5491160000002', 'template')]
    )  # her second campaign's message was blocked before any worker took it; she got the confirmation
    assert next(r for r in fake_graph.sent_messages if r['type'] == 'text')['text']['body'] == CONFIRMATION
    assert (await campaign_results(db, viewer=None, campaign_id=second)).blocked == {'opted_out': 1}
    first_results = await campaign_results(db, viewer=None, campaign_id=first)
    assert (first_results.replied, first_results.opted_out) == (1, 1)

    # Forever: a later campaign blocks her; writing BAJA again gets no second confirmation.
    third = await start(db, bus, world, 'Tercera', per_minute=600)
    await customer_writes(db, bus, world, 'BAJA', 'wamid.baja-2')
    await opt_outs.drain()
    await opt_outs.run_round()  # the sweep sees the same messages again: still nothing new
    await outbox.drain()
    assert (await campaign_results(db, viewer=None, campaign_id=third)).blocked == {'opted_out': 1}
    to_lucia = [r['type'] for r in fake_graph.sent_messages if r['to'] == LUCIA]
    assert to_lucia == ['template', 'text']


async def test_the_sweep_honors_an_opt_out_no_event_announced(
    db: Database, world: World, bus: Bus, opt_outs: OptOutWorker
) -> None:
    await opt_outs.on_start()
    bus.opt_outs = None  # stored by another process, or while this one restarted: no event reaches the worker
    await customer_writes(db, bus, world, 'no me escriban MÁS', 'wamid.baja-3')
    await customer_writes(db, bus, world, 'hola, ¿tienen stop para Gol?', 'wamid.consulta')
    await opt_outs.run_round()
    async with db.session() as session:
        lucia = (await session.exec(select(Contact).where(Contact.wa_id == LUCIA))).one()
        confirmations = (await session.exec(select(Message.text).where(Message.direction == 'out'))).all()
    assert lucia.opted_out_at is not None and utcnow() - lucia.opted_out_at < timedelta(minutes=1)
    assert confirmations == [CONFIRMATION]
    assert await opt_outs.answered((await _last_inbound(db)) - 1)  # the bot stays quiet on the BAJA
    assert not await opt_outs.answered(await _last_inbound(db))


async def _last_inbound(db: Database) -> int:
    async with db.session() as session:
        return (
            await session.exec(select(Message.id).where(Message.direction == 'in').order_by(col(Message.id).desc()))
        ).first() or 0
