"""lead quality: contactability score, digital maturity, technical validation, opt-out (issue 16)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models.types

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('score_contactabilidad', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('digital_maturity', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('validado_tecnicamente', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('opted_out_at', services.models.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_contacts_score_contactabilidad', 'contacts', ['score_contactabilidad'])
    op.create_index('ix_contacts_validado_tecnicamente', 'contacts', ['validado_tecnicamente'])


def downgrade() -> None:
    op.drop_index('ix_contacts_validado_tecnicamente', 'contacts')
    op.drop_index('ix_contacts_score_contactabilidad', 'contacts')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('opted_out_at')
        batch.drop_column('validado_tecnicamente')
        batch.drop_column('digital_maturity')
        batch.drop_column('score_contactabilidad')
