"""quotes, sales and commissions (S2-S4)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:00:00

Per-branch document counters (quote and ticket numbers), the daily report's totals per branch, day and agent,
who sent and decided a quote, AI drafts, the SKU a line was quoted with, and indexes for the report's rebuild.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('document_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_document_counters_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_counters')),
    sa.UniqueConstraint('branch_id', 'kind', name=op.f('uq_document_counters_branch_id'))
    )
    op.create_table('sales_day_totals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('agent_key', sa.Integer(), nullable=False),
    sa.Column('sales', sa.Integer(), nullable=False),
    sa.Column('net_total', services.models.types.ScaledDecimal(), nullable=False),
    sa.Column('iva_total', services.models.types.ScaledDecimal(), nullable=False),
    sa.Column('total', services.models.types.ScaledDecimal(), nullable=False),
    sa.Column('commission_amount', services.models.types.ScaledDecimal(), nullable=False),
    sa.Column('quotes_sent', sa.Integer(), nullable=False),
    sa.Column('quotes_accepted', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_sales_day_totals_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_day_totals')),
    sa.UniqueConstraint('branch_id', 'day', 'agent_key', name=op.f('uq_sales_day_totals_branch_id'))
    )
    with op.batch_alter_table('sales_day_totals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_day_totals_day'), ['day'], unique=False)
    # Server defaults fill the rows that exist; the models give new rows their defaults.
    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False,
                                      server_default=''))

    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drafted_by_ai', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('updated_at', services.models.types.UTCDateTime(timezone=True), nullable=False,
                                      server_default=sa.text('CURRENT_TIMESTAMP')))
        batch_op.add_column(sa.Column('sent_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default=''))
        batch_op.create_index('ix_quotes_branch_sent', ['branch_id', 'sent_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_quotes_sent_by_id_users'), 'users', ['sent_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_quotes_decided_by_id_users'), 'users', ['decided_by_id'], ['id'])

    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conversation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ticket_sent_at', services.models.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_sales_branch_sold', ['branch_id', 'sold_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sales_conversation_id_conversations'), 'conversations',
                                    ['conversation_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sales_conversation_id_conversations'), type_='foreignkey')
        batch_op.drop_index('ix_sales_branch_sold')
        batch_op.drop_column('ticket_sent_at')
        batch_op.drop_column('conversation_id')

    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_quotes_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_quotes_sent_by_id_users'), type_='foreignkey')
        batch_op.drop_index('ix_quotes_branch_sent')
        batch_op.drop_column('decision_source')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('sent_by_id')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('drafted_by_ai')

    with op.batch_alter_table('quote_lines', schema=None) as batch_op:
        batch_op.drop_column('sku')

    with op.batch_alter_table('sales_day_totals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_day_totals_day'))
    op.drop_table('sales_day_totals')
    op.drop_table('document_counters')
