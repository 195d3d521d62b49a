"""catalog search and AI assistant (S1, A1-A3)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:00:00

Tables: `catalog_terms` (the vocabulary typos are corrected against), `assistant_turns` (one row per answered
customer message: what makes bot replies idempotent), `conversation_summaries` (C4, versioned), and the column
`products.search_text` (normalized words, computed in Python by services/catalog/text.py).

Hand-written search objects, like 0003 (autogenerate cannot describe them; see app/migrations/search_objects.py):
- PostgreSQL: `ix_search_products_text`, a GIN index on `to_tsvector('simple', search_text)` (the text is already
  folded and normalized, so the 'simple' configuration — no stemming, no stop words — is all it needs), and
  `ix_search_product_codes_prefix` (`text_pattern_ops`) so a partly typed code is a prefix index search whatever
  the database collation.
- SQLite: `products_fts`, an external-content FTS5 table over products.search_text kept in sync by triggers
  (the text is stored once, in products).
Existing products get their search_text, the FTS index and the vocabulary filled here.
"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.models.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = {
    'products_fts_after_insert': '''
        CREATE TRIGGER products_fts_after_insert AFTER INSERT ON products BEGIN
            INSERT INTO products_fts (rowid, search_text) VALUES (new.id, new.search_text);
        END''',
    'products_fts_after_delete': '''
        CREATE TRIGGER products_fts_after_delete AFTER DELETE ON products BEGIN
            INSERT INTO products_fts (products_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        END''',
    # Only when the words change: price and stock updates leave the index alone.
    'products_fts_after_update': '''
        CREATE TRIGGER products_fts_after_update AFTER UPDATE OF search_text ON products BEGIN
            INSERT INTO products_fts (products_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
            INSERT INTO products_fts (rowid, search_text) VALUES (new.id, new.search_text);
        END''',
}


def upgrade() -> None:
    op.create_table('catalog_terms',
    sa.Column('term', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('product_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('term', name=op.f('pk_catalog_terms'))
    )
    op.create_table('conversation_summaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('vehicle_make', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('vehicle_model', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('vehicle_year', sa.Integer(), nullable=True),
    sa.Column('vehicle_engine', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('vin', sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
    sa.Column('needs', services.models.types.JSONType, nullable=False),
    sa.Column('products', services.models.types.JSONType, nullable=False),
    sa.Column('intent', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('confidence', sa.Integer(), nullable=False),
    sa.Column('gist', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('last_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                            name=op.f('fk_conversation_summaries_branch_id_branches')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                            name=op.f('fk_conversation_summaries_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_summaries')),
    sa.UniqueConstraint('conversation_id', 'version', name=op.f('uq_conversation_summaries_conversation_id'))
    )
    op.create_table('assistant_turns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('inbound_message_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('engine', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('intent', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('handoff_reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reply_message_id', sa.Integer(), nullable=True),
    sa.Column('detail', services.models.types.JSONType, nullable=False),
    sa.Column('created_at', services.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', services.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                            name=op.f('fk_assistant_turns_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['messages.id'],
                            name=op.f('fk_assistant_turns_inbound_message_id_messages')),
    sa.ForeignKeyConstraint(['reply_message_id'], ['messages.id'],
                            name=op.f('fk_assistant_turns_reply_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assistant_turns')),
    sa.UniqueConstraint('inbound_message_id', name=op.f('uq_assistant_turns_inbound_message_id'))
    )
    op.create_index('ix_assistant_turns_conversation', 'assistant_turns', ['conversation_id', 'inbound_message_id'],
                    unique=False)
    # A plain ADD COLUMN on both databases (no table rebuild on SQLite).
    op.add_column('products', sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    op.add_column('products', sa.Column('universal', sa.Boolean(), server_default=sa.false(), nullable=False))

    _backfill_search_text()
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute("SET LOCAL maintenance_work_mem = '256MB'")
        op.execute("CREATE INDEX ix_search_products_text ON products "
                   "USING gin (to_tsvector('simple'::regconfig, search_text))")
        op.execute('CREATE INDEX ix_search_product_codes_prefix ON product_codes (code text_pattern_ops)')
    elif dialect == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE products_fts USING fts5 ("
                   "search_text, content='products', content_rowid='id', tokenize='unicode61')")
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)
        op.execute("INSERT INTO products_fts (products_fts) VALUES ('rebuild')")
    else:
        raise NotImplementedError(f'catalog search has no implementation for {dialect}')


def _backfill_search_text() -> None:
    """Products loaded before this migration (the demo seed) get their words and the vocabulary."""
    from services.catalog.text import UNIVERSAL_WORD, search_text

    bind = op.get_bind()
    products = bind.execute(sa.text('SELECT id, title, category, brand FROM products')).all()
    if not products:
        return
    vehicles: dict[int, list[str]] = {}
    for product_id, make, model in bind.execute(sa.text('SELECT product_id, make, model FROM product_fitments')):
        vehicles.setdefault(product_id, []).append(f'{make} {model}')
    rows = [{'id': product_id, 'text': search_text(title=title, category=category, brand=brand,
                                                   vehicles=vehicles.get(product_id, ())),
             'universal': product_id not in vehicles}
            for product_id, title, category, brand in products]
    bind.execute(sa.text('UPDATE products SET search_text = :text, universal = :universal WHERE id = :id'), rows)
    counts = Counter(word for row in rows for word in set(row['text'].split()) if word != UNIVERSAL_WORD)
    bind.execute(sa.text('INSERT INTO catalog_terms (term, product_count) VALUES (:term, :count)'),
                 [{'term': term, 'count': count} for term, count in counts.items() if len(term) <= 80])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_search_product_codes_prefix')
        op.execute('DROP INDEX IF EXISTS ix_search_products_text')
    elif dialect == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS products_fts')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('universal')
        batch_op.drop_column('search_text')
    op.drop_index('ix_assistant_turns_conversation', table_name='assistant_turns')
    op.drop_table('assistant_turns')
    op.drop_table('conversation_summaries')
    op.drop_table('catalog_terms')
