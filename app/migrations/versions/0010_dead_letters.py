"""dead letters: unroutable changes and unstorable messages in one list (M1, issue 19 F1)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:30:00

`unroutable_changes` held the parts of acknowledged webhooks for a phone_number_id no branch owns. A message that
cannot be stored for another reason (issue 19, F1) is a dead letter too, so the table becomes `dead_letters`, with
the kind, the error and the WhatsApp id of the message. A new table and a copy rather than renames: the
constraint and index names then follow the naming convention on both databases without hand-written renames.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMON = (
    'delivery_id, phone_number_id, display_phone_number, message_count, status_count, created_at, resolved_at, sample'
)


def upgrade() -> None:
    op.create_table(
        'dead_letters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('phone_number_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('display_phone_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('wa_message_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('message_count', sa.Integer(), nullable=False),
        sa.Column('status_count', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sample', services.models.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_dead_letters_delivery_id_webhook_deliveries')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters')),
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_phone_number_id'), ['phone_number_id'], unique=False)
    op.execute(
        f'INSERT INTO dead_letters (kind, wa_message_id, error, {_COMMON}) '
        f"SELECT 'unroutable', '', '', {_COMMON} FROM unroutable_changes ORDER BY id"
    )
    with op.batch_alter_table('unroutable_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unroutable_changes_phone_number_id'))
        batch_op.drop_index(batch_op.f('ix_unroutable_changes_delivery_id'))
    op.drop_table('unroutable_changes')


def downgrade() -> None:
    op.create_table(
        'unroutable_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('phone_number_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('display_phone_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('message_count', sa.Integer(), nullable=False),
        sa.Column('status_count', sa.Integer(), nullable=False),
        sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sample', services.models.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ['delivery_id'],
            ['webhook_deliveries.id'],
            name=op.f('fk_unroutable_changes_delivery_id_webhook_deliveries'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unroutable_changes')),
    )
    with op.batch_alter_table('unroutable_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unroutable_changes_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unroutable_changes_phone_number_id'), ['phone_number_id'], unique=False)
    # Unstorable messages had no place before this revision; only the unroutable changes go back.
    op.execute(
        f'INSERT INTO unroutable_changes ({_COMMON}) '
        f"SELECT {_COMMON} FROM dead_letters WHERE kind = 'unroutable' ORDER BY id"
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_phone_number_id'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_delivery_id'))
    op.drop_table('dead_letters')
