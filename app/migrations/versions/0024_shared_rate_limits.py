"""rate limits shared across processes (issue 20)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models.types

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_buckets',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('capacity', sa.Float(), nullable=False),
        sa.Column('per_second', sa.Float(), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('updated_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_buckets')),
    )


def downgrade() -> None:
    op.drop_table('rate_limit_buckets')
