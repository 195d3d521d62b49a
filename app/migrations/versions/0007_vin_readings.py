"""VIN readings from photos (V1-V3)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00

`vin_scans` caches the pipeline's result per image sha256 (and engine, pipeline version); `vin_readings`
holds one reading per inbound image message, with an agent's manual correction. New tables only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vin_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('engine', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('pipeline_version', sa.Integer(), nullable=False),
    sa.Column('vin', sqlmodel.sql.sqltypes.AutoString(length=17), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('candidates', services.models.types.JSONType, nullable=False),
    sa.Column('vehicle', services.models.types.JSONType, nullable=True),
    sa.Column('text_lines', services.models.types.JSONType, nullable=False),
    sa.Column('timings', services.models.types.JSONType, nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vin_scans')),
    sa.UniqueConstraint('image_sha256', 'engine', 'pipeline_version', name=op.f('uq_vin_scans_image_sha256'))
    )
    op.create_table('vin_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('media_id', sa.Integer(), nullable=True),
    sa.Column('scan_id', sa.Integer(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('vin', sqlmodel.sql.sqltypes.AutoString(length=17), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('vehicle', services.models.types.JSONType, nullable=True),
    sa.Column('part_codes', services.models.types.JSONType, nullable=False),
    sa.Column('machine_vin', sqlmodel.sql.sqltypes.AutoString(length=17), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('corrected_by_user_id', sa.Integer(), nullable=True),
    sa.Column('corrected_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_vin_readings_branch_id_branches')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                            name=op.f('fk_vin_readings_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['corrected_by_user_id'], ['users.id'],
                            name=op.f('fk_vin_readings_corrected_by_user_id_users')),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], name=op.f('fk_vin_readings_media_id_media')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_vin_readings_message_id_messages')),
    sa.ForeignKeyConstraint(['scan_id'], ['vin_scans.id'], name=op.f('fk_vin_readings_scan_id_vin_scans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vin_readings')),
    sa.UniqueConstraint('message_id', name=op.f('uq_vin_readings_message_id'))
    )
    op.create_index(op.f('ix_vin_readings_branch_id'), 'vin_readings', ['branch_id'], unique=False)
    op.create_index('ix_vin_readings_conversation', 'vin_readings', ['conversation_id', 'id'], unique=False)
    op.create_index(op.f('ix_vin_readings_state'), 'vin_readings', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_vin_readings_state'), table_name='vin_readings')
    op.drop_index('ix_vin_readings_conversation', table_name='vin_readings')
    op.drop_index(op.f('ix_vin_readings_branch_id'), table_name='vin_readings')
    op.drop_table('vin_readings')
    op.drop_table('vin_scans')
