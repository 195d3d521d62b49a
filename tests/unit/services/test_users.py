"""Users administered without the command line (B4, issue 15): create, edit, deactivate, reset the password,
unlock; a manager administers the agents of their own branch only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from services import auth, users
from services.access import Viewer
from services.auth import viewer_for_user
from services.database import Database
from services.errors import Conflict, InvalidCredentials, InvalidInput, LoginLocked, NotFound, PermissionDenied
from services.models import AuditEntry, Role, User, UserCreate
from services.users import UserChanges
from tests.conftest import World


async def viewer_of(db: Database, user: User) -> Viewer:
    async with db.session() as session:
        found = await session.get(User, user.id)
        assert found is not None
        return await viewer_for_user(session, found)


def new_agent(world: World, **overrides: Any) -> UserCreate:
    fields: dict[str, Any] = {
        'username': 'lucia',
        'full_name': 'Lucía Pérez',
        'role': Role.AGENT,
        'branch_id': world.central.id,
        'password': 'una clave larga',
    }
    return UserCreate.model_construct(**(fields | overrides))


async def actions(db: Database) -> list[str]:
    async with db.session() as session:
        return list((await session.exec(select(AuditEntry.action).order_by(col(AuditEntry.id)))).all())


async def test_admin_creates_an_agent_who_can_sign_in(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)

    created = await users.create_user(db, user_in=new_agent(world, username=' Lucia '), actor=jorge)

    assert created.username == 'lucia'
    result = await auth.login(db, username='lucia', password='una clave larga')
    assert result.viewer.branch_ids == frozenset({world.central.id})
    assert 'user.created' in await actions(db)


@pytest.mark.parametrize(
    ('overrides', 'reason'),
    [
        ({'username': 'lucía pérez'}, 'username_format'),
        ({'full_name': '  '}, 'name_required'),
        ({'branch_id': None}, 'branch_required'),
        ({'capacity': 0}, 'capacity_range'),
        ({'capacity': 101}, 'capacity_range'),
        ({'password': 'corta'}, 'password_short'),
        ({'branch_id': 999}, 'branch_unknown'),
    ],
)
async def test_invalid_users_are_refused_with_a_reason(
    db: Database, world: World, overrides: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await users.create_user(db, user_in=new_agent(world, **overrides), actor=await viewer_of(db, world.jorge))
    assert refused.value.params['reason'] == reason


async def test_a_taken_username_is_a_conflict(db: Database, world: World) -> None:
    with pytest.raises(Conflict) as refused:
        await users.create_user(db, user_in=new_agent(world, username='ana'), actor=await viewer_of(db, world.jorge))
    assert refused.value.params == {'reason': 'username_taken', 'username': 'ana'}


async def test_a_manager_adds_agents_to_their_branch_only_and_never_promotes(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)  # manager of SUC1

    await users.create_user(db, user_in=new_agent(world), actor=marta)
    with pytest.raises(PermissionDenied):
        await users.create_user(db, user_in=new_agent(world, username='x1', branch_id=world.rosario.id), actor=marta)
    with pytest.raises(PermissionDenied):
        await users.create_user(db, user_in=new_agent(world, username='x2', role=Role.MANAGER), actor=marta)
    with pytest.raises(PermissionDenied):
        await users.create_user(db, user_in=new_agent(world, username='x3', role=Role.ADMIN), actor=marta)
    with pytest.raises(PermissionDenied):
        await users.create_user(db, user_in=new_agent(world, username='x4'), actor=await viewer_of(db, world.ana))


async def test_a_manager_never_reaches_another_branch_or_a_non_agent(db: Database, world: World) -> None:
    marta = await viewer_of(db, world.marta)
    assert world.bruno.id and world.jorge.id and world.ana.id

    for other in (world.bruno.id, world.jorge.id, world.marta.id or 0):
        with pytest.raises(NotFound):
            await users.get_user(db, user_id=other, viewer=marta)
        with pytest.raises(NotFound):
            await users.reset_password(db, user_id=other, actor=marta)
        with pytest.raises(NotFound):
            await users.set_active(db, user_id=other, active=False, actor=marta)
    listed = [user.username for user, _ in await users.list_users(db, viewer=marta)]
    assert 'bruno' not in listed and 'jorge' not in listed

    with pytest.raises(PermissionDenied):  # her own agent, but promoted or moved away
        await users.update_user(
            db,
            user_id=world.ana.id,
            changes=UserChanges(
                full_name='Ana', role=Role.MANAGER, branch_id=world.central.id, capacity=8, active=True
            ),
            actor=marta,
        )
    with pytest.raises(PermissionDenied):
        await users.update_user(
            db,
            user_id=world.ana.id,
            changes=UserChanges(full_name='Ana', role=Role.AGENT, branch_id=world.rosario.id, capacity=8, active=True),
            actor=marta,
        )
    changed = await users.update_user(
        db,
        user_id=world.ana.id,
        changes=UserChanges(
            full_name='Ana Gómez', role=Role.AGENT, branch_id=world.central.id, capacity=3, active=True
        ),
        actor=marta,
    )
    assert changed.capacity == 3


async def test_a_deactivated_user_cannot_sign_in_and_loses_open_sessions(db: Database, world: World) -> None:
    session = await auth.login(db, username='ana', password=world.password)
    assert world.ana.id

    await users.set_active(db, user_id=world.ana.id, active=False, actor=await viewer_of(db, world.jorge))

    assert await auth.viewer_for_session(db, session.session_token) is None
    with pytest.raises(InvalidCredentials):
        await auth.login(db, username='ana', password=world.password)
    assert (await actions(db))[-2:] == ['user.deactivated', 'login.failed']


async def test_an_admin_cannot_deactivate_or_demote_themselves(db: Database, world: World) -> None:
    jorge = await viewer_of(db, world.jorge)
    with pytest.raises(InvalidInput) as refused:
        await users.set_active(db, user_id=world.jorge.id or 0, active=False, actor=jorge)
    assert refused.value.params['reason'] == 'self_change'


async def test_a_reset_password_works_once_shown_and_ends_the_old_sessions(db: Database, world: World) -> None:
    old = await auth.login(db, username='ana', password=world.password)

    password = await users.reset_password(db, user_id=world.ana.id or 0, actor=await viewer_of(db, world.marta))

    assert len(password) >= 12
    assert await auth.viewer_for_session(db, old.session_token) is None
    with pytest.raises(InvalidCredentials):
        await auth.login(db, username='ana', password=world.password)
    assert (await auth.login(db, username='ana', password=password)).viewer.username == 'ana'
    async with db.session() as session:
        entry = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'user.password_reset'))).one()
    assert password not in str(entry.details)


async def test_unlock_lifts_a_lockout(db: Database, world: World) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='not it')
    with pytest.raises(LoginLocked):
        await auth.login(db, username='ana', password=world.password)
    assert set(await auth.locked_usernames(db, usernames=['ana', 'bruno'])) == {'ana'}

    await users.unlock(db, user_id=world.ana.id or 0, actor=await viewer_of(db, world.jorge))

    assert await auth.locked_usernames(db, usernames=['ana']) == {}
    assert (await auth.login(db, username='ana', password=world.password)).viewer.username == 'ana'
    assert 'user.unlocked' in await actions(db)
