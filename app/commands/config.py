"""`leadmaster config apply FILE.yaml [--dry-run]`: branches, numbers, users, templates and per-branch settings
from one file (B1, issue 15; services/configuration.py, docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.commands import run_job
from services.configuration import ApplyResult, ConfigInvalid, apply_config, load_document
from services.database import Database

cli = typer.Typer(
    help='Declarative configuration: many branches and numbers from one YAML file (B1).', no_args_is_help=True
)


@cli.callback()
def config_group() -> None:
    """Declarative configuration: many branches and numbers from one YAML file (B1)."""
    # A callback keeps `config` a group even with one command, so `leadmaster config apply FILE` reads the same
    # whether this app runs alone or under `leadmaster`.


@cli.command('apply')
def apply_command(
    file: Annotated[Path, typer.Argument(help='YAML file: branches, numbers, users, templates, settings')],
    dry_run: Annotated[
        bool, typer.Option('--dry-run', help='Print what would change, field by field; change nothing')
    ] = False,
) -> None:
    """Make the database match FILE. The whole file is checked first (every problem with its path); then all of
    it is applied in one transaction, or nothing. Applying the same file again changes nothing."""
    try:
        document = load_document(file.read_text(encoding='utf-8'))
    except OSError as exc:
        typer.secho(f'error: cannot read {file}: {exc.strerror}', err=True, fg='red')
        raise typer.Exit(1) from exc
    except ConfigInvalid as exc:
        _report_problems(file, exc)
        raise typer.Exit(1) from exc

    async def work(db: Database) -> ApplyResult | ConfigInvalid:
        try:
            return await apply_config(db, document=document, dry_run=dry_run)
        except ConfigInvalid as exc:  # reported below, one problem a line
            return exc

    result = run_job(work)
    if isinstance(result, ConfigInvalid):
        _report_problems(file, result)
        raise typer.Exit(1)
    typer.echo(result.plan.text())
    if dry_run:
        typer.echo('Dry run: nothing was changed.')
    elif result.applied:
        typer.secho('Applied.', fg='green')
    for username, password in result.passwords.items():
        # Shown once and never stored in clear: whoever runs this hands it to the person, who changes it.
        typer.echo(f'one-time password for {username}: {password}')


def _report_problems(file: Path, exc: ConfigInvalid) -> None:
    typer.secho(f'{file}: {len(exc.problems)} problem(s); nothing was changed', err=True, fg='red')
    for problem in exc.problems:
        typer.echo(f'  {problem}', err=True)
