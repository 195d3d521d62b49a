"""B3: the queue in the order it should be attended, and who is online, busy or at capacity."""

from __future__ import annotations

from datetime import timedelta

from services.dashboard import dashboard_now
from services.database import Database
from services.models import ConversationMode, SenderKind
from services.takeover.states import Phase
from tests.conftest import World

from .conftest import NOON, Reply, Story, at, tell, viewer_of

NOW = at(3600)


async def test_unassigned_first_then_waiting_for_a_person_then_the_longest_wait(db: Database, world: World) -> None:
    ana = world.ana
    bot_owes = await tell(db, world, Story(name='Bot debe', waiting_since=at(60)))
    held = await tell(db, world, Story(name='Atendida', assigned=ana, mode=ConversationMode.HUMAN, waiting_since=NOON))
    wants_person_late = await tell(db, world, Story(name='Pidió persona tarde', human_requested_at=at(600)))
    wants_person = await tell(db, world, Story(name='Pidió persona', human_requested_at=at(300), waiting_since=at(120)))
    await tell(db, world, Story(name='Respondida', replies=[Reply(SenderKind.AI, 5)]))  # owed nothing
    await tell(db, world, Story(name='Cerrada', waiting_since=NOON, closed_after=60))  # closed

    now = await dashboard_now(db, viewer=await viewer_of(db, world.marta), now=NOW)

    assert [row.conversation_id for row in now.queue] == [wants_person, wants_person_late, bot_owes, held]
    first = now.queue[0]
    assert (first.contact_name, first.phase, first.waiting_seconds(NOW)) == ('Pidió persona', Phase.WAITING, 3480)
    assert (now.queue[-1].phase, now.queue[-1].assigned_name) == (Phase.ASSIGNED, 'Ana Gómez')
    assert (now.queue_size, now.unassigned, now.waiting_for_person) == (4, 3, 2)


async def test_agents_online_busy_and_at_capacity(db: Database, world: World) -> None:
    ana, marta = world.ana, world.marta
    async with db.session() as session:
        found = await session.get(type(ana), ana.id)
        assert found is not None
        found.capacity = 2
        await session.commit()
    for minutes in (1, 2):
        await tell(db, world, Story(start=NOON - timedelta(minutes=minutes), assigned=ana))
    await tell(db, world, Story(assigned=marta))

    now = await dashboard_now(db, viewer=await viewer_of(db, marta), online_user_ids={ana.id or 0, marta.id or 0})

    loads = {agent.name: (agent.state, agent.holding, agent.capacity) for agent in now.agents}
    assert loads == {'Ana Gómez': ('full', 2, 2), 'Marta Sosa': ('busy', 1, 8)}  # Bruno is Rosario's
    assert (now.online, now.busy, now.full) == (2, 1, 1)
    offline = await dashboard_now(db, viewer=await viewer_of(db, marta), online_user_ids=())
    assert {agent.state for agent in offline.agents} == {'offline'}
