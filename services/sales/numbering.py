"""Per-branch document numbers: quotes `SUC1-000123`, sale tickets `SUC1-T-000045` (S3, S4).

`next_number` must be the FIRST statement of the transaction that creates the document: on SQLite a
transaction that read before it writes cannot wait for the write lock (WAL snapshot), it fails at once.
"""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from ..errors import InvalidInput
from ..models import table_of
from ..models.sales import DocumentCounter

QUOTE = 'quote'
TICKET = 'ticket'

_QUOTE_NUMBER = re.compile(r'^\s*([A-Za-z0-9-]+?)-(\d{1,9})\s*$')


async def next_number(session: AsyncSession, *, branch_id: int, kind: str) -> int:
    """The next number of `kind` in `branch_id`, inside the caller's transaction (committed with it).

    One UPDATE … RETURNING on a counter row: PostgreSQL holds the row lock until commit and SQLite the
    database write lock, so two concurrent creators never get the same number, and a rollback returns it.
    """
    table = table_of(DocumentCounter)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == 'postgresql' else sqlite_insert
    await session.exec(
        insert(table)
        .values(branch_id=branch_id, kind=kind, last_value=0)
        .on_conflict_do_nothing(index_elements=['branch_id', 'kind'])
    )
    result = await session.exec(
        update(table)
        .where(table.c.branch_id == branch_id, table.c.kind == kind)
        .values(last_value=table.c.last_value + 1)
        .returning(table.c.last_value)
    )
    return int(result.scalar_one())


def quote_code(branch_code: str, number: int) -> str:
    return f'{branch_code}-{number:06d}'


def ticket_code(branch_code: str, number: int) -> str:
    return f'{branch_code}-T-{number:06d}'


def parse_quote_code(code: str) -> tuple[str, int]:
    """'suc1-000123' → ('SUC1', 123); a clear error for anything else."""
    match = _QUOTE_NUMBER.match(code)
    if match is None or match.group(1).upper().endswith('-T'):
        raise InvalidInput(f'not a quote number: {code!r} (expected e.g. SUC1-000123)')
    return match.group(1).upper(), int(match.group(2))
