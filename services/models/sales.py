"""Quotes (presupuestos), their lines, the sales they become, and the per-branch counters that number them
(S3, S4)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import QuoteStatus
from .types import Money, Rate, UTCDateTime, utcnow


class Quote(SQLModel, table=True):
    __tablename__ = 'quotes'
    __table_args__ = (
        UniqueConstraint('branch_id', 'number'),
        # The conversion figure of the sales report counts quotes sent per branch and day.
        Index('ix_quotes_branch_sent', 'branch_id', 'sent_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key='branches.id')
    number: int = Field(description='Sequential per branch; shown as <branch code>-000123')
    conversation_id: int | None = Field(default=None, foreign_key='conversations.id', index=True)
    contact_id: int | None = Field(default=None, foreign_key='contacts.id')
    created_by_id: int | None = Field(default=None, foreign_key='users.id')
    # A1: drafted by the assistant; a human confirms before it is sent unless the branch allows the AI to send.
    drafted_by_ai: bool = False
    status: QuoteStatus = Field(default=QuoteStatus.DRAFT, sa_type=String(16))
    valid_until: date
    discount_percent: Decimal = Field(default=Decimal('0'), sa_type=Rate())
    discount_amount: Decimal = Field(default=Decimal('0'), sa_type=Money())
    notes: str = Field(default='', max_length=2000)
    net_total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    iva_total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_by_id: int | None = Field(default=None, foreign_key='users.id')
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key='users.id')
    # How it was decided: customer_text, customer_button, agent, expiry.
    decision_source: str = Field(default='', max_length=16)
    # The customer as the quote was issued (created, then again when sent): a document keeps its facts, whatever
    # name the customer's WhatsApp profile shows later. Drafts read the contact itself.
    customer_name: str = Field(default='', max_length=120)
    customer_phone: str = Field(default='', max_length=32)
    customer_email: str = Field(default='', max_length=200)


class QuoteLine(SQLModel, table=True):
    __tablename__ = 'quote_lines'

    id: int | None = Field(default=None, primary_key=True)
    quote_id: int = Field(foreign_key='quotes.id', index=True)
    position: int = 0
    product_id: int | None = Field(default=None, foreign_key='products.id')
    sku: str = Field(default='', max_length=40, description='Copied from the product: the quote keeps its SKU')
    description: str = Field(max_length=200)
    quantity: int = Field(default=1, ge=1)
    unit_price: Decimal = Field(sa_type=Money(), description='IVA excluded')
    discount_percent: Decimal = Field(default=Decimal('0'), sa_type=Rate())
    discount_amount: Decimal = Field(default=Decimal('0'), sa_type=Money())
    iva_rate: Decimal = Field(default=Decimal('21.00'), sa_type=Rate())


class Sale(SQLModel, table=True):
    __tablename__ = 'sales'
    __table_args__ = (
        UniqueConstraint('branch_id', 'ticket_number'),
        # The daily report reads one branch's sales over a date range.
        Index('ix_sales_branch_sold', 'branch_id', 'sold_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Unique: one sale per quote, however often the customer says "sí" (and whoever races to accept it).
    quote_id: int | None = Field(default=None, foreign_key='quotes.id', unique=True)
    branch_id: int = Field(foreign_key='branches.id', index=True)
    agent_id: int | None = Field(default=None, foreign_key='users.id', index=True)
    contact_id: int | None = Field(default=None, foreign_key='contacts.id')
    conversation_id: int | None = Field(default=None, foreign_key='conversations.id')
    ticket_number: int
    net_total: Decimal = Field(sa_type=Money())
    iva_total: Decimal = Field(sa_type=Money())
    total: Decimal = Field(sa_type=Money())
    commission_rate: Decimal = Field(default=Decimal('0'), sa_type=Rate())
    commission_amount: Decimal = Field(default=Decimal('0'), sa_type=Money())
    sold_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    ticket_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The customer as the sale was made: the ticket and the reports keep it (see `Quote.customer_name`).
    customer_name: str = Field(default='', max_length=120)
    customer_phone: str = Field(default='', max_length=32)
    customer_email: str = Field(default='', max_length=200)


class DocumentCounter(SQLModel, table=True):
    """The last number handed out per branch and document kind (quote, ticket).

    A row per counter, incremented with one UPDATE inside the transaction that creates the document: the row
    lock (PostgreSQL) or the write lock (SQLite) serialises concurrent creators, and a rollback gives the
    number back, so numbers are unique and without gaps.
    """

    __tablename__ = 'document_counters'
    __table_args__ = (UniqueConstraint('branch_id', 'kind'),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key='branches.id')
    kind: str = Field(max_length=16)
    last_value: int = 0


class SalesDayTotal(SQLModel, table=True):
    """The daily report's figures per branch, business day and agent, kept up to date in the transactions that
    send quotes and close sales, so a month's report reads ~1,500 rows instead of aggregating every sale.

    `agent_key` is the agent's user id, or 0 for sales and quotes without one (the AI alone): part of the unique
    key, so it cannot be NULL. `day` is the business day in the display time zone when the row was written;
    `leadmaster sales rebuild-totals` recomputes the rows from `sales` and `quotes` (after a time zone change).
    Conversion is by cohort: `quotes_accepted` counts on the day the quote was *sent*.
    """

    __tablename__ = 'sales_day_totals'
    __table_args__ = (UniqueConstraint('branch_id', 'day', 'agent_key'),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key='branches.id')
    day: date = Field(index=True)
    agent_key: int = 0
    sales: int = 0
    net_total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    iva_total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    total: Decimal = Field(default=Decimal('0'), sa_type=Money())
    commission_amount: Decimal = Field(default=Decimal('0'), sa_type=Money())
    quotes_sent: int = 0
    quotes_accepted: int = 0
