"""Logging in, lockout after repeated failures, sessions and logout (O2)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services import auth
from services.auth import LoginPolicy
from services.database import Database
from services.errors import InvalidCredentials, LoginLocked
from services.models import AuditEntry, AuthSession, LoginAttempt, Role, User
from services.models.types import utcnow
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


# --- simultaneous attempts and the per-address throttle (issue 19, F2) ---------------------------------------


async def _burst(db: Database, passwords: list[str], *, client_ip: str = '') -> list[object]:
    """Logins for ana all at once, as a script would send them; each one's result or exception."""
    return await asyncio.gather(
        *(auth.login(db, username='ana', password=password, client_ip=client_ip) for password in passwords),
        return_exceptions=True,
    )


async def test_twelve_simultaneous_wrong_passwords_get_five_checks_and_then_the_lock(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real_verify = auth.verify_password

    def counting_verify(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, 'verify_password', counting_verify)

    results = await _burst(db, [f'guess-{n}' for n in range(12)])

    assert len(checked) == 5  # at most `max_failures` guesses, however many arrive at once
    assert sum(isinstance(r, InvalidCredentials) for r in results) == 5
    assert sum(isinstance(r, LoginLocked) for r in results) == 7
    with pytest.raises(LoginLocked):
        await auth.login(db, username='ana', password=world.password)


async def test_the_right_password_in_a_burst_gets_in_only_among_the_first_five(db: Database, world: World) -> None:
    results = await _burst(db, ['wrong'] * 11 + [world.password])

    async with db.session() as session:
        attempts = (await session.exec(select(LoginAttempt).order_by(col(LoginAttempt.id)))).all()
    got_in = [r for r in results if isinstance(r, auth.LoginResult)]
    kept = [a for a in attempts if a.username == 'ana']  # refused tries are not kept
    if got_in:
        assert [a.succeeded for a in kept].index(True) < 5  # judged by the failures recorded before it
    else:
        assert len(kept) == 5 and not any(a.succeeded for a in kept)


async def test_too_many_failures_from_one_address_slow_down_every_account_from_it(db: Database, world: World) -> None:
    policy = LoginPolicy(ip_max_failures=3)
    for username in ('ana', 'bruno', 'nobody'):
        with pytest.raises(InvalidCredentials):
            await auth.login(db, username=username, password='wrong', client_ip='10.0.0.9', policy=policy)

    with pytest.raises(LoginLocked) as throttled:
        await auth.login(db, username='marta', password=world.password, client_ip='10.0.0.9', policy=policy)
    other_place = await auth.login(db, username='marta', password=world.password, client_ip='10.0.0.10', policy=policy)

    assert throttled.value.until > utcnow()
    assert other_place.viewer.username == 'marta'
    async with db.session() as session:
        actions = (await session.exec(select(AuditEntry.action))).all()
    assert 'login.throttled' in actions
