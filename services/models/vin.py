"""VIN readings from customers' photos (SPEC V1-V3), cached by image sha256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .types import JSONType, UTCDateTime, utcnow


class VinScan(SQLModel, table=True):
    """What the pipeline made of one image (V3 cache): a pure function of the bytes, the engine and the
    pipeline version, so a photo sent again — to any branch — is not read twice."""

    __tablename__ = 'vin_scans'
    __table_args__ = (UniqueConstraint('image_sha256', 'engine', 'pipeline_version'),)

    id: int | None = Field(default=None, primary_key=True)
    image_sha256: str = Field(max_length=64)
    engine: str = Field(max_length=16)
    pipeline_version: int
    vin: str | None = Field(default=None, max_length=17)
    status: str = Field(max_length=16, description='verified, unverified, none')
    source: str = Field(default='', max_length=16, description="barcode, ocr or ''")
    confidence: float = 0.0
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    vehicle: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # The OCR'd text lines, for part codes (V2) in the same photo.
    text_lines: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    timings: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    seconds: float = 0.0
    error: str = Field(default='', max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VinReading(SQLModel, table=True):
    """The VIN of one inbound image message, as shown in the chat and used by the bot and the AI summary.

    Starts as the scan's result; an agent's correction overrides `vin`/`status`/`vehicle` and keeps what the
    machine read in `machine_vin`. `state` is the worker's claim: a row is inserted as `processing` first
    (unique per message), so two processes never read the same photo.
    """

    __tablename__ = 'vin_readings'
    __table_args__ = (Index('ix_vin_readings_conversation', 'conversation_id', 'id'),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key='messages.id', unique=True)
    conversation_id: int = Field(foreign_key='conversations.id')
    # Copied from the conversation so branch isolation (B2) needs no join.
    branch_id: int = Field(foreign_key='branches.id', index=True)
    media_id: int | None = Field(default=None, foreign_key='media.id')
    scan_id: int | None = Field(default=None, foreign_key='vin_scans.id')
    state: str = Field(default='processing', max_length=16, index=True, description='processing, done, failed')
    vin: str | None = Field(default=None, max_length=17)
    status: str = Field(default='none', max_length=16, description='verified, unverified, none')
    source: str = Field(default='', max_length=16, description="barcode, ocr, manual or ''")
    confidence: float = 0.0
    vehicle: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # Normalised catalog codes (product_codes.code) seen in the photo (V2).
    part_codes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    machine_vin: str | None = Field(default=None, max_length=17)
    error: str = Field(default='', max_length=200)
    corrected_by_user_id: int | None = Field(default=None, foreign_key='users.id')
    corrected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
