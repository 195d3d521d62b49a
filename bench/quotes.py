"""Quotes and sales benchmark (SPEC S3, S4).

1. Build and render quotes: `--quotes` (1,000) quotes of 10 catalog lines each are created through
   `services.sales.quotes.create_quote` (numbering, totals, lines, commit) on a throwaway SQLite file, read back
   (`get_quote`) and rendered as WhatsApp text (`quote_messages`) and PDF (`quote_pdf`, fpdf2). Reports quotes/s
   and per-quote p50/p95 of each step and of the whole.
2. The daily sales report for a month on PostgreSQL: a throwaway database with `--sales` (100,000) sales and
   1.5× as many sent quotes over 30 days, 10 branches × 5 agents (INSERT … SELECT generate_series, seeded); the
   daily totals are rebuilt from them once (`rebuild_day_totals`, timed: it is the full aggregation the report
   avoids), then `services.sales.reports.daily_report` for the whole month as an admin (every branch) and as
   one branch's manager, `--runs` times each, plus the month's commissions. Target: p95 < 200 ms.

Run: `.venv/bin/python bench/quotes.py` (needs PostgreSQL on 127.0.0.1:5432; the database
`leadmaster_quotes_bench` is dropped at the end, also on failure). Ends with one JSON line:
{"bench": "quotes", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from app.database import upgrade_to_head  # noqa: E402
from services.access import Viewer  # noqa: E402
from services.database import Database  # noqa: E402
from services.models import Branch, Product, Role  # noqa: E402
from services.sales import quotes  # noqa: E402
from services.sales.commissions import commissions  # noqa: E402
from services.sales.day_totals import rebuild_day_totals  # noqa: E402
from services.sales.quotes import LineDraft  # noqa: E402
from services.sales.render_pdf import quote_pdf  # noqa: E402
from services.sales.render_text import quote_messages  # noqa: E402
from services.sales.reports import daily_report  # noqa: E402

DEFAULT_SERVER = 'postgresql+asyncpg://postgres@127.0.0.1:5432/postgres'
DATABASE = 'leadmaster_quotes_bench'
ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
MONTH_START = date(2026, 11, 1)
MONTH_DAYS = 30
ADMIN = Viewer(user_id=None, username='bench', full_name='bench', role=Role.ADMIN, branch_id=None, branch_ids=None)
TITLES = [
    'Pastillas de freno delanteras Bosch',
    'Filtro de aceite Mann W712',
    'Amortiguador Monroe Gas-Matic',
    'Kit de distribución Gates con bomba de agua',
    'Batería 12V 65Ah Moura',
    'Bujías NGK Iridium (x4)',
    'Disco de freno ventilado Fremax',
    'Correa poly-V Dayco',
    'Embrague completo Sachs',
    'Óptica delantera',
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        'p50_ms': round(statistics.median(values_ms), 2),
        'p95_ms': round(percentile(values_ms, 0.95), 2),
        'max_ms': round(max(values_ms), 2),
    }


# --- 1. quotes ---------------------------------------------------------------------------------------------


async def bench_quotes(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix='lm-quotes-bench-') as folder:
        db = Database.from_url(f'sqlite+aiosqlite:///{folder}/bench.sqlite3')
        try:
            await upgrade_to_head(db)
            async with db.session() as session:
                branch = Branch(code='SUC1', name='Casa Central', city='CABA', address='Av. Corrientes 1234')
                session.add(branch)
                items = [
                    Product(
                        sku=f'SKU-{index:04d}',
                        title=f'{TITLES[index % len(TITLES)]} #{index}',
                        category='Repuestos',
                        brand='Marca',
                        price=Decimal('1234.56') * (index % 7 + 1),
                        iva_rate=Decimal('10.50') if index % 5 == 0 else Decimal('21.00'),
                    )
                    for index in range(200)
                ]
                session.add_all(items)
                await session.commit()
            product_ids = [item.id or 0 for item in items]
            build, text, pdf, whole = [], [], [], []
            started = clock.perf_counter()
            for index in range(count):
                t0 = clock.perf_counter()
                lines = [
                    LineDraft(
                        product_id=product_ids[(index * 10 + offset) % len(product_ids)],
                        quantity=offset % 3 + 1,
                        discount_percent=Decimal('5') if offset == 3 else Decimal('0'),
                    )
                    for offset in range(10)
                ]
                created = await quotes.create_quote(
                    db,
                    viewer=None,
                    branch_id=branch.id,
                    lines=lines,
                    discount_percent=Decimal('2.5'),
                    notes='Entrega en el día',
                )
                view = await quotes.get_quote(db, viewer=None, quote_id=created.id)
                t1 = clock.perf_counter()
                parts = quote_messages(view)
                t2 = clock.perf_counter()
                document = quote_pdf(view)
                t3 = clock.perf_counter()
                assert parts and all(len(part) <= 4096 for part in parts) and document.startswith(b'%PDF-')
                build.append((t1 - t0) * 1000)
                text.append((t2 - t1) * 1000)
                pdf.append((t3 - t2) * 1000)
                whole.append((t3 - t0) * 1000)
            elapsed = clock.perf_counter() - started
        finally:
            await db.dispose()
    return {
        'quotes': count,
        'lines_per_quote': 10,
        'quotes_per_second': round(count / elapsed, 1),
        'build': summary(build),
        'text': summary(text),
        'pdf': summary(pdf),
        'quote': summary(whole),
    }


# --- 2. the month's report on PostgreSQL ------------------------------------------------------------------


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername='postgresql').render_as_string(hide_password=False)


async def recreate_database(server_url: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()
    return make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)


async def drop_database(server_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await connection.close()


async def load(url: str, *, sales: int) -> float:
    started = clock.perf_counter()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    month_start = datetime.combine(MONTH_START, time(), ZONE)
    seconds = MONTH_DAYS * 86400
    try:
        await connection.execute('SELECT setseed(0.42)')
        await connection.execute("""
            INSERT INTO branches (code, name, city, address, takeover_timeout_seconds, assignment_rule,
                                  quote_valid_days, ai_sends_quotes, active, created_at)
            SELECT 'SUC' || b, 'Sucursal ' || b, 'Ciudad', '', 300, 'manual', 7, false, true, now()
            FROM generate_series(1, 10) AS b""")
        await connection.execute("""
            INSERT INTO users (username, full_name, role, branch_id, capacity, locale, active, password_hash,
                               created_at)
            SELECT 'agent' || u, 'Vendedor ' || u, 'agent', 1 + (u - 1) / 5, 8, 'es', true, 'x', now()
            FROM generate_series(1, 50) AS u""")
        # Quotes sent over the month (1.5 per sale); the first `sales` of them accepted.
        await connection.execute(
            """
            INSERT INTO quotes (branch_id, number, created_by_id, sent_by_id, drafted_by_ai, status, valid_until,
                                discount_percent, discount_amount, notes, net_total, iva_total, total, created_at,
                                updated_at, sent_at, decision_source)
            SELECT 1 + (q % 10), q, 1 + (q % 50), 1 + (q % 50), false,
                   CASE WHEN q <= $1 THEN 'accepted' ELSE 'sent' END, ($3::timestamptz)::date + 40,
                   0, 0, '', 0, 0, 0, now(), now(), $3::timestamptz + (random() * $4::int) * INTERVAL '1 second', ''
            FROM generate_series(1, $2) AS q""",
            sales,
            sales * 3 // 2,
            month_start,
            seconds,
        )
        await connection.execute(
            """
            INSERT INTO sales (quote_id, branch_id, agent_id, ticket_number, net_total, iva_total, total,
                               commission_rate, commission_amount, sold_at)
            SELECT s, 1 + (s % 10), 1 + (s % 50), s, n, round(n * 0.21), n + round(n * 0.21), 250,
                   round(n * 0.025), $2::timestamptz + (random() * $3::int) * INTERVAL '1 second'
            FROM (SELECT s, (100000 + floor(random() * 20000000))::bigint AS n
                  FROM generate_series(1, $1) AS s) AS generated""",
            sales,
            month_start,
            seconds,
        )
        await connection.execute('ANALYZE')
    finally:
        await connection.close()
    return clock.perf_counter() - started


async def bench_report(server_url: str, *, sales: int, runs: int) -> dict[str, Any]:
    url = await recreate_database(server_url)
    try:
        db = Database.from_url(url)
        try:
            await upgrade_to_head(db)
            load_seconds = await load(url, sales=sales)
            end = MONTH_START + timedelta(days=MONTH_DAYS - 1)
            # The rows were loaded with SQL, not through the services that keep the daily totals: rebuild them
            # (the aggregation of every sale the report itself no longer does), timed as the baseline.
            started = clock.perf_counter()
            await rebuild_day_totals(db, start=MONTH_START, end=end, zone=ZONE)
            rebuild_ms = (clock.perf_counter() - started) * 1000
            print(f"  rebuild of the month's daily totals from {sales} sales: {rebuild_ms:.0f} ms", flush=True)
            manager = Viewer(
                user_id=1, username='m', full_name='m', role=Role.MANAGER, branch_id=1, branch_ids=frozenset({1})
            )
            cases: dict[str, Callable[[], Awaitable[object]]] = {
                'month_all_branches': lambda: daily_report(db, viewer=ADMIN, start=MONTH_START, end=end),
                'month_one_branch': lambda: daily_report(db, viewer=manager, start=MONTH_START, end=end),
                'one_day_all_branches': lambda: daily_report(db, viewer=ADMIN, start=end, end=end),
                'month_commissions': lambda: commissions(db, viewer=ADMIN, start=MONTH_START, end=end),
            }
            results: dict[str, Any] = {}
            first = await daily_report(db, viewer=ADMIN, start=MONTH_START, end=end)  # = cases['month_all_branches']
            assert first.totals.sales == sales, first.totals.sales  # every sale of the month, exactly once
            for name, case in cases.items():
                await case()  # warm-up: prepared statements, caches
                timings = []
                for _ in range(runs):
                    started = clock.perf_counter()
                    await case()
                    timings.append((clock.perf_counter() - started) * 1000)
                results[name] = summary(timings)
                print(f'  {name:<22} {results[name]}', flush=True)
        finally:
            await db.dispose()
    finally:
        await drop_database(server_url)
    return {
        'sales': sales,
        'quotes_sent': sales * 3 // 2,
        'days': MONTH_DAYS,
        'branches': 10,
        'agents': 50,
        'load_seconds': round(load_seconds, 1),
        'rebuild_from_sales_ms': round(rebuild_ms, 1),
        'rows_in_month_report': len(first.rows),
        **results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--server', default=DEFAULT_SERVER, help='SQLAlchemy URL of the PostgreSQL server')
    parser.add_argument('--quotes', type=int, default=1000)
    parser.add_argument('--sales', type=int, default=100_000)
    parser.add_argument('--runs', type=int, default=30)
    args = parser.parse_args()
    quote_figures: dict[str, Any] = {'quotes': 0}
    if args.quotes > 0:  # --quotes 0 measures the report alone
        print(f'building and rendering {args.quotes} quotes of 10 lines…', flush=True)
        quote_figures = asyncio.run(bench_quotes(args.quotes))
        print(f'  {quote_figures}', flush=True)
    print(f'monthly report over {args.sales} sales on PostgreSQL…', flush=True)
    report_figures = asyncio.run(bench_report(args.server, sales=args.sales, runs=args.runs))
    target = report_figures['month_all_branches']['p95_ms'] < 200
    print(json.dumps({'bench': 'quotes', **quote_figures, 'report': report_figures, 'report_p95_under_200ms': target}))


if __name__ == '__main__':
    main()
