"""Inbox search benchmark (SPEC C1): the conversation list filtered by a search term, on PostgreSQL.

Builds a throwaway database with 100,000 contacts/conversations and 1,000,000 messages (INSERT … SELECT
generate_series, deterministic with setseed), migrated to 0002 first and then to head so the search
migration's index build on a populated database is measured too. Then, for each term, the inbox query
(Conversation ⋈ Contact ⋈ Branch ⟕ assignee, filtered by `conversation_matches`, ORDER BY
last_message_at DESC LIMIT 50, the shape of `services.inbox.conversations.list_conversations`) runs `--runs`
times through the app's own async engine (asyncpg, prepared statements, as in production):

- rare: a word in 10 of the 1,000,000 messages;
- common: 'freno', in about 13% of the messages;
- rare_words: three words, one of them too short for the trigram index ('garrett de turbo');
- every_message: 'para', in every message (the worst case);
- name: an accent-less surname fragment ('nunez' for Núñez);
- phone: the last 6 digits of a number;
- rare in one branch's open conversations (the agents' usual view).

Run: `.venv/bin/python bench/inbox_search.py` (needs PostgreSQL on 127.0.0.1:5432). The database
`leadmaster_search_bench` is dropped at the end, also on failure.
Ends with one JSON line: {"bench": "inbox_search", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import aliased
from sqlmodel import col, select

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from alembic import command  # noqa: E402

from app.database import alembic_config, upgrade_to_head  # noqa: E402
from services.database import Database  # noqa: E402
from services.inbox.search import conversation_matches, normalize_term  # noqa: E402
from services.models import Branch, Contact, Conversation, User  # noqa: E402

DEFAULT_SERVER = 'postgresql+asyncpg://postgres@127.0.0.1:5432/postgres'
DATABASE = 'leadmaster_search_bench'
RARE_WORD = 'turbocompresor'

# Auto-parts chat in Argentine Spanish, with the accents customers do (and do not) type.
GREETINGS = ['Hola', 'Buen día', 'Buenas tardes', 'Buenas', 'Consulta', 'Gracias', 'Perfecto', 'Dale']
PRODUCTS = [
    'pastillas de freno',
    'discos de freno',
    'filtro de aceite',
    'amortiguadores delanteros',
    'kit de distribución',
    'bomba de agua',
    'cámara de estacionamiento',
    'batería 12V 65Ah',
    'correa poly-v',
    'bujías',
    'embrague completo',
    'radiador',
    'espejo retrovisor',
    'óptica delantera',
    'paragolpes trasero',
]
CARS = [
    'Gol Trend',
    'Corsa',
    'Focus',
    'Hilux',
    'Ranger',
    'Cronos',
    'Onix',
    '208',
    'Clio',
    'Palio',
    'Sandero',
    'Etios',
    'Amarok',
    'Fiesta',
    'Kangoo',
    'Suran',
    'Ecosport',
    'Partner',
]
CLOSINGS = [
    '¿tienen stock?',
    '¿cuánto sale?',
    'precio?',
    '¿hacen envíos al interior?',
    'lo necesito para mañana',
    'pasame el precio con factura A',
    'te transfiero ahora',
    '¿me lo reservás?',
    'ok, paso a retirar',
    'gracias!!',
]
FIRST_NAMES = [
    'José',
    'María',
    'Juan',
    'Lucía',
    'Martín',
    'Sofía',
    'Nicolás',
    'Valentina',
    'Matías',
    'Camila',
    'Joaquín',
    'Agustina',
    'Tomás',
    'Florencia',
    'Sebastián',
    'Rocío',
]
LAST_NAMES = [
    'González',
    'Rodríguez',
    'Gómez',
    'Fernández',
    'López',
    'Díaz',
    'Martínez',
    'Pérez',
    'García',
    'Sánchez',
    'Romero',
    'Sosa',
    'Álvarez',
    'Torres',
    'Ruiz',
    'Núñez',
    'Benítez',
    'Acuña',
    'Medina',
    'Herrera',
    'Suárez',
    'Aguirre',
    'Giménez',
    'Gutiérrez',
    'Peña',
]


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername='postgresql').render_as_string(hide_password=False)


async def recreate_database(server_url: str, name: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def upgrade_to(db: Database, revision: str) -> None:
    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        command.upgrade(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)


def pick(values: list[str], index_sql: str) -> str:
    """SQL choosing one of `values` by the integer expression `index_sql` (literals are ours, not input)."""
    array = ', '.join("'" + value.replace("'", "''") + "'" for value in values)
    return f'(ARRAY[{array}])[1 + (({index_sql}) % {len(values)})]'


async def load(url: str, *, conversations: int, messages: int) -> dict[str, float]:
    """Fill the 0002 schema; returns seconds per step."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    timings: dict[str, float] = {}
    try:
        # Deterministic random(): the same data (and the same plans) on every run.
        await connection.execute('SELECT setseed(0.42)')
        started = time.perf_counter()
        await connection.execute("""
            INSERT INTO branches (code, name, city, address, takeover_timeout_seconds, assignment_rule, active,
                                  created_at)
            SELECT 'SUC' || b, 'Sucursal ' || b, 'Ciudad', '', 300, 'manual', true, now()
            FROM generate_series(1, 3) AS b""")
        await connection.execute("""
            INSERT INTO whatsapp_numbers (branch_id, channel, phone_number_id, display_phone, label,
                                          sending_enabled, active, created_at)
            SELECT b, 'simulator', 'bench-pn-' || b, '+54911500000' || b, '', true, true, now()
            FROM generate_series(1, 3) AS b""")
        first = pick(FIRST_NAMES, 'i * 7')
        last = pick(LAST_NAMES, 'i * 13 + i / 97')
        await connection.execute(f"""
            INSERT INTO contacts (phone_e164, wa_id, profile_name, display_name, email, notes, created_at, updated_at)
            SELECT '+54911' || (10000000 + i * 37), '54911' || (10000000 + i * 37),
                   {first} || ' ' || {last},
                   CASE WHEN i % 5 = 0 THEN {last} || ' (taller)' ELSE '' END,
                   '', '', now(), now()
            FROM generate_series(1, {conversations}) AS i""")
        # Most conversations are closed; activity spread over the last 90 days.
        await connection.execute(f"""
            INSERT INTO conversations (contact_id, number_id, branch_id, status, mode, last_message_at,
                                       last_message_preview, unread_count, created_at, updated_at)
            SELECT i, 1 + i % 3, 1 + i % 3, CASE WHEN i % 10 < 3 THEN 'open' ELSE 'closed' END, 'ai',
                   now() - random() * interval '90 days', '', 0, now(), now()
            FROM generate_series(1, {conversations}) AS i""")
        timings['load_contacts_conversations_s'] = time.perf_counter() - started
        started = time.perf_counter()
        greeting, product = pick(GREETINGS, '(random() * 1000)::int'), pick(PRODUCTS, '(random() * 1000)::int')
        car, closing = pick(CARS, '(random() * 1000)::int'), pick(CLOSINGS, '(random() * 1000)::int')
        # About 10 rare messages, in different conversations (a period that is not a multiple of theirs).
        rare_every = messages // 10 - 9
        await connection.execute(f"""
            INSERT INTO messages (conversation_id, direction, sender_kind, type, text, payload, status,
                                  error_title, error_details, sent_at, created_at, priority, attempts)
            SELECT 1 + g % {conversations}, CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END,
                   CASE WHEN g % 2 = 0 THEN 'customer' ELSE 'agent' END, 'text',
                   {greeting} || ', ' || {product} || ' para ' || {car} || ' ' || {closing}
                       || CASE WHEN random() < 0.3 THEN ' código ' || (random() * 1000000)::int ELSE '' END
                       || CASE WHEN g % {rare_every} = 7 THEN ' {RARE_WORD} Garrett' ELSE '' END,
                   '{{}}', 'received', '', '', now() - random() * interval '90 days', now(), 'agent', 0
            FROM generate_series(1, {messages}) AS g""")
        timings['load_messages_s'] = time.perf_counter() - started
    finally:
        await connection.close()
    return timings


def inbox_query(term: str, *, branch_id: int | None = None, open_only: bool = False) -> Any:
    """The conversation list as `services.inbox.conversations.list_conversations` builds it, plus the search."""
    assignee = aliased(User)
    query = (
        select(Conversation, Contact, Branch.code, assignee.full_name)
        .join(Contact, col(Contact.id) == col(Conversation.contact_id))
        .join(Branch, col(Branch.id) == col(Conversation.branch_id))
        .join(assignee, col(assignee.id) == col(Conversation.assigned_user_id), isouter=True)
        .where(conversation_matches('postgresql', normalize_term(term)))
    )
    if branch_id is not None:
        query = query.where(Conversation.branch_id == branch_id)
    if open_only:
        query = query.where(Conversation.status == 'open')
    return query.order_by(col(Conversation.last_message_at).desc().nulls_last(), col(Conversation.id).desc()).limit(50)


async def measure(db: Database, query: Any, runs: int) -> dict[str, Any]:
    timings = []
    rows = 0
    for _ in range(2):  # warm the cache and asyncpg's prepared-statement cache
        async with db.session() as session:
            await session.exec(query)
    for _ in range(runs):
        async with db.session() as session:
            started = time.perf_counter()
            rows = len((await session.exec(query)).all())
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        'rows': rows,
        'p50_ms': round(statistics.median(timings), 2),
        'p95_ms': round(timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))], 2),
        'max_ms': round(timings[-1], 2),
    }


async def explain(db: Database, query: Any) -> str:
    compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={'literal_binds': True})
    async with db.engine.connect() as connection:
        plan = (await connection.execute(text(f'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {compiled}'))).scalars()
        return '\n'.join(plan)


async def run(server_url: str, *, conversations: int, messages: int, runs: int, show_plans: bool) -> dict[str, Any]:
    url = await recreate_database(server_url, DATABASE)
    db = Database.from_url(url)
    try:
        await upgrade_to(db, '0002')
        result: dict[str, Any] = await load(url, conversations=conversations, messages=messages)
        started = time.perf_counter()
        await upgrade_to_head(db)  # builds the search indexes over the loaded rows
        result['migrate_search_indexes_s'] = time.perf_counter() - started
        async with db.engine.begin() as connection:
            await connection.execute(text('ANALYZE'))
            sizes = (
                await connection.execute(
                    text(
                        "SELECT pg_relation_size('ix_search_messages_text'), pg_relation_size('messages'), "
                        "pg_relation_size('ix_search_contacts')"
                    )
                )
            ).one()
        result.update(
            index_messages_mb=round(sizes[0] / 2**20, 1),
            table_messages_mb=round(sizes[1] / 2**20, 1),
            index_contacts_mb=round(sizes[2] / 2**20, 1),
        )
        cases = {
            'rare': inbox_query(RARE_WORD),
            'common': inbox_query('freno'),
            'rare_words': inbox_query('garrett de turbo'),
            'every_message': inbox_query('para'),
            'name': inbox_query('nunez'),
            'phone': inbox_query(phone_fragment(conversations)),
            'rare_branch_open': inbox_query(RARE_WORD, branch_id=1, open_only=True),
        }
        for name, query in cases.items():
            result[name] = await measure(db, query, runs)
            if show_plans:
                print(f'--- {name}\n{await explain(db, query)}', file=sys.stderr)
        for key, value in result.items():
            if isinstance(value, float):
                result[key] = round(value, 2)
        return result
    finally:
        await db.dispose()
        await drop_database(server_url, DATABASE)


def phone_fragment(conversations: int) -> str:
    # The last 6 digits of a phone the loader made (contact i has +54911 and 10000000 + 37 i).
    return str(10000000 + 37 * (conversations // 2))[-6:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--server', default=DEFAULT_SERVER, help='SQLAlchemy URL of the PostgreSQL server')
    parser.add_argument('--conversations', type=int, default=100_000)
    parser.add_argument('--messages', type=int, default=1_000_000)
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--plans', action='store_true', help='print EXPLAIN ANALYZE of each query to stderr')
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.server, conversations=args.conversations, messages=args.messages, runs=args.runs, show_plans=args.plans
        )
    )
    print(
        json.dumps(
            {
                'bench': 'inbox_search',
                'conversations': args.conversations,
                'messages': args.messages,
                'runs': args.runs,
                **result,
            }
        )
    )


if __name__ == '__main__':
    main()
