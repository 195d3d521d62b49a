"""The webhook journal: every accepted webhook body is stored before we answer 200 (M1), so an
acknowledged payload can never be lost, and a failed processing can be replayed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

from .types import JSONType, UTCDateTime, utcnow


class DeliveryStatus(StrEnum):
    PENDING = 'pending'  # journaled, not processed yet
    PROCESSED = 'processed'
    FAILED = 'failed'  # processing raised; `leadmaster webhooks replay` retries it
    FLAGGED = 'flagged'  # valid JSON of an unexpected shape; kept for a human to look at


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = 'webhook_deliveries'
    __table_args__ = (Index('ix_webhook_deliveries_status', 'status', 'id'),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(default='cloud', max_length=16, description='cloud, simulator, waha')
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The exact bytes Meta signed, decoded as UTF-8: replays see what was acknowledged, not a re-serialisation.
    body: str = Field(sa_type=Text)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    error: str = Field(default='', sa_type=Text)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_count: int = 0
    status_count: int = 0


class DeadLetterKind(StrEnum):
    UNROUTABLE = 'unroutable'  # for a phone_number_id no branch owns: add the number, then replay
    UNSTORABLE = 'unstorable'  # storing it failed (or it breaks a limit of ours); its neighbours were stored


class DeadLetter(SQLModel, table=True):
    """Part of an acknowledged webhook that could not be stored, kept with its raw JSON and why, so nothing Meta
    was told we have is ever lost. Admins see the list (/admin/webhooks, `leadmaster webhooks dead-letters`) and
    replay it: the delivery is processed again, and what was already stored is recognised by its WhatsApp id."""

    __tablename__ = 'dead_letters'

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key='webhook_deliveries.id', index=True)
    kind: DeadLetterKind = Field(default=DeadLetterKind.UNROUTABLE, sa_type=String(16))
    phone_number_id: str = Field(max_length=64, index=True)
    display_phone_number: str = Field(default='', max_length=32)
    # The WhatsApp id of an unstorable message or status (cut to 128 characters: it may be the very problem).
    wa_message_id: str = Field(default='', max_length=128)
    message_count: int = 0
    status_count: int = 0
    error: str = Field(default='', sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sample: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
