"""The manager dashboard's stored per-conversation figures (issue 15, migration 0021)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from .types import UTCDateTime


class ConversationFigures(SQLModel, table=True):
    """A conversation's service moments, as services/dashboard.py computes them from its messages and history, so a
    range of days reads one narrow row per conversation instead of probing its messages three times.

    The `seen_*` columns are the conversation's own at the time of computing: when any of them differs from the
    conversation's now (a message moved `last_message_at`/`updated_at`, a close or reopen changed `status` and
    `closed_at`), the row is stale and is computed again on the next read or sweep."""

    __tablename__ = 'conversation_figures'

    conversation_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey('conversations.id', ondelete='CASCADE'), primary_key=True),
    )
    branch_id: int
    opened_at: datetime = Field(sa_type=UTCDateTime)
    first_customer_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The first reply by anyone (the AI or an agent), and the first by a person (an agent).
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_human_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The close, for closed conversations only.
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # An agent took it or was given it (take, rule, reassign): with `first_human_response_at`, "not by the AI alone".
    held: bool = False
    seen_status: str = Field(max_length=16)
    seen_closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    seen_last_message_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    seen_updated_at: datetime = Field(sa_type=UTCDateTime)
