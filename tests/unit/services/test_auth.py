"""Logging in, lockout after repeated failures, sessions and logout (O2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services import auth
from services.auth import LoginPolicy
from services.database import Database
from services.errors import InvalidCredentials, LoginLocked
from services.models import AuditEntry, AuthSession, LoginAttempt, Role, User
from tests.conftest import World


async def test_correct_password_opens_a_session_for_that_user(db: Database, world: World) -> None:
    result = await auth.login(db, username='Ana ', password=world.password, client_ip='10.0.0.1')

    assert result.viewer.username == 'ana'
    assert result.viewer.role == Role.AGENT
    assert result.viewer.branch_ids == frozenset({world.central.id})
    viewer = await auth.viewer_for_session(db, result.session_token)
    assert viewer is not None and viewer.user_id == world.ana.id


async def test_only_the_token_hash_is_stored(db: Database, world: World) -> None:
    result = await auth.login(db, username='ana', password=world.password)

    async with db.session() as session:
        stored = (await session.exec(select(AuthSession.token_hash))).all()
    assert result.session_token not in stored
    assert auth.token_hash(result.session_token) in stored


async def test_wrong_password_and_unknown_user_get_the_same_error(db: Database, world: World) -> None:
    with pytest.raises(InvalidCredentials) as wrong_password:
        await auth.login(db, username='ana', password='nope')
    with pytest.raises(InvalidCredentials) as unknown_user:
        await auth.login(db, username='nobody', password='nope')

    assert str(wrong_password.value) == str(unknown_user.value)


async def test_five_failures_lock_the_account_even_for_the_right_password(db: Database, world: World) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='wrong')

    with pytest.raises(LoginLocked) as locked:
        await auth.login(db, username='ana', password=world.password)

    remaining = locked.value.until - (await _latest_attempt(db, 'ana'))
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    async with db.session() as session:
        actions = (await session.exec(select(AuditEntry.action))).all()
    assert actions.count('login.failed') == 5 and 'login.locked' in actions


async def test_four_failures_do_not_lock(db: Database, world: World) -> None:
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='wrong')

    assert (await auth.login(db, username='ana', password=world.password)).viewer.username == 'ana'


async def test_lockout_ends_fifteen_minutes_after_the_last_failure(db: Database, world: World) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='wrong')
    await _age_attempts(db, 'ana', by=timedelta(minutes=15, seconds=1))

    assert (await auth.login(db, username='ana', password=world.password)).viewer.username == 'ana'


async def test_lockout_of_one_user_does_not_affect_another(db: Database, world: World) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='wrong')

    assert (await auth.login(db, username='bruno', password=world.password)).viewer.username == 'bruno'


async def test_a_success_clears_earlier_failures(db: Database, world: World) -> None:
    policy = LoginPolicy(max_failures=3)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='wrong', policy=policy)
    await _age_attempts(db, 'ana', by=timedelta(seconds=5))
    await auth.login(db, username='ana', password=world.password, policy=policy)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username='ana', password='wrong', policy=policy)

    assert (await auth.login(db, username='ana', password=world.password, policy=policy)).viewer.username == 'ana'


async def test_deactivated_user_cannot_log_in_and_loses_open_sessions(db: Database, world: World) -> None:
    result = await auth.login(db, username='ana', password=world.password)
    async with db.session() as session:
        await session.exec(update(User).where(col(User.id) == world.ana.id).values(active=False))
        await session.commit()

    assert await auth.viewer_for_session(db, result.session_token) is None
    with pytest.raises(InvalidCredentials):
        await auth.login(db, username='ana', password=world.password)


async def test_logout_revokes_the_session(db: Database, world: World) -> None:
    result = await auth.login(db, username='ana', password=world.password)

    await auth.logout(db, token=result.session_token)

    assert await auth.viewer_for_session(db, result.session_token) is None


async def test_expired_session_is_not_accepted(db: Database, world: World) -> None:
    result = await auth.login(
        db, username='ana', password=world.password, policy=LoginPolicy(session_lifetime=timedelta(seconds=-1))
    )

    assert await auth.viewer_for_session(db, result.session_token) is None
    assert await auth.viewer_for_session(db, 'made-up-token') is None
    assert await auth.viewer_for_session(db, None) is None


async def test_admin_sees_every_branch_and_manager_only_theirs(db: Database, world: World) -> None:
    admin = (await auth.login(db, username='jorge', password=world.password)).viewer
    manager = (await auth.login(db, username='marta', password=world.password)).viewer

    assert admin.sees_all_branches and admin.can_see_branch(world.rosario.id)
    assert manager.can_see_branch(world.central.id) and not manager.can_see_branch(world.rosario.id)


async def _latest_attempt(db: Database, username: str):
    async with db.session() as session:
        return (
            await session.exec(
                select(LoginAttempt.attempted_at)
                .where(LoginAttempt.username == username)
                .order_by(col(LoginAttempt.attempted_at).desc())
            )
        ).first()


async def _age_attempts(db: Database, username: str, *, by: timedelta) -> None:
    """Move this user's attempts into the past, as if time had passed."""
    async with db.session() as session:
        attempts = (await session.exec(select(LoginAttempt).where(LoginAttempt.username == username))).all()
        for attempt in attempts:
            attempt.attempted_at -= by
        await session.commit()
