"""The AI assistant's stored state (SPEC A1-A3, C4): conversation summaries and bot turns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import JSONType, UTCDateTime, utcnow


class AssistantTurn(SQLModel, table=True):
    """One bot decision about the customer's newest message: the unique `inbound_message_id` is what makes
    "never two bot replies to one customer message" hold, across restarts and processes (A1)."""

    __tablename__ = 'assistant_turns'
    __table_args__ = (Index('ix_assistant_turns_conversation', 'conversation_id', 'inbound_message_id'),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key='conversations.id')
    # The newest customer message when the turn was claimed; older unanswered ones of the burst are covered too.
    inbound_message_id: int = Field(foreign_key='messages.id', unique=True)
    status: str = Field(
        default='working',
        sa_type=String(16),
        description='working, sending, replied, silent (nothing sent: human took over, window...), failed, expired',
    )
    engine: str = Field(default='', max_length=16, description='rules or llm (llm turns that fell back say rules)')
    intent: str = Field(default='', max_length=24)
    handoff_reason: str = Field(default='', max_length=32)
    reply_message_id: int | None = Field(default=None, foreign_key='messages.id')
    # What the engine understood and did: entities, products proposed, tool calls, a fallback's error.
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A `working` turn past this moment was lost (its worker died, the database failed under it): the watchdog
    # marks it `expired` and hands the customer to a person. NULL on turns claimed before leases existed.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConversationSummary(SQLModel, table=True):
    """The AI summary of a conversation (C4, A3), one row per version: a new version is written only when
    something in it changed, so the history shows how the lead evolved."""

    __tablename__ = 'conversation_summaries'
    __table_args__ = (UniqueConstraint('conversation_id', 'version'),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key='conversations.id')
    branch_id: int = Field(foreign_key='branches.id')
    version: int = 1
    vehicle_make: str = Field(default='', max_length=40)
    vehicle_model: str = Field(default='', max_length=60)
    vehicle_year: int | None = None
    vehicle_engine: str = Field(default='', max_length=40)
    vin: str = Field(default='', max_length=17)
    # What the customer needs, in their words normalized ("pastillas freno").
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Products asked about or offered: [{sku, title, price (ARS with IVA, string), stock (units at the branch)}].
    products: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    intent: str = Field(default='low', max_length=8, description='low, medium, high')
    stage: str = Field(
        default='greeting', max_length=16, description='greeting, need, vehicle, products, quote, closing, closed'
    )
    confidence: int = 0
    gist: str = Field(default='', max_length=300)
    # The newest message the summary has read; a newer one means it is due again.
    last_message_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
