"""Command groups of the `leadmaster` CLI, one module per feature (`app/cli.py` registers them),
and `run_job`, which every command uses to reach the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from app.database import database_from, upgrade_to_head
from app.settings import Settings
from services.database import Database, DatabaseUnavailable
from services.errors import ServiceError

T = TypeVar('T')


def run_job(work: Callable[[Database], Awaitable[T]], *, settings: Settings | None = None) -> T:
    """Run one async job against a migrated database; turn expected failures into one clear line."""
    settings = settings or Settings()

    async def main() -> T:
        db = database_from(settings)
        try:
            await db.ping()
            if settings.migrate_on_start:
                await upgrade_to_head(db)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DatabaseUnavailable as exc:
        typer.secho(f'error: {exc}', err=True, fg='red')
        raise typer.Exit(2) from exc
    except ServiceError as exc:
        typer.secho(f'error: {exc}', err=True, fg='red')
        raise typer.Exit(1) from exc
