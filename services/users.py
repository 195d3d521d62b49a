"""Agents, managers and admins (B2, B4)."""

from __future__ import annotations

from sqlmodel import col, select

from . import audit
from .access import Viewer, branch_scope
from .database import Database, add_unique
from .errors import InvalidInput
from .models import Branch, Role, User, UserCreate
from .passwords import hash_password


async def create_user(db: Database, *, user_in: UserCreate, actor: Viewer | None = None) -> User:
    """Create a user. Agents and managers must belong to a branch; a manager may only add agents to their own."""
    if user_in.role != Role.ADMIN and user_in.branch_id is None:
        raise InvalidInput(f'a {user_in.role} must belong to a branch')
    if actor is not None:
        actor.require_role(Role.MANAGER)
        if not actor.has_role(Role.ADMIN):
            if user_in.role != Role.AGENT:
                raise InvalidInput('managers may only create agents')
            actor.require_branch(user_in.branch_id)
    user = User.model_validate(
        user_in,
        update={
            'username': user_in.username.strip().lower(),
            'password_hash': hash_password(user_in.password),
        },
    )
    async with db.session() as session:
        await add_unique(session, user, conflict=f'username {user.username} is taken')
        audit.record(
            session,
            action='user.created',
            actor=actor,
            target_type='user',
            target_id=user.id or '',
            role=str(user.role),
        )
        await session.commit()
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
