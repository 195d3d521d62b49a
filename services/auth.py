"""Logins (O2): password check with lockout, server-side sessions, and turning a session into a `Viewer`."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
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


async def locked_until(session: AsyncSession, *, username: str, policy: LoginPolicy) -> datetime | None:
    """When the account unlocks, if `max_failures` failures happened within the lockout window
    since the last successful login; else None."""
    now = utcnow()
    window_start = now - policy.lockout
    last_success = (
        await session.exec(
            select(func.max(LoginAttempt.attempted_at)).where(
                LoginAttempt.username == username, col(LoginAttempt.succeeded).is_(True)
            )
        )
    ).one()
    since = max(window_start, last_success) if last_success else window_start
    failures = (
        await session.exec(
            select(LoginAttempt.attempted_at)
            .where(
                LoginAttempt.username == username,
                col(LoginAttempt.succeeded).is_(False),
                LoginAttempt.attempted_at > since,
            )
            .order_by(col(LoginAttempt.attempted_at).desc())
            .limit(policy.max_failures)
        )
    ).all()
    if len(failures) < policy.max_failures:
        return None
    # Locked for a full window after the most recent of those failures.
    return failures[0] + policy.lockout


async def login(
    db: Database,
    *,
    username: str,
    password: str,
    client_ip: str = '',
    policy: LoginPolicy = LoginPolicy(),
) -> LoginResult:
    """Check credentials and open a session. Raises `LoginLocked` or `InvalidCredentials`;
    the message never says whether the username exists."""
    username = username.strip().lower()
    async with db.session() as session:
        until = await locked_until(session, username=username, policy=policy)
        if until is not None:
            # Not recorded as a failure: otherwise anyone could keep any account (an admin's) locked for ever
            # by trying once every few minutes.
            audit.record(session, action='login.locked', actor_label=username, client_ip=client_ip)
            await session.commit()
            raise LoginLocked(until)

        user = (await session.exec(select(User).where(User.username == username))).first()
        # Argon2 costs ~0.2 s of CPU by design: in a thread, so every other page of the process keeps updating.
        verified = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
        ok = verified and user is not None and user.active
        session.add(LoginAttempt(username=username, succeeded=ok, client_ip=client_ip))
        if not ok or user is None:
            audit.record(session, action='login.failed', actor_label=username, client_ip=client_ip)
            await session.commit()
            raise InvalidCredentials('wrong username or password')

        if needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(hash_password, password)
        user.last_login_at = utcnow()
        token = secrets.token_urlsafe(32)
        assert user.id is not None  # read from the database
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
