"""T3: several agents pressing "Tomar" at once — exactly one wins, atomically in the database."""

from __future__ import annotations

import asyncio

from services.database import Database
from services.errors import ServiceError
from services.models import AssignmentRule, ConversationMode
from services.takeover import AlreadyTaken, Outcome, apply_rule, take
from tests.conftest import World

from .conftest import NOW, Recorder, add_agents, history, load, set_rule, viewer_of


async def test_twenty_agents_take_at_once_one_wins_nineteen_are_told_who(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    agents = await add_agents(db, world.central, [f'Vendedor {n:02d}' for n in range(20)])
    viewers = [await viewer_of(db, agent) for agent in agents]
    start = asyncio.Event()

    async def attempt(index: int) -> Outcome | ServiceError:
        await start.wait()  # every attempt is in flight before any runs
        try:
            return await take(db, viewer=viewers[index], conversation_id=martin, publisher=recorder, now=NOW)
        except ServiceError as refusal:
            return refusal

    tasks = [asyncio.create_task(attempt(index)) for index in range(20)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)

    winners = [result for result in results if isinstance(result, Outcome)]
    refusals = [result for result in results if isinstance(result, AlreadyTaken)]
    assert len(winners) == 1 and len(refusals) == 19
    winner = next(agent for agent in agents if agent.id == winners[0].assigned_user_id)
    assert {refusal.holder for refusal in refusals} == {winner.full_name}
    assert str(refusals[0]) == f'already taken by {winner.full_name}'
    stored = await load(db, martin)
    assert (stored.assigned_user_id, stored.mode) == (winner.id, ConversationMode.HUMAN)
    assert [(row.action, row.user_id) for row in await history(db, martin)] == [('take', winner.id)]
    assert recorder.reasons() == ['take']


async def test_a_take_racing_the_round_robin_rule_leaves_exactly_one_holder(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.ROUND_ROBIN)
    (carlos,) = await add_agents(db, world.central, ['Carlos Ibáñez'])
    ana = await viewer_of(db, world.ana)

    async def by_hand() -> object:
        try:
            return await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=NOW)
        except AlreadyTaken as refusal:
            return refusal

    manual, ruled = await asyncio.gather(
        by_hand(),
        apply_rule(db, conversation_id=martin, online={carlos.id or 0}, publisher=recorder, offer_seconds=0, now=NOW),
    )

    stored = await load(db, martin)
    rows = await history(db, martin)
    assert len(rows) == 1 and rows[0].user_id == stored.assigned_user_id
    if isinstance(manual, Outcome):
        assert ruled.kind == 'skipped' and stored.assigned_user_id == world.ana.id
    else:
        assert ruled.kind == 'assigned' and stored.assigned_user_id == carlos.id
        assert isinstance(manual, AlreadyTaken) and manual.holder == 'Carlos Ibáñez'
