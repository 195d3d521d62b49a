"""takeover and assignment (T1-T5)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:00:00

Columns for the "waiting for a human" state, the faithful client's offer and the round-robin cursor, plus
the sweeper's indexes. Hand-written: on SQLite a batch rebuild of `conversations` would have to carry its
partial unique index (one open conversation per customer and number) across, so every column is added with
a plain ALTER TABLE ADD COLUMN, which SQLite supports with an inline REFERENCES clause.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('conversations', sa.Column('human_requested_at', services.models.types.UTCDateTime(timezone=True),
                                             nullable=True))
    # The server default fills the rows that exist; the model gives new rows their default.
    op.add_column('conversations', sa.Column('human_request_reason', sqlmodel.sql.sqltypes.AutoString(length=200),
                                             nullable=False, server_default=''))
    if sqlite:
        op.execute('ALTER TABLE conversations ADD COLUMN offered_user_id INTEGER '
                   'CONSTRAINT fk_conversations_offered_user_id_users REFERENCES users (id)')
    else:
        op.add_column('conversations', sa.Column('offered_user_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_conversations_offered_user_id_users'), 'conversations', 'users',
                              ['offered_user_id'], ['id'])
    op.add_column('conversations', sa.Column('offer_expires_at', services.models.types.UTCDateTime(timezone=True),
                                             nullable=True))
    op.create_index('ix_conversations_takeover_deadline', 'conversations', ['takeover_deadline'], unique=False)
    op.create_index('ix_conversations_offer_expires_at', 'conversations', ['offer_expires_at'], unique=False)
    op.add_column('branches', sa.Column('round_robin_user_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('branches', 'round_robin_user_id')
    op.drop_index('ix_conversations_offer_expires_at', table_name='conversations')
    op.drop_index('ix_conversations_takeover_deadline', table_name='conversations')
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite refuses to drop a column a foreign key uses: rebuild the table (its partial index is reflected).
        with op.batch_alter_table('conversations', schema=None) as batch_op:
            batch_op.drop_column('offered_user_id')
    else:
        op.drop_constraint(op.f('fk_conversations_offered_user_id_users'), 'conversations', type_='foreignkey')
        op.drop_column('conversations', 'offered_user_id')
    op.drop_column('conversations', 'offer_expires_at')
    op.drop_column('conversations', 'human_request_reason')
    op.drop_column('conversations', 'human_requested_at')
