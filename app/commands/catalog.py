"""`leadmaster catalog …`: The product catalog: import our JSON/CSV, a spreadsheet's CSV or a MercadoLibre
export (S1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.commands import run_job
from services.catalog import ImportReport, import_catalog, read_catalog_table
from services.catalog.tables import FIELDS, STOCK_PREFIX, CatalogTable, ColumnMapping, guess_mapping
from services.database import Database
from services.errors import InvalidInput

cli = typer.Typer(help='The product catalog: import JSON/CSV files (S1).', no_args_is_help=True)

SHOWN_REJECTED = 20


def _mapping(headers: tuple[str, ...], kind: str, overrides: list[str]) -> ColumnMapping:
    mapping = guess_mapping(headers, kind=kind)
    for override in overrides:
        field, separator, columns = override.partition('=')
        field = field.strip()
        if not separator or (field not in FIELDS and not field.startswith(STOCK_PREFIX)):
            raise typer.BadParameter(
                f'{override!r}: expected FIELD=COLUMN[,COLUMN…] with FIELD one of {", ".join(FIELDS)}',
                param_hint='--map',
            )
        chosen = [column.strip() for column in columns.split(',') if column.strip()]
        if chosen:
            mapping[field] = chosen
        else:
            mapping.pop(field, None)  # `--map brand=` leaves the field unmapped
    return mapping


@cli.command('import')
def import_command(
    file: Annotated[Path, typer.Argument(help='A .json or .csv catalog file (docs/catalog-format.md)')],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            '--map',
            help='Read FIELD from COLUMN(s) of the file, e.g. --map title=Nombre --map image_urls=foto1,foto2 '
            '(repeatable; the rest is recognized by the column titles)',
        ),
    ] = None,
    preview: Annotated[
        bool, typer.Option('--preview', help='Show the columns, the mapping and the first rows; import nothing')
    ] = False,
    strict: Annotated[
        bool, typer.Option('--strict', help='Refuse the whole file if any row is invalid (nothing is written)')
    ] = False,
) -> None:
    """Import or update products (matched by code; a file without codes by its titles). Valid rows are imported,
    invalid ones listed with their line and reason."""
    try:
        table = read_catalog_table(file)
    except InvalidInput as error:
        typer.secho(f'error: {error}', err=True, fg='red')
        raise typer.Exit(1) from error
    mapping = _mapping(table.headers, table.kind, map_ or [])
    if preview:
        _show_preview(table, mapping)
        return
    with typer.progressbar(length=1, label='Importando', show_pos=True) as bar:
        shown = 0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            bar.length = max(total, 1)
            bar.update(done - shown)
            shown = done

        async def work(db: Database) -> ImportReport:
            return await import_catalog(db, table, mapping=mapping, progress=progress, strict=strict)

        report = run_job(work)
    for rejected in report.rejected[:SHOWN_REJECTED]:
        code = f' {rejected.code}' if rejected.code else ''
        typer.echo(f'rejected {rejected.position}{code}: {rejected.reason}', err=True)
    if len(report.rejected) > SHOWN_REJECTED:
        typer.echo(f'… and {len(report.rejected) - SHOWN_REJECTED} more rejected rows', err=True)
    typer.echo(
        f'{report.total} products imported from {file.name} in {report.seconds:.1f} s '
        f'({report.created} new, {report.updated} updated, {len(report.rejected)} rejected'
        + (f', {report.unpriced} without price' if report.unpriced else '')
        + ')'
    )
    if report.rejected and not report.total:
        raise typer.Exit(1)


def _show_preview(table: CatalogTable, mapping: ColumnMapping) -> None:
    separator = {',': 'comma', ';': 'semicolon', '\t': 'tab'}.get(table.delimiter, '')
    typer.echo(
        f'{table.name}: {table.kind.upper()}, {table.encoding}' + (f', {separator}-separated' if separator else '')
    )
    for field, columns in mapping.items():
        typer.echo(f'  {field:<12} <- {", ".join(columns)}')
    unmapped = [field for field in FIELDS if field not in mapping]
    if unmapped:
        typer.echo(f'  not in the file: {", ".join(unmapped)}')
    for position, row in table.rows[:5]:
        cells = ', '.join(f'{key}={str(value)[:40]!r}' for key, value in row.items() if value not in (None, ''))
        typer.echo(f'{position}: {cells}')
