"""branch quote settings and per-agent commission rate (S3, S4)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows that exist; the models give new rows their defaults.
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quote_valid_days', sa.Integer(), nullable=False, server_default='7'))
        batch_op.add_column(sa.Column('ai_sends_quotes', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commission_rate', services.models.types.ScaledDecimal(scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('commission_rate')
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.drop_column('ai_sends_quotes')
        batch_op.drop_column('quote_valid_days')
