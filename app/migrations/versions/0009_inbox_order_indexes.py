"""inbox order indexes (C1)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:30:00

The conversation list orders by `last_message_at DESC NULLS LAST, id DESC`. The old index
(branch_id, status, last_message_at) is ascending with PostgreSQL's NULLS LAST, so it could not give that order:
PostgreSQL read every open conversation of the branch and sorted them (~40 ms at 100,000 conversations) for each
list. These two indexes are in the list's exact order — one for an agent's branch, one for managers and admins,
who filter only by status — so the first 50 rows are read and the scan stops. They replace the old index, whose
uses (branch + status, a range on last_message_at) the new one serves as well.

Hand-written: SQLite has no NULLS LAST in an index, and needs none (its DESC puts NULLs last already), so the
column is spelt per database as the model's `_DescNullsLast` does. Building them takes about a second per 100,000
conversations and blocks writes to `conversations` meanwhile.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    latest_first = 'last_message_at DESC' + ('' if op.get_bind().dialect.name == 'sqlite' else ' NULLS LAST')
    op.create_index('ix_conversations_inbox_order', 'conversations',
                    ['branch_id', 'status', text(latest_first), text('id DESC')], unique=False)
    op.create_index('ix_conversations_inbox_order_all', 'conversations',
                    ['status', text(latest_first), text('id DESC')], unique=False)
    op.drop_index('ix_conversations_inbox', table_name='conversations')


def downgrade() -> None:
    op.create_index('ix_conversations_inbox', 'conversations', ['branch_id', 'status', 'last_message_at'],
                    unique=False)
    op.drop_index('ix_conversations_inbox_order_all', table_name='conversations')
    op.drop_index('ix_conversations_inbox_order', table_name='conversations')
