"""Names of the search objects that migrations create by hand, outside the models: the inbox search (C1,
migration 0003) and the catalog search (S1, migration 0006).

PostgreSQL gets trigram expression indexes and SQLite an FTS5 table with triggers; SQLModel cannot
describe either, so Alembic autogenerate would propose dropping them. `env.py` and the migration test
share this predicate so both ignore exactly these objects and nothing else.
"""

from __future__ import annotations

from alembic.runtime.environment import NameFilterParentNames

# Every hand-made search index is named with this prefix; keep to it when adding one.
SEARCH_INDEX_PREFIX = 'ix_search_'
# SQLite's FTS5 tables (over messages.text and the catalog); FTS5 adds shadow tables named `<table>_<suffix>`.
FTS_TABLES = ('messages_fts', 'products_fts')


def is_search_object(name: str | None, type_: str) -> bool:
    """True for a reflected table or index that belongs to the migration-managed search."""
    if name is None:
        return False
    if type_ == 'table':
        return any(name == table or name.startswith(table + '_') for table in FTS_TABLES)
    if type_ == 'index':
        return name.startswith(SEARCH_INDEX_PREFIX)
    return False


def include_name(name: str | None, type_: str, parent_names: NameFilterParentNames) -> bool:
    """Alembic's `include_name` hook: skip the search objects before they are even reflected."""
    return not is_search_object(name, type_)
