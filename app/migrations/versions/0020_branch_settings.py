"""per-branch settings edited by admins; declarative configuration (issue 15)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 22:00:00

Branch settings that were process-wide or missing (services/branch_settings.py): the faithful client's offer,
opening hours, the IVA of free quote lines, the assistant's switch, engine and LLM endpoint. Server defaults fill
the existing rows with what they did before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_COLUMNS = (
    'faithful_offer_enabled',
    'faithful_offer_seconds',
    'business_hours',
    'iva_default_rate',
    'assistant_enabled',
    'assistant_engine',
    'llm_base_url',
    'llm_model',
)


def upgrade() -> None:
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('faithful_offer_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('faithful_offer_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('business_hours', services.models.types.JSONType, nullable=False, server_default='{}')
        )
        batch_op.add_column(
            sa.Column(
                'iva_default_rate', services.models.types.ScaledDecimal(scale=2), nullable=False, server_default='2100'
            )
        )
        batch_op.add_column(sa.Column('assistant_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('assistant_engine', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column('llm_base_url', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('llm_model', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('branches', schema=None) as batch_op:
        for column in reversed(_COLUMNS):
            batch_op.drop_column(column)
