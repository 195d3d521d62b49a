"""`leadmaster leads …`: prospects (seed 002, SPEC L1-L3): import a CSV or vCard list, list the prospects with
their scores and reasons, validate one by phone (docs/leads.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from app.commands import run_job
from services.access import Viewer
from services.branches import get_branch_by_code
from services.database import Database
from services.leads import (
    FIELDS,
    ContactFilters,
    ContactRow,
    ImportResult,
    contact_id_for_phone,
    guess_mapping,
    import_prospects,
    list_contacts,
    read_prospect_file,
    validate_contact,
)
from services.leads.files import ColumnMapping, ProspectTable
from services.models import Role

cli = typer.Typer(help='Prospects: import lists, scores, validation (seed 002).', no_args_is_help=True)

FIELD_NAMES = ', '.join(FIELDS)
# The CLI acts for the whole organisation, like an admin.
_EVERYONE = None


def _mapping(table: ProspectTable, overrides: list[str]) -> ColumnMapping:
    mapping = guess_mapping(table.headers)
    for override in overrides:
        column, separator, field = override.rpartition('=')
        field = field.strip()
        if not separator or field not in FIELDS:
            raise typer.BadParameter(
                f'{override!r}: expected COLUMN=FIELD with FIELD one of {", ".join(FIELDS)}', param_hint='--map'
            )
        column = column.strip()
        # The column leaves whatever field the titles gave it, and goes to this one.
        for columns in mapping.values():
            if column in columns:
                columns.remove(column)
        mapping.setdefault(field, [])
        if field in ('phone', 'social'):
            mapping[field].append(column)
        else:
            mapping[field] = [column]
    return {field: columns for field, columns in mapping.items() if columns}


@cli.command('import')
def import_command(
    file: Annotated[Path, typer.Argument(help='A .csv (any spreadsheet) or .vcf (vCard 3.0/4.0) file')],
    branch: Annotated[
        str | None, typer.Option('--branch', help="Put the prospects on this branch's list (its code, e.g. SUC1)")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            '--map',
            help='Read COLUMN as FIELD, e.g. --map "Cel. del dueño=phone" (repeatable; the rest is recognized by '
            'the column titles). Fields: ' + FIELD_NAMES,
        ),
    ] = None,
    label: Annotated[list[str] | None, typer.Option('--label', help='Label every imported prospect')] = None,
    as_json: Annotated[bool, typer.Option('--json', help='One JSON object per row')] = False,
) -> None:
    """Import prospects: each row is created, merged into the contact it duplicates (also the +54 9 / +54 forms of
    a mobile), or listed as invalid with its line and reason."""
    try:
        table = read_prospect_file(file)
    except (OSError, ValueError) as error:
        typer.secho(f'error: {error}', err=True, fg='red')
        raise typer.Exit(1) from error
    mapping = _mapping(table, map_ or [])

    async def work(db: Database) -> ImportResult:
        branch_id = (await get_branch_by_code(db, code=branch)).id if branch else None
        return await import_prospects(db, table, mapping=mapping, branch_id=branch_id, labels=label or [])

    try:
        result = run_job(work)
    except ValueError as error:
        typer.secho(f'error: {error}', err=True, fg='red')
        raise typer.Exit(1) from error
    if as_json:
        for row in result.rows:
            typer.echo(
                json.dumps(
                    {
                        'line': row.line,
                        'outcome': row.outcome,
                        'phone': row.phone,
                        'contact_id': row.contact_id,
                        'reason': row.reason,
                    },
                    ensure_ascii=False,
                )
            )
        return
    typer.echo(
        f'{table.name}: {len(table.rows)} filas en {result.seconds:.1f} s — '
        f'{result.created} creados, {result.merged} unidos a contactos existentes o a otra fila, '
        f'{len(result.invalid)} inválidos'
    )
    created = [row.line for row in result.rows if row.outcome == 'created']
    if created:
        typer.echo(f'creados (líneas): {_lines(created)}')
    for row in result.rows:
        if row.outcome == 'merged':
            typer.echo(f'línea {row.line}: unido a {row.reason} ({row.phone})')
    for row in result.invalid:
        typer.echo(f'línea {row.line}: inválida: {row.reason}')


def _lines(lines: list[int]) -> str:
    """'2-5, 8, 10-11': runs of consecutive line numbers, so 100,000 created rows are one short line."""
    runs: list[str] = []
    start = previous = lines[0]
    for line in [*lines[1:], None]:
        if line is not None and line == previous + 1:
            previous = line
            continue
        runs.append(str(start) if start == previous else f'{start}-{previous}')
        if line is not None:
            start = previous = line
    return ', '.join(runs)


def _row_json(row: ContactRow) -> dict[str, Any]:
    return {
        'id': row.id,
        'phone': row.phone_e164,
        'name': row.name,
        'score_contactabilidad': row.score_contactabilidad,
        'digital_maturity': row.digital_maturity,
        'validado_tecnicamente': row.validado_tecnicamente,
        'opted_out': row.opted_out,
        'reasons': {'contactability': row.contactability_reasons, 'digital_maturity': row.maturity_reasons},
    }


@cli.command('list')
def list_command(
    band: Annotated[str | None, typer.Option('--band', help='low (<40), mid (40-69) or high (>=70)')] = None,
    validated: Annotated[bool | None, typer.Option('--validated/--not-validated', help='Only those')] = None,
    limit: Annotated[int, typer.Option('--limit', min=1)] = 1000,
    as_json: Annotated[bool, typer.Option('--json', help='One JSON object per prospect')] = False,
) -> None:
    """Prospects, best contactability first, with their scores and the reasons behind them."""
    everyone = Viewer(user_id=None, username='cli', full_name='cli', role=Role.ADMIN, branch_id=None, branch_ids=None)

    async def work(db: Database) -> tuple[list[ContactRow], int]:
        return await list_contacts(
            db, viewer=everyone, filters=ContactFilters(band=band, validated=validated), limit=limit
        )

    rows, total = run_job(work)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(_row_json(row), ensure_ascii=False))
        return
    for row in rows:
        reasons = ', '.join(f'{r["code"]} {r["points"]:+d}' for r in row.contactability_reasons)
        flags = ' '.join(flag for flag, on in (('validado', row.validado_tecnicamente), ('baja', row.opted_out)) if on)
        typer.echo(
            f'{row.phone_e164 or "-":<16} {row.name[:30]:<30} contactabilidad {row.score_contactabilidad:>3} '
            f'madurez {row.digital_maturity:>3} {flags} [{reasons}]'
        )
    typer.echo(f'{len(rows)} de {total}')


@cli.command('validate')
def validate_command(
    phone: Annotated[str, typer.Argument(help='The prospect’s number, any way it is written')],
    note: Annotated[str, typer.Option('--note', help='Why (kept with the validation)')] = '',
) -> None:
    """Mark a prospect as technically validated (validado_tecnicamente): recorded as done from the command line."""

    async def work(db: Database) -> int:
        contact_id = await contact_id_for_phone(db, phone=phone)
        await validate_contact(db, viewer=_EVERYONE, contact_id=contact_id, note=note)
        return contact_id

    contact_id = run_job(work)
    typer.echo(f'contacto {contact_id} validado')
