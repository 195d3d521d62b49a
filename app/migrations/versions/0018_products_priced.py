"""products imported without a price: searchable, not quotable until priced (issue 21)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 20:00:00

A retailer's MercadoLibre export has titles, categories and photos but no prices. `products.priced` false marks
such a product (its `price` then holds 0): search finds it and shows "price to confirm", a quote refuses it.
A flag rather than a nullable `price`: making the column nullable would rebuild the SQLite table, dropping the
full-text triggers of migration 0006, for no gain (every reader goes through the flag).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('products', sa.Column('priced', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.drop_column('products', 'priced')
