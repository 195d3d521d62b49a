"""Backups and restores (issue 21): what a backup holds comes back, rows and media alike; a backup taken while the
app writes is one moment; a restore refuses what it must not overwrite or cannot read; the daily job keeps N daily
and M weekly backups. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import col, func, select

from app.commands.backups import current_schema
from app.database import alembic_config, upgrade_to_head
from services.backups import (
    BackupError,
    BackupSweeper,
    create_backup,
    read_manifest,
    read_status,
    restore_backup,
)
from services.database import Database, select_columns
from services.media_store import MediaStore
from services.models import Contact, Conversation, Direction, Media, Message, SenderKind, User
from tests.builders import conversation_with_message
from tests.conftest import World, fresh_postgres_database
from tests.unit.services.test_retention import JPEG, attach_photo

ZONE = ZoneInfo('America/Argentina/Buenos_Aires')


@pytest.fixture
def empty_target(database_url: str, tmp_path: Path) -> str:
    """A database of the same kind as the test's, with nothing in it (not even the schema): where restores go."""
    if database_url.startswith('sqlite'):
        return f'sqlite+aiosqlite:///{tmp_path / "restored" / "leadmaster.sqlite3"}'
    return fresh_postgres_database('leadmaster_restore_target')


def migrate_callback(url: str) -> Any:
    async def migrate() -> None:
        target = Database.from_url(url)
        try:
            await upgrade_to_head(target)
        finally:
            await target.dispose()

    return migrate


async def restore_into(archive: Path, url: str, media_dir: Path) -> Any:
    return await restore_backup(
        archive, database_url=url, media_dir=media_dir, schema=current_schema(), migrate=migrate_callback(url)
    )


async def table_names(url: str) -> set[str]:
    target = Database.from_url(url)
    try:
        async with target.engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await target.dispose()


async def messages_of(db: Database) -> list[tuple[Any, ...]]:
    async with db.session() as session:
        rows = await session.exec(
            select_columns(
                Message.id,
                Message.conversation_id,
                Message.text,
                Message.direction,
                Message.sent_at,
                Contact.profile_name,
            )
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .join(Contact, col(Contact.id) == col(Conversation.contact_id))
            .order_by(col(Message.id))
        )
        return [tuple(row) for row in rows.all()]


async def test_a_restored_backup_holds_the_same_rows_and_media(
    db: Database, world: World, tmp_path: Path, empty_target: str
) -> None:
    store = MediaStore(tmp_path / 'media')
    chats = [
        await conversation_with_message(
            db,
            number_id=world.central_number.id or 0,
            branch_id=world.central.id or 0,
            phone=f'+54911555000{n:02d}',
            text=f'Hola, necesito pastillas de freno para el Gol Trend ({n}) ñandú',
            wa_message_id=f'wamid.backup{n}',
            hours_ago=n,
        )
        for n in range(12)
    ]
    photo = await attach_photo(db, store, chats[3])
    before = await messages_of(db)

    backup = await create_backup(
        database_url=db.engine.url.render_as_string(hide_password=False),
        media_dir=store.root,
        destination=tmp_path / 'backups',
    )

    restored_media = tmp_path / 'restored-media'
    result = await restore_into(backup.path, empty_target, restored_media)
    restored = Database.from_url(empty_target)
    try:
        assert await messages_of(restored) == before
        async with restored.session() as session:
            media = (await session.exec(select(Media).where(Media.id == photo.id))).one()
            users = (await session.exec(select(func.count()).select_from(User))).one()
    finally:
        await restored.dispose()
    assert users == 4  # Ana, Bruno, Marta, Jorge
    # The photo (and its thumbnail) come back byte for byte, where the restored row points.
    assert media.storage_path is not None and media.thumbnail_path is not None
    assert (restored_media / media.storage_path).read_bytes() == JPEG
    assert (restored_media / media.thumbnail_path).read_bytes() == (store.root / media.thumbnail_path).read_bytes()
    assert result.media_restored == 2 and result.migrated_to is None
    assert result.counts == backup.manifest['counts']
    assert (backup.manifest['counts']['messages'], backup.manifest['counts']['conversations']) == (12, 12)
    assert backup.manifest['schema_revision'] == current_schema().head
    # The manifest's SHA-256 is the database member's, as anyone can check with tar and sha256sum.
    with tarfile.open(backup.path) as archive:
        member = archive.extractfile(backup.manifest['database']['member'])
        assert member is not None
        assert hashlib.sha256(member.read()).hexdigest() == backup.manifest['database']['sha256']


async def test_media_already_in_the_folder_are_kept_and_counted(
    db: Database, world: World, tmp_path: Path, empty_target: str
) -> None:
    store = MediaStore(tmp_path / 'media')
    chat = await conversation_with_message(
        db,
        number_id=world.central_number.id or 0,
        branch_id=world.central.id or 0,
        phone='+5491155500001',
        text='foto',
        wa_message_id='wamid.photo',
    )
    await attach_photo(db, store, chat)
    backup = await create_backup(
        database_url=str(db.engine.url.render_as_string(hide_password=False)),
        media_dir=store.root,
        destination=tmp_path / 'backups',
    )

    # Restoring on the same machine: the media folder already has the files (same names, same content).
    result = await restore_into(backup.path, empty_target, store.root)

    assert (result.media_restored, result.media_already_there) == (0, 2)


async def test_a_backup_taken_while_the_app_writes_is_one_moment(
    db: Database, world: World, tmp_path: Path, empty_target: str
) -> None:
    """Each write commits a conversation with exactly two messages; a backup that mixed moments would hold a
    conversation with one message, or counts that disagree with its rows."""
    committed = 0
    stop, progressed = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        nonlocal committed
        while not stop.is_set():
            async with db.session() as session:
                contact = Contact(phone_e164=f'+54911600{committed:05d}', wa_id=f'54911600{committed:05d}')
                session.add(contact)
                await session.flush()
                conversation = Conversation(
                    contact_id=contact.id or 0, number_id=world.central_number.id or 0, branch_id=world.central.id or 0
                )
                session.add(conversation)
                await session.flush()
                for n in range(2):
                    session.add(
                        Message(
                            conversation_id=conversation.id or 0,
                            direction=Direction.INBOUND,
                            sender_kind=SenderKind.CUSTOMER,
                            text=f'mensaje {n}',
                        )
                    )
                await session.commit()
            committed += 1
            progressed.set()
            await asyncio.sleep(0)  # let the test (and the backup's thread) run between writes

    async def until_committed(count: int) -> None:
        while committed < count:
            progressed.clear()
            await progressed.wait()

    writer = asyncio.create_task(write())
    try:
        await asyncio.wait_for(until_committed(20), timeout=60)
        started_at = committed
        backup = await create_backup(
            database_url=db.engine.url.render_as_string(hide_password=False),
            media_dir=tmp_path / 'media',
            destination=tmp_path / 'backups',
        )
        ended_at = committed
        await asyncio.wait_for(until_committed(ended_at + 5), timeout=60)
    finally:
        stop.set()
        await writer

    counts = backup.manifest['counts']
    assert started_at <= counts['conversations'] <= ended_at + 1  # one write may be committing while the copy starts
    assert counts['messages'] == 2 * counts['conversations']
    result = await restore_into(backup.path, empty_target, tmp_path / 'restored-media')
    assert result.counts == counts
    restored = Database.from_url(empty_target)
    try:
        async with restored.session() as session:
            per_conversation = (
                await session.exec(select(Message.conversation_id, func.count()).group_by(col(Message.conversation_id)))
            ).all()
    finally:
        await restored.dispose()
    assert {count for _, count in per_conversation} == {2}


async def test_restore_refuses_a_database_that_has_data(db: Database, world: World, tmp_path: Path) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    backup = await create_backup(database_url=url, media_dir=tmp_path / 'media', destination=tmp_path / 'backups')

    with pytest.raises(BackupError, match='not empty'):
        await restore_into(backup.path, url, tmp_path / 'media')

    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Conversation))).one() == 0
        assert (await session.exec(select(func.count()).select_from(User))).one() == 4  # the users are still there


async def test_restore_refuses_a_backup_of_a_newer_schema(
    db: Database, world: World, tmp_path: Path, empty_target: str
) -> None:
    async def set_revision(revision: str) -> None:
        async with db.engine.begin() as connection:
            await connection.execute(text('UPDATE alembic_version SET version_num = :revision'), {'revision': revision})

    await set_revision('0999')  # what a newer LeadMaster would have migrated to
    try:
        backup = await create_backup(
            database_url=db.engine.url.render_as_string(hide_password=False),
            media_dir=tmp_path / 'media',
            destination=tmp_path / 'backups',
        )
    finally:
        await set_revision(current_schema().head)  # the PostgreSQL test database is shared by the next tests

    with pytest.raises(BackupError, match='made by a newer version'):
        await restore_into(backup.path, empty_target, tmp_path / 'restored-media')

    assert await table_names(empty_target) == set()  # nothing was written


async def test_an_older_backup_is_migrated_forward(database_url: str, tmp_path: Path, empty_target: str) -> None:
    if database_url.startswith('sqlite'):
        source_url = f'sqlite+aiosqlite:///{tmp_path / "old.sqlite3"}'
    else:
        source_url = await asyncio.to_thread(fresh_postgres_database, 'leadmaster_backup_old')
    old = Database.from_url(source_url)
    try:

        def to_0016(connection: Connection) -> None:
            config = alembic_config()
            config.attributes['connection'] = connection
            command.upgrade(config, '0016')

        async with old.engine.begin() as connection:
            await connection.run_sync(to_0016)
    finally:
        await old.dispose()
    backup = await create_backup(
        database_url=source_url, media_dir=tmp_path / 'media', destination=tmp_path / 'backups'
    )
    assert backup.manifest['schema_revision'] == '0016'

    result = await restore_into(backup.path, empty_target, tmp_path / 'restored-media')

    assert result.migrated_to == current_schema().head
    restored = Database.from_url(empty_target)
    try:
        async with restored.engine.connect() as connection:
            revision = (await connection.execute(text('SELECT version_num FROM alembic_version'))).scalar_one()
        assert revision == current_schema().head
    finally:
        await restored.dispose()


async def test_a_damaged_backup_restores_nothing(db: Database, world: World, tmp_path: Path, empty_target: str) -> None:
    backup = await create_backup(
        database_url=db.engine.url.render_as_string(hide_password=False),
        media_dir=tmp_path / 'media',
        destination=tmp_path / 'backups',
    )
    with tarfile.open(backup.path) as archive:
        offset = archive.getmember(backup.manifest['database']['member']).offset_data
    with backup.path.open('r+b') as handle:  # one flipped byte in the middle of the dump
        handle.seek(offset + backup.manifest['database']['bytes'] // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(BackupError, match='damaged'):
        await restore_into(backup.path, empty_target, tmp_path / 'restored-media')

    assert await table_names(empty_target) == set()


async def test_a_backup_of_one_kind_of_database_is_not_restored_into_the_other(
    db: Database, world: World, tmp_path: Path
) -> None:
    backup = await create_backup(
        database_url=db.engine.url.render_as_string(hide_password=False),
        media_dir=tmp_path / 'media',
        destination=tmp_path / 'backups',
    )
    if db.dialect == 'sqlite':
        other = await asyncio.to_thread(fresh_postgres_database, 'leadmaster_restore_other_kind')
    else:
        other = f'sqlite+aiosqlite:///{tmp_path / "other" / "leadmaster.sqlite3"}'

    with pytest.raises(BackupError, match='Restore into the same kind of database'):
        await restore_into(backup.path, other, tmp_path / 'restored-media')

    assert await table_names(other) == set()


async def test_a_file_that_is_not_a_backup_is_refused_clearly(tmp_path: Path) -> None:
    bogus = tmp_path / 'leadmaster-20260101T030000Z.tar'
    bogus.write_bytes(b'not a tar file at all')
    with pytest.raises(BackupError, match='not a complete LeadMaster backup'):
        read_manifest(bogus)
    with pytest.raises(BackupError, match='no such file'):
        read_manifest(tmp_path / 'missing.tar')


def archive_named(directory: Path, when: datetime) -> Path:
    path = directory / f'leadmaster-{when.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar'
    path.write_bytes(b'')  # retention goes by the name; the content does not matter to it
    return path


async def test_the_daily_job_keeps_the_last_daily_and_weekly_backups(
    db: Database, world: World, tmp_path: Path
) -> None:
    directory = tmp_path / 'backups'
    directory.mkdir()
    # Thursday 10 December 2026, 03:00 in Buenos Aires: today's backup.
    now = datetime(2026, 12, 10, 3, 0, tzinfo=ZONE)
    # Two backups a day (03:00 and a manual one at 15:00) for the 30 days before.
    old = {
        (day, hour): archive_named(directory, (now - timedelta(days=day)).replace(hour=hour))
        for day in range(1, 31)
        for hour in (3, 15)
    }
    leftover = directory / 'leadmaster-20261201T060000Z.tar.partial'  # a crash in the middle of a backup
    leftover.write_bytes(b'half')
    job = BackupSweeper(
        database_url=db.engine.url.render_as_string(hide_password=False),
        media_dir=tmp_path / 'media',
        var_dir=tmp_path / 'var',
        directory=directory,
        hour=3,
        zone=ZONE,
        keep_daily=3,
        keep_weekly=3,
    )

    result = await job.run_once(now=now)

    kept = {path.name for path in directory.glob('leadmaster-*')}
    expected = {
        result.path.name,  # today (Thursday, week 50)
        old[(1, 15)].name,  # Wednesday 9, its last one
        old[(2, 15)].name,  # Tuesday 8
        old[(4, 15)].name,  # Sunday 6 December: the last of week 49
        old[(11, 15)].name,  # Sunday 29 November: the last of week 48
    }
    assert kept == expected
    status = read_status(tmp_path / 'var')
    assert status is not None and status['ok'] and status['file'] == str(result.path)
    assert status['trigger'] == 'scheduled'


async def test_a_failed_backup_is_reported_and_keeps_the_last_success(
    db: Database, world: World, tmp_path: Path
) -> None:
    var_dir = tmp_path / 'var'

    def job(url: str) -> BackupSweeper:
        return BackupSweeper(
            database_url=url,
            media_dir=tmp_path / 'media',
            var_dir=var_dir,
            directory=tmp_path / 'backups',
            hour=3,
            zone=ZONE,
            keep_daily=7,
            keep_weekly=4,
        )

    good = await job(db.engine.url.render_as_string(hide_password=False)).run_once()
    with pytest.raises(BackupError):
        await job(f'sqlite+aiosqlite:///{tmp_path / "gone" / "missing.sqlite3"}').run_once()

    status = read_status(var_dir)
    assert status is not None
    assert (status['ok'], status['last_success_file']) == (False, str(good.path))
    assert 'no SQLite database' in status['error']
    assert good.path.exists()


async def test_the_daily_job_is_scheduled_at_the_configured_hour(tmp_path: Path) -> None:
    job = BackupSweeper(
        database_url='sqlite+aiosqlite:///unused',
        media_dir=tmp_path,
        var_dir=tmp_path,
        directory=tmp_path,
        hour=4,
        zone=ZONE,
        keep_daily=7,
        keep_weekly=4,
    )
    job.start()
    try:
        assert job.running
        next_run = job.next_run
        assert next_run is not None
        local = next_run.astimezone(ZONE)
        assert (local.hour, local.minute) == (4, 0)
        assert timedelta(0) < next_run - datetime.now(UTC) <= timedelta(days=1)
    finally:
        await job.stop()


@pytest.mark.parametrize(
    ('last_success', 'catches_up'),
    [(None, True), (timedelta(days=3), True), (timedelta(hours=2), False)],
    ids=['never', 'three-days-ago', 'two-hours-ago'],
)
async def test_a_process_that_missed_its_backups_makes_one_soon_after_starting(
    tmp_path: Path, last_success: timedelta | None, catches_up: bool
) -> None:
    var_dir = tmp_path / 'var'
    var_dir.mkdir()
    if last_success is not None:
        at = (datetime.now(UTC) - last_success).isoformat()
        (var_dir / 'backup_status.json').write_text(json.dumps({'ok': True, 'at': at, 'last_success_at': at}))
    # The daily hour is 12 hours away, so the catch-up is not left to it.
    hour = (datetime.now(ZONE) + timedelta(hours=12)).hour
    job = BackupSweeper(
        database_url='sqlite+aiosqlite:///unused',
        media_dir=tmp_path,
        var_dir=var_dir,
        directory=tmp_path,
        hour=hour,
        zone=ZONE,
        keep_daily=7,
        keep_weekly=4,
    )
    job.start()
    try:
        catch_up = job.catch_up_run
        if catches_up:
            assert catch_up is not None
            assert timedelta(minutes=5) < catch_up - datetime.now(UTC) <= timedelta(minutes=10)
        else:
            assert catch_up is None
    finally:
        await job.stop()
