"""quotes, sales and commissions (S2-S4)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:00:00

A slot in the chain, filled by the feature that owns it; empty until then.
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
    pass


def downgrade() -> None:
    pass
