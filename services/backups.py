"""Backups and restores (SPEC O5, issue 21; how to run them: docs/operations.md § Backups).

A backup is one uncompressed `.tar` file, written under a temporary name and renamed when complete:

- `database.pgdump` (PostgreSQL: `pg_dump` custom format, compressed by pg_dump) or `database.sqlite3.gz`
  (SQLite: a copy made by SQLite's online backup API, gzipped) — never a file copy of a live database;
- `media/…`: every file of `var/media/` (content-addressed, so a restore can merge them into a folder that has some);
- `media.sha256`: one `sha256sum` line per media file (`sha256sum -c` checks an extracted archive by hand);
- `manifest.json` (last): when, which database, the schema revision, the row count of every table, and the size and
  SHA-256 of the database member and of the media index.

The database is read in one snapshot: on PostgreSQL the counts are taken in the transaction whose snapshot pg_dump
imports (`--snapshot`), on SQLite from the copy. Media are copied after the snapshot, so a backup may hold a file no
row of it points at yet (harmless), and a file retention deleted during the backup may be missing (its message was
anonymized a moment later anyway).

Secrets are not in a backup: `var/secret_key`, the generated keys in `var/` and `var/secrets_key` (the key of the
encrypted secrets store) are backed up apart, so a stolen backup does not unlock anything.

A restore goes into an EMPTY database only (a fresh `createdb`, or a SQLite file that does not exist yet), refuses a
backup whose schema revision this code does not know (made by a newer LeadMaster), migrates an older one forward,
and checks every table's count against the manifest before saying it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import URL, make_url
from sqlmodel import SQLModel

import services.models  # noqa: F401  - registers every table on SQLModel.metadata (the tables counted)

from .errors import ServiceError
from .workers import ScheduledJob

log = logging.getLogger(__name__)

ARCHIVE_FORMAT = 1
MANIFEST = 'manifest.json'
MEDIA_INDEX = 'media.sha256'
MEDIA_PREFIX = 'media/'
PG_MEMBER = 'database.pgdump'
SQLITE_MEMBER = 'database.sqlite3.gz'
ARCHIVE_NAME = re.compile(r'^leadmaster-(\d{8}T\d{6}Z)(?:-\d+)?\.tar$')
PARTIAL_SUFFIX = '.partial'
LOCK_FILE = '.backup.lock'
STATUS_FILE = 'backup_status.json'
# No successful backup for this long when the process starts: one is made CATCH_UP_DELAY later (it serves first).
CATCH_UP_AFTER = timedelta(hours=25)
CATCH_UP_DELAY = timedelta(minutes=10)
CHUNK = 1024 * 1024


class BackupError(ServiceError):
    """A backup or restore that cannot be done; the message says why and what to do."""

    code = 'backup_failed'


@dataclass(frozen=True)
class Schema:
    """What this code knows of the schema: the newest revision and every revision it can migrate from."""

    head: str
    known: frozenset[str]


@dataclass
class BackupResult:
    path: Path
    size_bytes: int
    seconds: float
    manifest: dict[str, Any]


@dataclass
class RestoreResult:
    schema_revision: str  # the backup's
    migrated_to: str | None  # the head it was migrated forward to, when it was older
    counts: dict[str, int]
    media_restored: int
    media_already_there: int
    seconds: float


# ---------------------------------------------------------------------------------------------------------- backup


async def create_backup(
    *, database_url: str, media_dir: Path, destination: Path, now: datetime | None = None
) -> BackupResult:
    """Write `leadmaster-<UTC time>.tar` into `destination` (created if missing); one backup at a time per folder."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    await asyncio.to_thread(destination.mkdir, parents=True, exist_ok=True)
    with _folder_lock(destination):
        final = _free_name(destination, now)
        partial = final.with_name(final.name + PARTIAL_SUFFIX)
        with tempfile.TemporaryDirectory(dir=destination, prefix='.staging-') as staging_name:
            staging = Path(staging_name)
            url = make_url(database_url)
            if url.get_backend_name() == 'postgresql':
                member, snapshot = PG_MEMBER, await _dump_postgresql(url, staging / PG_MEMBER)
            elif url.get_backend_name() == 'sqlite':
                member, snapshot = SQLITE_MEMBER, await asyncio.to_thread(_copy_sqlite, url, staging / SQLITE_MEMBER)
            else:
                raise BackupError(f'no backup for a {url.get_backend_name()} database')
            try:
                manifest = await asyncio.to_thread(
                    _write_archive, partial, database_file=staging / member, member=member, media_dir=media_dir
                )
                manifest.update(created_at=now.isoformat(), dialect=url.get_backend_name(), **asdict(snapshot))
                manifest['seconds'] = round(time.monotonic() - started, 3)
                await asyncio.to_thread(_finish_archive, partial, final, manifest)
            except BaseException:
                partial.unlink(missing_ok=True)  # never a half archive left behind (a full disk, a cancelled job)
                raise
    return BackupResult(path=final, size_bytes=final.stat().st_size, seconds=manifest['seconds'], manifest=manifest)


@dataclass
class _Snapshot:
    schema_revision: str
    counts: dict[str, int]
    database: dict[str, Any] = field(default_factory=dict)  # member, bytes, sha256, tool


def _app_tables() -> list[str]:
    return sorted(table.name for table in SQLModel.metadata.sorted_tables)


def _count_sql(table: str) -> str:
    return f'SELECT count(*) FROM "{table}"'  # noqa: S608 - only names from our own models reach here


async def _dump_postgresql(url: URL, target: Path) -> _Snapshot:
    pg_dump = _tool('pg_dump')
    connection = await _pg_connect(url)
    try:
        # pg_dump imports this transaction's snapshot, so the counts and the dump see the same moment.
        transaction = connection.transaction(isolation='repeatable_read', readonly=True)
        await transaction.start()
        try:
            snapshot_id = await connection.fetchval('SELECT pg_export_snapshot()')
            dump = await asyncio.create_subprocess_exec(
                pg_dump,
                '--format=custom',
                f'--snapshot={snapshot_id}',
                f'--file={target}',
                env=_libpq_env(url),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                existing = {
                    row['tablename']
                    for row in await connection.fetch(
                        'SELECT tablename FROM pg_tables WHERE schemaname = current_schema()'
                    )
                }
                revision = await _pg_revision(connection) if 'alembic_version' in existing else ''
                counts = {
                    name: int(await connection.fetchval(_count_sql(name))) for name in _app_tables() if name in existing
                }
                _, stderr = await dump.communicate()
            except BaseException:
                with contextlib.suppress(ProcessLookupError):  # cancelled (the app stopping) or failed:
                    dump.kill()  # pg_dump must not outlive this backup
                raise
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    if dump.returncode != 0:
        raise BackupError(f'pg_dump failed ({dump.returncode}): {stderr.decode(errors="replace").strip()}')
    if not revision:
        raise BackupError('the database has no schema revision (alembic_version): run `leadmaster migrate` first')
    version = await _tool_version(pg_dump)
    digest = await asyncio.to_thread(_file_digest, target)
    return _Snapshot(revision, counts, {'member': PG_MEMBER, **digest, 'tool': version})


def _copy_sqlite(url: URL, target: Path) -> _Snapshot:
    source_path = Path(url.database or '')
    if not url.database or url.database == ':memory:' or not source_path.exists():
        raise BackupError(f'no SQLite database at {source_path}')
    copy = target.with_suffix('')  # database.sqlite3, gzipped into `target` below
    source = sqlite3.connect(source_path, timeout=30)
    destination = sqlite3.connect(copy)
    try:
        # All pages in one step: one read transaction, so the copy is one moment even while the app writes (WAL
        # lets the writers go on). A stepwise copy would restart whenever another connection writes.
        source.backup(destination, pages=-1)
    finally:
        source.close()
    try:
        existing = {row[0] for row in destination.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = ''
        if 'alembic_version' in existing:
            revision = ','.join(
                sorted(row[0] for row in destination.execute('SELECT version_num FROM alembic_version'))
            )
        counts = {
            name: int(destination.execute(_count_sql(name)).fetchone()[0]) for name in _app_tables() if name in existing
        }
    finally:
        destination.close()
    if not revision:
        raise BackupError('the database has no schema revision (alembic_version): run `leadmaster migrate` first')
    with copy.open('rb') as plain, gzip.open(target, 'wb', compresslevel=6) as packed:
        shutil.copyfileobj(plain, packed, CHUNK)
    copy.unlink()
    return _Snapshot(
        revision, counts, {'member': SQLITE_MEMBER, **_file_digest(target), 'tool': sqlite3.sqlite_version}
    )


class _HashingReader(io.RawIOBase):
    """Hands tarfile a file's bytes and hashes them on the way, so each media file is read once."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _media_files(media_dir: Path) -> Iterator[tuple[Path, str]]:
    if not media_dir.is_dir():
        return
    for path in sorted(media_dir.rglob('*')):
        # tmp*: a file the media store is writing (it renames it when complete); symlinks point outside.
        if path.is_file() and not path.is_symlink() and not path.name.startswith('tmp'):
            yield path, path.relative_to(media_dir).as_posix()


def _write_archive(partial: Path, *, database_file: Path, member: str, media_dir: Path) -> dict[str, Any]:
    index: list[str] = []
    media_bytes = 0
    with tarfile.open(partial, 'w', format=tarfile.PAX_FORMAT) as archive:
        archive.add(database_file, arcname=member, recursive=False)
        for path, relative in _media_files(media_dir):
            try:
                handle = path.open('rb')
            except FileNotFoundError:
                continue  # deleted by retention since it was listed
            with handle:
                info = archive.gettarinfo(fileobj=handle, arcname=MEDIA_PREFIX + relative)
                reader = _HashingReader(handle)
                archive.addfile(info, reader)
            index.append(f'{reader.digest.hexdigest()}  {MEDIA_PREFIX}{relative}\n')
            media_bytes += info.size
        index_bytes = ''.join(index).encode()
        _add_bytes(archive, MEDIA_INDEX, index_bytes)
    return {
        'format': ARCHIVE_FORMAT,
        'app': 'leadmaster',
        'media': {
            'files': len(index),
            'bytes': media_bytes,
            'index': MEDIA_INDEX,
            'index_sha256': hashlib.sha256(index_bytes).hexdigest(),
        },
    }


def _finish_archive(partial: Path, final: Path, manifest: dict[str, Any]) -> None:
    with tarfile.open(partial, 'a', format=tarfile.PAX_FORMAT) as archive:
        _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    with partial.open('rb') as handle:
        os.fsync(handle.fileno())
    os.replace(partial, final)  # only a complete, synced archive ever has a backup's name


def _add_bytes(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = int(time.time())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(content))


def _free_name(destination: Path, now: datetime) -> Path:
    stem = f'leadmaster-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}'
    candidate, n = destination / f'{stem}.tar', 0
    while candidate.exists():
        n += 1
        candidate = destination / f'{stem}-{n}.tar'
    return candidate


@contextlib.contextmanager
def _folder_lock(destination: Path) -> Iterator[None]:
    # The scheduled job and a `leadmaster backup` (or a second worker process on this machine) must not interleave.
    with (destination / LOCK_FILE).open('a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(f'another backup is being written to {destination}; try again when it ends') from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open('rb') as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return {'bytes': path.stat().st_size, 'sha256': digest.hexdigest()}


# -------------------------------------------------------------------------------------------------------- manifest


def read_manifest(archive_path: Path) -> dict[str, Any]:
    """The manifest of a backup, or `BackupError` if the file is not a complete LeadMaster backup."""
    try:
        with tarfile.open(archive_path, 'r:') as archive:
            handle = archive.extractfile(MANIFEST)
            if handle is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(handle.read())
    except FileNotFoundError as exc:
        raise BackupError(f'no such file: {archive_path}') from exc
    except (tarfile.TarError, KeyError, json.JSONDecodeError, OSError) as exc:
        raise BackupError(f'{archive_path} is not a complete LeadMaster backup ({exc})') from exc
    if manifest.get('app') != 'leadmaster' or manifest.get('format') != ARCHIVE_FORMAT:
        raise BackupError(f'{archive_path}: unknown backup format {manifest.get("format")!r}')
    return manifest


# --------------------------------------------------------------------------------------------------------- restore


async def restore_backup(
    archive_path: Path,
    *,
    database_url: str,
    media_dir: Path,
    schema: Schema,
    migrate: Callable[[], Awaitable[None]],
) -> RestoreResult:
    """Restore `archive_path` into the EMPTY database at `database_url` and merge its media into `media_dir`.

    `migrate` brings the restored database to `schema.head` (used when the backup is older). Nothing is written
    before the archive's database member, the schema revision and the target's emptiness have been checked."""
    started = time.monotonic()
    manifest = read_manifest(archive_path)
    revision = str(manifest.get('schema_revision', ''))
    unknown = [part for part in revision.split(',') if part not in schema.known]
    if not revision or unknown:
        raise BackupError(
            f'the backup has schema revision {revision or "(none)"}, which this LeadMaster does not know (newest: '
            f'{schema.head}): it was made by a newer version. Restore it with that version or a later one.'
        )
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend != manifest.get('dialect'):
        raise BackupError(
            f'the backup is of a {manifest.get("dialect")} database; LEADMASTER_DATABASE_URL is {backend}. '
            'Restore into the same kind of database.'
        )
    await _refuse_non_empty(url)
    # The dump is unpacked beside the media (var/), which has room for them, not in /tmp (often a small tmpfs).
    await asyncio.to_thread(media_dir.parent.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=media_dir.parent, prefix='.restore-') as work_name:
        member = str(manifest['database']['member'])
        dump = Path(work_name) / member
        await asyncio.to_thread(_extract_verified, archive_path, member, dump, str(manifest['database']['sha256']))
        if backend == 'postgresql':
            await _pg_restore(url, dump)
        else:
            await asyncio.to_thread(_sqlite_restore, url, dump)
    restored, already = await asyncio.to_thread(_restore_media, archive_path, manifest, media_dir)
    migrated_to = None
    if revision != schema.head:
        await migrate()
        migrated_to = schema.head
    counts = await _count_rows(url)
    # Migrations may add tables (empty) or backfill rows; the tables the backup had must hold what it counted.
    if migrated_to is None:
        wrong = {
            name: (count, counts.get(name)) for name, count in manifest['counts'].items() if counts.get(name) != count
        }
        if wrong:
            raise BackupError(f'the restored database does not hold what the backup counted: {wrong}')
    return RestoreResult(
        schema_revision=revision,
        migrated_to=migrated_to,
        counts=counts,
        media_restored=restored,
        media_already_there=already,
        seconds=round(time.monotonic() - started, 3),
    )


async def _refuse_non_empty(url: URL) -> None:
    tables = await _existing_tables(url)
    if tables:
        where = url.render_as_string(hide_password=True)
        raise BackupError(
            f'the database {where} is not empty ({len(tables)} tables, e.g. {", ".join(sorted(tables)[:3])}): a '
            'restore never overwrites data. Create an empty database (createdb, or a new SQLite path in '
            'LEADMASTER_DATABASE_URL), point LEADMASTER_DATABASE_URL at it, and run the restore again.'
        )


async def _existing_tables(url: URL) -> set[str]:
    if url.get_backend_name() == 'postgresql':
        connection = await _pg_connect(url)
        try:
            rows = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
        finally:
            await connection.close()
        return {row['tablename'] for row in rows}
    path = Path(url.database or '')

    def read() -> set[str]:
        if not path.exists() or path.stat().st_size == 0:
            return set()
        connection = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
        try:
            return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()

    return await asyncio.to_thread(read)


async def _count_rows(url: URL) -> dict[str, int]:
    existing = await _existing_tables(url)
    names = [name for name in _app_tables() if name in existing]
    if url.get_backend_name() == 'postgresql':
        connection = await _pg_connect(url)
        try:
            return {name: int(await connection.fetchval(_count_sql(name))) for name in names}
        finally:
            await connection.close()

    def count() -> dict[str, int]:
        connection = sqlite3.connect(f'file:{url.database}?mode=ro', uri=True)
        try:
            return {name: int(connection.execute(_count_sql(name)).fetchone()[0]) for name in names}
        finally:
            connection.close()

    return await asyncio.to_thread(count)


def _extract_verified(archive_path: Path, member: str, target: Path, sha256: str) -> None:
    digest = hashlib.sha256()
    with tarfile.open(archive_path, 'r:') as archive:
        source = archive.extractfile(member)
        if source is None:
            raise BackupError(f'{archive_path} has no {member}')
        with source, target.open('wb') as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    if digest.hexdigest() != sha256:
        raise BackupError(f"{archive_path}: {member} is damaged (its SHA-256 is not the manifest's); nothing restored")


async def _pg_restore(url: URL, dump: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        _tool('pg_restore'),
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        '--single-transaction',  # a failed restore leaves the database as empty as it was
        f'--dbname={url.database}',
        str(dump),
        env=_libpq_env(url),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f'pg_restore failed ({process.returncode}): {stderr.decode(errors="replace").strip()}')


def _sqlite_restore(url: URL, packed: Path) -> None:
    target = Path(url.database or '')
    target.parent.mkdir(parents=True, exist_ok=True)
    unpacked = target.with_name(target.name + '.restoring')
    with gzip.open(packed, 'rb') as source, unpacked.open('wb') as out:
        shutil.copyfileobj(source, out, CHUNK)
    connection = sqlite3.connect(unpacked)
    try:
        problems = [row[0] for row in connection.execute('PRAGMA integrity_check')]
    finally:
        connection.close()
    if problems != ['ok']:
        unpacked.unlink()
        raise BackupError(f'the SQLite database in the backup fails its integrity check: {problems[:3]}')
    for leftover in (target.with_name(target.name + '-wal'), target.with_name(target.name + '-shm')):
        leftover.unlink(missing_ok=True)  # of the empty file being replaced; they would not match the new one
    os.replace(unpacked, target)


def _restore_media(archive_path: Path, manifest: dict[str, Any], media_dir: Path) -> tuple[int, int]:
    """Merge the backup's media into `media_dir`: names are content hashes, so a file already there is the same file
    and is left alone. Every file is checked against the index before it gets its name."""
    restored = already = 0
    with tarfile.open(archive_path, 'r:') as archive:
        index_handle = archive.extractfile(MEDIA_INDEX)
        if index_handle is None:
            raise BackupError(f'{archive_path} has no {MEDIA_INDEX}')
        index_bytes = index_handle.read()
        if hashlib.sha256(index_bytes).hexdigest() != manifest['media']['index_sha256']:
            raise BackupError(f'{archive_path}: the media index is damaged')
        expected = {}
        for line in index_bytes.decode().splitlines():
            file_digest, name = line.split('  ', 1)
            expected[name] = file_digest
        damaged: list[str] = []
        for info in archive:
            if not info.name.startswith(MEDIA_PREFIX):
                continue
            if info.name not in expected or not info.isfile():
                raise BackupError(f'{archive_path}: unexpected member {info.name!r}')
            relative = info.name.removeprefix(MEDIA_PREFIX)
            target = (media_dir / relative).resolve()
            if media_dir.resolve() not in target.parents:  # a crafted archive must not write outside the folder
                raise BackupError(f'{archive_path}: member {info.name!r} points outside the media folder')
            if target.exists():
                already += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(info)
            assert source is not None  # a regular file, checked above
            digest = hashlib.sha256()
            with source, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected[info.name]:
                Path(out.name).unlink()
                damaged.append(info.name)
                continue
            os.replace(out.name, target)
            restored += 1
    if damaged:
        raise BackupError(f'{len(damaged)} media files of the backup are damaged and were not restored: {damaged[:5]}')
    return restored, already


# ------------------------------------------------------------------------------------------------------- retention


def archives_in(directory: Path) -> list[tuple[datetime, Path]]:
    """The backups in `directory` (by their name), oldest first."""
    found = []
    for path in directory.glob('leadmaster-*.tar'):
        match = ARCHIVE_NAME.match(path.name)
        if match:
            found.append((datetime.strptime(match.group(1), '%Y%m%dT%H%M%SZ').replace(tzinfo=UTC), path))
    return sorted(found)


def archives_to_keep(
    archives: list[tuple[datetime, Path]], *, keep_daily: int, keep_weekly: int, zone: ZoneInfo
) -> set[Path]:
    """The newest backup of each of the last `keep_daily` days that have one, and the newest of each of the last
    `keep_weekly` ISO weeks that have one (days and weeks in the shop's time zone). The newest backup is always kept."""
    newest_per_day: dict[object, Path] = {}
    newest_per_week: dict[object, Path] = {}
    for when, path in archives:  # oldest first: a later one replaces an earlier one of its day / week
        local = when.astimezone(zone)
        newest_per_day[local.date()] = path
        newest_per_week[local.isocalendar()[:2]] = path
    keep = {newest_per_day[day] for day in sorted(newest_per_day, key=str, reverse=True)[:keep_daily]}
    keep |= {newest_per_week[week] for week in sorted(newest_per_week, key=str, reverse=True)[:keep_weekly]}
    if archives:
        keep.add(archives[-1][1])
    return keep


def prune_backups(directory: Path, *, keep_daily: int, keep_weekly: int, zone: ZoneInfo) -> list[Path]:
    """Delete the backups retention does not keep, and half-written ones a crash left; returns what was deleted."""
    archives = archives_in(directory)
    keep = archives_to_keep(archives, keep_daily=keep_daily, keep_weekly=keep_weekly, zone=zone)
    deleted = [path for _, path in archives if path not in keep]
    try:
        with _folder_lock(directory):  # never while a backup is being written (its .partial is not a leftover)
            deleted += list(directory.glob('leadmaster-*.tar' + PARTIAL_SUFFIX))
            for path in deleted:
                path.unlink(missing_ok=True)
    except BackupError:
        return []  # another backup is being written; the next run prunes
    return deleted


# ---------------------------------------------------------------------------------------------------------- status


def write_status(var_dir: Path, *, result: BackupResult | None, error: str | None, trigger: str) -> dict[str, Any]:
    """Record the last backup's outcome in `var/backup_status.json`, which `/health` and the admin read: the web
    process reads it even when the scheduled job runs in the worker process. A failure keeps the last success."""
    previous = read_status(var_dir) or {}
    now = datetime.now(UTC).isoformat()
    status: dict[str, Any] = {'at': now, 'ok': error is None, 'trigger': trigger, 'error': error}
    if result is not None:
        status.update(
            file=str(result.path),
            bytes=result.size_bytes,
            seconds=result.seconds,
            last_success_at=now,
            last_success_file=str(result.path),
        )
    else:
        status.update(
            last_success_at=previous.get('last_success_at'), last_success_file=previous.get('last_success_file')
        )
    var_dir.mkdir(parents=True, exist_ok=True)
    temporary = var_dir / (STATUS_FILE + '.tmp')
    temporary.write_text(json.dumps(status, indent=2))
    os.replace(temporary, var_dir / STATUS_FILE)
    return status


def read_status(var_dir: Path) -> dict[str, Any] | None:
    try:
        status: dict[str, Any] = json.loads((var_dir / STATUS_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return status


# ------------------------------------------------------------------------------------------------------- scheduled


class BackupSweeper(ScheduledJob):
    """The daily backup, at `hour` in the shop's time zone, in the process that runs the workers: a backup into
    `directory`, then retention (keep `keep_daily` daily and `keep_weekly` weekly), then the status file."""

    name = 'backup'

    def __init__(
        self,
        *,
        database_url: str,
        media_dir: Path,
        var_dir: Path,
        directory: Path,
        hour: int,
        zone: ZoneInfo,
        keep_daily: int,
        keep_weekly: int,
    ) -> None:
        super().__init__(interval=timedelta(days=1))
        self.database_url = database_url
        self.media_dir = media_dir
        self.var_dir = var_dir
        self.directory = directory
        self.hour = hour
        self.zone = zone
        self.keep_daily = keep_daily
        self.keep_weekly = keep_weekly

    def start(self) -> None:
        if self._scheduler is not None:
            return
        # A cron trigger, not a 24 h interval: the backup stays at the quiet hour across restarts and DST changes.
        self._scheduler = AsyncIOScheduler(timezone=self.zone)
        self._scheduler.add_job(
            self._job,
            CronTrigger(hour=self.hour, minute=0, timezone=self.zone),
            id=self.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,  # an event loop busy at 3:00 still backs up at 3:05
        )
        catch_up = self._catch_up_at(datetime.now(UTC))
        if catch_up is not None:
            self._scheduler.add_job(
                self._job, 'date', run_date=catch_up, id=f'{self.name}-catch-up', misfire_grace_time=3600
            )
        self._scheduler.start()

    def _catch_up_at(self, now: datetime) -> datetime | None:
        """A process that was down at the backup hour (or a new install) backs up soon after it starts, unless the
        daily run is near anyway: no day goes by without a backup because the server restarts every night at 2:00."""
        status = read_status(self.var_dir) or {}
        last = status.get('last_success_at')
        if last is not None and now - datetime.fromisoformat(last) < CATCH_UP_AFTER:
            return None
        at = now + CATCH_UP_DELAY
        daily = CronTrigger(hour=self.hour, minute=0, timezone=self.zone).get_next_fire_time(None, now)
        return None if daily is not None and daily - at < timedelta(hours=1) else at

    @property
    def catch_up_run(self) -> datetime | None:
        job = self._scheduler.get_job(f'{self.name}-catch-up') if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    @property
    def next_run(self) -> datetime | None:
        job = self._scheduler.get_job(self.name) if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    async def run_once(self, now: datetime | None = None) -> BackupResult:
        try:
            result = await create_backup(
                database_url=self.database_url, media_dir=self.media_dir, destination=self.directory, now=now
            )
        except Exception as exc:
            await asyncio.to_thread(write_status, self.var_dir, result=None, error=str(exc), trigger='scheduled')
            raise
        deleted = await asyncio.to_thread(
            prune_backups, self.directory, keep_daily=self.keep_daily, keep_weekly=self.keep_weekly, zone=self.zone
        )
        await asyncio.to_thread(write_status, self.var_dir, result=result, error=None, trigger='scheduled')
        log.info(
            'backup %s written (%d bytes, %.1f s); %d old backups deleted',
            result.path.name,
            result.size_bytes,
            result.seconds,
            len(deleted),
        )
        return result


# ----------------------------------------------------------------------------------------------------- PostgreSQL


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f'{name} is not installed: install the PostgreSQL client (Debian: apt install postgresql-client)'
        )
    return path


async def _tool_version(path: str) -> str:
    process = await asyncio.create_subprocess_exec(path, '--version', stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    return out.decode().strip()


def _libpq_env(url: URL) -> dict[str, str]:
    """The connection for pg_dump / pg_restore in libpq's variables: the password never shows in `ps`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('PG')}
    query = {key: str(value) for key, value in url.query.items()}
    values = {
        'PGHOST': url.host or query.get('host'),
        'PGPORT': str(url.port) if url.port else query.get('port'),
        'PGUSER': url.username,
        'PGPASSWORD': url.password if isinstance(url.password, str) else None,
        'PGDATABASE': url.database,
        'PGSSLMODE': query.get('sslmode') or query.get('ssl'),
    }
    env.update({key: value for key, value in values.items() if value})
    return env


async def _pg_connect(url: URL) -> asyncpg.Connection:
    dsn = url.set(drivername='postgresql').render_as_string(hide_password=False)
    try:
        return await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f'cannot reach {url.render_as_string(hide_password=True)}: {exc}') from exc


async def _pg_revision(connection: asyncpg.Connection) -> str:
    return ','.join(
        sorted(row['version_num'] for row in await connection.fetch('SELECT version_num FROM alembic_version'))
    )


__all__ = [
    'BackupError',
    'BackupResult',
    'BackupSweeper',
    'RestoreResult',
    'Schema',
    'archives_to_keep',
    'create_backup',
    'prune_backups',
    'read_manifest',
    'read_status',
    'restore_backup',
    'write_status',
]
