"""The `leadmaster` command line. It reads the same settings (LEADMASTER_*, .env) as the app."""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import Annotated, TypedDict, TypeVar

import typer
from sqlalchemy.engine import make_url

from app.background import ROLES
from app.commands import assistant as assistant_commands
from app.commands import backups as backups_commands
from app.commands import campaigns as campaigns_commands
from app.commands import catalog as catalog_commands
from app.commands import cluster as cluster_commands
from app.commands import config as config_commands
from app.commands import leads as leads_commands
from app.commands import organization as organization_commands
from app.commands import quotes as quotes_commands
from app.commands import run_job
from app.commands import sales as sales_commands
from app.commands import secrets as secrets_commands
from app.commands import sessions as sessions_commands
from app.commands import vin as vin_commands
from app.logs import configure_logging
from app.settings import Settings
from services.database import Database
from services.demo.seed import PEOPLE, DemoLogin, database_is_empty, seed_demo
from services.events import NullPublisher
from services.models import DeliveryStatus
from services.secrets import with_stored_secrets
from services.whatsapp import journal
from services.whatsapp.ingest import IngestOutcome
from services.whatsapp.workers import IngestWorker

T = TypeVar('T')

cli = typer.Typer(help='LeadMaster: WhatsApp sales desk.', no_args_is_help=True, add_completion=False)
cli.add_typer(organization_commands.users_cli, name='users')
cli.add_typer(organization_commands.branches_cli, name='branches')
cli.add_typer(organization_commands.numbers_cli, name='numbers')
cli.add_typer(organization_commands.apikeys_cli, name='apikeys')
cli.add_typer(organization_commands.templates_cli, name='templates')
webhooks_cli = typer.Typer(
    help='The webhook journal: failed and flagged deliveries, dead letters.', no_args_is_help=True
)
cli.add_typer(webhooks_cli, name='webhooks')
# Feature command groups live in app/commands/, one module each.
cli.add_typer(catalog_commands.cli, name='catalog')
cli.add_typer(vin_commands.cli, name='vin')
cli.add_typer(quotes_commands.cli, name='quotes')
cli.add_typer(sales_commands.cli, name='sales')
cli.add_typer(assistant_commands.cli, name='assistant')
cli.add_typer(sessions_commands.cli, name='sessions')
cli.command('backup')(backups_commands.backup)
cli.command('restore')(backups_commands.restore)
cli.add_typer(secrets_commands.cli, name='secrets')
cli.add_typer(leads_commands.cli, name='leads')
cli.add_typer(campaigns_commands.cli, name='campaigns')
cli.add_typer(config_commands.cli, name='config')
cli.add_typer(cluster_commands.cli, name='cluster')


def demo_password(settings: Settings) -> str:
    """LEADMASTER_DEMO_PASSWORD, else one generated at the first seed and kept in var/ (never in the repo)."""
    if settings.demo_password is not None:
        return settings.demo_password.get_secret_value()
    path = settings.var_dir / 'demo_password'
    if path.exists():
        return path.read_text().strip()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(9)
    path.touch(mode=0o600)
    path.write_text(password)
    return password


def _print_logins(logins: list[DemoLogin], password: str) -> None:
    typer.echo(f'Demo logins (password: {password}):')
    for login in logins:
        branch = login.branch_code or 'all branches'
        typer.echo(f'  {login.username:<10} {login.full_name:<18} {login.role:<8} {branch}')


class _ServeOverrides(TypedDict, total=False):
    """The `run` options given on the command line; they win over the environment."""

    host: str
    port: int
    worker_processes: int


async def _seed_if_empty(db: Database, settings: Settings) -> bool:
    if not await database_is_empty(db):
        return False
    await seed_demo(db, password=demo_password(settings), catalog_size=settings.demo_catalog_size)
    return True


@cli.command()
def migrate() -> None:
    """Apply database migrations up to the newest one."""
    run_job(lambda db: asyncio.sleep(0))
    typer.echo('database is up to date')


@cli.command('seed-demo')
def seed_demo_command() -> None:
    """Load the demo branches, people, conversations and catalog into an empty database."""
    settings = Settings()
    if not run_job(lambda db: _seed_if_empty(db, settings), settings=settings):
        typer.echo('database already has data; demo not loaded')
        return
    _print_logins([DemoLogin(*person) for person in PEOPLE], demo_password(settings))


@cli.command()
def run(
    demo: Annotated[bool, typer.Option(help='Load demo data when the database is empty and print the logins')] = False,
    host: Annotated[str | None, typer.Option(help='Listen address (LEADMASTER_HOST)')] = None,
    port: Annotated[int | None, typer.Option(help='Port (LEADMASTER_PORT)')] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            '--workers',
            min=1,
            max=64,
            help='Worker processes beside the web process, PostgreSQL only (LEADMASTER_WORKER_PROCESSES, default 1)',
        ),
    ] = None,
) -> None:
    """Serve the web app (migrations are applied first)."""
    overrides: _ServeOverrides = {}
    if host is not None:
        overrides['host'] = host
    if port is not None:
        overrides['port'] = port
    if workers is not None:
        overrides['worker_processes'] = workers
    settings = Settings(**overrides)
    if settings.worker_processes > 1 and not settings.workers_in_own_process:
        typer.echo(
            'several worker processes need PostgreSQL (LEADMASTER_DATABASE_URL) and LEADMASTER_WORKER_PROCESSES only '
            'counts when the workers run in their own processes',
            err=True,
        )
        raise typer.Exit(2)
    if demo:
        run_job(lambda db: _seed_if_empty(db, settings), settings=settings)
        _print_logins([DemoLogin(*person) for person in PEOPLE], demo_password(settings))
    else:
        run_job(lambda db: asyncio.sleep(0), settings=settings)
    settings = run_job(lambda db: with_stored_secrets(db, settings), settings=settings)  # the environment wins
    typer.echo(f'LeadMaster on http://{settings.host}:{settings.port}  (database: {_describe(settings)})')
    sys.stdout.flush()
    configure_logging(process='web', log_format=settings.log_format)
    from app.wiring import build, serve

    build(settings)
    serve(settings)


@cli.command()
def worker(
    only: Annotated[
        str | None,
        typer.Option(
            '--only',
            help='Run only these workers, comma-separated (default: all): ' + ', '.join(ROLES),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the background workers without the web server (SPEC O6; PostgreSQL only). `leadmaster run` starts them
    itself on PostgreSQL (`--workers N` processes); run this beside web processes started with
    LEADMASTER_RUN_WORKERS=false, as many copies as wanted, on this machine or others: every worker is safe with N
    copies. `--only ingest,outbox` splits the work by role over processes or machines."""
    from app.worker_process import WorkerRefused, run_worker_process, worker_options

    try:
        settings, roles = worker_options(only)
    except WorkerRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    run_worker_process(settings, roles)


def _describe(settings: Settings) -> str:
    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@webhooks_cli.command('list')
def webhooks_list(
    status: Annotated[list[DeliveryStatus] | None, typer.Option(help='failed, flagged, pending, processed')] = None,
    limit: Annotated[int, typer.Option(help='How many, newest first')] = 50,
) -> None:
    """Journaled webhook deliveries: id, received, status, messages, statuses, first line of the error."""
    chosen = status or [DeliveryStatus.FAILED, DeliveryStatus.FLAGGED]
    for delivery in run_job(lambda db: journal.list_deliveries(db, statuses=chosen, limit=limit)):
        error = delivery.error.splitlines()[0] if delivery.error else ''
        typer.echo(
            f'{delivery.id}\t{delivery.received_at:%Y-%m-%d %H:%M:%S}\t{delivery.status}\t'
            f'{delivery.message_count}\t{delivery.status_count}\t{error}'
        )


@webhooks_cli.command('dead-letters')
def webhooks_dead_letters() -> None:
    """What was acknowledged but not stored: id, delivery, kind (unroutable: no branch owns the phone_number_id;
    unstorable: storing it failed), phone_number_id, WhatsApp id, messages, statuses, error."""
    for letter in run_job(lambda db: journal.list_dead_letters(db, limit=500)):
        typer.echo(
            f'{letter.id}\t{letter.delivery_id}\t{letter.kind}\t{letter.phone_number_id}\t{letter.wa_message_id}\t'
            f'{letter.message_count}\t{letter.status_count}\t{letter.error.splitlines()[0] if letter.error else ""}'
        )


@webhooks_cli.command('replay')
def webhooks_replay(
    delivery_id: Annotated[list[int] | None, typer.Option('--id', help='Replay these deliveries')] = None,
    dead_letters: Annotated[
        bool, typer.Option(help='Also replay dead letters (after adding their number or fixing the cause)')
    ] = False,
) -> None:
    """Process failed (or the given) deliveries again. Safe to repeat: stored messages are not duplicated."""

    async def work(db: Database) -> tuple[int, IngestOutcome]:
        requeued = await journal.requeue_for_replay(db, delivery_ids=delivery_id, include_dead_letters=dead_letters)
        return requeued, await IngestWorker(db, publisher=NullPublisher()).drain()

    requeued, outcome = run_job(work)
    typer.echo(
        f'replayed {requeued} deliveries: {outcome.messages_stored} messages stored, '
        f'{outcome.duplicates} already stored, {outcome.statuses_applied} statuses applied, '
        f'{outcome.unroutable} still unroutable, {outcome.unstorable} dead letters, {outcome.failed} failed again'
    )
    if outcome.failed:
        raise typer.Exit(1)


def main() -> None:
    cli()


if __name__ == '__main__':
    main()
