"""Issue 15: the per-conversation figures the dashboard stores give what computing them from the messages gives,
and a change to a conversation shows on the next read."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import col, delete, select

from services.dashboard import DashboardFiguresSweeper, period_figures
from services.database import Database
from services.models import Conversation, ConversationStatus, Direction, Message, SenderKind
from services.models.dashboard import ConversationFigures
from tests.conftest import World

from .conftest import NOON, ZONE, Reply, Story, at, tell, viewer_of

DAY = date(2026, 12, 1)


async def _stories(db: Database, world: World) -> list[int]:
    ana, marta = world.ana, world.marta
    return [
        await tell(db, world, Story(replies=[Reply(SenderKind.AI, 10)], closed_after=300)),
        await tell(
            db,
            world,
            Story(start=at(60), replies=[Reply(SenderKind.AI, 20), Reply(SenderKind.AGENT, 90, ana)], closed_after=900),
        ),
        await tell(db, world, Story(start=at(120), events=[('take', marta, 30)], closed_after=1500)),
        await tell(db, world, Story(start=at(180), replies=[Reply(SenderKind.AGENT, 45, marta)])),  # still open
        await tell(db, world, Story(start=at(240))),  # nobody answered yet
        await tell(
            db, world, Story(start=NOON + timedelta(days=1), replies=[Reply(SenderKind.AI, 4)], closed_after=60)
        ),
        await tell(db, world, Story(branch='rosario', replies=[Reply(SenderKind.AI, 7)], closed_after=70)),
    ]


async def _stored(db: Database) -> dict[int, ConversationFigures]:
    async with db.session() as session:
        return {row.conversation_id or 0: row for row in (await session.exec(select(ConversationFigures))).all()}


async def _forget(db: Database) -> None:
    async with db.session() as session:
        await session.exec(delete(ConversationFigures))
        await session.commit()


async def test_stored_figures_give_what_computing_them_gives(db: Database, world: World) -> None:
    ids = await _stories(db, world)
    for viewer in (await viewer_of(db, world.marta), await viewer_of(db, world.jorge)):
        await _forget(db)
        computed = await period_figures(db, viewer=viewer, start=DAY, end=DAY + timedelta(days=1), zone=ZONE)
        stored = await period_figures(db, viewer=viewer, start=DAY, end=DAY + timedelta(days=1), zone=ZONE)
        await _forget(db)
        assert await DashboardFiguresSweeper(db, batch=3).run_once() == len(ids)
        swept = await period_figures(db, viewer=viewer, start=DAY, end=DAY + timedelta(days=1), zone=ZONE)

        assert computed == stored == swept
    assert (computed.conversations, computed.first_response.count, computed.resolved_by_ai) == (7, 5, 3)
    assert (computed.first_human_response.p50, computed.resolved_by_people) == (67.5, 2)
    rows = await _stored(db)
    assert set(rows) == set(ids)
    answered = rows[ids[1]]
    assert (answered.first_customer_at, answered.first_response_at) == (at(60), at(80))
    assert (answered.first_human_response_at, answered.resolved_at, answered.held) == (at(150), at(960), False)
    assert (rows[ids[2]].held, rows[ids[2]].first_response_at) == (True, None)
    assert (rows[ids[3]].first_human_response_at, rows[ids[3]].resolved_at) == (at(225), None)


async def test_a_new_message_in_an_open_conversation_shows_on_the_next_read(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)
    open_one = await tell(db, world, Story(replies=[Reply(SenderKind.AI, 10)]))
    before = await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE)
    assert (before.first_human_response.count, before.resolution.count) == (0, 0)

    # Ana answers after 2 minutes, as the outbox records it; later the conversation is closed.
    async with db.session() as session:
        session.add(
            Message(
                conversation_id=open_one,
                direction=Direction.OUTBOUND,
                sender_kind=SenderKind.AGENT,
                sent_by_user_id=world.ana.id,
                text='Sí, tenemos',
                sent_at=at(120),
                created_at=at(120),
            )
        )
        conversation = await session.get(Conversation, open_one)
        assert conversation is not None
        conversation.last_message_at = conversation.updated_at = at(120)
        await session.commit()
    answered = await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE)
    async with db.session() as session:
        conversation = await session.get(Conversation, open_one)
        assert conversation is not None
        conversation.status, conversation.closed_at, conversation.updated_at = (
            ConversationStatus.CLOSED,
            at(600),
            at(600),
        )
        await session.commit()
    closed = await period_figures(db, viewer=marta, start=DAY, end=DAY, zone=ZONE)

    assert (answered.first_human_response.count, answered.first_human_response.p50) == (1, 120)
    assert [answer.seconds for answer in answered.recent_answers] == [120]
    assert (closed.resolution.p50, closed.resolved_by_people, closed.resolved_by_ai) == (600, 1, 0)
    assert (await _stored(db))[open_one].resolved_at == at(600)


async def test_the_sweeper_stores_only_what_is_missing_or_stale(db: Database, world: World) -> None:
    ids = [await tell(db, world, Story(start=at(60 * n), replies=[Reply(SenderKind.AI, 5)])) for n in range(3)]
    sweeper = DashboardFiguresSweeper(db, batch=2)

    assert await sweeper.run_once() == 3
    assert await sweeper.run_once() == 0
    async with db.session() as session:
        conversation = await session.get(Conversation, ids[1])
        assert conversation is not None
        conversation.updated_at = at(900)  # taken, released, answered: anything that moves it
        await session.commit()
    assert await sweeper.run_once() == 1
    async with db.session() as session:  # a conversation deleted takes its figures along
        await session.exec(delete(Message).where(col(Message.conversation_id) == ids[0]))
        await session.exec(delete(Conversation).where(col(Conversation.id) == ids[0]))
        await session.commit()
    assert set(await _stored(db)) == set(ids[1:])
