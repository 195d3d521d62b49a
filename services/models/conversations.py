"""Conversations, their messages and media, labels and who attended them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Index, String, Text, UniqueConstraint, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Field, SQLModel, col

from .base import ConversationMode, ConversationStatus, Direction, MessagePriority, MessageStatus, SenderKind
from .types import JSONType, UTCDateTime, utcnow


class ConversationBase(SQLModel):
    contact_id: int = Field(foreign_key='contacts.id', index=True)
    number_id: int = Field(foreign_key='whatsapp_numbers.id')
    # Copied from the number so every inbox query filters by branch without a join (B2 isolation).
    branch_id: int = Field(foreign_key='branches.id')
    status: ConversationStatus = Field(default=ConversationStatus.OPEN, sa_type=String(16))
    mode: ConversationMode = Field(default=ConversationMode.AI, sa_type=String(16))


class ConversationPublic(ConversationBase):
    id: int
    assigned_user_id: int | None
    unread_count: int
    last_message_at: datetime | None
    last_message_preview: str


class Conversation(ConversationBase, table=True):
    __tablename__ = 'conversations'
    __table_args__ = (
        Index('ix_conversations_assigned', 'assigned_user_id', 'status'),
        # T2/T4: the sweeper's two questions, "whose deadline has passed" and "whose offer has run out".
        Index('ix_conversations_takeover_deadline', 'takeover_deadline'),
        Index('ix_conversations_offer_expires_at', 'offer_expires_at'),
        # At most one open conversation per customer and number, even with concurrent ingest workers.
        Index(
            'uq_conversations_open_per_contact_number',
            'contact_id',
            'number_id',
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    assigned_user_id: int | None = Field(default=None, foreign_key='users.id')
    # T2: when the holder's inactivity releases it; renewed by agent activity. A column, so it survives restarts.
    takeover_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # M4: free text is allowed until 24 h after this.
    last_inbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_message_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_message_preview: str = Field(default='', max_length=200)
    # Oldest unanswered customer message; drives "waiting time" and first-response metrics.
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unread_count: int = 0
    # T4 cliente fiel: offered to this agent first.
    faithful_user_id: int | None = Field(default=None, foreign_key='users.id')
    # T1/A1: nobody holds it and a person is wanted (the AI handed over, the holder timed out, or the AI was
    # paused): the "Espera humano" state, and why.
    human_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    human_request_reason: str = Field(default='', max_length=200)
    # T4: reserved for this agent (the faithful client's) until the offer expires; then the branch rule decides.
    offered_user_id: int | None = Field(default=None, foreign_key='users.id')
    offer_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class _DescNullsLast(ColumnElement[Any]):
    """An index column in the inbox's order: latest first, never-active conversations last. PostgreSQL needs
    `DESC NULLS LAST` spelt out (its DESC puts NULLs first); SQLite rejects NULLS in an index but its DESC already
    puts NULLs last, and its planner uses a plain DESC index for `ORDER BY … DESC NULLS LAST`."""

    inherit_cache = True
    # SQLAlchemy declares `_traverse_internals` as an instance attribute (mypy rejects a ClassVar over it) and
    # reads it from the class; it is never mutated.
    _traverse_internals: list[tuple[str, InternalTraversal]] = [  # noqa: RUF012
        ('column', InternalTraversal.dp_clauseelement)
    ]

    def __init__(self, column: Any) -> None:
        self.column = column.__clause_element__() if hasattr(column, '__clause_element__') else column
        self.type = self.column.type


@compiles(_DescNullsLast)
def _desc_nulls_last(element: _DescNullsLast, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.column, **kw)} DESC NULLS LAST'


@compiles(_DescNullsLast, 'sqlite')
def _desc_sqlite(element: _DescNullsLast, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.column, **kw)} DESC'


# The inbox list (services.inbox.conversations.list_conversations) orders by `last_message_at DESC NULLS LAST, id DESC`.
# An index in exactly that order lets the database read the first 50 rows and stop; in any other order it sorts
# every open conversation of the branch first (~10,000 at 100,000 conversations: 40 ms of PostgreSQL per list).
# An agent's list filters one branch (branch_id = …); managers of several branches and admins filter only by
# status, so they get their own index (PostgreSQL cannot merge one index's order across an IN list).
Index(
    'ix_conversations_inbox_order',
    col(Conversation.branch_id),
    col(Conversation.status),
    _DescNullsLast(Conversation.last_message_at),
    col(Conversation.id).desc(),
)
Index(
    'ix_conversations_inbox_order_all',
    col(Conversation.status),
    _DescNullsLast(Conversation.last_message_at),
    col(Conversation.id).desc(),
)


class ConversationLabel(SQLModel, table=True):
    __tablename__ = 'conversation_labels'
    __table_args__ = (UniqueConstraint('conversation_id', 'label'),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key='conversations.id')
    label: str = Field(max_length=40, index=True)


class AssignmentEvent(SQLModel, table=True):
    """T5 history: every take, release, timeout, reassign or rule decision."""

    __tablename__ = 'assignment_events'

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key='conversations.id', index=True)
    action: str = Field(
        max_length=24,
        description='take, release, timeout, reassign, rule, close, reopen, ai_on, ai_off, '
        'handoff, offer, offer_expired, faithful',
    )
    user_id: int | None = Field(default=None, foreign_key='users.id', description='who holds it afterwards')
    actor_user_id: int | None = Field(default=None, foreign_key='users.id', description='who did it; None = system')
    reason: str = Field(default='', max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Media(SQLModel, table=True):
    """A file a message carries. Stored content-addressed by SHA-256 once downloaded."""

    __tablename__ = 'media'

    id: int | None = Field(default=None, primary_key=True)
    wa_media_id: str | None = Field(default=None, max_length=128, index=True)
    # WA-Web (WAHA) media: the gateway's download URL, fetched with its API key; Cloud API media have none (they
    # are looked up by `wa_media_id` at Meta, whose URLs expire within minutes).
    download_url: str | None = Field(default=None, sa_type=Text)
    mime_type: str = Field(default='', max_length=120)
    filename: str = Field(default='', max_length=255)
    sha256: str | None = Field(default=None, max_length=64, index=True)
    size_bytes: int | None = None
    storage_path: str | None = Field(default=None, max_length=255)
    thumbnail_path: str | None = Field(default=None, max_length=255)
    status: str = Field(default='pending', max_length=16, description='pending, stored, failed')
    error: str = Field(default='', max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MessageBase(SQLModel):
    conversation_id: int = Field(foreign_key='conversations.id')
    direction: Direction = Field(sa_type=String(4))
    sender_kind: SenderKind = Field(sa_type=String(16))
    type: str = Field(default='text', max_length=32, description='WhatsApp type: text, image, … or unsupported')
    text: str = Field(default='', sa_type=Text)


class MessagePublic(MessageBase):
    id: int
    wa_message_id: str | None
    status: MessageStatus
    sent_by_user_id: int | None
    created_at: datetime


class Message(MessageBase, table=True):
    __tablename__ = 'messages'
    __table_args__ = (
        # A thread, in the customer's order (sort by WhatsApp's timestamp, not arrival).
        Index('ix_messages_thread', 'conversation_id', 'sent_at', 'id'),
        # The outbox worker's queue.
        Index('ix_messages_outbox', 'status', 'next_attempt_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Meta redelivers and duplicates; this unique id makes a duplicate a no-op, even under concurrency.
    wa_message_id: str | None = Field(default=None, max_length=128, unique=True)
    sent_by_user_id: int | None = Field(default=None, foreign_key='users.id')
    media_id: int | None = Field(default=None, foreign_key='media.id')
    reply_to_wa_message_id: str | None = Field(default=None, max_length=128)
    # Type-specific fields (location, contacts, interactive reply, reaction…) and the raw message as received.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    status: MessageStatus = Field(default=MessageStatus.RECEIVED, sa_type=String(16))
    error_code: int | None = None
    error_title: str = Field(default='', max_length=200)
    error_details: str = Field(default='', max_length=1000)
    # When it happened for the customer: WhatsApp's timestamp inbound, our send time outbound.
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # O3: when retention emptied its content (text, raw JSON, files); the row keeps its figures.
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Durable outbox (M3): outbound rows wait here until a worker sends them.
    priority: MessagePriority = Field(default=MessagePriority.AGENT, sa_type=String(8))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A worker holds a queued row until this moment while it waits for rate limits; expiry frees it.
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The manager dashboard's figures (issue 15, migration 0021): first answers per conversation and sender, agents'
# answers over a period (partial: only agents' rows), conversations opened per day and branch, takeovers per period.
Index('ix_messages_first_by_sender', col(Message.conversation_id), col(Message.sender_kind), col(Message.sent_at))
Index(
    'ix_messages_agent_sent',
    col(Message.sent_at),
    col(Message.sent_by_user_id),
    col(Message.conversation_id),
    sqlite_where=text("sender_kind = 'agent'"),
    postgresql_where=text("sender_kind = 'agent'"),
)
Index('ix_conversations_created', col(Conversation.created_at))
Index('ix_conversations_branch_created', col(Conversation.branch_id), col(Conversation.created_at))
Index('ix_assignment_events_at', col(AssignmentEvent.at), col(AssignmentEvent.action))
# The dashboard's queue: open conversations owed something (services.dashboard._in_queue spells the same predicate,
# so PostgreSQL reads the few waiting ones from this partial index).
_QUEUE_PREDICATE = (
    "status = 'open' AND (waiting_since IS NOT NULL OR human_requested_at IS NOT NULL "
    "OR (mode = 'human' AND assigned_user_id IS NULL))"
)
Index(
    'ix_conversations_queue',
    col(Conversation.branch_id),
    sqlite_where=text(_QUEUE_PREDICATE),
    postgresql_where=text(_QUEUE_PREDICATE),
)
