"""Logins (O2): password check with lockout, server-side sessions, and turning a session into a `Viewer`."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from . import audit
from .access import Viewer
from .database import Database
from .errors import InvalidCredentials, LoginLocked
from .models import AuthSession, BranchGrant, LoginAttempt, Role, User
from .models.types import utcnow
from .passwords import hash_password, needs_rehash, verify_password


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(days=7)
    # Per client address, whatever the usernames: guessing across many accounts from one place is slowed too.
    ip_max_failures: int = 20
    ip_window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class LoginResult:
    viewer: Viewer
    session_token: str  # give to the browser; only its hash is stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def viewer_for_user(session: AsyncSession, user: User) -> Viewer:
    assert user.id is not None
    if user.role == Role.ADMIN:
        branch_ids: frozenset[int] | None = None
    else:
        granted = await session.exec(select(BranchGrant.branch_id).where(BranchGrant.user_id == user.id))
        branch_ids = frozenset({*granted.all(), *([user.branch_id] if user.branch_id else [])})
    return Viewer(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        branch_id=user.branch_id,
        branch_ids=branch_ids,
        locale=user.locale,
    )


async def locked_until(
    session: AsyncSession, *, username: str, policy: LoginPolicy, before_id: int | None = None
) -> datetime | None:
    """When the account unlocks, if `max_failures` failures happened within the lockout window since its last
    successful login; else None. With `before_id`, only attempts recorded before that one count: attempts racing
    each other are judged in the order of their ids, each by those before it."""
    now = utcnow()
    earlier: list[ColumnElement[bool]] = [col(LoginAttempt.username) == username]
    if before_id is not None:
        earlier.append(col(LoginAttempt.id) < before_id)
    last_success = (
        await session.exec(select(func.max(LoginAttempt.id)).where(*earlier, col(LoginAttempt.succeeded).is_(True)))
    ).one()
    failures = (
        await session.exec(
            select(LoginAttempt.attempted_at)
            .where(
                *earlier,
                col(LoginAttempt.succeeded).is_(False),
                col(LoginAttempt.id) > (last_success or 0),
                LoginAttempt.attempted_at > now - policy.lockout,
            )
            .order_by(col(LoginAttempt.id).desc())
            .limit(policy.max_failures)
        )
    ).all()
    if len(failures) < policy.max_failures:
        return None
    # Locked for a full window after the most recent of those failures.
    return max(failures) + policy.lockout


async def clear_failures(session: AsyncSession, *, username: str) -> None:
    """Forget the username's failed logins, which lifts its lockout (an admin's unlock, a password reset).
    The audit log keeps each `login.failed`; the per-address throttle loses these rows too, which is what the
    admin asked for: that person may try again now."""
    await session.exec(
        delete(LoginAttempt).where(col(LoginAttempt.username) == username, col(LoginAttempt.succeeded).is_(False))
    )


async def locked_usernames(
    db: Database, *, usernames: list[str], policy: LoginPolicy = LoginPolicy()
) -> dict[str, datetime]:
    """Which of these accounts are locked now, and until when (for the users page's "unlock")."""
    locked: dict[str, datetime] = {}
    async with db.session() as session:
        candidates = (
            await session.exec(
                select(LoginAttempt.username)
                .where(
                    col(LoginAttempt.username).in_(usernames),
                    col(LoginAttempt.succeeded).is_(False),
                    LoginAttempt.attempted_at > utcnow() - policy.lockout,
                )
                .distinct()
            )
        ).all()
        for username in candidates:
            if (until := await locked_until(session, username=username, policy=policy)) is not None:
                locked[username] = until
    return locked


async def _address_throttled_until(
    session: AsyncSession, *, client_ip: str, policy: LoginPolicy, before_id: int
) -> datetime | None:
    """When this address may try again, if `ip_max_failures` failures came from it within `ip_window`."""
    if not client_ip:
        return None
    failures = (
        await session.exec(
            select(LoginAttempt.attempted_at)
            .where(
                LoginAttempt.client_ip == client_ip,
                col(LoginAttempt.succeeded).is_(False),
                col(LoginAttempt.id) < before_id,
                LoginAttempt.attempted_at > utcnow() - policy.ip_window,
            )
            .order_by(col(LoginAttempt.id).desc())
            .limit(policy.ip_max_failures)
        )
    ).all()
    if len(failures) < policy.ip_max_failures:
        return None
    return min(failures) + policy.ip_window  # when the oldest of them leaves the window


async def login(
    db: Database,
    *,
    username: str,
    password: str,
    client_ip: str = '',
    policy: LoginPolicy = LoginPolicy(),
) -> LoginResult:
    """Check credentials and open a session. Raises `LoginLocked` or `InvalidCredentials`;
    the message never says whether the username exists.

    The attempt is recorded (as a failure) and committed BEFORE the ~0.2 s password check, and judged by the
    attempts recorded before it. Checking the lockout and recording the failure after the check let twelve
    simultaneous tries all be evaluated (issue 19, F2); now at most `max_failures` passwords are ever checked per
    lockout window, however many arrive at once."""
    username = username.strip().lower()[:64]
    client_ip = client_ip[:64]
    async with db.session() as session:
        attempt = LoginAttempt(username=username, succeeded=False, client_ip=client_ip)
        session.add(attempt)
        await session.commit()
        assert attempt.id is not None
        refusal = 'login.locked'
        until = await locked_until(session, username=username, policy=policy, before_id=attempt.id)
        if until is None:
            refusal = 'login.throttled'
            until = await _address_throttled_until(session, client_ip=client_ip, policy=policy, before_id=attempt.id)
        if until is not None:
            # A refused try is not kept as a failure: otherwise anyone could keep any account (an admin's) locked
            # for ever by trying once every few minutes.
            await session.delete(attempt)
            audit.record(session, action=refusal, actor_label=username, client_ip=client_ip)
            await session.commit()
            raise LoginLocked(until)

        user = (await session.exec(select(User).where(User.username == username))).first()
        # Argon2 costs ~0.2 s of CPU by design: in a thread, so every other page of the process keeps updating.
        verified = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
        ok = verified and user is not None and user.active
        if not ok or user is None:
            audit.record(session, action='login.failed', actor_label=username, client_ip=client_ip)
            await session.commit()
            raise InvalidCredentials('wrong username or password')

        attempt.succeeded = True
        if needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(hash_password, password)
        user.last_login_at = utcnow()
        token = secrets.token_urlsafe(32)
        assert user.id is not None
        session.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=user.id,
                expires_at=utcnow() + policy.session_lifetime,
            )
        )
        viewer = await viewer_for_user(session, user)
        audit.record(session, action='login.succeeded', actor=viewer, client_ip=client_ip)
        await session.commit()
        return LoginResult(viewer=viewer, session_token=token)


async def viewer_for_session(db: Database, token: str | None) -> Viewer | None:
    """The viewer behind a browser's session token, or None if it is unknown, expired, revoked or deactivated."""
    if not token:
        return None
    async with db.session() as session:
        row = (
            await session.exec(
                select(User)
                .join(AuthSession, col(AuthSession.user_id) == col(User.id))
                .where(
                    AuthSession.token_hash == token_hash(token),
                    col(AuthSession.revoked_at).is_(None),
                    AuthSession.expires_at > utcnow(),
                    col(User.active).is_(True),
                )
            )
        ).first()
        return await viewer_for_user(session, row) if row else None


async def logout(db: Database, *, token: str) -> None:
    async with db.session() as session:
        result = await session.exec(
            update(AuthSession)
            .where(col(AuthSession.token_hash) == token_hash(token), col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow())
            .returning(col(AuthSession.user_id))
        )
        user_id = result.scalar_one_or_none()
        if user_id is not None:
            audit.record(session, action='logout', actor_label='user', target_type='user', target_id=user_id)
        await session.commit()
