"""Alerts to admins (SPEC O4, issue 19): a condition that needs a person — the webhook journal falling behind, a
branch whose sends fail — opened when it starts and resolved when it clears, each in the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from .types import JSONType, UTCDateTime, utcnow


class AlertKind(StrEnum):
    JOURNAL_BACKLOG = 'journal_backlog'  # acknowledged webhooks waiting to be stored: customers not seen yet
    SEND_FAILURES = 'send_failures'  # a branch's replies failing at Meta: customers not answered
    SESSION_DOWN = 'session_down'  # a WhatsApp-Web session needs a QR scanned, or keeps failing: customers unheard


class AlertPublic(SQLModel):
    id: int
    kind: AlertKind
    branch_id: int | None
    details: dict[str, Any]
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class Alert(SQLModel, table=True):
    """One row per episode: opened once, updated while it lasts, resolved when its condition clears."""

    __tablename__ = 'alerts'

    id: int | None = Field(default=None, primary_key=True)
    kind: AlertKind = Field(sa_type=String(32))
    # None: about the whole deployment (the journal); else the branch whose sends fail.
    branch_id: int | None = Field(default=None, foreign_key='branches.id')
    # `kind:scope` while open, NULL once resolved: a unique column (NULLs never collide), so two worker processes
    # checking at once cannot open the same alert twice.
    open_key: str | None = Field(default=None, max_length=64, unique=True)
    # The figures that opened it, updated at each check while it lasts (counts and thresholds, never message text).
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
