"""alerts to admins (O4, issue 19)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:45:00

`alerts`: one row per episode of a condition that needs a person (the webhook journal falling behind, a branch's
sends failing); `open_key` is unique while the alert is open, so two worker processes never open it twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=True),
        sa.Column('open_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('details', services.models.types.JSONType, nullable=False),
        sa.Column('opened_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_alerts_branch_id_branches')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
        sa.UniqueConstraint('open_key', name=op.f('uq_alerts_open_key')),
    )


def downgrade() -> None:
    op.drop_table('alerts')
