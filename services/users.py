"""Agents, managers and admins (B2, B4): creating, editing, deactivating them, and resetting their passwords.

A manager administers the agents of their own branch only: never another branch's people, never a manager or an
admin, and never promotes anyone. The checks live here, so the page, the CLI and any future API agree."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from . import audit, auth
from .access import Viewer, branch_scope
from .database import Database, add_unique
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .models import AuthSession, Branch, Role, User, UserCreate
from .models.types import utcnow
from .passwords import hash_password, verify_password

_USERNAME = re.compile(r'^[a-z0-9][a-z0-9._-]{1,63}$')
MIN_PASSWORD = 8
MAX_CAPACITY = 100


@dataclass(frozen=True)
class UserChanges:
    """What an admin may change about a user (the username stays: the audit log and logins refer to it)."""

    full_name: str
    role: Role
    branch_id: int | None
    capacity: int
    active: bool


def _check_fields(*, full_name: str, role: Role, branch_id: int | None, capacity: int) -> None:
    if not full_name.strip():
        raise InvalidInput('the full name is required', reason='name_required')
    if role != Role.ADMIN and branch_id is None:
        raise InvalidInput(f'a {role} must belong to a branch', reason='branch_required')
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(f'capacity must be 1-{MAX_CAPACITY}, got {capacity}', reason='capacity_range')


def _check_may_administer(actor: Viewer | None, *, role: Role, branch_id: int | None) -> None:
    """Admins administer anyone; a manager only agents of a branch they see."""
    if actor is None:
        return  # the command line: whoever runs it owns the server
    actor.require_role(Role.MANAGER)
    if actor.has_role(Role.ADMIN):
        return
    if role != Role.AGENT:
        raise PermissionDenied('managers may only administer agents', reason='manager_agents_only')
    if branch_id is None or not actor.can_see_branch(branch_id):
        raise PermissionDenied(f'{actor.username} may not see branch {branch_id}', reason='other_branch')


async def create_user(db: Database, *, user_in: UserCreate, actor: Viewer | None = None) -> User:
    """Create a user. Agents and managers must belong to a branch; a manager may only add agents to their own."""
    username = user_in.username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput(f'invalid username {user_in.username!r}', reason='username_format')
    _check_fields(
        full_name=user_in.full_name, role=user_in.role, branch_id=user_in.branch_id, capacity=user_in.capacity
    )
    if len(user_in.password) < MIN_PASSWORD:
        raise InvalidInput('the password is too short', reason='password_short', minimum=MIN_PASSWORD)
    _check_may_administer(actor, role=user_in.role, branch_id=user_in.branch_id)
    user = User.model_validate(
        user_in,
        update={
            'username': username,
            'full_name': user_in.full_name.strip(),
            'password_hash': hash_password(user_in.password),
        },
    )
    async with db.session() as session:
        await _existing_branch(session, user.branch_id)
        try:
            await add_unique(session, user, conflict=f'username {user.username} is taken')
        except Conflict as exc:
            raise Conflict(str(exc), reason='username_taken', username=username) from exc
        audit.record(
            session,
            action='user.created',
            actor=actor,
            target_type='user',
            target_id=user.id or '',
            role=str(user.role),
            branch_id=user.branch_id,
        )
        await session.commit()
        return user


async def _existing_branch(session: AsyncSession, branch_id: int | None) -> None:
    if branch_id is not None and await session.get(Branch, branch_id) is None:
        raise InvalidInput(f'no branch {branch_id}', reason='branch_unknown')


async def get_user(db: Database, *, user_id: int, viewer: Viewer | None = None) -> User:
    """One user the viewer may administer (a manager: an agent of their branch); else `NotFound`."""
    async with db.session() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f'no user {user_id}')
    try:
        _check_may_administer(viewer, role=Role(user.role), branch_id=user.branch_id)
    except PermissionDenied as exc:
        raise NotFound(f'no user {user_id}') from exc  # another branch's people do not exist for a manager
    return user


async def update_user(db: Database, *, user_id: int, changes: UserChanges, actor: Viewer | None = None) -> User:
    """Change a user's name, role, branch, capacity or active flag. Deactivating ends their sessions at once
    (`viewer_for_session` refuses inactive users). An admin cannot demote or deactivate themselves: the
    deployment must keep someone able to undo it."""
    _check_fields(
        full_name=changes.full_name, role=changes.role, branch_id=changes.branch_id, capacity=changes.capacity
    )
    async with db.session() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f'no user {user_id}')
        try:
            _check_may_administer(actor, role=Role(user.role), branch_id=user.branch_id)
        except PermissionDenied as exc:
            raise NotFound(f'no user {user_id}') from exc
        _check_may_administer(actor, role=changes.role, branch_id=changes.branch_id)
        if actor is not None and actor.user_id == user.id and (not changes.active or changes.role != user.role):
            raise InvalidInput('you cannot deactivate or change the role of your own account', reason='self_change')
        await _existing_branch(session, changes.branch_id)
        before = {'role': str(user.role), 'branch_id': user.branch_id, 'capacity': user.capacity, 'active': user.active}
        user.full_name = changes.full_name.strip()
        user.role = changes.role
        user.branch_id = changes.branch_id
        user.capacity = changes.capacity
        user.active = changes.active
        after = {'role': str(user.role), 'branch_id': user.branch_id, 'capacity': user.capacity, 'active': user.active}
        changed: dict[str, Any] = {key: value for key, value in after.items() if before[key] != value}
        action = 'user.updated'
        if changed.keys() == {'active'}:
            action = 'user.activated' if user.active else 'user.deactivated'
        audit.record(session, action=action, actor=actor, target_type='user', target_id=user_id, **changed)
        await session.commit()
        await session.refresh(user)
        return user


async def set_active(db: Database, *, user_id: int, active: bool, actor: Viewer | None = None) -> User:
    user = await get_user(db, user_id=user_id, viewer=actor)
    return await update_user(
        db,
        user_id=user_id,
        changes=UserChanges(
            full_name=user.full_name,
            role=Role(user.role),
            branch_id=user.branch_id,
            capacity=user.capacity,
            active=active,
        ),
        actor=actor,
    )


async def reset_password(db: Database, *, user_id: int, actor: Viewer | None = None) -> str:
    """A new random password for the user, returned once (never stored in clear nor logged). Their open sessions
    end, and a lockout is lifted: the person who forgot the password is usually the one who locked it."""
    user = await get_user(db, user_id=user_id, viewer=actor)
    password = secrets.token_urlsafe(9)  # 12 characters, ~72 bits: read aloud or pasted once
    async with db.session() as session:
        await session.exec(update(User).where(col(User.id) == user_id).values(password_hash=hash_password(password)))
        await session.exec(
            update(AuthSession)
            .where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        await auth.clear_failures(session, username=user.username)
        audit.record(session, action='user.password_reset', actor=actor, target_type='user', target_id=user_id)
        await session.commit()
    return password


async def change_own_password(
    db: Database, *, viewer: Viewer, current_password: str, new_password: str, keep_session: str | None = None
) -> None:
    """A signed-in person replaces their password (after a reset, the one-time password an admin read to them).
    The current one is asked again: a page left open on a shared counter must not let anyone take the account.
    Their other sessions end; `keep_session` (the token of the page asking) stays signed in."""
    if viewer.user_id is None:
        raise PermissionDenied('only a person signed in can change their password', reason='not_a_user')
    if len(new_password) < MIN_PASSWORD:
        raise InvalidInput('the password is too short', reason='password_short', minimum=MIN_PASSWORD)
    async with db.session() as session:
        user = await session.get(User, viewer.user_id)
        if user is None or not user.active:
            raise NotFound('user not found', reason='user_missing')
        if not verify_password(user.password_hash, current_password):
            raise InvalidInput('the current password is wrong', reason='password_wrong')
        if verify_password(user.password_hash, new_password):
            raise InvalidInput('the new password is the current one', reason='password_same')
        user.password_hash = hash_password(new_password)
        others = update(AuthSession).where(
            col(AuthSession.user_id) == viewer.user_id, col(AuthSession.revoked_at).is_(None)
        )
        if keep_session is not None:
            others = others.where(col(AuthSession.token_hash) != auth.token_hash(keep_session))
        await session.exec(others.values(revoked_at=utcnow()))
        audit.record(
            session, action='user.password_changed', actor=viewer, target_type='user', target_id=viewer.user_id
        )
        await session.commit()


async def unlock(db: Database, *, user_id: int, actor: Viewer | None = None) -> None:
    """Lift a lockout after too many failed logins (services/auth.py), before the window runs out."""
    user = await get_user(db, user_id=user_id, viewer=actor)
    async with db.session() as session:
        await auth.clear_failures(session, username=user.username)
        audit.record(session, action='user.unlocked', actor=actor, target_type='user', target_id=user_id)
        await session.commit()


async def get_user_by_username(db: Database, *, username: str) -> User:
    async with db.session() as session:
        user = (await session.exec(select(User).where(User.username == username.strip().lower()))).first()
    if user is None:
        raise NotFound(f'no user {username!r}')
    return user


async def list_users(db: Database, *, viewer: Viewer | None = None) -> list[tuple[User, Branch | None]]:
    """Users with their branch, admins first then by branch and name; limited to the viewer's branches."""
    async with db.session() as session:
        query = (
            select(User, Branch)
            .join(Branch, col(Branch.id) == col(User.branch_id), isouter=True)
            .order_by(col(Branch.code).nulls_first(), User.role, User.username)
        )
        if viewer is not None and not viewer.sees_all_branches:
            query = query.where(branch_scope(User.branch_id, viewer))
        return [(user, branch) for user, branch in (await session.exec(query)).all()]


async def count_users(db: Database) -> int:
    async with db.session() as session:
        return len((await session.exec(select(User.id))).all())
