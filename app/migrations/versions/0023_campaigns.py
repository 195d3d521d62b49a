"""campaigns, their recipients and the send gate (issue 16)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import services.models.types

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    moment = services.models.types.UTCDateTime(timezone=True)
    op.create_table(
        'campaigns',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('number_id', sa.Integer(), sa.ForeignKey('whatsapp_numbers.id'), nullable=False),
        sa.Column('branch_id', sa.Integer(), sa.ForeignKey('branches.id'), nullable=False),
        sa.Column('template_id', sa.Integer(), sa.ForeignKey('message_templates.id'), nullable=False),
        sa.Column('variable_fields', json_type, nullable=False),
        sa.Column('audience_branch_id', sa.Integer(), sa.ForeignKey('branches.id'), nullable=True),
        sa.Column('audience_label', sa.String(length=40), nullable=True),
        sa.Column('audience_score_min', sa.Integer(), nullable=True),
        sa.Column('audience_score_max', sa.Integer(), nullable=True),
        sa.Column('audience_only_validated', sa.Boolean(), nullable=False),
        sa.Column('min_score', sa.Integer(), nullable=False),
        sa.Column('rate_per_minute', sa.Float(), nullable=False),
        sa.Column('send_days', json_type, nullable=False),
        sa.Column('send_from_hour', sa.Integer(), nullable=False),
        sa.Column('send_to_hour', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('scheduled_at', moment, nullable=True),
        sa.Column('started_at', moment, nullable=True),
        sa.Column('enqueued_at', moment, nullable=True),
        sa.Column('next_slot_at', moment, nullable=True),
        sa.Column('finished_at', moment, nullable=True),
        sa.Column('recipients_total', sa.Integer(), nullable=False),
        sa.Column('created_by_user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('created_at', moment, nullable=False),
    )
    op.create_index('ix_campaigns_branch_id', 'campaigns', ['branch_id'])
    op.create_index('ix_campaigns_due', 'campaigns', ['status', 'scheduled_at'])
    op.create_table(
        'campaign_recipients',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('campaign_id', sa.Integer(), sa.ForeignKey('campaigns.id'), nullable=False),
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contacts.id'), nullable=False),
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('messages.id'), nullable=True),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('blocked_reason', sa.String(length=24), nullable=False),
        sa.Column('created_at', moment, nullable=False),
        sa.UniqueConstraint('campaign_id', 'contact_id'),
    )
    op.create_index('ix_campaign_recipients_campaign_id', 'campaign_recipients', ['campaign_id'])
    op.create_index('ix_campaign_recipients_contact_id', 'campaign_recipients', ['contact_id'])
    op.create_index('ix_campaign_recipients_message_id', 'campaign_recipients', ['message_id'])
    op.create_table(
        'opt_outs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contacts.id'), nullable=False),
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('messages.id'), nullable=True),
        sa.Column('keyword', sa.String(length=60), nullable=False),
        sa.Column('created_at', moment, nullable=False),
        sa.UniqueConstraint('contact_id'),
    )


def downgrade() -> None:
    op.drop_table('opt_outs')
    op.drop_table('campaign_recipients')
    op.drop_table('campaigns')
