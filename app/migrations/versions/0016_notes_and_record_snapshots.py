"""private notes in a conversation; quotes and sales keep the customer as issued (issue 18)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:40:00

`conversation_notes`: what agents write to each other in a thread, never sent (a table of its own, so nothing
that reads `messages` can send it or take it for an answer: see `services.models.messaging.ConversationNote`).
`quotes.customer_*` and `sales.customer_*`: the customer's name, phone and e-mail when the document was issued;
filled here from today's contact for the documents issued before (the best that is known of them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.models.types

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNAPSHOT_COLUMNS = (('customer_name', 120), ('customer_phone', 32), ('customer_email', 200))
# Contact.name: the name an agent typed, else the WhatsApp profile's, else the phone.
SNAPSHOT_SOURCES = (
    (
        'customer_name',
        "SUBSTR(COALESCE(NULLIF(contacts.display_name, ''), NULLIF(contacts.profile_name, ''), contacts.phone_e164, "
        "contacts.wa_user_id, ''), 1, 120)",
    ),
    ('customer_phone', 'contacts.phone_e164'),
    ('customer_email', 'contacts.email'),
)


def upgrade() -> None:
    op.create_table(
        'conversation_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_notes_conversation_id_conversations')
        ),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_conversation_notes_author_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_notes')),
    )
    op.create_index('ix_conversation_notes_thread', 'conversation_notes', ['conversation_id', 'created_at'])
    for table in ('quotes', 'sales'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, length in SNAPSHOT_COLUMNS:
                batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=''))
        for name, source in SNAPSHOT_SOURCES:
            contact = f'SELECT {source} FROM contacts WHERE contacts.id = {table}.contact_id'  # noqa: S608 - constants
            op.execute(
                f"UPDATE {table} SET {name} = COALESCE(({contact}), '') WHERE contact_id IS NOT NULL"  # noqa: S608 - constants
            )


def downgrade() -> None:
    for table in ('sales', 'quotes'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in reversed(SNAPSHOT_COLUMNS):
                batch_op.drop_column(name)
    op.drop_index('ix_conversation_notes_thread', table_name='conversation_notes')
    op.drop_table('conversation_notes')
