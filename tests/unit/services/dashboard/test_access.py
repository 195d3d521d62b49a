"""B2/B3: the dashboard is for managers and admins, and a manager never sees another branch's figures."""

from __future__ import annotations

from datetime import date

import pytest

from services.dashboard import dashboard_now, period_figures
from services.database import Database
from services.errors import PermissionDenied
from services.models import SenderKind
from tests.conftest import World

from .conftest import NOON, ZONE, Reply, Story, tell, viewer_of

DAY = date(2026, 12, 1)


async def test_an_agent_is_refused(db: Database, world: World) -> None:
    ana = await viewer_of(db, world.ana)
    with pytest.raises(PermissionDenied):
        await dashboard_now(db, viewer=ana)
    with pytest.raises(PermissionDenied):
        await period_figures(db, viewer=ana, start=DAY, end=DAY, zone=ZONE)


async def test_a_manager_sees_her_branch_only_and_an_admin_filters(db: Database, world: World) -> None:
    bruno = world.bruno
    await tell(db, world, Story(name='Cliente Central', replies=[Reply(SenderKind.AI, 10)], closed_after=60))
    await tell(
        db,
        world,
        Story(
            name='Cliente Rosario',
            branch='rosario',
            replies=[Reply(SenderKind.AGENT, 99, bruno)],
            events=[('take', bruno, 30), ('timeout', bruno, 400)],
        ),
    )
    await tell(db, world, Story(name='Espera Rosario', branch='rosario', waiting_since=NOON))
    marta, jorge = await viewer_of(db, world.marta), await viewer_of(db, world.jorge)

    mine = await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE)
    assert (mine.conversations, mine.takeovers, mine.expired, mine.attendance) == (1, 0, 0, ())
    assert (mine.first_response.p50, mine.first_human_response.count) == (10, 0)
    # Asking for Rosario by its id (a crafted request) returns nothing of it.
    theirs = await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE, branch_id=world.rosario.id)
    assert (theirs.conversations, theirs.takeovers, theirs.attendance) == (0, 0, ())
    now = await dashboard_now(db, viewer=marta)
    assert ([agent.name for agent in now.agents], now.queue) == (['Ana Gómez', 'Marta Sosa'], ())
    assert (await dashboard_now(db, viewer=marta, branch_id=world.rosario.id)).agents == ()

    everything = await period_figures(db, viewer=jorge, start=DAY, end=DAY, zone=ZONE)
    assert (everything.conversations, everything.takeovers, everything.expired) == (3, 1, 1)
    rosario = await period_figures(db, viewer=jorge, start=DAY, end=DAY, zone=ZONE, branch_id=world.rosario.id)
    assert (rosario.conversations, rosario.first_human_response.p50) == (2, 99)
    assert [row.name for row in rosario.attendance] == ['Bruno Fernández']
    assert [row.contact_name for row in (await dashboard_now(db, viewer=jorge)).queue] == ['Espera Rosario']
