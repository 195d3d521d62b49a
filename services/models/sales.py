"""Quotes (presupuestos), their lines, and the sales they become (S3, S4)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import QuoteStatus
from .types import Money, Rate, UTCDateTime, utcnow


class Quote(SQLModel, table=True):
    __tablename__ = 'quotes'
    __table_args__ = (UniqueConstraint('branch_id', 'number'),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key='branches.id')
    number: int = Field(description='Sequential per branch; shown as <branch code>-000123')
    conversation_id: int | None = Field(default=None, foreign_key='conversations.id', index=True)
    contact_id: int | None = Field(default=None, foreign_key='contacts.id')
    created_by_id: int | None = Field(default=None, foreign_key='users.id')
    status: QuoteStatus = Field(default=QuoteStatus.DRAFT, sa_type=String(16))
    valid_until: date
    discount_percent: Decimal = Field(default=Decimal('0'), sa_type=Rate())
    discount_amount: Decimal = Field(default=Decimal('0'), sa_type=Money())
    notes: str = Field(default='', max_length=2000)
    net_total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    iva_total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class QuoteLine(SQLModel, table=True):
    __tablename__ = 'quote_lines'

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key='quotes.id', index=True)
    position: int = 0
    product_id: int | None = Field(default=None, foreign_key='products.id')
    description: str = Field(max_length=200)
    quantity: int = Field(default=1, ge=1)
    unit_price: Decimal = Field(sa_type=Money(), description='IVA excluded')
    discount_percent: Decimal = Field(default=Decimal('0'), sa_type=Rate())
    discount_amount: Decimal = Field(default=Decimal('0'), sa_type=Money())
    iva_rate: Decimal = Field(default=Decimal('21.00'), sa_type=Rate())


class Sale(SQLModel, table=True):
    __tablename__ = 'sales'
    __table_args__ = (UniqueConstraint('branch_id', 'ticket_number'),)

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int | None = Field(default=None, foreign_key='quotes.id', unique=True)
    branch_id: int = Field(foreign_key='branches.id', index=True)
    agent_id: int | None = Field(default=None, foreign_key='users.id', index=True)
    contact_id: int | None = Field(default=None, foreign_key='contacts.id')
    ticket_number: int
    net_total: Decimal = Field(sa_type=Money())
    iva_total: Decimal = Field(sa_type=Money())
    total: Decimal = Field(sa_type=Money())
    commission_rate: Decimal = Field(default=Decimal('0'), sa_type=Rate())
    commission_amount: Decimal = Field(default=Decimal('0'), sa_type=Money())
    sold_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
