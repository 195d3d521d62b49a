"""T1/T5: the state machine — every allowed move, the refusals, the history and the events after commit."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.database import Database
from services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.events import Event
from services.models import Conversation, ConversationMode, ConversationStatus
from services.takeover import (
    MOVES,
    NotAllowedNow,
    NotHolder,
    Phase,
    close,
    reassign,
    release,
    reopen,
    request_human,
    set_ai,
    set_faithful,
    take,
)
from tests.conftest import World

from .conftest import NOW, Recorder, add_agents, history, later, load, viewer_of


def test_every_move_starts_from_somewhere_and_only_open_conversations_can_be_held() -> None:
    for name, move in MOVES.items():
        assert move.sources, name
        if move.target == Phase.ASSIGNED:
            assert Phase.CLOSED not in move.sources, name
    assert MOVES['take'].sources == {Phase.AI, Phase.WAITING}
    assert MOVES['reopen'].sources == {Phase.CLOSED}


async def test_take_then_release_returns_the_conversation_to_the_ai(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana = await viewer_of(db, world.ana)

    taken = await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=NOW)
    assert (taken.phase, taken.assigned_user_id, taken.takeover_deadline) == (Phase.ASSIGNED, world.ana.id, later(300))
    released = await release(db, viewer=ana, conversation_id=martin, publisher=recorder, now=later(60))

    stored = await load(db, martin)
    assert released.phase == Phase.AI
    assert (stored.mode, stored.assigned_user_id, stored.takeover_deadline) == (ConversationMode.AI, None, None)
    assert [(row.action, row.user_id, row.actor_user_id, row.reason) for row in await history(db, martin)] == [
        ('take', world.ana.id, world.ana.id, ''),
        ('release', world.ana.id, world.ana.id, 'to_ai'),
    ]
    assert recorder.reasons() == ['take', 'release']
    assert recorder.events[1].data['available'] is True


async def test_release_to_the_queue_keeps_the_ai_silent_and_asks_the_rule_for_someone_else(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana = await viewer_of(db, world.ana)
    await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=NOW)

    outcome = await release(db, viewer=ana, conversation_id=martin, publisher=recorder, to='queue', now=later(5))

    stored = await load(db, martin)
    assert outcome.phase == Phase.WAITING and stored.mode == ConversationMode.HUMAN
    assert stored.human_requested_at == later(5)
    event = recorder.events[-1].data
    assert (event['wants_rule'], event['exclude_user_id']) == (True, world.ana.id)


async def test_an_agent_cannot_release_a_colleagues_conversation_but_the_manager_can(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana, marta = await viewer_of(db, world.ana), await viewer_of(db, world.marta)
    await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=NOW)
    (carlos,) = await add_agents(db, world.central, ['Carlos Ibáñez'])
    colleague = await viewer_of(db, carlos)

    with pytest.raises(NotHolder) as refused:
        await release(db, viewer=colleague, conversation_id=martin, publisher=recorder)
    assert refused.value.holder == 'Ana Gómez'

    await release(db, viewer=marta, conversation_id=martin, publisher=recorder)
    rows = await history(db, martin)
    assert (rows[-1].action, rows[-1].user_id, rows[-1].actor_user_id) == ('release', world.ana.id, world.marta.id)


async def test_releasing_what_nobody_holds_is_refused_with_the_phase(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    with pytest.raises(NotAllowedNow) as refused:
        await release(db, viewer=await viewer_of(db, world.ana), conversation_id=martin, publisher=recorder)
    assert refused.value.phase == Phase.AI
    assert await history(db, martin) == [] and recorder.events == []


async def test_pausing_the_ai_puts_it_in_the_queue_and_activating_it_hands_back(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana = await viewer_of(db, world.ana)

    paused = await set_ai(db, viewer=ana, conversation_id=martin, enabled=False, publisher=recorder, now=NOW)
    assert paused.phase == Phase.WAITING and (await load(db, martin)).mode == ConversationMode.HUMAN
    await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=later(1))
    resumed = await set_ai(db, viewer=ana, conversation_id=martin, enabled=True, publisher=recorder, now=later(2))

    stored = await load(db, martin)
    assert resumed.phase == Phase.AI
    assert (stored.mode, stored.assigned_user_id, stored.human_requested_at) == (ConversationMode.AI, None, None)
    assert [row.action for row in await history(db, martin)] == ['ai_off', 'take', 'ai_on']
    with pytest.raises(NotAllowedNow):
        await set_ai(db, viewer=ana, conversation_id=martin, enabled=True, publisher=recorder)


async def test_manager_reassigns_to_an_agent_of_the_branch_only(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana, marta = await viewer_of(db, world.ana), await viewer_of(db, world.marta)
    await take(db, viewer=marta, conversation_id=martin, publisher=recorder, now=NOW)

    with pytest.raises(InvalidInput):  # Bruno works in Rosario
        await reassign(db, viewer=marta, conversation_id=martin, user_id=world.bruno.id or 0, publisher=recorder)
    with pytest.raises(PermissionDenied):
        await reassign(db, viewer=ana, conversation_id=martin, user_id=world.ana.id or 0, publisher=recorder)
    outcome = await reassign(
        db, viewer=marta, conversation_id=martin, user_id=world.ana.id or 0, publisher=recorder, now=later(30)
    )

    assert (outcome.assigned_user_id, outcome.takeover_deadline) == (world.ana.id, later(330))
    event = recorder.events[-1].data
    assert (event['reason'], event['user_id'], event['actor_user_id'], event['previous_user_id']) == (
        'reassign',
        world.ana.id,
        world.marta.id,
        world.marta.id,
    )


async def test_close_and_reopen(db: Database, world: World, martin: int, recorder: Recorder) -> None:
    ana = await viewer_of(db, world.ana)
    await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=NOW)

    closed = await close(db, viewer=ana, conversation_id=martin, publisher=recorder, now=later(10))
    stored = await load(db, martin)
    assert closed.phase == Phase.CLOSED
    assert (stored.status, stored.assigned_user_id, stored.closed_at) == (ConversationStatus.CLOSED, None, later(10))
    with pytest.raises(NotAllowedNow):
        await take(db, viewer=ana, conversation_id=martin, publisher=recorder)

    reopened = await reopen(db, viewer=ana, conversation_id=martin, publisher=recorder, now=later(20))
    assert reopened.phase == Phase.AI and (await load(db, martin)).closed_at is None
    assert [row.action for row in await history(db, martin)] == ['take', 'close', 'reopen']


async def test_reopening_is_refused_while_the_customer_has_another_open_conversation(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana = await viewer_of(db, world.ana)
    await close(db, viewer=ana, conversation_id=martin, publisher=recorder)
    async with db.session() as session:  # the customer wrote again: ingest opened a new conversation
        old = await session.get(Conversation, martin)
        assert old is not None
        session.add(Conversation(contact_id=old.contact_id, number_id=old.number_id, branch_id=old.branch_id))
        await session.commit()

    with pytest.raises(Conflict):
        await reopen(db, viewer=ana, conversation_id=martin, publisher=recorder)
    assert (await load(db, martin)).status == ConversationStatus.CLOSED


async def test_another_branch_cannot_see_or_take_it(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    bruno = await viewer_of(db, world.bruno)
    with pytest.raises(NotFound):
        await take(db, viewer=bruno, conversation_id=martin, publisher=recorder)
    assert (await load(db, martin)).assigned_user_id is None


async def test_handoff_flags_the_wait_once_and_keeps_the_ai_mode(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    asked = 'El cliente pidió hablar con una persona'
    first = await request_human(db, conversation_id=martin, reason=asked, publisher=recorder, now=NOW)
    again = await request_human(db, conversation_id=martin, reason='otra vez', publisher=recorder, now=later(5))

    stored = await load(db, martin)
    assert (first.phase, first.changed, first.waiting_since) == (Phase.WAITING, True, NOW)
    assert (again.changed, again.waiting_since) == (False, NOW)
    assert (stored.mode, stored.human_request_reason) == (ConversationMode.AI, asked)
    assert [(row.action, row.reason) for row in await history(db, martin)] == [('handoff', asked)]
    assert [event.data['wants_rule'] for event in recorder.events] == [True]

    await take(db, viewer=await viewer_of(db, world.ana), conversation_id=martin, publisher=recorder)
    held = await request_human(db, conversation_id=martin, reason='x', publisher=recorder)
    assert (held.phase, held.changed, held.assigned_to) == (Phase.ASSIGNED, False, 'Ana Gómez')
    assert (await load(db, martin)).human_requested_at is None


async def test_faithful_mark_covers_every_conversation_of_the_customer_in_the_branch(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana, marta = await viewer_of(db, world.ana), await viewer_of(db, world.marta)
    await set_faithful(db, viewer=ana, conversation_id=martin, user_id=world.ana.id, publisher=recorder)
    assert (await load(db, martin)).faithful_user_id == world.ana.id

    with pytest.raises(PermissionDenied):  # an agent cannot hand her customers to someone else
        await set_faithful(db, viewer=ana, conversation_id=martin, user_id=world.marta.id, publisher=recorder)
    await set_faithful(db, viewer=marta, conversation_id=martin, user_id=None, publisher=recorder)
    assert (await load(db, martin)).faithful_user_id is None
    assert [(row.action, row.user_id, row.reason) for row in await history(db, martin)] == [
        ('faithful', world.ana.id, 'set'),
        ('faithful', None, 'cleared'),
    ]


class CommittedCheck:
    """A publisher that reads the database while publishing: events must come after the commit."""

    def __init__(self, db: Database, conversation_id: int) -> None:
        self.db = db
        self.conversation_id = conversation_id
        self.seen: list[int | None] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.seen.append((await load(self.db, self.conversation_id)).assigned_user_id)


async def test_events_are_published_after_the_commit(db: Database, world: World, martin: int) -> None:
    check = CommittedCheck(db, martin)
    await take(db, viewer=await viewer_of(db, world.ana), conversation_id=martin, publisher=check)
    assert check.seen == [world.ana.id]
