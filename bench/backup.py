"""Backup and restore benchmark (issue 21): time and size of `leadmaster backup` / `leadmaster restore` on PostgreSQL.

Builds a throwaway database with `--conversations` contacts/conversations and `--messages` messages (the loader of
bench/inbox_search.py: INSERT … SELECT generate_series into the 0002 schema, then migrated to head so every index
exists), plus `--media-files` incompressible files of `--media-kb` KB in a media folder (photos do not compress).
Then, through the same service functions the commands call:

- backup: pg_dump (custom format) of one snapshot + per-table counts + media + manifest into one .tar;
- restore: into a second, empty database (pg_restore in one transaction), media into an empty folder, counts checked.

Run: `.venv/bin/python bench/backup.py` (needs PostgreSQL on 127.0.0.1:5432 and pg_dump/pg_restore of the server's
major version); `--conversations 10000 --messages 100000` for a quick run; `--sqlite` for the same on SQLite (the
online backup API; the dataset is inserted in batches, through the search index's triggers, so loading is slower).
Both PostgreSQL databases are dropped at the end, also on failure. Ends with one JSON line: {"bench": "backup", ...}.
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

import asyncpg
from sqlalchemy import create_engine, insert
from sqlmodel import SQLModel

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for path in (str(REPO_ROOT), str(BENCH_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

import inbox_search  # noqa: E402  (bench/inbox_search.py: the 100,000 / 1,000,000 dataset loader)
from _common import cpu_stall_microseconds, load_average  # noqa: E402

from app.commands.backups import current_schema  # noqa: E402
from app.database import upgrade_to_head  # noqa: E402
from services.backups import create_backup, restore_backup  # noqa: E402
from services.database import Database  # noqa: E402
from services.models import Message  # noqa: E402, F401  - registers every table on SQLModel.metadata

DEFAULT_SERVER = 'postgresql+asyncpg://postgres@127.0.0.1:5432/postgres'
SOURCE = 'leadmaster_backup_bench'
TARGET = 'leadmaster_restore_bench'


async def database_mb(url: str) -> float:
    connection = await asyncpg.connect(inbox_search.asyncpg_dsn(url))
    try:
        return round(await connection.fetchval('SELECT pg_database_size(current_database())') / 1e6, 1)
    finally:
        await connection.close()


async def build_dataset(url: str, *, conversations: int, messages: int) -> dict[str, float]:
    db = Database.from_url(url)
    try:
        await inbox_search.upgrade_to(db, '0002')
        timings = await inbox_search.load(url, conversations=conversations, messages=messages)
        started = time.perf_counter()
        await upgrade_to_head(db)
        timings['migrate_to_head_s'] = time.perf_counter() - started
    finally:
        await db.dispose()
    return {key: round(value, 1) for key, value in timings.items()}


def write_media(folder: Path, *, files: int, kb: int) -> None:
    for n in range(files):
        content = os.urandom(kb * 1024)
        digest = f'{n:064x}'
        path = folder / digest[:2] / digest[2:4] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def load_sqlite(path: Path, *, conversations: int, messages: int) -> dict[str, float]:
    """The same shape on SQLite (migrated to head first, so the search index is fed as ingest feeds it), through
    SQLAlchemy Core in batches: SQLite has no generate_series to build it in one statement."""
    engine = create_engine(f'sqlite:///{path}')
    tables = SQLModel.metadata.tables
    started = time.perf_counter()
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(tables['branches']), [{'code': f'SUC{b}', 'name': f'Sucursal {b}'} for b in (1, 2, 3)]
            )
            connection.execute(
                insert(tables['whatsapp_numbers']),
                [
                    {
                        'branch_id': b,
                        'channel': 'simulator',
                        'phone_number_id': f'bench-pn-{b}',
                        'display_phone': f'+5491150000{b}',
                    }
                    for b in (1, 2, 3)
                ],
            )
            connection.execute(
                insert(tables['contacts']),
                [
                    {'phone_e164': f'+54911{10000000 + i * 37}', 'profile_name': f'Cliente {i}'}
                    for i in range(1, conversations + 1)
                ],
            )
            connection.execute(
                insert(tables['conversations']),
                [
                    {'contact_id': i, 'number_id': 1 + i % 3, 'branch_id': 1 + i % 3}
                    for i in range(1, conversations + 1)
                ],
            )
        timings = {'load_contacts_conversations_s': time.perf_counter() - started}
        started = time.perf_counter()
        texts = [
            f'{g}, {p} para {c}'
            for g in inbox_search.GREETINGS
            for p in inbox_search.PRODUCTS
            for c in inbox_search.CARS
        ]
        batch = 20_000
        for first in range(0, messages, batch):
            with engine.begin() as connection:
                connection.execute(
                    insert(tables['messages']),
                    [
                        {
                            'conversation_id': 1 + g % conversations,
                            'direction': 'in' if g % 2 == 0 else 'out',
                            'sender_kind': 'customer' if g % 2 == 0 else 'agent',
                            'text': texts[g % len(texts)],
                            'payload': {},
                        }
                        for g in range(first, min(first + batch, messages))
                    ],
                )
        timings['load_messages_s'] = time.perf_counter() - started
    finally:
        engine.dispose()
    return {key: round(value, 1) for key, value in timings.items()}


async def prepare(args: argparse.Namespace, work: Path) -> tuple[str, str, dict[str, float], float]:
    """The source database with the dataset, an empty target, the load timings and the source's size in MB."""
    if args.sqlite:
        source_path = work / 'source.sqlite3'
        source, target = f'sqlite+aiosqlite:///{source_path}', f'sqlite+aiosqlite:///{work / "restored.sqlite3"}'
        db = Database.from_url(source)
        try:
            await upgrade_to_head(db)
        finally:
            await db.dispose()
        load = await asyncio.to_thread(
            load_sqlite, source_path, conversations=args.conversations, messages=args.messages
        )
        return source, target, load, round(source_path.stat().st_size / 1e6, 1)
    source = await inbox_search.recreate_database(args.server, SOURCE)
    target = await inbox_search.recreate_database(args.server, TARGET)
    load = await build_dataset(source, conversations=args.conversations, messages=args.messages)
    return source, target, load, await database_mb(source)


async def size_mb(url: str) -> float:
    if url.startswith('sqlite'):
        path = Path(url.removeprefix('sqlite+aiosqlite:///'))
        return round((await asyncio.to_thread(path.stat)).st_size / 1e6, 1)
    return await database_mb(url)


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    try:
        source, target, load, source_mb = await prepare(args, work)
        media = work / 'media'
        write_media(media, files=args.media_files, kb=args.media_kb)

        stall = cpu_stall_microseconds()
        backup = await create_backup(database_url=source, media_dir=media, destination=work / 'backups')
        backup_s = backup.seconds

        async def migrate() -> None:
            db = Database.from_url(target)
            try:
                await upgrade_to_head(db)
            finally:
                await db.dispose()

        restored = await restore_backup(
            backup.path,
            database_url=target,
            media_dir=work / 'restored-media',
            schema=current_schema(),
            migrate=migrate,
        )
        stall_s = (cpu_stall_microseconds() - stall) / 1e6
        return {
            'database_mb': source_mb,
            'dump_mb': round(backup.manifest['database']['bytes'] / 1e6, 1),
            'archive_mb': round(backup.size_bytes / 1e6, 1),
            'backup_s': round(backup_s, 1),
            'restore_s': round(restored.seconds, 1),
            'restored_database_mb': await size_mb(target),
            'counts_match': restored.counts == backup.manifest['counts'],
            'messages': restored.counts['messages'],
            'conversations': restored.counts['conversations'],
            'media_files': restored.media_restored,
            'tool': backup.manifest['database']['tool'],  # pg_dump's version, or SQLite's
            'load': load,
            'cpu_stall_s': round(stall_s, 1),
        }
    finally:
        if not args.sqlite:
            await inbox_search.drop_database(args.server, SOURCE)
            await inbox_search.drop_database(args.server, TARGET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--server', default=DEFAULT_SERVER, help='SQLAlchemy URL of the PostgreSQL server')
    parser.add_argument(
        '--sqlite', action='store_true', help='measure on SQLite (a file in a temporary folder) instead'
    )
    parser.add_argument('--conversations', type=int, default=100_000)
    parser.add_argument('--messages', type=int, default=1_000_000)
    parser.add_argument('--media-files', type=int, default=200)
    parser.add_argument('--media-kb', type=int, default=150, help='size of each media file (a WhatsApp photo: ~150 KB)')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='leadmaster-backup-bench-') as work:
        result = asyncio.run(run(args, Path(work)))
    print(
        json.dumps(
            {
                'bench': 'backup',
                'database': 'sqlite' if args.sqlite else 'postgresql',
                'dataset': {
                    'conversations': args.conversations,
                    'messages': args.messages,
                    'media_files': args.media_files,
                    'media_kb': args.media_kb,
                },
                'load_average': load_average(),
                **result,
            }
        )
    )


if __name__ == '__main__':
    main()
