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

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

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


# --- frozen copy of services/catalog/text.py as of this revision ------------------------------------------------
# A migration must do the same thing forever: importing the live module would make this backfill change whenever
# the search's normalization changes. A later change to the normalization brings its own migration that
# recomputes `search_text` and `catalog_terms`.

# Words that carry no meaning in a product search ("pastillas DE freno PARA el gol").
_STOP_WORDS = frozenset('''
a al algo alguna alguno algunas algunos ante con contra de del desde e el en entre es esa ese eso esta este
esto hasta la las le les lo los me mi mis muy ni o para pero por que se sin sobre su sus te tu tus un una unas
unos y ya
'''.split())  # noqa: SIM905 - a word list reads best as text

# es-AR and regional names for the same part, rewritten to the word the catalog titles use.
_SYNONYMS = {
    'balatas': 'pastillas', 'balata': 'pastilla', 'zapatas': 'pastillas', 'pastiyas': 'pastillas',
    'amortiguacion': 'amortiguador', 'amortiguadores': 'amortiguador',
    'bujias': 'bujia', 'lamparita': 'lampara', 'lamparitas': 'lampara', 'foco': 'lampara', 'focos': 'lampara',
    'escobillas': 'escobilla', 'plumillas': 'escobilla', 'limpiaparabrisas': 'escobilla',
'rulemanes': 'ruleman', 'rodamiento': 'ruleman', 'rodamientos': 'ruleman',
    'nafta': 'combustible', 'gasoil': 'diesel', 'gasoleo': 'diesel',
    'volks': 'volkswagen', 'chevy': 'chevrolet', 'chevrole': 'chevrolet',
}

_DECIMAL = re.compile(r'(?<=\d)[.,](?=\d)')
_NON_WORD = re.compile(r'[^a-z0-9]+')


# The accented letters of Spanish (and of the makers' names) folded by table: ten times faster than decomposing.
_ACCENTS = str.maketrans('áéíóúüñàèìòùâêîôûäëïöçã', 'aeiouunaeiouaeiouaeioca')


def _fold(text: str) -> str:
    """Lower case without accents: 'Suspensión' -> 'suspension', 'Lemförder' -> 'lemforder', 'Ñ' -> 'n'."""
    folded = text.casefold().translate(_ACCENTS)
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize('NFKD', folded)
    return ''.join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str, *, keep_stop_words: bool = False) -> tuple[str, ...]:
    """The normalized words of `text`: folded, decimals kept as one word ('1.6' -> '1p6'), punctuation dropped,
    synonyms applied, stop words and one-letter words removed."""
    folded = _DECIMAL.sub('p', _fold(text))
    out: list[str] = []
    for piece in _NON_WORD.split(folded):
        if len(piece) < 2 and not piece.isdigit():
            continue
        word = _SYNONYMS.get(piece, piece)
        if not keep_stop_words and word in _STOP_WORDS:
            continue
        out.append(word)
    return tuple(out)


_UNIVERSAL_WORD = 'zzuniversal'


def _search_text(*, title: str, category: str, brand: str, vehicles: Iterable[str] = ()) -> str:
    """What a product is found by: its title, category, brand and the makes/models it fits, each word once.

    The description is left out on purpose: it says things like "cambiar junto con el filtro de aceite" on an
    oil, which would make "filtro aceite" find oils instead of filters.

    A plural or gender form of a word already there is left out too ("Filtro de aceite" in the category
    "Filtros" is indexed under 'filtro' only): a query word is expanded to all its forms the catalog has, so
    it still matches, and the full-text index does not keep a second posting list of nearly the same
    products (at 1,000,000 products, 'filtro' OR 'filtros' read 240,000 entries per search instead of 120,000).
    """
    seen: dict[str, None] = {}
    vehicles = list(vehicles)
    for part in (title, category, brand, *vehicles):
        for word in _words(part):
            if len(word) > 1 and word != _UNIVERSAL_WORD and not _word_variants(word, seen):
                seen[word] = None
    if not vehicles:
        seen[_UNIVERSAL_WORD] = None
    return ' '.join(seen)


def _word_variants(word: str, vocabulary: dict[str, int] | frozenset[str] | set[str]) -> list[str]:
    """`word` plus its Spanish singular/plural and gender forms that exist in `vocabulary`
    (pastilla/pastillas, luz/luces, delantero/delantera/delanteros)."""
    candidates = [word, word + 's', word + 'es']
    if word.endswith('es'):
        candidates.append(word[:-2])
    if word.endswith('s'):
        candidates.append(word[:-1])
    if word.endswith('z'):
        candidates.append(word[:-1] + 'ces')
    if word.endswith('ces'):
        candidates.append(word[:-3] + 'z')
    stem = word[:-1] if word.endswith('s') else word
    if stem.endswith(('o', 'a')):
        other = stem[:-1] + ('a' if stem.endswith('o') else 'o')
        candidates += [other, other + 's']
    seen: dict[str, None] = {}
    for candidate in candidates:
        if candidate in vocabulary:
            seen.setdefault(candidate, None)
    return list(seen)


def _backfill_search_text() -> None:
    """Products loaded before this migration (the demo seed) get their words and the vocabulary."""
    bind = op.get_bind()
    products = bind.execute(sa.text('SELECT id, title, category, brand FROM products')).all()
    if not products:
        return
    vehicles: dict[int, list[str]] = {}
    for product_id, make, model in bind.execute(sa.text('SELECT product_id, make, model FROM product_fitments')):
        vehicles.setdefault(product_id, []).append(f'{make} {model}')
    rows = [{'id': product_id, 'text': _search_text(title=title, category=category, brand=brand,
                                                   vehicles=vehicles.get(product_id, ())),
             'universal': product_id not in vehicles}
            for product_id, title, category, brand in products]
    bind.execute(sa.text('UPDATE products SET search_text = :text, universal = :universal WHERE id = :id'), rows)
    counts = Counter(word for row in rows for word in set(row['text'].split()) if word != _UNIVERSAL_WORD)
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
