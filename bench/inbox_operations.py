"""Server time of the agent console's two everyday operations (issue 4) with 100,000 conversations and
1,000,000 messages in PostgreSQL: opening a conversation and sending a reply. Target: p95 < 100 ms each.

The dataset is bench/inbox_search.py's (imported, not copied): 3 branches, 100,000 contacts/conversations
(30 % open, activity spread over 90 days) and 1,000,000 messages, INSERT … SELECT generate_series with a fixed
seed, loaded at migration 0002 and then migrated to head. That gives every conversation about 10 messages, so
`--sample` (200) open conversations of branch SUC1 get 50 more each (a thread that fills the page and has
older messages to page to) and a customer message within the last hours (inside the 24 h window, M4).

Measured through the app's own services and async engine (asyncpg, prepared statements), as an agent of
SUC1, `--runs` times each, every run on another of the sample conversations:

- open: what `InboxPage.open` and the list need from the database — `services.inbox.console.conversation_detail`,
  `services.inbox.console.thread` (50 + 1 to know whether older ones exist) and the conversation list query
  (`services.inbox.conversations.list_conversations`, the default filters: open, all, 50 + 1 rows);
- open_page: open plus the rest of the page handler's queries (canned responses, mark as read);
- reply: `services.whatsapp.outbox.queue_text` (the queued row and the conversation's preview, committed),
  publishing to an in-process event bus with no page subscribed (pages' own reaction is live_latency's).

Run: `.venv/bin/python bench/inbox_operations.py [--runs 200] [--plans]` (needs PostgreSQL on 127.0.0.1:5432).
The list reads the first rows of `ix_conversations_inbox_order` (migration 0009), in its exact order.
The database `leadmaster_ops_bench` is dropped at the end, also on failure.
Ends with one JSON line: {"bench": "inbox_operations", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import inbox_search  # bench/inbox_search.py: the 100,000 / 1,000,000 dataset
from _common import load_average, percentile, rounded, summary
from sqlalchemy import text

from app.database import upgrade_to_head
from app.event_bus import InProcessEventBus
from services.access import Viewer
from services.database import Database
from services.inbox import console, conversations
from services.models import Role, User
from services.whatsapp import outbox

DATABASE = 'leadmaster_ops_bench'
TARGET_P95_MS = 100.0
THREAD_LENGTH = 50
# The SQL of services.inbox.conversations.list_conversations for an agent of branch 1, default filters.
LIST_SQL = """SELECT c.*, ct.*, b.code, u.full_name FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
              JOIN branches b ON b.id = c.branch_id LEFT JOIN users u ON u.id = c.assigned_user_id
              WHERE c.branch_id IN (1) AND c.status = 'open'
              ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT 51"""


def sample_ids(conversations_total: int, count: int) -> list[int]:
    """Open conversations of branch 1 in the loader's layout (branch 1 + i % 3, open when i % 10 < 3),
    spread over the whole id range."""
    candidates = range(30, conversations_total + 1, 30)  # i % 3 == 0 → branch 1; i % 10 == 0 → open
    step = max(1, len(candidates) // count)
    return list(candidates[::step][:count])


async def lengthen_threads(url: str, ids: list[int]) -> None:
    """50 more messages in each sample conversation, newer than the loader's, alternating customer/agent."""
    connection = await asyncpg.connect(inbox_search.asyncpg_dsn(url))
    try:
        await connection.execute(
            """
            INSERT INTO messages (conversation_id, direction, sender_kind, type, text, payload, status,
                                  error_title, error_details, sent_at, created_at, priority, attempts)
            SELECT c, CASE WHEN n % 2 = 0 THEN 'in' ELSE 'out' END,
                   CASE WHEN n % 2 = 0 THEN 'customer' ELSE 'agent' END, 'text',
                   'Mensaje ' || n || ' del hilo: ¿tienen pastillas de freno para Gol Trend?', '{}',
                   CASE WHEN n % 2 = 0 THEN 'received' ELSE 'read' END, '', '',
                   now() - (60 - n) * interval '1 minute', now(), 'agent', 0
            FROM unnest($1::int[]) AS c, generate_series(1, $2) AS n""",
            ids,
            THREAD_LENGTH,
        )
    finally:
        await connection.close()


async def prepare_samples(db: Database, ids: list[int]) -> Viewer:
    """The sample conversations inside the 24 h window with a preview, and an agent of branch 1."""
    async with db.session() as session:
        # Plain SQL runs on the session's connection (in its transaction): `session.exec` is typed for ORM statements.
        await (await session.connection()).execute(
            text("""
            UPDATE conversations SET last_inbound_at = now() - interval '10 minutes',
                   last_message_at = now() - interval '1 minute', unread_count = 1,
                   last_message_preview = 'Mensaje 50 del hilo'
            WHERE id = ANY(:ids)""").bindparams(ids=ids)
        )
        agent = User(
            username='opsagent', full_name='Agente Operaciones', role=Role.AGENT, branch_id=1, password_hash='-'
        )
        session.add(agent)
        await session.commit()
        await session.refresh(agent)
    async with db.engine.begin() as connection:
        await connection.execute(text('ANALYZE'))
    return Viewer(
        user_id=agent.id,
        username=agent.username,
        full_name=agent.full_name,
        role=Role.AGENT,
        branch_id=1,
        branch_ids=frozenset({1}),
    )


async def timed(
    runs: int, ids: list[int], operation: Callable[[int, int], Awaitable[None]], warm: int = 10
) -> dict[str, float | None]:
    """Wall-clock summary, plus this process's CPU per run (Python: services, SQLAlchemy, asyncpg): the
    rest of the wall time is PostgreSQL and waiting for a CPU on the shared machine."""
    for run in range(warm):  # pools, asyncpg's prepared statements, PostgreSQL's caches
        await operation(ids[run % len(ids)], -1 - run)
    timings, cpu = [], []
    for run in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        await operation(ids[run % len(ids)], run)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return {**summary(timings), 'python_cpu_p50_ms': rounded(percentile(cpu, 50))}


async def measure(db: Database, viewer: Viewer, ids: list[int], runs: int) -> dict[str, Any]:
    bus = InProcessEventBus()
    parts: dict[str, list[float]] = {'detail': [], 'thread': [], 'list': []}

    async def open_conversation(conversation_id: int, run: int) -> None:
        moments = [time.perf_counter()]
        await console.conversation_detail(db, viewer=viewer, conversation_id=conversation_id)
        moments.append(time.perf_counter())
        messages = await console.thread(db, viewer=viewer, conversation_id=conversation_id, limit=THREAD_LENGTH + 1)
        moments.append(time.perf_counter())
        rows = await conversations.list_conversations(db, viewer=viewer, limit=THREAD_LENGTH + 1)
        moments.append(time.perf_counter())
        if len(messages) != THREAD_LENGTH + 1 or len(rows) != THREAD_LENGTH + 1:
            raise SystemExit(f'conversation {conversation_id}: {len(messages)} messages, {len(rows)} rows')
        if run >= 0:
            for name, start, end in zip(parts, moments, moments[1:], strict=False):
                parts[name].append((end - start) * 1000)

    async def open_page(conversation_id: int, run: int) -> None:
        await open_conversation(conversation_id, -1)
        await console.canned_responses(db, viewer=viewer, branch_id=1)
        await console.mark_read(db, viewer=viewer, conversation_id=conversation_id, publisher=bus)

    async def reply(conversation_id: int, run: int) -> None:
        await outbox.queue_text(
            db, conversation_id=conversation_id, text=f'Sí, tenemos. Respuesta {run}', publisher=bus, viewer=viewer
        )

    results: dict[str, Any] = {'open': await timed(runs, ids, open_conversation)}
    results['open_parts'] = {name: summary(values) for name, values in parts.items()}
    results['open_page'] = await timed(runs, ids, open_page)
    results['reply'] = await timed(runs, ids, reply)
    return results


async def explain(db: Database, viewer: Viewer, conversation_id: int) -> None:
    """EXPLAIN ANALYZE of the list and thread queries, to stderr."""
    async with db.engine.connect() as connection:
        for name, sql in {
            'list': LIST_SQL,
            'thread': f"""SELECT m.id FROM messages m LEFT JOIN users u ON u.id = m.sent_by_user_id
                          LEFT JOIN media md ON md.id = m.media_id WHERE m.conversation_id = {conversation_id}
                          ORDER BY m.sent_at DESC, m.id DESC LIMIT 51""",
        }.items():
            plan = (await connection.execute(text(f'EXPLAIN (ANALYZE, COSTS OFF) {sql}'))).scalars()
            print(f'--- {name}\n' + '\n'.join(plan), file=sys.stderr)


async def list_sql_ms(db: Database, runs: int = 20) -> float | None:
    """Median PostgreSQL execution time of the list query alone (EXPLAIN ANALYZE), without any Python."""
    times = []
    async with db.engine.connect() as connection:
        for _ in range(runs):
            plan = (await connection.execute(text(f'EXPLAIN (ANALYZE, FORMAT JSON) {LIST_SQL}'))).scalar_one()
            times.append(plan[0]['Execution Time'])
    return rounded(percentile(times, 50), 2)


async def run(options: argparse.Namespace) -> dict[str, Any]:
    url = await inbox_search.recreate_database(options.server, DATABASE)
    db = Database.from_url(url)
    try:
        started = time.perf_counter()
        await inbox_search.upgrade_to(db, '0002')
        await inbox_search.load(url, conversations=options.conversations, messages=options.messages)
        ids = sample_ids(options.conversations, options.sample)
        await lengthen_threads(url, ids)
        await upgrade_to_head(db)
        viewer = await prepare_samples(db, ids)
        print(
            f'dataset: {options.conversations:,} conversations, {options.messages + len(ids) * THREAD_LENGTH:,} '
            f'messages, built in {time.perf_counter() - started:.0f} s; load average {load_average()}'
        )
        if options.plans:
            await explain(db, viewer, ids[0])
        result_sql = await list_sql_ms(db)
        result = await measure(db, viewer, ids, options.runs)
        result['list_sql_execution_ms'] = result_sql
        result['load_average'] = load_average()
        return result
    finally:
        await db.dispose()
        await inbox_search.drop_database(options.server, DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--server', default=inbox_search.DEFAULT_SERVER, help='SQLAlchemy URL of the PostgreSQL server')
    parser.add_argument('--conversations', type=int, default=100_000)
    parser.add_argument('--messages', type=int, default=1_000_000)
    parser.add_argument('--sample', type=int, default=200, help='conversations opened and answered in turn')
    parser.add_argument('--runs', type=int, default=200)
    parser.add_argument('--plans', action='store_true', help='print EXPLAIN ANALYZE of the list and thread queries')
    options = parser.parse_args()
    result = asyncio.run(run(options))
    for name in ('open', 'open_page', 'reply'):
        figures = result[name]
        print(
            f'{name}: p50 {figures["p50_ms"]} ms, p95 {figures["p95_ms"]} ms, max {figures["max_ms"]} ms '
            f'(Python CPU p50 {figures["python_cpu_p50_ms"]} ms; target p95 < {TARGET_P95_MS:.0f} ms)'
        )
    print(f'list query alone in PostgreSQL (EXPLAIN ANALYZE): {result["list_sql_execution_ms"]} ms')
    print(
        'open, by part (p95): '
        + ', '.join(f'{name} {figures["p95_ms"]} ms' for name, figures in result['open_parts'].items())
    )
    met = all(result[name]['p95_ms'] < TARGET_P95_MS for name in ('open', 'reply'))
    print(
        json.dumps(
            {
                'bench': 'inbox_operations',
                'database': 'postgresql',
                'conversations': options.conversations,
                'messages': options.messages + options.sample * THREAD_LENGTH,
                'runs': options.runs,
                'target_p95_ms': TARGET_P95_MS,
                'target_met': met,
                **result,
            }
        )
    )


if __name__ == '__main__':
    main()
