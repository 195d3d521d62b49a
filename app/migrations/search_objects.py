"""Names of the inbox-search objects (C1) that migration 0003 creates by hand, outside the models.

PostgreSQL gets trigram expression indexes and SQLite an FTS5 table with triggers; SQLModel cannot
describe either, so Alembic autogenerate would propose dropping them. `env.py` and the migration test
share this predicate so both ignore exactly these objects and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Every hand-made search index is named with this prefix; keep to it when adding one.
SEARCH_INDEX_PREFIX = 'ix_search_'
# SQLite's FTS5 table over messages.text; FTS5 adds shadow tables named `messages_fts_<suffix>`.
MESSAGES_FTS_TABLE = 'messages_fts'


def is_search_object(name: str | None, type_: str) -> bool:
    """True for a reflected table or index that belongs to the migration-managed search."""
    if name is None:
        return False
    if type_ == 'table':
        return name == MESSAGES_FTS_TABLE or name.startswith(MESSAGES_FTS_TABLE + '_')
    if type_ == 'index':
        return name.startswith(SEARCH_INDEX_PREFIX)
    return False


def include_name(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    """Alembic's `include_name` hook: skip the search objects before they are even reflected."""
    return not is_search_object(name, type_)
