"""secrets kept in the database, encrypted at rest (O3, issue 19)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 20:00:00

`stored_secrets`: one row per secret setting (LLM key, Graph token, WAHA key, SOAP password…), AES-256-GCM
encrypted with a key that is never in the database (LEADMASTER_SECRETS_KEY or var/secrets_key); `key_id` says
which key, so a rotation can re-encrypt row by row (services/secrets.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'stored_secrets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('nonce', sa.LargeBinary(), nullable=False),
        sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
        sa.Column('set_by_user_id', sa.Integer(), nullable=True),
        sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('set_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['set_by_user_id'], ['users.id'], name=op.f('fk_stored_secrets_set_by_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_secrets')),
        sa.UniqueConstraint('name', name=op.f('uq_stored_secrets_name')),
    )


def downgrade() -> None:
    op.drop_table('stored_secrets')
