"""WhatsApp-Web sessions (issue 14): their state, transitions, and the gateway's media URLs

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:30:00

`wa_sessions` holds what only a WAHA session has (state in seed 000's names, the raw gateway status, the last
event, probe and restart bookkeeping); `wa_session_transitions` every state change with its reason (history and
daily uptime); `media.download_url` where a WAHA media file is fetched from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models.types

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = services.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'wa_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('gateway_status', sa.String(length=32), nullable=False),
        sa.Column('state_since', UTC, nullable=False),
        sa.Column('status_observed_at', UTC, nullable=True),
        sa.Column('last_event_at', UTC, nullable=True),
        sa.Column('last_probe_at', UTC, nullable=True),
        sa.Column('me_id', sa.String(length=64), nullable=False),
        sa.Column('me_name', sa.String(length=120), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('next_restart_at', UTC, nullable=True),
        sa.Column('silent', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['number_id'], ['whatsapp_numbers.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('number_id'),
    )
    op.create_table(
        'wa_session_transitions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('from_state', sa.String(length=16), nullable=True),
        sa.Column('to_state', sa.String(length=16), nullable=False),
        sa.Column('gateway_status', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['wa_sessions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_wa_session_transitions_session_at', 'wa_session_transitions', ['session_id', 'at'])
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('download_url', sa.Text(), nullable=True))
    # `waha` numbers added before this revision become sessions (INITIALIZING until the first probe reads them).
    op.execute(
        sa.text(
            'INSERT INTO wa_sessions (number_id, name, state, reason, gateway_status, state_since, me_id, me_name, '
            'failures, silent, created_at) '
            "SELECT id, phone_number_id, 'INITIALIZING', 'creada; esperando al gateway', '', created_at, '', '', 0, "
            "false, created_at FROM whatsapp_numbers WHERE channel = 'waha'"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_column('download_url')
    op.drop_index('ix_wa_session_transitions_session_at', table_name='wa_session_transitions')
    op.drop_table('wa_session_transitions')
    op.drop_table('wa_sessions')
