"""Shared pieces of every table: deterministic constraint names and the enum vocabularies."""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from sqlalchemy import Table
from sqlmodel import SQLModel

# Deterministic names let Alembic compare and alter constraints identically on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    'ix': 'ix_%(column_0_label)s',
    'uq': 'uq_%(table_name)s_%(column_0_name)s',
    'ck': 'ck_%(table_name)s_%(constraint_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
    'pk': 'pk_%(table_name)s',
}


def table_of(model: type[SQLModel]) -> Table:
    """The Core `Table` of a table model, for statements written against plain columns (`table.c.x`).

    SQLModel sets `__table__` on every `table=True` class at class creation but does not declare it on the class,
    so mypy cannot see it; this is the one place that tells it what the attribute is."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # set by SQLModel's metaclass, undeclared


# Enumerations are stored as short strings, not database enum types: adding a value later must not need
# an ALTER TYPE on PostgreSQL nor a table rebuild on SQLite.
class Role(StrEnum):
    AGENT = 'agent'
    MANAGER = 'manager'
    ADMIN = 'admin'


class ChannelKind(StrEnum):
    CLOUD = 'cloud'  # Meta WhatsApp Cloud API (official, can send)
    WAHA = 'waha'  # WhatsApp-Web gateway (listen-only by default)
    SIMULATOR = 'simulator'  # embedded customer phone for demos and tests


class AssignmentRule(StrEnum):
    MANUAL = 'manual'
    ROUND_ROBIN = 'round_robin'
    LEAST_BUSY = 'least_busy'


class ConversationStatus(StrEnum):
    OPEN = 'open'
    CLOSED = 'closed'


class ConversationMode(StrEnum):
    AI = 'ai'
    HUMAN = 'human'


class Direction(StrEnum):
    INBOUND = 'in'
    OUTBOUND = 'out'


class SenderKind(StrEnum):
    CUSTOMER = 'customer'
    AI = 'ai'
    AGENT = 'agent'
    SYSTEM = 'system'


class MessageStatus(StrEnum):
    """Life of a message. Inbound ones are `received`; outbound ones move forward only."""

    RECEIVED = 'received'
    QUEUED = 'queued'
    SENDING = 'sending'
    # A send was under way when its worker died; Meta may or may not have it. Never resent automatically;
    # a later status webhook (matched by our callback data) moves it forward.
    UNCONFIRMED = 'unconfirmed'
    SENT = 'sent'
    DELIVERED = 'delivered'
    READ = 'read'
    PLAYED = 'played'
    FAILED = 'failed'
    CANCELLED = 'cancelled'
    # L2/L4: a business-initiated message the send gate refused (opted out, not validated, score too low). Kept,
    # with the reason in `error_title`, so the sender sees it; never claimed by the outbox worker (it takes `queued`).
    BLOCKED = 'blocked'


class MessagePriority(StrEnum):
    AGENT = 'agent'
    BOT = 'bot'
    BULK = 'bulk'


class QuoteStatus(StrEnum):
    DRAFT = 'draft'
    SENT = 'sent'
    ACCEPTED = 'accepted'
    REJECTED = 'rejected'
    EXPIRED = 'expired'


class TemplateStatus(StrEnum):
    APPROVED = 'APPROVED'
    PENDING = 'PENDING'
    REJECTED = 'REJECTED'
    PAUSED = 'PAUSED'
