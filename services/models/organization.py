"""Branches (sucursales), the WhatsApp numbers that route to them, and who may see which branch."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import AssignmentRule, ChannelKind
from .types import JSONType, Rate, UTCDateTime, utcnow


class BranchBase(SQLModel):
    code: str = Field(max_length=16, unique=True, description='Short code used in quote numbers, e.g. SUC1')
    name: str = Field(max_length=120)
    city: str = Field(default='', max_length=120)
    address: str = Field(default='', max_length=200)
    # T2: an assigned conversation with no agent activity for this long goes back to the queue/AI.
    takeover_timeout_seconds: int = Field(default=300, ge=30)
    # T4: how new conversations are offered to agents.
    assignment_rule: AssignmentRule = Field(default=AssignmentRule.MANUAL, sa_type=String(16))
    commission_rate: Decimal | None = Field(default=None, sa_type=Rate(), description='Default % of net sales')
    # S3: a new quote is valid for this many days.
    quote_valid_days: int = Field(default=7, ge=1, le=365)
    # S3/A1: the AI drafts quotes; only when this is on may it send one without a human confirming it.
    ai_sends_quotes: bool = False
    # O3: what customers wrote and sent is anonymized this many days after it was sent (None: kept). Ley 25.326
    # asks that personal data be kept no longer than needed (docs/privacy.md).
    retention_days: int | None = Field(default=None, ge=30, le=3650)
    # T4 faithful client: offered to the customer's own agent first, for this long (None: the process-wide
    # `faithful_offer_seconds`); off: straight to the branch rule.
    faithful_offer_enabled: bool = True
    faithful_offer_seconds: int | None = Field(default=None, ge=10, le=3600)
    # Opening hours by weekday, {"mon": ["09:00", "18:00"], …}; a day left out is closed, and no day at all means
    # the hours were never set (always open). services/branch_settings.py `is_open` reads them.
    business_hours: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # S3: the IVA rate of a quote line that does not come from the catalog (a product carries its own).
    iva_default_rate: Decimal = Field(default=Decimal('21.00'), sa_type=Rate())
    # A1/A2: the bot answers this branch's AI-mode conversations; the engine and the LLM endpoint may differ per
    # branch (None: the process-wide settings). The LLM key is a stored secret (`branch_<id>_llm_api_key`).
    assistant_enabled: bool = True
    assistant_engine: str | None = Field(default=None, max_length=8, description='rule or llm; None: process-wide')
    llm_base_url: str | None = Field(default=None, max_length=300)
    llm_model: str | None = Field(default=None, max_length=120)
    active: bool = True


class BranchCreate(BranchBase):
    pass


class BranchPublic(BranchBase):
    id: int


class Branch(BranchBase, table=True):
    __tablename__ = 'branches'

    id: int | None = Field(default=None, primary_key=True)
    # T4 round robin: the agent who got the branch's last conversation; the next online one after them is next.
    # No foreign key: users already point at branches, and a cycle would leave the tables without a creation order.
    round_robin_user_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WhatsAppNumberBase(SQLModel):
    branch_id: int = Field(foreign_key='branches.id', index=True)
    channel: ChannelKind = Field(sa_type=String(16))
    # Cloud API: Meta's phone_number_id; WAHA: the session name; simulator: any unique id.
    phone_number_id: str = Field(max_length=64, unique=True)
    display_phone: str = Field(max_length=32, description='E.164, e.g. +5491155550101')
    label: str = Field(default='', max_length=80)
    waba_id: str | None = Field(default=None, max_length=64)
    # M6: sending through a WhatsApp-Web gateway gets numbers banned; an admin must opt in per number.
    sending_enabled: bool = True
    active: bool = True


class WhatsAppNumberCreate(WhatsAppNumberBase):
    pass


class WhatsAppNumberPublic(WhatsAppNumberBase):
    id: int


class WhatsAppNumber(WhatsAppNumberBase, table=True):
    __tablename__ = 'whatsapp_numbers'

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BranchGrant(SQLModel, table=True):
    """Extra branches a manager may see besides their own (B2: 'unless allowed')."""

    __tablename__ = 'branch_grants'
    __table_args__ = (UniqueConstraint('user_id', 'branch_id'),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key='users.id', index=True)
    branch_id: int = Field(foreign_key='branches.id')
