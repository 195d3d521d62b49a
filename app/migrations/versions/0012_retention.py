"""retention of personal data (O3, issue 19)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:00:00

`branches.retention_days`: what customers wrote is anonymized this long after it was sent (NULL: kept).
`messages.redacted_at`: when that happened to a message (its figures stay).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models.types

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('redacted_at', services.models.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.drop_column('retention_days')
