"""T2: the inactivity deadline — set by a take, renewed by the holder's activity, released by the sweeper with a
controllable clock, across restarts and with several sweepers at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from services.database import Database
from services.models import AssignmentRule, Conversation, ConversationMode
from services.models.types import utcnow
from services.takeover import (
    Phase,
    TakeoverSweeper,
    phase_of,
    release_expired,
    renew,
    renew_on_agent_messages,
    take,
)
from services.whatsapp import outbox
from tests.conftest import World

from .conftest import NOW, Recorder, history, later, load, set_rule, viewer_of


def sweeper(db: Database, recorder: Recorder) -> TakeoverSweeper:
    return TakeoverSweeper(db, publisher=recorder, online=set, offer_seconds=120, interval_seconds=5)


async def test_the_deadline_is_the_branch_timeout_and_passes_into_a_release_to_the_ai(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await set_rule(db, world.central, AssignmentRule.MANUAL, timeout_seconds=120)
    taken = await take(db, viewer=await viewer_of(db, world.ana), conversation_id=martin, publisher=recorder, now=NOW)
    assert taken.takeover_deadline == later(120)

    assert (await sweeper(db, recorder).sweep(now=later(119))).timed_out == []
    report = await sweeper(db, recorder).sweep(now=later(120))

    stored = await load(db, martin)
    assert report.timed_out == [martin]
    assert (stored.assigned_user_id, stored.mode, stored.takeover_deadline) == (None, ConversationMode.AI, None)
    assert (
        phase_of(
            status=stored.status, mode=stored.mode, assigned_user_id=None, human_requested_at=stored.human_requested_at
        )
        == Phase.WAITING
    )  # "Espera humano"
    assert [(row.action, row.user_id, row.actor_user_id, row.reason) for row in await history(db, martin)][-1] == (
        'timeout',
        world.ana.id,
        None,
        'inactivity',
    )
    event = recorder.events[-1].data
    assert (event['reason'], event['available'], event['exclude_user_id']) == ('timeout', True, world.ana.id)


async def test_activity_renews_the_deadline_and_the_last_second_renewal_wins(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await take(db, viewer=await viewer_of(db, world.ana), conversation_id=martin, publisher=recorder, now=NOW)

    assert (
        await renew(db, user_id=world.ana.id or 0, conversation_id=martin, publisher=recorder, now=later(5)) is None
    )  # within 10 s of the last renewal: nothing written
    assert (
        await renew(db, user_id=world.marta.id or 0, conversation_id=martin, publisher=recorder, now=later(200)) is None
    )  # not the holder: her activity does not count
    assert await renew(
        db, user_id=world.ana.id or 0, conversation_id=martin, publisher=recorder, now=later(299)
    ) == later(599)

    assert (await release_expired(db, publisher=recorder, now=later(301))) == []
    assert (await release_expired(db, publisher=recorder, now=later(599))) == [(martin, world.ana.id)]


async def test_an_agent_message_renews_her_hold_whatever_sent_it(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    ana = await viewer_of(db, world.ana)
    taken = await take(db, viewer=ana, conversation_id=martin, publisher=recorder, now=utcnow() - timedelta(minutes=4))
    handler = renew_on_agent_messages(db, recorder)
    messages = Recorder()

    await outbox.queue_text(db, conversation_id=martin, text='Sí, tenemos Ferodo', publisher=messages, viewer=ana)
    for event in messages.events:
        if (renewal := handler(event)) is not None:
            await renewal

    renewed = (await load(db, martin)).takeover_deadline
    assert renewed is not None and taken.takeover_deadline is not None
    assert renewed - taken.takeover_deadline >= timedelta(minutes=3, seconds=59)


async def test_a_deadline_set_before_a_restart_is_released_by_the_next_process(
    database_url: str, world: World, martin: int
) -> None:
    first = Database.from_url(database_url)
    await take(first, viewer=await viewer_of(first, world.ana), conversation_id=martin, publisher=Recorder(), now=NOW)
    await first.dispose()  # the process dies; nothing of it survives but the database

    second = Database.from_url(database_url)
    try:
        report = await sweeper(second, Recorder()).sweep(now=later(301))
        assert report.timed_out == [martin]
        assert (await load(second, martin)).assigned_user_id is None
    finally:
        await second.dispose()


async def test_two_processes_sweeping_at_once_release_once(database_url: str, world: World, martin: int) -> None:
    setup = Database.from_url(database_url)
    await take(setup, viewer=await viewer_of(setup, world.ana), conversation_id=martin, publisher=Recorder(), now=NOW)
    processes = [Database.from_url(database_url) for _ in range(2)]
    try:
        reports = await asyncio.gather(*(sweeper(db, Recorder()).sweep(now=later(400)) for db in processes))
        assert sorted(len(report.timed_out) for report in reports) == [0, 1]
        assert [row.action for row in await history(setup, martin)] == ['take', 'timeout']
    finally:
        for db in [setup, *processes]:
            await db.dispose()


async def test_a_held_conversation_without_deadline_gets_one_and_cannot_stay_held_for_ever(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    async with db.session() as session:  # e.g. the demo seed, or rows from before takeover existed
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == martin)
            .values(assigned_user_id=world.ana.id, mode=ConversationMode.HUMAN)
        )
        await session.commit()

    assert (await sweeper(db, recorder).sweep(now=NOW)).deadlines_set == 1
    assert (await load(db, martin)).takeover_deadline == later(300)
    assert (await sweeper(db, recorder).sweep(now=later(300))).timed_out == [martin]


async def test_the_scheduled_sweeper_releases_without_being_called(
    db: Database, world: World, martin: int, recorder: Recorder
) -> None:
    await take(
        db,
        viewer=await viewer_of(db, world.ana),
        conversation_id=martin,
        publisher=recorder,
        now=utcnow() - timedelta(minutes=10),
    )
    scheduled = TakeoverSweeper(db, publisher=recorder, online=set, offer_seconds=120, interval_seconds=0.05)
    scheduled.start()
    try:
        for _ in range(100):
            if (await load(db, martin)).assigned_user_id is None:
                break
            await asyncio.sleep(0.05)
        assert scheduled.running
    finally:
        await scheduled.stop()
    assert (await load(db, martin)).assigned_user_id is None
    assert 'timeout' in recorder.reasons()
