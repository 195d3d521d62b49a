"""Campaigns (L4) on SQLite and PostgreSQL: the audience's filters, the pace in `next_attempt_at`, the business hours,
a start two processes race, the schedule picked up by a new job after a restart, and the results with the response
rate per score band, against a fake Graph API over real HTTP."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.access import Viewer
from services.campaigns.pacing import Pacer, SendHours
from services.campaigns.service import (
    Audience,
    Schedule,
    campaign_results,
    create_campaign,
    finish_campaigns,
    get_campaign,
    list_campaigns,
    preview_audience,
    start_campaign,
)
from services.campaigns.workers import CampaignSweeper
from services.database import Database
from services.errors import NotFound, PermissionDenied
from services.events import Event
from services.media_store import MediaStore
from services.models import Conversation, Direction, Message, MessagePriority, MessageStatus, Role, SenderKind
from services.models.campaigns import CampaignRecipient, CampaignStatus, OptOut
from services.models.types import utcnow
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.workers import OutboxWorker
from tests.conftest import World
from tests.unit.app.pages.waiting import eventually
from tests.unit.services.campaigns.prospects import TEMPLATE, Prospect, add_prospects, add_template

ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
ALWAYS_OPEN = Schedule(rate_per_minute=600, days=(0, 1, 2, 3, 4, 5, 6), from_hour=0, to_hour=24)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


def viewer_of(world: World, name: str) -> Viewer:
    user = getattr(world, name)
    return Viewer(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        branch_id=user.branch_id,
        branch_ids=None if user.role == Role.ADMIN else frozenset({user.branch_id}),
    )


@pytest.fixture
async def prospects(db: Database, world: World) -> dict[str, int]:
    await add_template(db, world.central_number)
    central, rosario = world.central.id or 0, world.rosario.id or 0
    return await add_prospects(
        db,
        [
            Prospect('5491160000001', 'Lucía Paz', score=92, labels=['taller'], branch_ids=[central]),
            Prospect('5491160000002', 'Omar Gil', score=81, labels=['flota'], branch_ids=[central]),
            Prospect('5491160000003', 'Rita Sol', score=74, labels=['taller'], branch_ids=[central]),
            Prospect('5491160000004', 'Hugo Díaz', score=55, labels=['taller'], branch_ids=[central]),
            Prospect('5491160000005', 'Ema Ruiz', score=88, validated=False, labels=['taller'], branch_ids=[central]),
            Prospect('5491160000006', 'Leo Vera', score=99, branch_ids=[rosario]),
        ],
    )


async def campaign_for(db: Database, audience: Audience, *, schedule: Schedule = ALWAYS_OPEN, **kwargs: object) -> int:
    campaign = await create_campaign(
        db,
        viewer=kwargs.pop('viewer', None),  # type: ignore[arg-type]
        name=str(kwargs.pop('name', 'Pastillas de freno')),
        phone_number_id=str(kwargs.pop('number', 'pn-central')),
        template_name=TEMPLATE,
        audience=audience,
        schedule=schedule,
    )
    return campaign.id or 0


async def recipients_by_phone(db: Database, campaign_id: int) -> dict[str, tuple[MessageStatus, str]]:
    from services.models import Contact

    async with db.session() as session:
        rows = (
            await session.exec(
                select(Contact.wa_id, Message.status, CampaignRecipient.blocked_reason)
                .join(CampaignRecipient, col(CampaignRecipient.contact_id) == col(Contact.id))
                .join(Message, col(Message.id) == col(CampaignRecipient.message_id))
                .where(CampaignRecipient.campaign_id == campaign_id)
            )
        ).all()
    return {phone or '': (MessageStatus(status), reason) for phone, status, reason in rows}


async def test_the_audience_filters_by_branch_label_score_band_and_validation(
    db: Database, world: World, prospects: dict[str, int]
) -> None:
    central = world.central.id
    cases = {
        Audience(branch_id=central): 5,
        Audience(branch_id=world.rosario.id): 1,
        Audience(): 6,
        Audience(branch_id=central, label='taller'): 4,
        Audience(branch_id=central, score_min=70, score_max=89): 3,  # 81, 74, 88
        Audience(branch_id=central, only_validated=True): 4,
        Audience(branch_id=central, label='taller', score_min=70, only_validated=True): 2,
    }
    for audience, expected in cases.items():
        campaign_id = await campaign_for(db, audience)
        outcome = await start_campaign(db, campaign_id=campaign_id, publisher=Recorder(), zone=ZONE)
        assert outcome.recipients == expected, audience

    preview = await preview_audience(
        db, viewer=None, audience=Audience(branch_id=central), number_branch_id=central or 0
    )
    assert (preview.total, preview.would_send, preview.blocked) == (5, 3, {'low_score': 1, 'not_validated': 1})


async def test_a_manager_reaches_only_her_branch(db: Database, world: World, prospects: dict[str, int]) -> None:
    marta = viewer_of(world, 'marta')
    # Without a branch filter a manager's audience is her number's branch, never everyone.
    campaign_id = await campaign_for(db, Audience(), viewer=marta)
    assert (await get_campaign(db, viewer=marta, campaign_id=campaign_id)).audience_branch_id == world.central.id
    with pytest.raises(PermissionDenied):
        await campaign_for(db, Audience(branch_id=world.rosario.id), viewer=marta)
    with pytest.raises(NotFound):
        await campaign_for(db, Audience(), viewer=marta, number='pn-rosario')
    with pytest.raises(PermissionDenied):
        await campaign_for(db, Audience(), viewer=viewer_of(world, 'ana'))
    await add_template(db, world.rosario_number)
    rosario_campaign = await campaign_for(db, Audience(branch_id=world.rosario.id), number='pn-rosario')
    with pytest.raises(NotFound):
        await get_campaign(db, viewer=marta, campaign_id=rosario_campaign)
    assert [c.id for c in await list_campaigns(db, viewer=marta)] == [campaign_id]
    assert len(await list_campaigns(db, viewer=viewer_of(world, 'jorge'))) == 2


async def test_starting_gates_each_recipient_and_spaces_the_queued_ones_at_the_campaign_pace(
    db: Database, world: World, prospects: dict[str, int]
) -> None:
    schedule = Schedule(rate_per_minute=30, days=(0, 1, 2, 3, 4, 5, 6), from_hour=0, to_hour=24)  # one every 2 s
    campaign_id = await campaign_for(db, Audience(branch_id=world.central.id), schedule=schedule)
    before = utcnow()
    outcome = await start_campaign(db, campaign_id=campaign_id, publisher=Recorder(), zone=ZONE)

    assert (outcome.recipients, outcome.queued, outcome.blocked) == (5, 3, 2)
    assert await recipients_by_phone(db, campaign_id) == {
        '5491160000001': (MessageStatus.QUEUED, ''),
        '5491160000002': (MessageStatus.QUEUED, ''),
        '5491160000003': (MessageStatus.QUEUED, ''),
        '5491160000004': (MessageStatus.BLOCKED, 'low_score'),
        '5491160000005': (MessageStatus.BLOCKED, 'not_validated'),
    }
    async with db.session() as session:
        queued = (
            await session.exec(
                select(Message).where(Message.status == MessageStatus.QUEUED).order_by(col(Message.next_attempt_at))
            )
        ).all()
        conversations = (await session.exec(select(Conversation))).all()
    times = [message.next_attempt_at for message in queued if message.next_attempt_at]
    assert len(times) == 3 and times[0] >= before - timedelta(seconds=1)
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [timedelta(seconds=2)] * 2
    assert {message.priority for message in queued} == {MessagePriority.BULK}
    assert queued[0].text == 'Hola Lucía, te escribimos de Casa Central: llegaron las pastillas de freno que buscabas.'
    # Prospects who never wrote got a conversation on the campaign's number, in its branch.
    assert len(conversations) == 5
    assert {(c.number_id, c.branch_id) for c in conversations} == {(world.central_number.id, world.central.id)}


async def test_two_starts_racing_message_nobody_twice(db: Database, world: World, prospects: dict[str, int]) -> None:
    campaign_id = await campaign_for(db, Audience(branch_id=world.central.id))
    first, second = await asyncio.gather(
        start_campaign(db, campaign_id=campaign_id, publisher=Recorder(), zone=ZONE, resume=True, chunk=2),
        start_campaign(db, campaign_id=campaign_id, publisher=Recorder(), zone=ZONE, resume=True, chunk=2),
    )
    assert first.recipients + second.recipients == 5
    async with db.session() as session:
        messages = (await session.exec(select(Message.conversation_id))).all()
    assert len(messages) == len(set(messages)) == 5


def test_send_times_stay_within_the_campaign_hours() -> None:
    hours = SendHours.of(days=[0, 1, 2, 3, 4, 5], from_hour=9, to_hour=20, zone=ZONE)  # Mon-Sat 9-20
    saturday_evening = datetime(2026, 12, 5, 19, 59, 58, tzinfo=ZONE)
    pacer = Pacer(start=saturday_evening, per_minute=60, hours=hours)
    slots = [pacer().astimezone(ZONE) for _ in range(3)]
    assert [f'{slot:%a %H:%M:%S}' for slot in slots] == ['Sat 19:59:58', 'Sat 19:59:59', 'Mon 09:00:00']

    sunday_night = Pacer(start=datetime(2026, 12, 6, 23, 0, tzinfo=UTC), per_minute=60, hours=hours)
    assert f'{sunday_night().astimezone(ZONE):%a %H:%M}' == 'Mon 09:00'  # 20:00 on Sunday in Buenos Aires
    early = Pacer(start=datetime(2026, 12, 8, 6, 30, tzinfo=ZONE), per_minute=60, hours=hours)
    assert f'{early().astimezone(ZONE):%a %H:%M}' == 'Tue 09:00'
    with pytest.raises(Exception, match='at least one day'):
        SendHours.of(days=[], from_hour=9, to_hour=20, zone=ZONE)


async def test_a_scheduled_campaign_is_started_by_a_new_job_after_a_restart(
    db: Database, world: World, prospects: dict[str, int]
) -> None:
    later = Schedule(
        rate_per_minute=600, days=(0, 1, 2, 3, 4, 5, 6), from_hour=0, to_hour=24, start_at=utcnow() + timedelta(hours=1)
    )
    campaign_id = await campaign_for(db, Audience(branch_id=world.central.id), schedule=later)
    before_restart = CampaignSweeper(db, publisher=Recorder(), zone=ZONE, interval_seconds=60)
    assert await before_restart.run_once() == []  # not due yet
    assert (await get_campaign(db, viewer=None, campaign_id=campaign_id)).status == CampaignStatus.SCHEDULED

    # The process restarts; meanwhile the hour passes. A new job, with nothing in memory, starts it from the table.
    async with db.session() as session:
        from services.models.campaigns import Campaign

        await session.exec(
            update(Campaign).where(col(Campaign.id) == campaign_id).values(scheduled_at=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    after_restart = CampaignSweeper(db, publisher=Recorder(), zone=ZONE, interval_seconds=60)
    after_restart.start()
    try:
        assert after_restart.running

        async def enqueued() -> bool:
            return (await get_campaign(db, viewer=None, campaign_id=campaign_id)).enqueued_at is not None

        await eventually(enqueued)
    finally:
        await after_restart.stop()
    assert (await campaign_results(db, viewer=None, campaign_id=campaign_id)).recipients == 5
    assert await CampaignSweeper(db, publisher=Recorder(), zone=ZONE, interval_seconds=60).run_once() == []


@pytest.fixture
async def worker(db: Database, fake_graph: FakeGraphApi, tmp_path: Path) -> AsyncIterator[OutboxWorker]:
    client = GraphClient(base_url=fake_graph.base_url, token=fake_graph.token, timeout=5.0)
    yield OutboxWorker(
        db, client=client, publisher=Recorder(), store=MediaStore(tmp_path / 'media'), delay=lambda attempt, after: 0.0
    )
    await client.aclose()


async def test_results_count_every_outcome_and_the_response_rate_per_score_band(
    db: Database, world: World, prospects: dict[str, int], worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    campaign_id = await campaign_for(db, Audience(branch_id=world.central.id))
    await start_campaign(db, campaign_id=campaign_id, publisher=Recorder(), zone=ZONE)
    async with db.session() as session:
        await session.exec(update(Message).values(next_attempt_at=None))  # all due now
        await session.commit()
    fake_graph.script_send([(400, 131026)])  # the first send (Lucía, 92) is undeliverable
    await worker.drain()
    assert len(fake_graph.sent_messages) == 3
    assert await finish_campaigns(db) == [campaign_id]  # nothing left queued: done

    # Omar (81) read it and answered; Rita (74) got it and said nothing.
    contacts = await recipients_by_phone(db, campaign_id)
    assert contacts['5491160000001'][0] == MessageStatus.FAILED
    async with db.session() as session:
        omar_message = (
            await session.exec(
                select(CampaignRecipient.message_id).where(CampaignRecipient.contact_id == prospects['5491160000002'])
            )
        ).one()
        rita_message = (
            await session.exec(
                select(CampaignRecipient.message_id).where(CampaignRecipient.contact_id == prospects['5491160000003'])
            )
        ).one()
        await session.exec(update(Message).where(col(Message.id) == omar_message).values(status=MessageStatus.READ))
        await session.exec(
            update(Message).where(col(Message.id) == rita_message).values(status=MessageStatus.DELIVERED)
        )
        omar = await session.get(Message, omar_message)
        assert omar is not None
        session.add(
            Message(
                conversation_id=omar.conversation_id,
                direction=Direction.INBOUND,
                sender_kind=SenderKind.CUSTOMER,
                text='¿Tienen para Hilux?',
                wa_message_id='wamid.reply-omar',
            )
        )
        session.add(OptOut(contact_id=prospects['5491160000003'], keyword='BAJA'))
        await session.commit()

    results = await campaign_results(db, viewer=None, campaign_id=campaign_id)
    assert results.recipients == 5
    assert results.blocked == {'low_score': 1, 'not_validated': 1}
    assert (results.queued, results.sent, results.delivered, results.read) == (0, 2, 2, 1)
    assert results.failed == {'Mensaje no entregable': 1}  # Meta's 131026, as the outbox titles it
    assert (results.replied, results.opted_out) == (1, 1)
    assert results.response_rate == 0.5
    rates = {band.band: (band.recipients, band.sent, band.replied, band.response_rate) for band in results.bands}
    assert rates == {
        '0–49': (0, 0, 0, None),
        '50–69': (1, 0, 0, None),
        '70–79': (1, 1, 0, 0.0),
        '80–89': (2, 1, 1, 1.0),
        '90–100': (1, 0, 0, None),
    }
    assert results.as_dict()['bands'][3]['response_rate'] == 1.0
    assert (await get_campaign(db, viewer=None, campaign_id=campaign_id)).status == CampaignStatus.DONE
