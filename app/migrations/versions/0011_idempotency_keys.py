"""idempotency keys of API sends (issue 19, F4)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:30:00

A client that retries `POST /api/v1/conversations/{id}/messages` with the same `Idempotency-Key` gets the message
its first request queued. The unique (scope, key) makes two racing retries settle on one message.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_idempotency_keys_message_id_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_keys_scope')),
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))
    op.drop_table('idempotency_keys')
