"""B3/T5: the figures of a range of business days, from conversations whose every moment is known."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.dashboard import DayCache, period_figures
from services.database import Database
from services.models import SenderKind
from services.models.sales import SalesDayTotal
from tests.conftest import World

from .conftest import NOON, ZONE, Reply, Story, at, tell, viewer_of

DAY = date(2026, 12, 1)


async def test_first_response_by_anyone_and_by_a_person(db: Database, world: World) -> None:
    ana = world.ana
    # The AI answers three customers after 10, 20 and 30 s; Ana writes in two of them after 60 and 120 s.
    await tell(db, world, Story(replies=[Reply(SenderKind.AI, 10)]))
    await tell(db, world, Story(start=at(60), replies=[Reply(SenderKind.AI, 20), Reply(SenderKind.AGENT, 60, ana)]))
    await tell(db, world, Story(start=at(120), replies=[Reply(SenderKind.AGENT, 120, ana), Reply(SenderKind.AI, 30)]))
    await tell(db, world, Story(start=at(180)))  # nobody answered yet: left out, not counted as 0 s

    figures = await period_figures(db, viewer=await viewer_of(db, world.marta), start=DAY, end=DAY, zone=ZONE)

    assert figures.conversations == 4
    assert (figures.first_response.count, figures.first_response.p50) == (3, 20)
    assert figures.first_response.p90 == pytest.approx(28)  # 20 + 0.8 × (30 − 20)
    assert (figures.first_human_response.count, figures.first_human_response.p50) == (2, 90)
    assert figures.first_human_response.p90 == pytest.approx(114)
    assert [(answer.seconds, answer.contact_name) for answer in figures.recent_answers] == [
        (120, 'Cliente'),
        (60, 'Cliente'),
    ]


async def test_resolution_and_what_the_ai_resolved_alone(db: Database, world: World) -> None:
    ana = world.ana
    # Closed by the AI alone after 5 and 15 minutes; one Ana took (no message of hers) and one she answered.
    await tell(db, world, Story(replies=[Reply(SenderKind.AI, 5)], closed_after=300))
    await tell(db, world, Story(replies=[Reply(SenderKind.AI, 5)], closed_after=900))
    await tell(db, world, Story(events=[('take', ana, 30)], closed_after=1500))
    await tell(db, world, Story(replies=[Reply(SenderKind.AGENT, 40, ana)], closed_after=2100))
    await tell(db, world, Story(replies=[Reply(SenderKind.AI, 5)]))  # still open: not resolved

    figures = await period_figures(db, viewer=await viewer_of(db, world.marta), start=DAY, end=DAY, zone=ZONE)

    assert (figures.resolved_by_ai, figures.resolved_by_people) == (2, 2)
    assert figures.ai_share_percent == 50
    assert (figures.resolution.count, figures.resolution.p50) == (4, 1200)  # 5, 15, 25, 35 minutes
    assert figures.resolution.p90 == pytest.approx(1920)


async def test_takeovers_expiries_and_attendance_per_agent(db: Database, world: World) -> None:
    ana, marta = world.ana, world.marta
    await tell(
        db,
        world,
        Story(
            replies=[Reply(SenderKind.AGENT, 40, ana), Reply(SenderKind.AGENT, 50, ana)],
            events=[('take', ana, 30), ('timeout', ana, 400), ('rule', marta, 500), ('release', marta, 600)],
        ),
    )
    await tell(db, world, Story(events=[('reassign', ana, 60), ('handoff', None, 10)]))
    # 02:59:59 UTC of the 1st is still 30 November in Buenos Aires: not this day.
    await tell(db, world, Story(start=NOON - timedelta(hours=12, seconds=1), events=[('take', ana, 0)]))

    figures = await period_figures(db, viewer=await viewer_of(db, marta), start=DAY, end=DAY, zone=ZONE)

    assert (figures.takeovers, figures.expired) == (3, 1)
    by_name = {row.name: row for row in figures.attendance}
    assert set(by_name) == {'Ana Gómez', 'Marta Sosa'}
    ana_row = by_name['Ana Gómez']
    assert (ana_row.conversations, ana_row.messages, ana_row.takeovers, ana_row.expired) == (2, 2, 2, 1)
    marta_row = by_name['Marta Sosa']
    assert (marta_row.conversations, marta_row.takeovers, marta_row.releases) == (1, 1, 1)
    assert figures.conversations == 2


async def test_days_follow_buenos_aires_and_carry_the_sales(db: Database, world: World) -> None:
    # 01:00 UTC of the 2nd is 22:00 of the 1st in Buenos Aires; 04:00 UTC of the 2nd is the 2nd.
    late = NOON.replace(day=2, hour=1)
    await tell(db, world, Story(start=late, replies=[Reply(SenderKind.AI, 8)]))
    await tell(db, world, Story(start=late + timedelta(hours=3), replies=[Reply(SenderKind.AI, 4)], closed_after=60))
    async with db.session() as session:
        session.add(SalesDayTotal(branch_id=world.central.id or 0, day=DAY, sales=2, total=Decimal('80000.00')))
        await session.commit()

    figures = await period_figures(
        db, viewer=await viewer_of(db, world.marta), start=DAY, end=DAY + timedelta(days=1), zone=ZONE
    )

    first, second = figures.days
    assert (first.day, first.conversations, first.first_response_p50) == (DAY, 1, 8.0)
    assert first.sales_total == Decimal('80000.00')
    assert (second.conversations, second.first_response_p50, second.resolved_by_ai) == (1, 4.0, 1)
    assert (figures.sales, figures.sales_total) == (2, Decimal('80000.00'))


async def test_ended_days_come_from_the_cache_until_it_expires(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)
    cache, expiring = DayCache(ttl_seconds=300), DayCache(ttl_seconds=0)
    await tell(db, world, Story(replies=[Reply(SenderKind.AI, 10)]))
    for kept in (cache, expiring):
        await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE, recent=0, cache=kept)
    await tell(db, world, Story(start=at(60), replies=[Reply(SenderKind.AI, 20)]))  # a late import into that day

    cached = await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE, recent=0, cache=cache)
    expired = await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE, recent=0, cache=expiring)

    assert (cached.conversations, cached.first_response.p50) == (1, 10)
    assert (expired.conversations, expired.first_response.p50) == (2, 15)
    # Another branch's scope never reads these entries: the admin's view of every branch is its own.
    everything = await period_figures(
        db, viewer=await viewer_of(db, world.jorge), start=DAY, end=DAY, zone=ZONE, recent=0, cache=cache
    )
    assert everything.conversations == 2
