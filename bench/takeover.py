"""Takeover benchmark (SPEC T3): concurrent take/release cycles on PostgreSQL, through the real service functions
(`services.takeover.take` / `release`: conditional UPDATE … RETURNING + history row + commit, events to a
null publisher).

50 agents of one branch share a handful of open conversations (few, so that agents really collide); each agent
runs its share of the cycles concurrently with the others: pick a conversation at random, try to take it; when
that wins, release it. A refused take ("ya la tomó …") also counts as an operation. 1,000 cycles in all, twice:

- paced: every agent acts at random moments (Poisson, `--rate` operations per second for all 50 together, by
  default 100/s, i.e. each agent every half second — far busier than a person, who takes a conversation every
  minute or so). Latency here is what an agent waits; the < 50 ms p95 target is checked on this run.
- burst: no pause at all, 50 operations always in flight: the most the process can do (operations/s); its
  latency is mostly queueing behind the other 49 (Little's law: in flight / throughput), reported, not judged.

Double assignments are checked twice: live (a take that succeeds while the benchmark's own record says another
agent holds that conversation), and afterwards in the database (each conversation's history must alternate
take → release, never two takes in a row, and every conversation ends unassigned).

For context on a shared machine, the same run measures the plain round trip of `SELECT 1` through the same
engine at the same concurrency (the floor under any database operation here).

Run: `.venv/bin/python bench/takeover.py` (PostgreSQL on 127.0.0.1:5432; `--server` to change). The database
`leadmaster_takeover_bench` is dropped at the end, also on failure.
Ends with one JSON line: {"bench": "takeover", ...}; exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from app.database import upgrade_to_head  # noqa: E402
from services.access import Viewer  # noqa: E402
from services.database import Database  # noqa: E402
from services.errors import ServiceError  # noqa: E402
from services.events import NullPublisher  # noqa: E402
from services.models import (  # noqa: E402
    AssignmentEvent,
    Branch,
    ChannelKind,
    Contact,
    Conversation,
    Role,
    User,
    WhatsAppNumber,
)
from services.takeover import AlreadyTaken, release, take  # noqa: E402

DEFAULT_SERVER = 'postgresql+asyncpg://postgres@127.0.0.1:5432/postgres'
DATABASE = 'leadmaster_takeover_bench'
TARGET_P95_MS = 50.0


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername='postgresql')
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def recreate(server: str, name: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(server))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def drop(server: str, name: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def populate(db: Database, *, agents: int, conversations: int) -> tuple[list[Viewer], list[int]]:
    async with db.session() as session:
        branch = Branch(code='BENCH', name='Benchmark')
        session.add(branch)
        await session.flush()
        number = WhatsAppNumber(
            branch_id=branch.id or 0,
            channel=ChannelKind.SIMULATOR,
            phone_number_id='pn-bench',
            display_phone='+5491150009999',
        )
        nobody_logs_in = '-'
        people = [
            User(
                username=f'agent{n:02d}',
                full_name=f'Vendedor {n:02d}',
                role=Role.AGENT,
                branch_id=branch.id,
                password_hash=nobody_logs_in,
            )
            for n in range(agents)
        ]
        session.add_all([number, *people])
        await session.flush()
        contacts = [Contact(phone_e164=f'+54911400{n:05d}', profile_name=f'Cliente {n}') for n in range(conversations)]
        session.add_all(contacts)
        await session.flush()
        chats = [
            Conversation(contact_id=contact.id or 0, number_id=number.id or 0, branch_id=branch.id or 0)
            for contact in contacts
        ]
        session.add_all(chats)
        await session.commit()
        viewers = [
            Viewer(
                user_id=person.id,
                username=person.username,
                full_name=person.full_name,
                role=Role.AGENT,
                branch_id=branch.id,
                branch_ids=frozenset({branch.id or 0}),
            )
            for person in people
        ]
        return viewers, [chat.id or 0 for chat in chats]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


class Run:
    def __init__(self) -> None:
        self.take_ms: list[float] = []
        self.refused_ms: list[float] = []
        self.release_ms: list[float] = []
        self.holders: dict[int, int] = {}
        self.double_assignments = 0
        self.errors: list[str] = []


async def agent_cycles(
    db: Database, viewer: Viewer, *, chats: list[int], cycles: int, run: Run, rng: random.Random, rate: float | None
) -> None:
    """`rate`: this agent's operations per second (Poisson arrivals); None = no pause between operations."""
    publisher = NullPublisher()

    async def pause() -> None:
        await asyncio.sleep(rng.expovariate(rate) if rate else 0)

    for _ in range(cycles):
        conversation_id = rng.choice(chats)
        await pause()
        started = time.perf_counter()
        try:
            await take(db, viewer=viewer, conversation_id=conversation_id, publisher=publisher)
        except AlreadyTaken:
            run.refused_ms.append((time.perf_counter() - started) * 1000)
            continue
        except ServiceError as error:
            run.errors.append(repr(error))
            continue
        run.take_ms.append((time.perf_counter() - started) * 1000)
        if conversation_id in run.holders:
            run.double_assignments += 1
        run.holders[conversation_id] = viewer.user_id or 0
        await pause()  # hold it for a moment, so others collide with a held conversation
        del run.holders[conversation_id]  # before the release commits: another take may win right after
        started = time.perf_counter()
        await release(db, viewer=viewer, conversation_id=conversation_id, publisher=publisher)
        run.release_ms.append((time.perf_counter() - started) * 1000)


async def history_doubles(db: Database) -> tuple[int, int]:
    """(conversations whose history has two takes without a release between, conversations still held)."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(AssignmentEvent.conversation_id, AssignmentEvent.action).order_by(
                    col(AssignmentEvent.conversation_id), col(AssignmentEvent.id)
                )
            )
        ).all()
        still_held = (
            await session.exec(select(Conversation.id).where(col(Conversation.assigned_user_id).is_not(None)))
        ).all()
    doubles: set[int] = set()
    previous: dict[int, str] = {}
    for conversation_id, action in rows:
        if action == 'take' and previous.get(conversation_id) == 'take':
            doubles.add(conversation_id)
        previous[conversation_id] = action
    return len(doubles), len(still_held)


async def round_trips(db: Database, *, concurrency: int, count: int) -> list[float]:
    samples: list[float] = []

    async def worker(times: int) -> None:
        for _ in range(times):
            started = time.perf_counter()
            async with db.engine.connect() as connection:  # what take/release start from: a pooled connection
                await connection.execute(text('SELECT 1'))
            samples.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))
    return samples


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--server', default=DEFAULT_SERVER)
    parser.add_argument('--cycles', type=int, default=1000)
    parser.add_argument('--agents', type=int, default=50)
    parser.add_argument('--conversations', type=int, default=20)
    parser.add_argument('--seed', type=int, default=5)
    parser.add_argument('--rate', type=float, default=100.0, help='paced run: operations/s of all agents together')
    options = parser.parse_args()

    url = await recreate(options.server, DATABASE)
    # The app's own engine settings; a pool as large as the number of agents so none waits for a connection
    # (the app's default pool, 10 + 20 overflow, serves 30 at once).
    db = Database.from_url(url, pool_size=options.agents, max_overflow=0)
    try:
        await upgrade_to_head(db)
        viewers, chats = await populate(db, agents=options.agents, conversations=options.conversations)
        await round_trips(db, concurrency=options.agents, count=options.agents * 4)  # warm the pool
        floor = await round_trips(db, concurrency=options.agents, count=options.cycles)

        runs: dict[str, tuple[Run, float]] = {}
        for mode, rate in (('paced', options.rate / options.agents), ('burst', None)):
            run = Run()
            rng = random.Random(options.seed)
            share, extra = divmod(options.cycles, options.agents)
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    agent_cycles(
                        db,
                        viewer,
                        chats=chats,
                        cycles=share + (index < extra),
                        run=run,
                        rng=random.Random(rng.random()),
                        rate=rate,
                    )
                    for index, viewer in enumerate(viewers)
                )
            )
            runs[mode] = (run, time.perf_counter() - started)
        history_double, still_held = await history_doubles(db)
    finally:
        await db.dispose()
        await drop(options.server, DATABASE)

    result: dict[str, Any] = {  # the JSON report
        'bench': 'takeover',
        'database': 'postgresql',
        'cycles': options.cycles,
        'agents': options.agents,
        'conversations': options.conversations,
        'paced_rate_ops_per_s': options.rate,
    }
    for mode, (run, elapsed) in runs.items():
        summary = summarise(run, elapsed)
        result.update({f'{mode}_{key}': value for key, value in summary.items()})
        print(
            f'{mode}: {options.cycles} cycles by {options.agents} agents over {options.conversations} conversations '
            f'in {elapsed:.2f} s: {summary["ops_per_s"]} ops/s; takes won {summary["takes_won"]}, refused '
            f'{summary["takes_refused"]}, releases {summary["releases"]}'
        )
        print(
            f'  latency p50 {summary["p50_ms"]} ms, p95 {summary["p95_ms"]} ms, p99 {summary["p99_ms"]} ms '
            f'(take {summary["take_p95_ms"]}, refused {summary["refused_p95_ms"]}, release '
            f'{summary["release_p95_ms"]}); live double assignments {run.double_assignments}, errors '
            f'{len(run.errors)}' + (f' (first: {run.errors[0]})' if run.errors else '')
        )
    doubles = sum(run.double_assignments for run, _ in runs.values()) + history_double
    errors = sum(len(run.errors) for run, _ in runs.values())
    result.update(
        {
            'select1_p95_ms': round(percentile(floor, 0.95), 2),
            'double_assignments': doubles,
            'conversations_left_held': still_held,
            'errors': errors,
            'target_p95_ms': TARGET_P95_MS,
            'ok': (float(result['paced_p95_ms']) < TARGET_P95_MS and doubles == 0 and still_held == 0 and errors == 0),
        }
    )
    print(f'SELECT 1 through the same engine at {options.agents} in flight: p95 {result["select1_p95_ms"]} ms')
    print(f'double assignments (live + history): {doubles}; conversations left held: {still_held}')
    print(json.dumps(result))
    return 0 if result['ok'] else 1


def summarise(run: Run, elapsed: float) -> dict[str, float | int | None]:
    operations = run.take_ms + run.refused_ms + run.release_ms

    def p95(values: list[float]) -> float | None:
        return round(percentile(values, 0.95), 2) if values else None

    return {
        'operations': len(operations),
        'takes_won': len(run.take_ms),
        'takes_refused': len(run.refused_ms),
        'releases': len(run.release_ms),
        'elapsed_s': round(elapsed, 3),
        'ops_per_s': round(len(operations) / elapsed, 1),
        'p50_ms': round(percentile(operations, 0.50), 2),
        'p95_ms': p95(operations),
        'p99_ms': round(percentile(operations, 0.99), 2),
        'take_p95_ms': p95(run.take_ms),
        'refused_p95_ms': p95(run.refused_ms),
        'release_p95_ms': p95(run.release_ms),
    }


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))
