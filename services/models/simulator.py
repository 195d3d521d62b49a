"""The embedded simulator's side of WhatsApp (M5): what the fake Graph API received from the app
and what the simulated customers sent, so the customer-phone page survives reloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from .types import JSONType, UTCDateTime, utcnow


class SimulatorMessage(SQLModel, table=True):
    __tablename__ = 'simulator_messages'
    __table_args__ = (Index('ix_simulator_messages_chat', 'phone_number_id', 'customer_wa_id', 'id'),)

    id: int | None = Field(default=None, primary_key=True)
    phone_number_id: str = Field(max_length=64)
    customer_wa_id: str = Field(max_length=32)
    from_customer: bool
    wa_message_id: str = Field(max_length=128, unique=True)
    type: str = Field(default='text', max_length=32)
    text: str = Field(default='', sa_type=Text)
    media_id: str | None = Field(default=None, max_length=128)
    # For the customer's own messages: how far the business got (sent, delivered, read).
    status: str = Field(default='sent', max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SimulatorMedia(SQLModel, table=True):
    """Files uploaded to the fake Graph API (by the app) or sent by simulated customers."""

    __tablename__ = 'simulator_media'

    id: int | None = Field(default=None, primary_key=True)
    media_id: str = Field(max_length=128, unique=True)
    mime_type: str = Field(max_length=120)
    filename: str = Field(default='', max_length=255)
    sha256: str = Field(max_length=64)
    size_bytes: int
    storage_path: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
