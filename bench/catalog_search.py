"""Catalog search latency (SPEC §4: p95 < 10 ms at 10,000 products, < 50 ms at 1,000,000) on PostgreSQL.

What it does, in one run:
1. a throwaway PostgreSQL database (dropped at the end), migrated; the 10,000-product demo catalog imported through
   the real import path (timed — the import target is < 10 s — and also timed on a throwaway SQLite file);
2. 1,000 realistic queries drawn from the catalog, in classes reported separately: part + vehicle + year
   ("pastillas de freno gol trend 2015"), typos in part and vehicle, part/OEM codes as printed or with other
   spacing, short generic queries ("Filtro de"), upper case without accents;
3. `search_products` — the service the catalog page and the bot call, Python included, through the same
   `Database` the app builds — timed per query: p50/p95 overall and per class. Every other query is made as an
   agent of one branch (the page: stock limited to the branches she sees), the others as the bot (its
   conversation's branch). A warm-up pass over a different sample of queries comes first (a running server's
   cache is warm; the timed queries themselves are not pre-run);
4. the same queries as a naive scan — every word as `title ILIKE '%word%'`, LIMIT 20, SQL only on a held
   connection (so the baseline is, if anything, flattered) — as the baseline, in the same run;
5. the catalog grown to 1,000,000 products with INSERT … SELECT (copies of the 10,000 with their codes,
   fitments and stock), indexes rebuilt, and 3–4 measured again (the naive scan on a 100-query sample: it takes
   ~1 s a query at that size).

Usage: .venv/bin/python bench/catalog_search.py [--server postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
       [--queries 1000] [--skip-million] [--sqlite]
       [--keep]                 (development: keep the database, leadmaster_bench_catalog_kept — 1,000,000
                                 products, or 10,000 with --skip-million)
       [--reuse-10k DBNAME] [--reuse-1m DBNAME]   (time the searches on catalogs kept that way, skipping the
                                                   import and the growth)
`--sqlite` also times the searches on the SQLite import (FTS5). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.database import upgrade_to_head
from services.access import Viewer
from services.catalog import import_products, search_products
from services.catalog.formats import CatalogProduct
from services.catalog.importer import after_bulk_write, rebuild_terms
from services.catalog.text import fold, words
from services.database import Database
from services.demo.catalog import generate_catalog
from services.models import Branch, Role

BRANCHES = ('SUC1', 'SUC2', 'SUC3')
MILLION = 1_000_000
CLASSES = ('part+vehicle+year', 'typos', 'code', 'short generic', 'shouting')


def typo(word: str, r: random.Random) -> str:
    if len(word) < 5:
        return word
    i = r.randrange(1, len(word) - 1)
    kind = r.random()
    if kind < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # transposition
    if kind < 0.7:
        return word[:i] + word[i + 1 :]  # deletion
    return word[:i] + r.choice('aeiourstln') + word[i + 1 :]  # substitution


def make_queries(products: list[CatalogProduct], count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(class, query) pairs."""
    r = random.Random(seed)
    with_fitments = [p for p in products if p.fitments]
    queries: list[tuple[str, str]] = []
    while len(queries) < count:
        kind = r.random()
        product = r.choice(with_fitments if kind < 0.6 else products)
        head = ' '.join(product.title.split()[: r.choice((1, 2, 3, 4))])
        if kind < 0.4:
            fitment = r.choice(product.fitments)
            year = r.randint(fitment.year_from, fitment.year_to)
            queries.append(('part+vehicle+year', f'{head} {fitment.model} {year}'))
        elif kind < 0.6:
            fitment = r.choice(product.fitments)
            queries.append(('typos', ' '.join(typo(w, r) for w in f'{head} {fitment.model}'.split())))
        elif kind < 0.75 and product.codes:  # as printed, compacted, lower case or dashed
            code = r.choice(product.codes).code
            style = r.random()
            queries.append(
                (
                    'code',
                    code
                    if style < 0.4
                    else code.replace(' ', '')
                    if style < 0.6
                    else code.lower()
                    if style < 0.8
                    else code.replace(' ', '-'),
                )
            )
        elif kind < 0.9:
            queries.append(('short generic', ' '.join(product.title.split()[:2])))
        else:  # shouting, no accents
            queries.append(('shouting', fold(head).upper()))
    return queries


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


async def time_search(
    db: Database, queries: list[tuple[str, str]], warmup: list[tuple[str, str]], branch_id: int, agent: Viewer
) -> tuple[dict[str, list[float]], float]:
    """Latencies per class (and 'all'), and the share of queries with an answer."""
    for position, (_, query) in enumerate(warmup):
        await search_products(db, query=query, branch_id=branch_id, viewer=agent if position % 2 else None)
    latencies: dict[str, list[float]] = defaultdict(list)
    found = 0
    for position, (kind, query) in enumerate(queries):
        viewer = agent if position % 2 else None
        started = time.perf_counter()
        result = await search_products(db, query=query, branch_id=branch_id, viewer=viewer, limit=20)
        elapsed = (time.perf_counter() - started) * 1000
        latencies[kind].append(elapsed)
        latencies['all'].append(elapsed)
        found += bool(result.hits)
    return latencies, found / len(queries)


async def time_naive(db: Database, queries: list[tuple[str, str]]) -> list[float]:
    latencies = []
    async with db.engine.connect() as connection:
        for _, query in queries:
            terms = [w for w in query.split() if len(w) > 1][:6] or [query]
            where = ' AND '.join(f'title ILIKE :w{i}' for i in range(len(terms)))
            params = {f'w{i}': f'%{term}%' for i, term in enumerate(terms)}
            started = time.perf_counter()
            await connection.execute(
                text(f'SELECT id FROM products WHERE active AND {where} LIMIT 20'),
                params,
            )
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def summarize(figures: dict[str, Any], latencies: dict[str, list[float]], size: str) -> None:
    figures[f'p50_ms_{size}'] = round(percentile(latencies['all'], 0.5), 2)
    figures[f'p95_ms_{size}'] = round(percentile(latencies['all'], 0.95), 2)
    figures[f'by_class_{size}'] = by_class = {
        kind: {
            'n': len(latencies[kind]),
            'p50': round(percentile(latencies[kind], 0.5), 2),
            'p95': round(percentile(latencies[kind], 0.95), 2),
        }
        for kind in CLASSES
        if latencies.get(kind)
    }
    for kind, values in by_class.items():
        print(f'    {kind:18} n={values["n"]:4}  p50 {values["p50"]:7.2f} ms  p95 {values["p95"]:7.2f} ms')


async def seed_branches(db: Database) -> int:
    async with db.session() as session:
        branches = [Branch(code=code, name=f'Sucursal {code}', city='CABA') for code in BRANCHES]
        session.add_all(branches)
        await session.commit()
        return branches[0].id or 0


async def first_branch(db: Database) -> int:
    async with db.engine.connect() as connection:
        return (await connection.execute(text("SELECT id FROM branches WHERE code = 'SUC1'"))).scalar_one()


async def grow_to_million(db: Database, base: int) -> float:
    """Copies of the base catalog with new SKUs (and codes suffixed, so exact lookups stay exact)."""
    copies = MILLION // base - 1
    started = time.perf_counter()
    async with db.engine.begin() as connection:
        await connection.execute(text('DROP INDEX IF EXISTS ix_search_products_text'))
        await connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        await connection.execute(
            text(f"""
            INSERT INTO products (id, sku, title, category, brand, description, price, iva_rate, active, image_urls,
                                  search_text, universal, created_at, updated_at)
            SELECT p.id + g * {base}, p.sku || '-' || g, p.title, p.category, p.brand, p.description,
                   p.price + g, p.iva_rate, p.active, p.image_urls, p.search_text, p.universal, p.created_at,
                   p.updated_at
            FROM products p, generate_series(1, {copies}) g WHERE p.id <= {base}""")
        )
        await connection.execute(
            text(f"""
            INSERT INTO product_fitments (product_id, make, model, year_from, year_to, engine)
            SELECT f.product_id + g * {base}, f.make, f.model, f.year_from, f.year_to, f.engine
            FROM product_fitments f, generate_series(1, {copies}) g WHERE f.product_id <= {base}""")
        )
        await connection.execute(
            text(f"""
            INSERT INTO product_codes (product_id, code, display_code, kind)
            SELECT c.product_id + g * {base}, left(c.code || 'X' || g, 40), left(c.display_code || 'X' || g, 48),
                   c.kind
            FROM product_codes c, generate_series(1, {copies}) g WHERE c.product_id <= {base}""")
        )
        await connection.execute(
            text(f"""
            INSERT INTO product_stock (product_id, branch_id, quantity, updated_at)
            SELECT s.product_id + g * {base}, s.branch_id, (s.quantity + g) % 61, s.updated_at
            FROM product_stock s, generate_series(1, {copies}) g WHERE s.product_id <= {base}""")
        )
        await connection.execute(
            text("SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products))")
        )
        await connection.execute(
            text(
                'CREATE INDEX ix_search_products_text ON products '
                "USING gin (to_tsvector('simple'::regconfig, search_text))"
            )
        )
    async with db.session() as session:
        await rebuild_terms(session)
        await session.commit()
    async with db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level='AUTOCOMMIT')
        for table in ('products', 'product_fitments', 'product_codes', 'product_stock'):
            await autocommit.execute(text(f'VACUUM ANALYZE {table}'))
    await after_bulk_write(db)  # what the importer does after a big write (and it forgets the cached vocabulary)
    return time.perf_counter() - started


async def time_sqlite(
    products: list[CatalogProduct], queries: list[tuple[str, str]], warmup: list[tuple[str, str]], *, search: bool
) -> tuple[float, dict[str, list[float]] | None]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database.from_url(f'sqlite+aiosqlite:///{folder}/bench.sqlite3')
        try:
            await upgrade_to_head(db)
            branch_id = await seed_branches(db)
            started = time.perf_counter()
            await import_products(db, products)
            seconds = time.perf_counter() - started
            if not search:
                return seconds, None
            latencies, _ = await time_search(db, queries, warmup, branch_id, agent_of(branch_id))
            return seconds, latencies
        finally:
            await db.dispose()


def agent_of(branch_id: int) -> Viewer:
    return Viewer(
        user_id=1,
        username='agente',
        full_name='Agente',
        role=Role.AGENT,
        branch_id=branch_id,
        branch_ids=frozenset({branch_id}),
    )


async def fresh_database(admin: asyncpg.Connection, server: URL, name: str) -> Database:
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    return Database.from_url(server.set(database=name).render_as_string(hide_password=False))


async def main() -> None:  # noqa: PLR0915 - the run, step by step
    parser = argparse.ArgumentParser()
    parser.add_argument(
        '--server',
        default=os.environ.get('LEADMASTER_BENCH_POSTGRES', 'postgresql+asyncpg://postgres@127.0.0.1:5432/postgres'),
    )
    parser.add_argument('--queries', type=int, default=1000)
    parser.add_argument('--skip-million', action='store_true')
    parser.add_argument('--sqlite', action='store_true')
    parser.add_argument('--reuse-10k')
    parser.add_argument('--reuse-1m')
    parser.add_argument('--keep', action='store_true')
    args = parser.parse_args()

    server = make_url(args.server)
    name = 'leadmaster_bench_catalog_kept' if args.keep else f'leadmaster_bench_catalog_{os.getpid()}'
    admin = await asyncpg.connect(server.set(drivername='postgresql').render_as_string(hide_password=False))
    figures: dict[str, Any] = {  # the JSON report
        'bench': 'catalog_search',
        'queries': args.queries,
        'load_average_start': [round(x, 2) for x in os.getloadavg()],
    }
    products = generate_catalog(10_000, branch_codes=BRANCHES)
    queries = make_queries(products, args.queries)
    warmup = make_queries(products, 200, seed=8)
    print('sample queries:', [query for _, query in queries[:8]])
    made: list[str] = []
    db: Database | None = None
    try:
        if args.reuse_10k:
            db = Database.from_url(server.set(database=args.reuse_10k).render_as_string(hide_password=False))
        else:
            db = await fresh_database(admin, server, name)
            made.append(name)
            await upgrade_to_head(db)
            await seed_branches(db)
            started = time.perf_counter()
            await import_products(db, products)
            figures['import_10k_s_postgresql'] = round(time.perf_counter() - started, 2)
            sqlite_import, sqlite_latencies = await time_sqlite(products, queries, warmup, search=args.sqlite)
            figures['import_10k_s_sqlite'] = round(sqlite_import, 2)
            print(
                f'import of 10,000 products: PostgreSQL {figures["import_10k_s_postgresql"]} s, '
                f'SQLite {figures["import_10k_s_sqlite"]} s'
            )
            if sqlite_latencies:
                summarize(figures, sqlite_latencies, '10k_sqlite')
                print(
                    f'10,000 products on SQLite: search p50 {figures["p50_ms_10k_sqlite"]} ms, '
                    f'p95 {figures["p95_ms_10k_sqlite"]} ms'
                )
        branch_id = await first_branch(db)
        agent = agent_of(branch_id)

        latencies, found = await time_search(db, queries, warmup, branch_id, agent)
        naive = await time_naive(db, queries)
        summarize(figures, latencies, '10k')
        figures.update(
            found_share_10k=round(found, 3),
            naive_p50_ms_10k=round(percentile(naive, 0.5), 2),
            naive_p95_ms_10k=round(percentile(naive, 0.95), 2),
        )
        print(
            f'10,000 products: search p50 {figures["p50_ms_10k"]} ms, p95 {figures["p95_ms_10k"]} ms '
            f'(answers for {found:.0%} of queries); naive ILIKE p50 {figures["naive_p50_ms_10k"]} ms, '
            f'p95 {figures["naive_p95_ms_10k"]} ms'
        )

        if not args.skip_million:
            if args.reuse_1m:
                await db.dispose()
                db = Database.from_url(server.set(database=args.reuse_1m).render_as_string(hide_password=False))
                branch_id = await first_branch(db)
                agent = agent_of(branch_id)
            else:
                grow_seconds = await grow_to_million(db, len(products))
                print(f'grown to 1,000,000 products in {grow_seconds:.0f} s')
            latencies, found = await time_search(db, queries, warmup, branch_id, agent)
            naive = await time_naive(db, queries[:100])
            summarize(figures, latencies, '1m')
            figures.update(
                found_share_1m=round(found, 3),
                naive_p50_ms_1m=round(percentile(naive, 0.5), 2),
                naive_p95_ms_1m=round(percentile(naive, 0.95), 2),
                naive_sample_1m=100,
            )
            print(
                f'1,000,000 products: search p50 {figures["p50_ms_1m"]} ms, p95 {figures["p95_ms_1m"]} ms '
                f'(answers for {found:.0%}); naive ILIKE (100 queries) p50 {figures["naive_p50_ms_1m"]} ms, '
                f'p95 {figures["naive_p95_ms_1m"]} ms'
            )
        figures['targets_met'] = bool(
            figures['p95_ms_10k'] < 10
            and figures.get('import_10k_s_postgresql', 0) < 10
            and figures.get('import_10k_s_sqlite', 0) < 10
            and (args.skip_million or figures['p95_ms_1m'] < 50)
        )
    finally:
        if db is not None:
            await db.dispose()
        if not args.keep:
            for database in made:
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    figures['load_average_end'] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(figures))


if __name__ == '__main__':
    # `words` is cached per process; a fresh one measures cold folding like a new server would.
    words.cache_clear()
    asyncio.run(main())
