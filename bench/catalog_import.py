"""Catalog import of a retailer's MercadoLibre export (issue 21): 10,388 and 100,000 products, SQLite and PostgreSQL.

For each size, a JSON file shaped like the seed's `c_embler_ml.json` (titulo, categoria, imagen_1 … imagen_10; no
code, price or stock) is written, then on each database (a throwaway SQLite file; a throwaway PostgreSQL database,
dropped at the end), migrated:
1. `import_catalog(db, file)` end to end — read, column mapping, validation, codes from titles, write, vocabulary
   recount and (PostgreSQL) index clean-up: what `leadmaster catalog import` and the admin page run;
2. the same file again (every product matched by its code and updated: no duplicates — checked);
3. the baseline, measured in the same run: plain SQLAlchemy `executemany` INSERTs of the very same product rows
   (prepared beforehand, so it is only the database write) into an empty products table of a fresh database.
Also the parse alone (file -> validated products), so the write and the parse can be told apart.

Usage: .venv/bin/python bench/catalog_import.py [--sizes 10388,100000] [--skip-postgres]
Ends with one JSON line {"bench": "catalog_import", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for path in (str(REPO_ROOT), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

import ingest  # noqa: E402  (bench/ingest.py: PostgreSQL database helpers)
from sqlalchemy import func, insert, select  # noqa: E402

from app.database import upgrade_to_head  # noqa: E402
from services.catalog import import_catalog  # noqa: E402
from services.catalog.importer import _product_row  # noqa: E402  (the very rows the importer writes)
from services.catalog.tables import guess_mapping, products_from_table, read_table  # noqa: E402
from services.database import Database  # noqa: E402
from services.models import Product, table_of  # noqa: E402
from services.models.types import utcnow  # noqa: E402

DEFAULT_POSTGRES = os.environ.get('LEADMASTER_TEST_POSTGRES_URL', 'postgresql+asyncpg://postgres@127.0.0.1:5432/test')
MAKERS = ('Sachs', 'Luk', 'Valeo', 'Bosch', 'Ferodo', 'Fremax', 'Monroe', 'Cofap', 'SKF', 'Gates', 'Mahle', 'NGK')
PARTS = (
    'Kit Embrague',
    'Pastillas De Freno',
    'Disco De Freno',
    'Amortiguador Delantero',
    'Bomba De Agua',
    'Kit Distribución',
    'Filtro De Aceite',
    'Bujías X4',
    'Rulemán De Rueda',
    'Parrilla Suspensión',
)
MODELS = ('Gol Trend', 'Palio', 'Corsa', 'Fiesta', 'Clio', 'Focus', 'Onix', 'Etios', 'Sandero', 'Ka', '208', 'Cronos')
CATEGORIES = ('Embragues', 'Frenos', 'Suspensión', 'Refrigeración', 'Motor', 'Filtros', 'Encendido', 'Rodamientos')


def mercadolibre_file(path: Path, count: int) -> None:
    """Unique titles (the code comes from the title), 1–10 photo URLs per item like the real export."""
    items = []
    for index in range(count):
        part = PARTS[index % len(PARTS)]
        maker = MAKERS[index // len(PARTS) % len(MAKERS)]
        model = MODELS[index // (len(PARTS) * len(MAKERS)) % len(MODELS)]
        item = {'titulo': f'{part} {maker} {model} Art {index:06d}', 'categoria': CATEGORIES[index % len(CATEGORIES)]}
        for n in range(1, 11):
            item[f'imagen_{n}'] = (
                f'https://http2.mlstatic.com/D_NQ_NP_{n}{index:07d}-MLA{40000000 + index}_042023-O.webp'
                if n <= 1 + index % 10
                else ''
            )
        items.append(item)
    path.write_text(json.dumps(items, ensure_ascii=False), encoding='utf-8')


async def product_count(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table_of(Product)))).scalar_one())


async def time_import(url: str, path: Path) -> dict[str, float]:
    db = Database.from_url(url)
    try:
        await upgrade_to_head(db)
        started = time.perf_counter()
        first = await import_catalog(db, path)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = await import_catalog(db, path)
        again_s = time.perf_counter() - started
        count = await product_count(db)
        assert first.created == first.total and again.updated == again.total and again.created == 0
        assert count == first.total, f'{count} products after two imports of {first.total}'
        return {'import_s': round(first_s, 2), 'reimport_s': round(again_s, 2), 'products': count}
    finally:
        await db.dispose()


async def time_baseline(url: str, rows: list[dict[str, Any]]) -> float:
    db = Database.from_url(url)
    try:
        await upgrade_to_head(db)
        products = table_of(Product)
        started = time.perf_counter()
        async with db.engine.begin() as connection:
            for start in range(0, len(rows), 1000):
                await connection.execute(insert(products), rows[start : start + 1000])
        return round(time.perf_counter() - started, 2)
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--sizes', default='10388,100000')
    parser.add_argument('--postgres', default=DEFAULT_POSTGRES)
    parser.add_argument('--skip-postgres', action='store_true')
    args = parser.parse_args()
    figures: dict[str, Any] = {
        'bench': 'catalog_import',
        'load_average_start': [round(x, 2) for x in os.getloadavg()],
    }
    made: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            for size in (int(s) for s in args.sizes.split(',')):
                path = work / f'c_embler_ml_{size}.json'
                mercadolibre_file(path, size)
                figures[f'file_mb_{size}'] = round(path.stat().st_size / 1e6, 1)
                started = time.perf_counter()
                table = read_table(path)
                outcome = products_from_table(table, guess_mapping(table.headers, kind=table.kind))
                figures[f'parse_s_{size}'] = round(time.perf_counter() - started, 2)
                assert len(outcome.products) == size and not outcome.rejected
                now = utcnow()
                rows = [{**_product_row(p, now), 'created_at': now} for p in outcome.products]
                del table, outcome
                targets = [('sqlite', None)]
                if not args.skip_postgres:
                    targets.append(('postgresql', args.postgres))
                for kind, server in targets:
                    if server is None:
                        import_url = f'sqlite+aiosqlite:///{work / f"import_{size}.sqlite3"}'
                        baseline_url = f'sqlite+aiosqlite:///{work / f"baseline_{size}.sqlite3"}'
                    else:
                        names = (f'leadmaster_bench_import_{os.getpid()}', f'leadmaster_bench_baseline_{os.getpid()}')
                        import_url = await ingest.recreate_database(server, names[0])
                        baseline_url = await ingest.recreate_database(server, names[1])
                        made.extend(names)
                    result = await time_import(import_url, path)
                    baseline = await time_baseline(baseline_url, rows)
                    key = f'{size}_{kind}'
                    figures[f'import_s_{key}'] = result['import_s']
                    figures[f'reimport_s_{key}'] = result['reimport_s']
                    figures[f'baseline_executemany_s_{key}'] = baseline
                    figures[f'products_per_s_{key}'] = round(size / result['import_s'])
                    print(
                        f'{size:>7} products, {kind:<10}: import {result["import_s"]} s, re-import '
                        f'{result["reimport_s"]} s (no duplicates), baseline executemany of the product rows '
                        f'{baseline} s, parse alone {figures[f"parse_s_{size}"]} s',
                        flush=True,
                    )
                    if server is not None:
                        for name in names:
                            await ingest.drop_database(server, name)
                            made.remove(name)
    finally:
        for name in made:
            await ingest.drop_database(args.postgres, name)
    figures['load_average_end'] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(figures))


if __name__ == '__main__':
    asyncio.run(main())
