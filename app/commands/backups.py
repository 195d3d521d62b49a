"""`leadmaster backup` and `leadmaster restore` (issue 21; docs/operations.md § Backups). Top-level commands,
registered one line each in app/cli.py. Neither migrates first: a backup takes the database as it is, and a restore
needs the target empty (it migrates forward afterwards when the backup is older than this code)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from app.database import alembic_config, database_from, upgrade_to_head
from app.settings import Settings
from services.backups import BackupError, Schema, create_backup, restore_backup, write_status


def current_schema() -> Schema:
    """The newest revision this code has, and every revision it can migrate forward from."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None  # the repository always has migrations
    return Schema(head=head, known=frozenset(revision.revision for revision in script.walk_revisions()))


def backup(
    to: Annotated[
        Path | None,
        typer.Option('--to', help='Folder for the backup file (default: LEADMASTER_BACKUP_DIR or var/backups)'),
    ] = None,
) -> None:
    """Back up the database and var/media/ into one .tar file (manifest, database dump, media). Safe while the app
    runs. Secrets in var/ are NOT included: back them up apart."""
    settings = Settings()
    destination = to or settings.effective_backup_dir
    try:
        result = asyncio.run(
            create_backup(
                database_url=settings.effective_database_url, media_dir=settings.media_dir, destination=destination
            )
        )
    except (BackupError, OSError) as exc:  # OSError: a full disk, a folder we may not write to
        write_status(settings.var_dir, result=None, error=str(exc), trigger='manual')
        typer.secho(f'error: {exc}', err=True, fg='red')
        raise typer.Exit(1) from exc
    write_status(settings.var_dir, result=result, error=None, trigger='manual')
    manifest = result.manifest
    counts = manifest['counts']
    typer.echo(f'backup written: {result.path}')
    typer.echo(
        f'{result.size_bytes / 1e6:.1f} MB in {result.seconds:.1f} s; schema {manifest["schema_revision"]}; '
        f'{counts.get("conversations", 0)} conversations, {counts.get("messages", 0)} messages, '
        f'{manifest["media"]["files"]} media files'
    )


def restore(
    file: Annotated[Path, typer.Argument(help='A backup .tar made by `leadmaster backup`')],
) -> None:
    """Restore a backup into the EMPTY database of LEADMASTER_DATABASE_URL (or a new var/leadmaster.sqlite3) and its
    media into var/media/. Refuses a non-empty database and a backup made by a newer LeadMaster; migrates an older
    one forward. Stop the app first."""
    settings = Settings()

    async def migrate() -> None:
        db = database_from(settings)
        try:
            await upgrade_to_head(db)
        finally:
            await db.dispose()

    try:
        result = asyncio.run(
            restore_backup(
                file,
                database_url=settings.effective_database_url,
                media_dir=settings.media_dir,
                schema=current_schema(),
                migrate=migrate,
            )
        )
    except (BackupError, OSError) as exc:
        typer.secho(f'error: {exc}', err=True, fg='red')
        raise typer.Exit(1) from exc
    where = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    typer.echo(f'restored {file.name} into {where} in {result.seconds:.1f} s')
    migrated = f', migrated forward to {result.migrated_to}' if result.migrated_to else ''
    typer.echo(
        f'schema {result.schema_revision}{migrated}; {result.counts.get("conversations", 0)} conversations, '
        f'{result.counts.get("messages", 0)} messages; media: {result.media_restored} files restored, '
        f'{result.media_already_there} already there'
    )
