"""indexes for the manager dashboard (issue 15)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 22:00:00

What `services/dashboard.py` reads, measured by bench/dashboard.py (100,000 conversations, 1,000,000 messages):

- `ix_messages_first_by_sender` (conversation_id, sender_kind, sent_at): a conversation's first message of the
  customer, of the AI and of an agent, one index-only probe each (by `ix_messages_thread` each probe read the
  thread's rows and filtered them by sender: three times the pages);
- `ix_conversations_created` (created_at) and `ix_conversations_branch_created` (branch_id, created_at): the
  conversations of a range of days, every branch (admins) or one (managers), instead of reading the table;
- `ix_messages_agent_sent` (sent_at, sent_by_user_id, conversation_id) WHERE sender_kind = 'agent': attendance
  counts an agent's messages of the range from this small partial index, not from every message (a sequential
  scan of 1,000,000 rows, ~0.4 s);
- `ix_assignment_events_at` (at, action): takeovers and expiries of the range;
- `ix_conversations_queue` (branch_id) WHERE open and owed something (the predicate of `services.dashboard._in_queue`):
  the queue from the few open conversations waiting, not from every conversation;
- `conversation_figures`: each conversation's first customer message, first reply, first reply by a person, close
  and whether a person held it, with the conversation's `status`, `closed_at`, `last_message_at` and `updated_at`
  as they were when computed (a row is stale when those moved). A 31-day range reads ~50,000 of these narrow rows
  instead of probing ~50,000 conversations' messages three times each (1.9–4.4 s cold on the bench). Filled lazily
  by the dashboard and by its sweeper; empty after this revision.

Building them takes a few seconds per million messages and blocks writes to those tables meanwhile.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models.types

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = services.models.types.UTCDateTime(timezone=True)
QUEUE_PREDICATE = (
    "status = 'open' AND (waiting_since IS NOT NULL OR human_requested_at IS NOT NULL "
    "OR (mode = 'human' AND assigned_user_id IS NULL))"
)


def upgrade() -> None:
    op.create_index(
        'ix_messages_first_by_sender', 'messages', ['conversation_id', 'sender_kind', 'sent_at'], unique=False
    )
    op.create_index(
        'ix_messages_agent_sent',
        'messages',
        ['sent_at', 'sent_by_user_id', 'conversation_id'],
        unique=False,
        sqlite_where=sa.text("sender_kind = 'agent'"),
        postgresql_where=sa.text("sender_kind = 'agent'"),
    )
    op.create_index('ix_conversations_created', 'conversations', ['created_at'], unique=False)
    op.create_index('ix_conversations_branch_created', 'conversations', ['branch_id', 'created_at'], unique=False)
    op.create_index('ix_assignment_events_at', 'assignment_events', ['at', 'action'], unique=False)
    op.create_index(
        'ix_conversations_queue',
        'conversations',
        ['branch_id'],
        unique=False,
        sqlite_where=sa.text(QUEUE_PREDICATE),
        postgresql_where=sa.text(QUEUE_PREDICATE),
    )
    op.create_table(
        'conversation_figures',
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', UTC, nullable=False),
        sa.Column('first_customer_at', UTC, nullable=True),
        sa.Column('first_response_at', UTC, nullable=True),
        sa.Column('first_human_response_at', UTC, nullable=True),
        sa.Column('resolved_at', UTC, nullable=True),
        sa.Column('held', sa.Boolean(), nullable=False),
        sa.Column('seen_status', sa.String(length=16), nullable=False),
        sa.Column('seen_closed_at', UTC, nullable=True),
        sa.Column('seen_last_message_at', UTC, nullable=True),
        sa.Column('seen_updated_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('conversation_id'),
    )


def downgrade() -> None:
    op.drop_table('conversation_figures')
    op.drop_index('ix_conversations_queue', table_name='conversations')
    op.drop_index('ix_assignment_events_at', table_name='assignment_events')
    op.drop_index('ix_conversations_branch_created', table_name='conversations')
    op.drop_index('ix_conversations_created', table_name='conversations')
    op.drop_index('ix_messages_agent_sent', table_name='messages')
    op.drop_index('ix_messages_first_by_sender', table_name='messages')
