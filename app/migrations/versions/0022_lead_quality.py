"""lead quality: contactability score, digital maturity, technical validation, opt-out, lead profiles (issue 16)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

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
    op.create_table(
        'contact_branches',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contacts.id'), nullable=False),
        sa.Column('branch_id', sa.Integer(), sa.ForeignKey('branches.id'), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('contact_id', 'branch_id'),
    )
    op.create_index('ix_contact_branches_contact_id', 'contact_branches', ['contact_id'])
    op.create_index('ix_contact_branches_branch_id', 'contact_branches', ['branch_id'])
    op.create_table(
        'contact_labels',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contacts.id'), nullable=False),
        sa.Column('label', sa.String(length=40), nullable=False),
        sa.UniqueConstraint('contact_id', 'label'),
    )
    op.create_index('ix_contact_labels_contact_id', 'contact_labels', ['contact_id'])
    op.create_index('ix_contact_labels_label', 'contact_labels', ['label'])
    json_type = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    op.create_table(
        'lead_profiles',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contacts.id'), nullable=False),
        sa.Column('company', sa.String(length=200), nullable=False),
        sa.Column('website', sa.String(length=300), nullable=False),
        sa.Column('social_profiles', json_type, nullable=False),
        sa.Column('other_phones', json_type, nullable=False),
        sa.Column('score_potencial', sa.Integer(), nullable=True),
        sa.Column('contactability_reasons', json_type, nullable=False),
        sa.Column('maturity_reasons', json_type, nullable=False),
        sa.Column('whatsapp_exists', sa.Boolean(), nullable=True),
        sa.Column('whatsapp_checked_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('validated_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('validated_by_user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('validated_by', sa.String(length=80), nullable=False),
        sa.Column('validation_note', sa.String(length=500), nullable=False),
        sa.Column('rejected_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('rejection_reason', sa.String(length=500), nullable=False),
        sa.Column('source', sa.String(length=120), nullable=False),
        sa.Column('scored_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('contact_id'),
    )
    op.create_index('ix_lead_profiles_scored_at', 'lead_profiles', ['scored_at'])


def downgrade() -> None:
    op.drop_table('lead_profiles')
    op.drop_table('contact_labels')
    op.drop_table('contact_branches')
    op.drop_index('ix_contacts_validado_tecnicamente', 'contacts')
    op.drop_index('ix_contacts_score_contactabilidad', 'contacts')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('opted_out_at')
        batch.drop_column('validado_tecnicamente')
        batch.drop_column('digital_maturity')
        batch.drop_column('score_contactabilidad')
