"""`leadmaster catalog …`: The product catalog: import JSON/CSV (S1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.commands import run_job
from services.catalog import ImportReport, import_file
from services.database import Database

cli = typer.Typer(help='The product catalog: import JSON/CSV (S1).', no_args_is_help=True)


@cli.command('import')
def import_command(
    file: Annotated[Path, typer.Argument(help='A .json or .csv catalog file (format: docs/catalog-format.md)')],
) -> None:
    """Import or update products (matched by SKU) with their codes, fitments and stock per branch."""
    with typer.progressbar(length=1, label='Importando', show_pos=True) as bar:
        shown = 0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            bar.length = max(total, 1)
            bar.update(done - shown)
            shown = done

        async def work(db: Database) -> ImportReport:
            return await import_file(db, file, progress=progress)

        report = run_job(work)
    typer.echo(
        f'{report.total} products imported from {file.name} in {report.seconds:.1f} s '
        f'({report.created} new, {report.updated} updated)'
    )
