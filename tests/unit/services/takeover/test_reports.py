"""T5/B3: counts per branch and per agent for the dashboard, within what the viewer may see."""

from __future__ import annotations

from services.database import Database
from services.takeover import assignment_counts, release, release_expired, request_human, take
from tests.conftest import World

from .conftest import NOW, Recorder, conversation, later, viewer_of


async def test_counts_per_branch_and_agent_since_a_moment(db: Database, world: World, recorder: Recorder) -> None:
    ana, marta = await viewer_of(db, world.ana), await viewer_of(db, world.marta)
    first, second, third = [await conversation(db, world, f'+549113333000{n}') for n in range(3)]
    await take(db, viewer=ana, conversation_id=first, publisher=recorder, now=NOW)
    await take(db, viewer=ana, conversation_id=second, publisher=recorder, now=NOW)
    await release(db, viewer=ana, conversation_id=second, publisher=recorder, now=later(30))
    await take(db, viewer=marta, conversation_id=second, publisher=recorder, now=later(40))
    await release_expired(db, publisher=recorder, now=later(400))  # Ana's first and Marta's second time out
    await request_human(db, conversation_id=third, reason='precio', publisher=recorder, now=later(401))
    await take(db, viewer=ana, conversation_id=first, publisher=recorder, now=later(402))

    counts = await assignment_counts(db, viewer=marta, since=NOW)

    (central,) = counts.branches  # Marta sees her branch only
    assert (central.branch_code, central.ai, central.waiting, central.assigned) == ('SUC1', 0, 2, 1)
    assert central.actions == {'take': 4, 'release': 1, 'timeout': 2, 'handoff': 1}
    by_name = {agent.name: agent for agent in counts.agents}
    assert set(by_name) == {'Ana Gómez', 'Marta Sosa'}
    assert (by_name['Ana Gómez'].holding, by_name['Ana Gómez'].actions) == (1, {'take': 3, 'release': 1, 'timeout': 1})
    assert by_name['Marta Sosa'].actions == {'take': 1, 'timeout': 1}
    assert (await assignment_counts(db, viewer=marta, since=later(401))).branches[0].actions == {
        'handoff': 1,
        'take': 1,
    }
    everything = await assignment_counts(db, viewer=await viewer_of(db, world.jorge), since=NOW)
    assert [branch.branch_code for branch in everything.branches] == ['SUC1', 'SUC2']
