"""Catalog import (S1): JSON or CSV files in the format of docs/catalog-format.md, into the database.

The whole file is read and validated before anything is written (a bad line is reported with its position and
nothing is imported), then written in one transaction: a failure half-way leaves the catalog as it was.
Products are matched by SKU: new ones are created, existing ones updated, their codes and fitments replaced, and
their stock set for the branches the file mentions (a branch the file does not mention keeps its figures).
Products absent from the file are left alone. Progress is reported after each chunk, for the admin page's bar
and the CLI's.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..access import Viewer
from ..database import Database
from ..errors import InvalidInput
from ..models import Branch, Product, ProductCode, ProductFitment, ProductStock, Role, table_of
from ..models.catalog import CatalogTerm
from ..models.types import utcnow
from .formats import CatalogProduct, normalize_code, read_csv, read_json
from .tables import CatalogTable, ColumnMapping, RejectedRow, guess_mapping, products_from_table, read_table
from .text import UNIVERSAL_WORD, search_text

Progress = Callable[[int, int], Awaitable[None] | None]

CHUNK_SIZE = 1000


@dataclass(frozen=True)
class ImportReport:
    total: int
    created: int
    updated: int
    branch_codes: tuple[str, ...]
    seconds: float
    # A retailer's file read through a column mapping (`import_catalog`): the rows left out with their reason,
    # the empty rows skipped, and how many imported products have no price (searchable, not quotable).
    rejected: tuple[RejectedRow, ...] = ()
    skipped_empty: int = 0
    unpriced: int = 0


def read_catalog_file(path: Path) -> list[CatalogProduct]:
    """Parse and validate a catalog file by its extension; `InvalidInput` names the file, line/item and field."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {'.json', '.csv'}:
        raise InvalidInput(f'{path.name}: unknown catalog format {suffix or "(no extension)"}; use .json or .csv')
    try:
        return read_json(path) if suffix == '.json' else read_csv(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(str(exc)) from None
    except OSError as exc:
        raise InvalidInput(f'{path}: cannot be read: {exc.strerror or exc}') from None


async def import_file(
    db: Database, path: Path, *, progress: Progress | None = None, viewer: Viewer | None = None
) -> ImportReport:
    """Read (in a thread: parsing 10,000 products takes a few hundred ms) and import a catalog file.
    From a page, pass the `viewer`: only admins change the catalog (the CLI is the operator's)."""
    if viewer is not None:
        viewer.require_role(Role.ADMIN)
    products = await asyncio.to_thread(read_catalog_file, path)
    return await import_products(db, products, progress=progress)


def read_catalog_table(path: Path, *, name: str | None = None) -> CatalogTable:
    """A retailer's file as rows for the preview and the mapping; `InvalidInput` when it is no table at all."""
    try:
        return read_table(path, name=name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    except OSError as exc:
        raise InvalidInput(f'{name or Path(path).name}: cannot be read: {exc.strerror or exc}') from None


async def import_catalog(
    db: Database,
    source: Path | CatalogTable,
    *,
    mapping: ColumnMapping | None = None,
    progress: Progress | None = None,
    viewer: Viewer | None = None,
    strict: bool = False,
) -> ImportReport:
    """Import any catalog file (our format, a spreadsheet's CSV, a MercadoLibre export) through a column mapping
    (guessed from the headers when not given): valid rows are imported, invalid ones come back in
    `report.rejected` with their position and reason. `strict`: any rejected row refuses the file, nothing written."""
    if viewer is not None:
        viewer.require_role(Role.ADMIN)
    started = time.perf_counter()  # the report's seconds: reading and checking the file included
    table = source if isinstance(source, CatalogTable) else await asyncio.to_thread(read_catalog_table, source)
    chosen = mapping if mapping is not None else guess_mapping(table.headers, kind=table.kind)
    try:
        outcome = await asyncio.to_thread(products_from_table, table, chosen)
    except ValueError as exc:
        raise InvalidInput(f'{table.name}: {exc}') from None
    if strict and outcome.rejected:
        first = outcome.rejected[0]
        raise InvalidInput(
            f'{table.name}: {first.position}: {first.reason} '
            f'({len(outcome.rejected)} row(s) rejected; nothing was imported)'
        )
    report = await import_products(db, outcome.products, progress=progress)
    return replace(
        report,
        rejected=tuple(outcome.rejected),
        skipped_empty=outcome.skipped_empty,
        unpriced=sum(1 for p in outcome.products if p.price is None),
        seconds=time.perf_counter() - started,
    )


async def import_products(
    db: Database, products: Sequence[CatalogProduct], *, progress: Progress | None = None
) -> ImportReport:
    async with db.session() as session:
        report = await import_into_session(session, products, progress=progress)
        await session.commit()
    await after_bulk_write(db)
    return report


async def after_bulk_write(db: Database) -> None:
    """After a big import: PostgreSQL's GIN index keeps new entries in a pending list that every search scans
    linearly until autovacuum merges it (that made searches 10 times slower right after an import), and the
    planner needs fresh statistics for the vehicle and stock filters."""
    forget_catalog_cache(db)
    if db.dialect == 'postgresql':
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT gin_clean_pending_list('ix_search_products_text'::regclass)"))
            for table in ('products', 'product_codes', 'product_fitments', 'product_stock'):
                await connection.execute(text(f'ANALYZE {table}'))
            await connection.commit()
    from .search import catalog_index

    await catalog_index(db)  # the new vocabulary now, so the first search after the import does not wait for it


def forget_catalog_cache(db: Database) -> None:
    from .search import invalidate_index

    invalidate_index(db)


async def import_into_session(
    session: AsyncSession, products: Sequence[CatalogProduct], *, progress: Progress | None = None
) -> ImportReport:
    """The import inside the caller's transaction (the demo seed loads everything in one); the caller commits."""
    started = time.perf_counter()
    duplicates = [sku for sku, count in Counter(p.sku for p in products).items() if count > 1]
    if duplicates:
        raise InvalidInput(f'SKU(s) repeated in the file: {", ".join(sorted(duplicates)[:10])}')
    branch_codes = sorted({code for p in products for code in p.stock})
    found = (
        (await session.exec(select(Branch.code, Branch.id).where(col(Branch.code).in_(branch_codes)))).all()
        if branch_codes
        else []
    )
    branches = {code: branch_id for code, branch_id in found if branch_id is not None}  # a primary key: never None
    unknown = [code for code in branch_codes if code not in branches]
    if unknown:
        raise InvalidInput(
            f'stock for unknown branch code(s) {", ".join(unknown)}: create the branch first or '
            f'remove those stock columns'
        )
    now = utcnow()
    created = updated = 0
    await _report(progress, 0, len(products))
    for start in range(0, len(products), CHUNK_SIZE):
        chunk = products[start : start + CHUNK_SIZE]
        new, changed = await _write_chunk(session, chunk, branches, now)
        created += new
        updated += changed
        await _report(progress, start + len(chunk), len(products))
    await rebuild_terms(session)
    return ImportReport(
        total=len(products),
        created=created,
        updated=updated,
        branch_codes=tuple(branch_codes),
        seconds=time.perf_counter() - started,
    )


async def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is None:
        return
    outcome = progress(done, total)
    if inspect.isawaitable(outcome):
        await outcome
    else:
        await asyncio.sleep(0)  # let the page push the bar between chunks


def _product_row(p: CatalogProduct, now: Any) -> dict[str, Any]:
    vehicles = [f'{f.make} {f.model}' for f in p.fitments]
    return {
        'sku': p.sku,
        'title': p.title,
        'category': p.category,
        'brand': p.brand,
        'description': p.description,
        # 0 stands for "no price" only together with `priced` false (a real price is > 0): the column stays NOT
        # NULL, so a SQLite table rebuild (and its full-text triggers) was not needed to allow unpriced products.
        'price': p.price if p.price is not None else Decimal('0.00'),
        'priced': p.price is not None,
        'iva_rate': p.iva_rate,
        'image_urls': list(p.image_urls),
        'active': True,
        'search_text': search_text(title=p.title, category=p.category, brand=p.brand, vehicles=vehicles),
        'universal': not p.fitments,
        'updated_at': now,
    }


async def _write_chunk(
    session: AsyncSession, chunk: Sequence[CatalogProduct], branches: dict[str, int], now: Any
) -> tuple[int, int]:
    # Core executemany on the session's connection: the ORM's bulk path costs more than the database here.
    connection = await session.connection()
    products = table_of(Product)
    skus = [p.sku for p in chunk]
    existing: dict[str, int] = dict(
        (await connection.execute(select(products.c.sku, products.c.id).where(products.c.sku.in_(skus)))).all()
    )
    fresh = [p for p in chunk if p.sku not in existing]
    known = [p for p in chunk if p.sku in existing]
    ids: dict[str, int] = dict(existing)
    if fresh:
        await insert_rows(connection, products, [{**_product_row(p, now), 'created_at': now} for p in fresh])
        ids.update(
            (
                await connection.execute(
                    select(products.c.sku, products.c.id).where(products.c.sku.in_([p.sku for p in fresh]))
                )
            ).all()
        )
    if known:
        columns = (
            'title',
            'category',
            'brand',
            'description',
            'image_urls',
            'active',
            'search_text',
            'universal',
            'updated_at',
        )
        # A file without prices (a MercadoLibre export) keeps the price and IVA a previous import gave.
        priced_columns = (*columns, 'price', 'priced', 'iva_rate')
        for group, names in (
            ([p for p in known if p.price is not None], priced_columns),
            ([p for p in known if p.price is None], columns),
        ):
            if not group:
                continue
            statement = (
                update(products)
                .where(products.c.id == bindparam('product_id'))
                .values({name: bindparam(f'new_{name}') for name in names})
            )
            rows = []
            for p in group:
                row = _product_row(p, now)
                rows.append({'product_id': existing[p.sku], **{f'new_{name}': row[name] for name in names}})
            await connection.execute(statement, rows)
        known_ids = [existing[p.sku] for p in known]
        codes_table, fitments_table = table_of(ProductCode), table_of(ProductFitment)
        await connection.execute(delete(codes_table).where(codes_table.c.product_id.in_(known_ids)))
        await connection.execute(delete(fitments_table).where(fitments_table.c.product_id.in_(known_ids)))
        stock_table = table_of(ProductStock)
        for branch_code, branch_id in branches.items():
            with_stock = [existing[p.sku] for p in known if branch_code in p.stock]
            if with_stock:
                await connection.execute(
                    delete(stock_table).where(
                        stock_table.c.branch_id == branch_id, stock_table.c.product_id.in_(with_stock)
                    )
                )
    codes: list[dict[str, Any]] = []
    fitments: list[dict[str, Any]] = []
    stock: list[dict[str, Any]] = []
    for p in chunk:
        product_id = ids[p.sku]
        seen: set[str] = set()
        for code in p.codes:
            normalized = normalize_code(code.code)
            if normalized not in seen:
                seen.add(normalized)
                codes.append(
                    {'product_id': product_id, 'code': normalized, 'display_code': code.code, 'kind': code.kind}
                )
        fitments.extend(
            {
                'product_id': product_id,
                'make': f.make,
                'model': f.model,
                'year_from': f.year_from,
                'year_to': f.year_to,
                'engine': f.engine,
            }
            for f in p.fitments
        )
        stock.extend(
            {'product_id': product_id, 'branch_id': branches[code], 'quantity': quantity, 'updated_at': now}
            for code, quantity in p.stock.items()
        )
    for model, rows in ((ProductCode, codes), (ProductFitment, fitments), (ProductStock, stock)):
        if rows:
            await insert_rows(connection, table_of(model), rows)
    return len(fresh), len(known)


async def insert_rows(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Many rows in one statement. On PostgreSQL as `INSERT … SELECT FROM unnest(<one array per column>)`: one
    round trip instead of one Bind/Execute per row (asyncpg's executemany), about 5 times faster at 10,000
    products. Values go through each column's own type (money as cents, aware UTC times, JSON)."""
    if connection.dialect.name != 'postgresql' or len(rows) < 20:
        await connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    selects, arrays, params = [], [], {}
    for position, name in enumerate(names):
        column = table.c[name]
        column_type = column.type
        values = [row[name] for row in rows]
        if (
            isinstance(column_type, TypeDecorator)
            and type(column_type).process_bind_param is not TypeDecorator.process_bind_param
        ):
            values = [column_type.process_bind_param(value, connection.dialect) for value in values]
        sql_type = re.sub(r'\(.*\)', '', column_type.compile(dialect=connection.dialect))
        if sql_type in {'JSON', 'JSONB'}:
            values = [json.dumps(value, ensure_ascii=False) for value in values]
            arrays.append(f'CAST(:p{position} AS TEXT[])')
            selects.append(f'u.c{position}::jsonb')
        else:
            arrays.append(f'CAST(:p{position} AS {sql_type}[])')
            selects.append(f'u.c{position}')
        params[f'p{position}'] = values
    aliases = ', '.join(f'c{position}' for position in range(len(names)))
    # Table and column names come from our own metadata; every value is a bound array.
    statement = (
        f'INSERT INTO {table.name} ({", ".join(names)}) SELECT {", ".join(selects)} '  # noqa: S608
        f'FROM unnest({", ".join(arrays)}) AS u({aliases})'
    )
    await connection.execute(text(statement), params)


async def rebuild_terms(session: AsyncSession) -> None:
    """Recount the vocabulary from every active product (set-wise in SQL on PostgreSQL: fast at 1M products)."""
    await session.exec(delete(CatalogTerm))
    bind = await session.connection()
    if bind.dialect.name == 'postgresql':
        await bind.execute(
            text(
                'INSERT INTO catalog_terms (term, product_count) '
                "SELECT word, count(*) FROM products, unnest(string_to_array(search_text, ' ')) AS word "
                "WHERE active AND word <> '' AND word <> :universal AND length(word) <= 80 GROUP BY word"
            ).bindparams(universal=UNIVERSAL_WORD)
        )
        return
    counts: Counter[str] = Counter()
    for words in (await session.exec(select(Product.search_text).where(col(Product.active)))).all():
        counts.update(set(words.split()))
    rows = [
        {'term': term, 'product_count': count}
        for term, count in counts.items()
        if len(term) <= 80 and term != UNIVERSAL_WORD
    ]
    if rows:
        await bind.execute(insert(table_of(CatalogTerm)), rows)
