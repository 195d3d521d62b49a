"""Server time of the manager dashboard (issue 15, B3/T5) with 100,000 conversations and 1,000,000 messages on
PostgreSQL. Targets: p95 < 100 ms for the queue and today's figures, < 300 ms for a 31-day range.

The dataset (INSERT … SELECT generate_series, fixed seed): 4 branches with 10 agents and a manager each, 100,000
contacts and conversations spread over the last 60 days (97 % closed, the rest open: some waiting for the bot, some
for a person, some held), 10 messages each (the customer's first, the AI's reply after 2–40 s, an agent's reply in
45 % of them after 30–900 s, the rest alternating), an assignment history (take or rule for the conversations an
agent answered, a timeout for 1 in 6 of those, a release for 1 in 4) and a sales_day_totals row per branch, agent
and day. Migrated to head first, so the rows meet the real schema and its indexes (0021's included).

Timed through the services the page calls on each refresh, as the dashboard calls them:

- cold (`--cold-runs` times, each after deleting the range's stored `conversation_figures`: the first read after the
  upgrade, or after the sweeper was down): today_cold and range_31_cold compute and store every conversation's
  figures from its messages;
- then the sweeper's full pass (`refresh_figures`, what `DashboardFiguresSweeper` runs: sweep_all_s, every
  conversation), and steady (`--runs` times, figures stored, as in production once the sweeper has run):
- now: `services.dashboard.dashboard_now` — the queue (the first 100 waiting conversations, ordered, and the counts)
  and the agents' load;
- today: `services.dashboard.period_figures` for today — the headline figures and attendance;
- range_31: `period_figures` for the last 31 days — the charts' figures, sales included — every day read (a page's
  first load);
- range_31_warm: the same with the process's `DayCache` primed, as the page's periodic refresh reads it (only today
  from the database, the ended days from the cache; attendance and sales over the whole range).

Each as a manager of one branch (what a manager's page does) and as an admin over every branch (the worst case).
Wall-clock and this process's CPU per call are reported (the machine is shared: CPU time holds steadier).

Run: `.venv/bin/python bench/dashboard.py [--runs 40] [--cold-runs 5] [--plans]` (needs PostgreSQL on
127.0.0.1:5432; the database `leadmaster_dashboard_bench` is dropped at the end, also on failure).
Ends with one JSON line {"bench": "dashboard", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import asyncpg  # noqa: E402
from _common import DEFAULT_POSTGRES, load_average, percentile, rounded  # noqa: E402
from inbox_search import asyncpg_dsn, drop_database, recreate_database  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col, delete  # noqa: E402

from app.database import upgrade_to_head  # noqa: E402
from services.access import Viewer  # noqa: E402
from services.dashboard import DayCache, dashboard_now, period_figures, refresh_figures  # noqa: E402
from services.database import Database  # noqa: E402
from services.models import Role  # noqa: E402
from services.models.dashboard import ConversationFigures  # noqa: E402
from services.sales.day_totals import day_bounds  # noqa: E402
from services.sales.quotes import today_in  # noqa: E402

DATABASE = 'leadmaster_dashboard_bench'
ZONE = ZoneInfo('America/Argentina/Buenos_Aires')
BRANCHES = 4
AGENTS_PER_BRANCH = 10
DAYS = 60
TARGETS_MS = {
    'now': 100.0,
    'today': 100.0,
    'today_cold': 100.0,
    'range_31': 300.0,
    'range_31_warm': 300.0,
    'range_31_cold': 300.0,
}


def seed_statements(*, conversations: int, messages_each: int) -> list[str]:
    """The dataset as SQL; `{series(n)}` / `{series0(n)}` stand for a row source of 1…n / 0…n-1, `NOW_UTC` and
    `TODAY` for the moment and the business day (`seed_postgresql` spells them)."""
    agents = BRANCHES * AGENTS_PER_BRANCH
    # Conversation i: branch 1 + i % 4, created i / n of the way through the 60 days (ids follow time, as in life),
    # agent 1 + BRANCHES + (i % 4) * 10 + (i / 4) % 10 (an agent of its branch; users 1…4 are the managers).
    agent_of = f'(1 + {BRANCHES} + (i % {BRANCHES}) * {AGENTS_PER_BRANCH} + (i / {BRANCHES}) % {AGENTS_PER_BRANCH})'
    created = f"(NOW_UTC - interval '{DAYS} days' + (i * 1.0 / {conversations}) * interval '{DAYS} days')"
    answered = '(i % 20 < 9)'  # 45 % get an agent
    return [
        f"""INSERT INTO branches (code, name, city, address, takeover_timeout_seconds, assignment_rule, active,
                                created_at)
            SELECT 'SUC' || b, 'Sucursal ' || b, 'Ciudad', '', 300, 'manual', true, NOW_UTC
            FROM {{series({BRANCHES})}} AS s(b)""",
        f"""INSERT INTO whatsapp_numbers (branch_id, channel, phone_number_id, display_phone, label, sending_enabled,
                                        active, created_at)
            SELECT b, 'simulator', 'bench-pn-' || b, '+54911500000' || b, '', true, true, NOW_UTC
            FROM {{series({BRANCHES})}} AS s(b)""",
        f"""INSERT INTO users (username, full_name, role, branch_id, capacity, locale, active, password_hash,
                             created_at)
            SELECT CASE WHEN u <= {BRANCHES} THEN 'manager' || u ELSE 'agent' || u END,
                   CASE WHEN u <= {BRANCHES} THEN 'Encargado ' || u ELSE 'Vendedor ' || u END,
                   CASE WHEN u <= {BRANCHES} THEN 'manager' ELSE 'agent' END,
                   CASE WHEN u <= {BRANCHES} THEN u ELSE 1 + (u - {BRANCHES} - 1) / {AGENTS_PER_BRANCH} END,
                   6, 'es', true, '-', NOW_UTC
            FROM {{series({BRANCHES + agents})}} AS s(u)""",
        f"""INSERT INTO contacts (phone_e164, wa_id, profile_name, display_name, email, notes, score_contactabilidad,
                                digital_maturity, validado_tecnicamente, created_at, updated_at)
            SELECT '+54911' || (10000000 + i * 37), '54911' || (10000000 + i * 37), 'Cliente ' || i, '', '', '',
                   0, 0, false, NOW_UTC, NOW_UTC
            FROM {{series({conversations})}} AS s(i)""",
        # The last 3 % are open: a third waiting for the bot, a third for a person, a third held by an agent.
        f"""INSERT INTO conversations (contact_id, number_id, branch_id, status, mode, assigned_user_id,
                                     last_message_at, last_message_preview, waiting_since, human_requested_at,
                                     human_request_reason, unread_count, created_at, updated_at, closed_at)
            SELECT i, 1 + i % {BRANCHES}, 1 + i % {BRANCHES},
                   CASE WHEN i > {conversations} * 0.97 THEN 'open' ELSE 'closed' END,
                   CASE WHEN i > {conversations} * 0.97 AND i % 3 = 2 THEN 'human' ELSE 'ai' END,
                   CASE WHEN i > {conversations} * 0.97 AND i % 3 = 2 THEN {agent_of} END,
                   {created} + interval '20 minutes', 'Último mensaje',
                   CASE WHEN i > {conversations} * 0.97 AND i % 3 <> 1 THEN {created} END,
                   CASE WHEN i > {conversations} * 0.97 AND i % 3 = 1 THEN {created} + interval '1 minute' END,
                   '', 0, {created}, {created},
                   CASE WHEN i <= {conversations} * 0.97 THEN {created} + (10 + i % 170) * interval '1 minute' END
            FROM {{series({conversations})}} AS s(i)""",
        # Message n of conversation i: n = 0 the customer's first; n = 1 the AI (2–40 s later); n = 2 an agent's
        # (30–900 s later) in the answered ones, else the customer; then alternating customer / AI-or-agent.
        f"""INSERT INTO messages (conversation_id, direction, sender_kind, sent_by_user_id, type, text, payload,
                                status, error_title, error_details, sent_at, created_at, priority, attempts)
            SELECT i, CASE WHEN n % 2 = 0 AND n <> 2 OR n = 2 AND NOT {answered} THEN 'in' ELSE 'out' END,
                   CASE WHEN n = 0 THEN 'customer' WHEN n = 1 THEN 'ai'
                        WHEN n = 2 THEN CASE WHEN {answered} THEN 'agent' ELSE 'customer' END
                        WHEN n % 2 = 0 THEN 'customer' WHEN {answered} THEN 'agent' ELSE 'ai' END,
                   CASE WHEN (n = 2 OR n % 2 = 1 AND n > 1) AND {answered} THEN {agent_of} END,
                   'text', 'Mensaje ' || n, '{{}}', 'read', '', '',
                   {created} + CASE WHEN n = 0 THEN interval '0 s' WHEN n = 1 THEN (2 + i % 39) * interval '1 s'
                                    WHEN n = 2 THEN (30 + (i * 7) % 871) * interval '1 s'
                                    ELSE n * interval '2 minutes' END,
                   {created}, 'agent', 0
            FROM {{series({conversations})}} AS s(i), {{series0({messages_each})}} AS t(n)""",
        f"""INSERT INTO assignment_events (conversation_id, action, user_id, actor_user_id, reason, at)
            SELECT i, CASE WHEN i % 2 = 0 THEN 'take' ELSE 'rule' END, {agent_of}, NULL, '',
                   {created} + interval '25 s'
            FROM {{series({conversations})}} AS s(i) WHERE {answered}""",
        f"""INSERT INTO assignment_events (conversation_id, action, user_id, actor_user_id, reason, at)
            SELECT i, CASE WHEN i % 6 = 0 THEN 'timeout' ELSE 'release' END, {agent_of}, NULL, '',
                   {created} + interval '8 minutes'
            FROM {{series({conversations})}} AS s(i) WHERE {answered} AND (i % 6 = 0 OR i % 4 = 1)""",
        f"""INSERT INTO assignment_events (conversation_id, action, user_id, actor_user_id, reason, at)
            SELECT i, 'handoff', NULL, NULL, '', {created} + interval '20 s'
            FROM {{series({conversations})}} AS s(i) WHERE i % 20 = 9""",
        f"""INSERT INTO sales_day_totals (branch_id, day, agent_key, sales, net_total, iva_total, total,
                                        commission_amount, quotes_sent, quotes_accepted)
            SELECT 1 + (a - 1) / {AGENTS_PER_BRANCH}, TODAY - d, {BRANCHES} + a, 1 + (a + d) % 4,
                   (100000 + a * d * 997 % 400000) * 100, (21000 + a * d * 211 % 84000) * 100,
                   (121000 + a * d * 1208 % 484000) * 100, (3000 + a * d % 9000) * 100, 3 + (a + d) % 5,
                   1 + (a + d) % 4
            FROM {{series({agents})}} AS s(a), {{series0({DAYS})}} AS t(d)""",
    ]


async def seed_postgresql(url: str, *, conversations: int, messages_each: int) -> float:
    started = time.perf_counter()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        today = today_in(ZONE)
        for statement in seed_statements(conversations=conversations, messages_each=messages_each):
            sql = (
                statement.replace('{series0(', 'generate_series(0, -1 + ')
                .replace('{series(', 'generate_series(1, ')
                .replace(')}', ')')
                .replace('NOW_UTC', 'now()')
                .replace('TODAY', f"DATE '{today.isoformat()}'")
            )
            await connection.execute(sql)
        await connection.execute('ANALYZE')
    finally:
        await connection.close()
    return time.perf_counter() - started


def viewers() -> dict[str, Viewer]:
    return {
        'manager': Viewer(
            user_id=1,
            username='manager1',
            full_name='Encargado 1',
            role=Role.MANAGER,
            branch_id=1,
            branch_ids=frozenset({1}),
        ),
        'admin': Viewer(
            user_id=None, username='bench', full_name='bench', role=Role.ADMIN, branch_id=None, branch_ids=None
        ),
    }


async def timed(
    runs: int, call: Callable[[], Awaitable[Any]], warm: int = 3, before: Callable[[], Awaitable[Any]] | None = None
) -> dict[str, float | None]:
    """p50/p95 wall-clock and this process's CPU of `runs` calls after `warm` unmeasured ones; `before` runs
    (unmeasured) ahead of each call: it puts the database back in the state being measured."""
    for _ in range(warm):
        if before is not None:
            await before()
        await call()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        if before is not None:
            await before()
        started, started_cpu = time.perf_counter(), time.process_time()
        await call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {
        'p50_ms': rounded(percentile(wall, 50)),
        'p95_ms': rounded(percentile(wall, 95)),
        'cpu_p50_ms': rounded(percentile(cpu, 50)),
        'runs': runs,
    }


async def forget_figures(db: Database, since_day: date) -> None:
    """Deletes the stored figures of the conversations opened on `since_day` or later: the range's next read finds
    none stored, as the first read after the upgrade (or after a sweeper outage) does."""
    async with db.session() as session:
        await session.exec(
            delete(ConversationFigures).where(
                col(ConversationFigures.opened_at) >= day_bounds(since_day, since_day, ZONE)[0]
            )
        )
        await session.commit()


async def measure(
    db: Database, runs: int, cold_runs: int
) -> tuple[dict[str, dict[str, dict[str, float | None]]], float]:
    """Cold first (each call preceded by deleting its range's stored figures), then the sweeper's full pass
    (timed: the returned seconds), then steady (figures stored, as in production once the sweeper has run)."""
    today = today_in(ZONE)
    month = today - timedelta(days=30)
    online = set(range(5, 5 + BRANCHES * AGENTS_PER_BRANCH, 2))
    results: dict[str, dict[str, dict[str, float | None]]] = {role: {} for role in viewers()}

    def calls(viewer: Viewer, cache: DayCache) -> dict[str, Callable[[], Awaitable[Any]]]:
        async def now() -> object:
            return await dashboard_now(db, viewer=viewer, online_user_ids=online)

        async def today_figures() -> object:
            return await period_figures(db, viewer=viewer, start=today, end=today, zone=ZONE)

        # Every day read from the database (a page's first load, or once the cache has expired).
        async def range_31() -> object:
            return await period_figures(db, viewer=viewer, start=month, end=today, zone=ZONE, recent=0)

        # The page's periodic refresh: the ended days from the process's cache, today from the database.
        async def range_31_warm() -> object:
            return await period_figures(db, viewer=viewer, start=month, end=today, zone=ZONE, recent=0, cache=cache)

        return {'now': now, 'today': today_figures, 'range_31': range_31, 'range_31_warm': range_31_warm}

    async def forget_today() -> None:
        await forget_figures(db, today)

    async def forget_month() -> None:
        await forget_figures(db, month)

    for role, viewer in viewers().items():
        timed_calls = calls(viewer, DayCache(ttl_seconds=3600))
        results[role]['today_cold'] = await timed(cold_runs, timed_calls['today'], warm=1, before=forget_today)
        results[role]['range_31_cold'] = await timed(cold_runs, timed_calls['range_31'], warm=1, before=forget_month)
    await forget_figures(db, today - timedelta(days=DAYS + 1))
    started = time.perf_counter()
    await refresh_figures(db)
    sweep_s = time.perf_counter() - started
    for role, viewer in viewers().items():
        timed_calls = calls(viewer, DayCache(ttl_seconds=3600))
        for name in ('now', 'today', 'range_31', 'range_31_warm'):
            results[role][name] = await timed(runs, timed_calls[name])
    return results, sweep_s


async def show_plans(db: Database, url: str) -> None:
    """EXPLAIN ANALYZE of every query of a 31-day range, as the admin sends them (captured from the engine)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, 'before_cursor_execute', capture)
    today = today_in(ZONE)
    await period_figures(db, viewer=viewers()['admin'], start=today - timedelta(days=30), end=today, zone=ZONE)
    await dashboard_now(db, viewer=viewers()['manager'])
    event.remove(db.engine.sync_engine, 'before_cursor_execute', capture)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement, parameters in captured:
            if not statement.lstrip().upper().startswith('SELECT'):
                continue
            plan = await connection.fetch('EXPLAIN (ANALYZE, BUFFERS) ' + statement, *parameters)
            print(statement[:300].replace('\n', ' '))
            print('\n'.join(row[0] for row in plan))
            print('-' * 80)
    finally:
        await connection.close()


async def run(options: argparse.Namespace) -> dict[str, Any]:
    if options.reuse:  # a database kept by an earlier --keep run
        url = make_url(options.postgres).set(database=DATABASE).render_as_string(hide_password=False)
    else:
        url = await recreate_database(options.postgres, DATABASE)
    db = Database.from_url(url)
    seeded = 0.0
    try:
        if not options.reuse:
            await upgrade_to_head(db)
            seeded = await seed_postgresql(
                url, conversations=options.conversations, messages_each=options.messages_each
            )
        async with db.session() as session:
            counts = (
                await (await session.connection()).execute(
                    text(
                        'SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages), '
                        '(SELECT count(*) FROM assignment_events)'
                    )
                )
            ).one()
        print(f'seeded {counts[0]:,} conversations, {counts[1]:,} messages, {counts[2]:,} events in {seeded:.1f} s')
        if options.plans:
            await show_plans(db, url)
        load_before = load_average()
        results, sweep_s = await measure(db, options.runs, options.cold_runs)
    finally:
        await db.dispose()
        if not options.keep and not options.reuse:
            await drop_database(options.postgres, DATABASE)
    return {
        'seed_s': round(seeded, 1),
        'conversations': counts[0],
        'messages': counts[1],
        'events': counts[2],
        'sweep_all_s': round(sweep_s, 2),
        'loadavg_before': load_before,
        'results': results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--postgres', default=DEFAULT_POSTGRES)
    parser.add_argument('--conversations', type=int, default=100_000)
    parser.add_argument('--messages-each', type=int, default=10)
    parser.add_argument('--runs', type=int, default=40)
    parser.add_argument('--cold-runs', type=int, default=5, help='cold calls (each rewrites a range of figures)')
    parser.add_argument('--plans', action='store_true', help='print EXPLAIN ANALYZE of the 31-day queries')
    parser.add_argument('--keep', action='store_true', help='keep the database (to EXPLAIN by hand, or --reuse)')
    parser.add_argument('--reuse', action='store_true', help='measure the database a --keep run left, unseeded')
    options = parser.parse_args()
    outcome = asyncio.run(run(options))
    results = outcome.pop('results')
    for role, groups in results.items():
        for name, figures in groups.items():
            verdict = 'ok' if (figures['p95_ms'] or 0) < TARGETS_MS[name] else 'OVER TARGET'
            print(
                f'{role:8} {name:9} p50 {figures["p50_ms"]:7} ms  p95 {figures["p95_ms"]:7} ms  '
                f'cpu p50 {figures["cpu_p50_ms"]:7} ms  (target p95 < {TARGETS_MS[name]:.0f} ms: {verdict})'
            )
    print(
        json.dumps(
            {
                'bench': 'dashboard',
                'database': 'postgresql',
                **outcome,
                **{f'{role}_{name}': figures for role, groups in results.items() for name, figures in groups.items()},
                'targets_p95_ms': TARGETS_MS,
                'loadavg_after': load_average(),
                'cpus': os.cpu_count(),
            },
            separators=(',', ':'),
        )
    )


if __name__ == '__main__':
    main()
