"""Fixtures of the takeover tests: a recording publisher, viewers for the world's people, more agents, and a
customer conversation at Casa Central."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.events import CONVERSATION_UPDATED, Event
from services.models import AssignmentEvent, AssignmentRule, Branch, Conversation, Role, User
from services.models.types import utcnow
from tests.builders import conversation_with_message
from tests.conftest import World
from tests.fakes.graph_api import fake_graph  # noqa: F401 - a fixture

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=utcnow().tzinfo)


class Recorder:
    """Publisher that keeps what was published (and, optionally, checks the database at that moment)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def reasons(self) -> list[str]:
        return [event.data.get('reason', '') for event in self.events if event.kind == CONVERSATION_UPDATED]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)


async def add_agents(db: Database, branch: Branch, names: Sequence[str], *, capacity: int = 8) -> list[User]:
    async with db.session() as session:
        users = [
            User(
                username=name.lower().replace(' ', '.'),
                full_name=name,
                role=Role.AGENT,
                branch_id=branch.id,
                capacity=capacity,
                password_hash='x',
            )
            for name in names
        ]
        session.add_all(users)
        await session.commit()
        return users


async def set_rule(db: Database, branch: Branch, rule: AssignmentRule, *, timeout_seconds: int = 300) -> None:
    async with db.session() as session:
        found = await session.get(Branch, branch.id)
        assert found is not None
        found.assignment_rule = rule
        found.takeover_timeout_seconds = timeout_seconds
        await session.commit()


async def conversation(
    db: Database, world: World, phone: str = '+5491133334444', *, name: str = 'Martín Ruiz', minutes_ago: float = 5
) -> int:
    return await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone=phone,
        name=name,
        text='Hola, ¿tienen pastillas de freno?',
        wa_message_id=f'wamid.{phone}.{minutes_ago}',
        hours_ago=minutes_ago / 60,
    )


async def load(db: Database, conversation_id: int) -> Conversation:
    async with db.session() as session:
        found = (
            await session.exec(
                select(Conversation).where(Conversation.id == conversation_id).execution_options(populate_existing=True)
            )
        ).one()
        return found


async def history(db: Database, conversation_id: int) -> list[AssignmentEvent]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(AssignmentEvent)
                    .where(AssignmentEvent.conversation_id == conversation_id)
                    .order_by(col(AssignmentEvent.id))
                )
            ).all()
        )


@pytest.fixture
async def martin(db: Database, world: World) -> int:
    """Martín wrote to Casa Central five minutes ago; the AI is answering, nobody holds it."""
    return await conversation(db, world)


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)
