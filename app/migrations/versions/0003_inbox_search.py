"""inbox search (C1): trigram indexes on PostgreSQL, FTS5 on SQLite

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00

Hand-written: none of these objects can be described by the models, so autogenerate ignores them
(`app/migrations/search_objects.py`: tables `messages_fts*` and indexes `ix_search_*`).
`services/inbox/search.py` writes the queries that use them; the expressions there must match these.

PostgreSQL: `pg_trgm` GIN indexes make `LIKE '%term%'` an index search. `unaccent()` is only STABLE
(its dictionary could change), so it cannot appear in an index; `leadmaster_unaccent(text)` is the
usual IMMUTABLE wrapper that names its dictionary schema-qualified, so the search_path cannot change
its result. It is PL/pgSQL rather than SQL because a SQL function that cannot be inlined costs about
1.5 times as much per call, and every row an index search returns is rechecked with it. Accents are removed before
`lower()`, and `lower()` runs in the "C" collation: after unaccent only ASCII letters matter to Spanish,
the C fold is about 3 times cheaper, and the result no longer depends on the database's collation.
Both extensions are "trusted" since PostgreSQL 13: the database owner can create them, no superuser.
Building the indexes locks writes to messages/contacts while they build (about 20 s per million
messages on a small server); run this migration in a quiet moment on a big database.

SQLite: an external-content FTS5 table (the text is stored once, in messages) kept in sync by triggers.
CAUTION: a later migration that batch-alters `messages` on SQLite recreates the table, which drops these
triggers; such a migration must create them again and rebuild `messages_fts`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXTENSIONS = ('pg_trgm', 'unaccent')

SQLITE_TRIGGERS = {
    'messages_fts_after_insert': '''
        CREATE TRIGGER messages_fts_after_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
        END''',
    # External content: FTS5 removes a row's tokens by being told the old text.
    'messages_fts_after_delete': '''
        CREATE TRIGGER messages_fts_after_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END''',
    # Only when the text changes: status, lease and retry updates are frequent and leave the index alone.
    'messages_fts_after_update': '''
        CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF text ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
        END''',
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        _upgrade_postgresql()
    elif dialect == 'sqlite':
        _upgrade_sqlite()
    else:
        raise NotImplementedError(f'inbox search has no implementation for {dialect}')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        _downgrade_postgresql()
    elif dialect == 'sqlite':
        _downgrade_sqlite()


def _upgrade_postgresql() -> None:
    for extension in EXTENSIONS:
        op.execute(f'CREATE EXTENSION IF NOT EXISTS {extension}')
    # An existing installation may live in another schema; qualify with wherever it actually is.
    unaccent_schema = _extension_schema('unaccent')
    trgm_schema = _extension_schema('pg_trgm')
    dictionary = f'{unaccent_schema}.unaccent'.replace("'", "''")  # as a string literal
    op.execute(f'''
        CREATE OR REPLACE FUNCTION leadmaster_unaccent(text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ BEGIN RETURN {unaccent_schema}.unaccent('{dictionary}'::regdictionary, $1); END $$''')
    # Index builds on a populated database are memory-bound; SET LOCAL ends with this transaction.
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(f'''
        CREATE INDEX ix_search_messages_text ON messages
        USING gin (lower(leadmaster_unaccent(text) COLLATE "C") {trgm_schema}.gin_trgm_ops)''')
    # One multi-column GIN index serves each column's condition on its own (GIN has no leading column),
    # and an OR of them as a BitmapOr: one index to maintain instead of three.
    op.execute(f'''
        CREATE INDEX ix_search_contacts ON contacts USING gin (
            lower(leadmaster_unaccent(display_name) COLLATE "C") {trgm_schema}.gin_trgm_ops,
            lower(leadmaster_unaccent(profile_name) COLLATE "C") {trgm_schema}.gin_trgm_ops,
            phone_e164 {trgm_schema}.gin_trgm_ops)''')


def _extension_schema(extension: str) -> str:
    schema = op.get_bind().execute(sa.text(
        'SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace '
        'WHERE e.extname = :extension'), {'extension': extension}).scalar_one()
    return op.get_bind().dialect.identifier_preparer.quote(schema)


def _downgrade_postgresql() -> None:
    op.execute('DROP INDEX IF EXISTS ix_search_contacts')
    op.execute('DROP INDEX IF EXISTS ix_search_messages_text')
    op.execute('DROP FUNCTION IF EXISTS leadmaster_unaccent(text)')
    # The extensions are database-wide and may have been there before 0003 or be used by something else
    # since; drop each only if nothing depends on it (PostgreSQL refuses otherwise, and we keep it).
    bind = op.get_bind()
    for extension in reversed(EXTENSIONS):
        try:
            with bind.begin_nested():  # a savepoint: a refused DROP must not abort the migration
                bind.execute(sa.text(f'DROP EXTENSION IF EXISTS {extension}'))
        except sa.exc.DBAPIError:
            pass  # still used by something else: keep it


def _upgrade_sqlite() -> None:
    op.execute('''
        CREATE VIRTUAL TABLE messages_fts USING fts5 (
            text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')''')
    for ddl in SQLITE_TRIGGERS.values():
        op.execute(ddl)
    # Index the messages that existed before this migration.
    op.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")


def _downgrade_sqlite() -> None:
    for name in SQLITE_TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {name}')
    op.execute('DROP TABLE IF EXISTS messages_fts')
