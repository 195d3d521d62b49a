"""assistant turns have a lease (issue 18: no customer left unanswered)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:00:00

`assistant_turns.lease_until`: a turn still `working` past it was lost; the watchdog expires it and hands the
conversation to a person. Turns claimed before this revision have none (the watchdog expires those by age).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models.types

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('assistant_turns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', services.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assistant_turns', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
