"""What agents and campaigns send from: approved WhatsApp templates and canned responses; and what agents write
only to each other: private notes in a conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import TemplateStatus
from .types import JSONType, UTCDateTime, utcnow


class MessageTemplate(SQLModel, table=True):
    """M4: outside the 24 h window only approved templates may be sent."""

    __tablename__ = 'message_templates'
    __table_args__ = (UniqueConstraint('number_id', 'name', 'language'),)

    id: int | None = Field(default=None, primary_key=True)
    number_id: int = Field(foreign_key='whatsapp_numbers.id')
    name: str = Field(max_length=512)
    language: str = Field(default='es_AR', max_length=16)
    category: str = Field(default='UTILITY', max_length=24)
    status: TemplateStatus = Field(default=TemplateStatus.APPROVED, sa_type=String(16))
    body: str = Field(default='', sa_type=Text, description='Body text with {{1}}, {{2}}… placeholders')
    variable_count: int = 0
    components: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CannedResponse(SQLModel, table=True):
    """Quick replies agents pick by typing `/shortcut`. branch_id None = every branch."""

    __tablename__ = 'canned_responses'
    __table_args__ = (UniqueConstraint('branch_id', 'shortcut'),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int | None = Field(default=None, foreign_key='branches.id')
    shortcut: str = Field(max_length=32)
    title: str = Field(max_length=120)
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IdempotencyKey(SQLModel, table=True):
    """A caller's `Idempotency-Key` for one send (issue 19, F4): a retried request with the same key gets the message
    the first one queued, never a second one. Kept a day (`IDEMPOTENCY_HOURS` in services/whatsapp/outbox.py)."""

    __tablename__ = 'idempotency_keys'
    __table_args__ = (UniqueConstraint('scope', 'key'),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=80, description='Whose key it is: the API key (api:<prefix>) or the user')
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64, description='SHA-256 of what was asked, to refuse a reused key')
    message_id: int = Field(foreign_key='messages.id')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class ConversationNote(SQLModel, table=True):
    """C1: a private note in a conversation's thread, for the branch's agents and managers; never sent.

    A table of its own, not a `messages` row of some internal kind: everything that reads `messages` (the outbox,
    the assistant's and the summary's history, the watchdog's "last message", status webhooks, search, the API)
    would have to remember to leave such a row out, and one that forgot would send a note to the customer or
    count it as an answer. Here none of them can see it.
    """

    __tablename__ = 'conversation_notes'
    __table_args__ = (Index('ix_conversation_notes_thread', 'conversation_id', 'created_at'),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key='conversations.id')
    author_id: int | None = Field(default=None, foreign_key='users.id')
    text: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
