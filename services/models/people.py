"""Users and everything that proves who is calling: login sessions, failed attempts, API keys, audit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from .base import Role
from .types import JSONType, Rate, UTCDateTime, utcnow


class UserBase(SQLModel):
    username: str = Field(max_length=64, unique=True, description='Lower-case login name')
    full_name: str = Field(max_length=120)
    role: Role = Field(sa_type=String(16))
    # Agents and managers belong to one branch; admins see all and may have none.
    branch_id: int | None = Field(default=None, foreign_key='branches.id', index=True)
    # T4 least-busy rule: how many conversations this agent can hold at once.
    capacity: int = Field(default=8, ge=1, le=100)
    # S4: % of the net amount of this agent's sales; None means the branch's rate.
    commission_rate: Decimal | None = Field(default=None, sa_type=Rate())
    locale: str = Field(default='es', max_length=5)
    active: bool = True


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=128)


class UserPublic(UserBase):
    id: int


class User(UserBase, table=True):
    __tablename__ = 'users'

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuthSession(SQLModel, table=True):
    """A browser login. Only the token's SHA-256 is stored, so a database leak does not hand out sessions."""

    __tablename__ = 'auth_sessions'

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key='users.id', index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """Every login try, so lockout survives restarts and works across processes."""

    __tablename__ = 'login_attempts'

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    succeeded: bool
    client_ip: str = Field(default='', max_length=64)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class ApiKey(SQLModel, table=True):
    """Key for the HTTP API. Shown once; we keep its prefix (to find it) and SHA-256 (to check it)."""

    __tablename__ = 'api_keys'

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    # A branch-scoped key never returns another branch's data; None means every branch (admin key).
    branch_id: int | None = Field(default=None, foreign_key='branches.id')
    created_by_id: int | None = Field(default=None, foreign_key='users.id')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what. Never holds message bodies or secrets (O3)."""

    __tablename__ = 'audit_log'

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_user_id: int | None = Field(default=None, foreign_key='users.id')
    actor_label: str = Field(default='', max_length=120, description='username, "cli", "api:<prefix>"…')
    action: str = Field(max_length=64)
    target_type: str = Field(default='', max_length=32)
    target_id: str = Field(default='', max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
