"""The `leadmaster` command line. It reads the same settings (LEADMASTER_*, .env) as the app."""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import Annotated, TypedDict, TypeVar

import typer
from sqlalchemy.engine import make_url

from app.commands import assistant as assistant_commands
from app.commands import backups as backups_commands
from app.commands import catalog as catalog_commands
from app.commands import quotes as quotes_commands
from app.commands import run_job
from app.commands import sales as sales_commands
from app.commands import secrets as secrets_commands
from app.commands import sessions as sessions_commands
from app.commands import vin as vin_commands
from app.logs import configure_logging
from app.settings import Settings
from services import api_keys, branches, users
from services.database import Database
from services.demo.seed import PEOPLE, DemoLogin, database_is_empty, seed_demo
from services.events import NullPublisher
from services.models import BranchCreate, ChannelKind, DeliveryStatus, Role, TemplateStatus, UserCreate
from services.secrets import with_stored_secrets
from services.whatsapp import journal, templates
from services.whatsapp.ingest import IngestOutcome
from services.whatsapp.workers import IngestWorker

T = TypeVar('T')

cli = typer.Typer(help='LeadMaster: WhatsApp sales desk.', no_args_is_help=True, add_completion=False)
users_cli = typer.Typer(help='Agents, managers and admins.', no_args_is_help=True)
branches_cli = typer.Typer(help='Branches (sucursales).', no_args_is_help=True)
numbers_cli = typer.Typer(help='WhatsApp numbers and the branch each routes to.', no_args_is_help=True)
apikeys_cli = typer.Typer(help='Keys for the HTTP API.', no_args_is_help=True)
cli.add_typer(users_cli, name='users')
cli.add_typer(branches_cli, name='branches')
cli.add_typer(numbers_cli, name='numbers')
cli.add_typer(apikeys_cli, name='apikeys')
templates_cli = typer.Typer(
    help='Approved WhatsApp templates per number (sendable outside 24 h).', no_args_is_help=True
)
cli.add_typer(templates_cli, name='templates')
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
) -> None:
    """Serve the web app (migrations are applied first)."""
    overrides: _ServeOverrides = {}
    if host is not None:
        overrides['host'] = host
    if port is not None:
        overrides['port'] = port
    settings = Settings(**overrides)
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
def worker() -> None:
    """Run the background workers without the web server (SPEC O6; PostgreSQL only). `leadmaster run` starts one
    itself on PostgreSQL; run this beside web processes started with LEADMASTER_RUN_WORKERS=false."""
    settings = Settings()
    if settings.effective_event_bus != 'postgres':
        typer.echo(
            'leadmaster worker needs PostgreSQL (LEADMASTER_DATABASE_URL): on SQLite the workers run inside '
            '`leadmaster run`',
            err=True,
        )
        raise typer.Exit(2)
    from app.worker_process import serve_workers

    configure_logging(process='worker', log_format=settings.log_format)
    asyncio.run(serve_workers(settings))


def _describe(settings: Settings) -> str:
    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@users_cli.command('add')
def users_add(
    username: Annotated[str, typer.Argument(help='Login name')],
    role: Annotated[Role, typer.Option(help='agent, manager or admin')],
    branch: Annotated[str | None, typer.Option(help='Branch code (required for agents and managers)')] = None,
    name: Annotated[str | None, typer.Option(help='Full name (defaults to the username)')] = None,
    password: Annotated[str | None, typer.Option(help='Password; generated and printed when omitted')] = None,
    capacity: Annotated[int, typer.Option(help='Conversations the agent can hold at once')] = 8,
) -> None:
    """Create a user."""
    chosen = password or secrets.token_urlsafe(12)

    async def work(db: Database) -> None:
        branch_id = (await branches.get_branch_by_code(db, code=branch)).id if branch else None
        await users.create_user(
            db,
            user_in=UserCreate(
                username=username,
                full_name=name or username,
                role=role,
                branch_id=branch_id,
                capacity=capacity,
                password=chosen,
            ),
        )

    run_job(work)
    typer.echo(f'user {username.lower()} created ({role}{", " + branch.upper() if branch else ""})')
    if password is None:
        typer.echo(f'password: {chosen}')


@users_cli.command('list')
def users_list() -> None:
    """One user per line: username, role, branch, name."""
    for user, branch in run_job(users.list_users):
        state = '' if user.active else '  (inactive)'
        typer.echo(f'{user.username}\t{user.role}\t{branch.code if branch else "-"}\t{user.full_name}{state}')


@branches_cli.command('add')
def branches_add(
    code: Annotated[str, typer.Argument(help='Short code, e.g. SUC4')],
    name: Annotated[str | None, typer.Argument(help='Name, e.g. "Mendoza"')] = None,
    city: Annotated[str, typer.Option(help='City')] = '',
    address: Annotated[str, typer.Option(help='Street address')] = '',
) -> None:
    """Create a branch."""
    branch = run_job(
        lambda db: branches.create_branch(
            db, branch_in=BranchCreate(code=code, name=name or code.upper(), city=city, address=address)
        )
    )
    typer.echo(f'branch {branch.code} created')


@branches_cli.command('list')
def branches_list() -> None:
    """One branch per line, its code first."""
    for branch in run_job(branches.list_branches):
        typer.echo(f'{branch.code}\t{branch.name}\t{branch.city}')


@branches_cli.command('retention')
def branches_retention(
    code: Annotated[str, typer.Argument(help='Branch code, e.g. SUC1')],
    days: Annotated[
        int | None, typer.Option(help='Anonymize what customers wrote after this many days (30-3650)')
    ] = None,
    keep: Annotated[bool, typer.Option('--keep', help='Keep it (no retention)')] = False,
) -> None:
    """How long a branch keeps what customers wrote (O3, docs/privacy.md); the retention job anonymizes the rest."""
    if (days is None) == (not keep):
        raise typer.BadParameter('give --days N or --keep')
    branch = run_job(lambda db: branches.set_retention(db, code=code, days=None if keep else days))
    kept = 'kept' if branch.retention_days is None else f'anonymized after {branch.retention_days} days'
    typer.echo(f'branch {branch.code}: what customers wrote is {kept}')


@numbers_cli.command('add')
def numbers_add(
    branch: Annotated[str, typer.Option(help='Branch code')],
    channel: Annotated[ChannelKind, typer.Option(help='cloud, waha or simulator')],
    phone_number_id: Annotated[str, typer.Option(help="Meta's phone_number_id (cloud), session name (waha)")],
    display: Annotated[str, typer.Option(help='The number customers see, e.g. +5491150000101')],
    label: Annotated[str, typer.Option(help='Label, e.g. "Ventas"')] = '',
) -> None:
    """Attach a WhatsApp number to a branch (inbound routing: phone_number_id → branch)."""
    number = run_job(
        lambda db: branches.add_number(
            db, branch_code=branch, channel=channel, phone_number_id=phone_number_id, display_phone=display, label=label
        )
    )
    typer.echo(f'number {number.display_phone} ({number.phone_number_id}) routes to {branch.upper()}')


@numbers_cli.command('list')
def numbers_list() -> None:
    """One number per line: display number, phone_number_id, channel, branch code."""
    for number, branch in run_job(branches.list_numbers):
        typer.echo(f'{number.display_phone}\t{number.phone_number_id}\t{number.channel}\t{branch.code}')


@apikeys_cli.command('create')
def apikeys_create(
    name: Annotated[str, typer.Option(help='What the key is for')] = 'api',
    branch: Annotated[str | None, typer.Option(help='Limit the key to one branch (code)')] = None,
) -> None:
    """Create an API key; it is printed once, as the last word of the last line."""

    async def work(db: Database) -> str:
        branch_id = (await branches.get_branch_by_code(db, code=branch)).id if branch else None
        _, plaintext = await api_keys.create_api_key(db, name=name, branch_id=branch_id)
        return plaintext

    plaintext = run_job(work)
    typer.echo(f'scope: {branch.upper() if branch else "all branches"} — store it now, it is not shown again')
    typer.echo(f'API key: {plaintext}')


@apikeys_cli.command('revoke')
def apikeys_revoke(prefix: Annotated[str, typer.Argument(help='The part after "lm_" and before the next "_"')]) -> None:
    """Revoke an API key."""
    if not run_job(lambda db: api_keys.revoke_api_key(db, prefix=prefix)):
        typer.secho(f'no active key with prefix {prefix}', err=True, fg='red')
        raise typer.Exit(1)
    typer.echo(f'key {prefix} revoked')


@templates_cli.command('add')
def templates_add(
    phone_number_id: Annotated[str, typer.Option(help='The number the template belongs to')],
    name: Annotated[str, typer.Option(help="Template name as in Meta's manager")],
    body: Annotated[str, typer.Option(help='Body text with {{1}}, {{2}}… placeholders')],
    language: Annotated[str, typer.Option(help='Language code, e.g. es_AR')] = 'es_AR',
    category: Annotated[str, typer.Option(help='UTILITY, MARKETING or AUTHENTICATION')] = 'UTILITY',
    status: Annotated[TemplateStatus, typer.Option(help='APPROVED, PENDING, REJECTED or PAUSED')] = (
        TemplateStatus.APPROVED
    ),
) -> None:
    """Register a template for a number."""
    template = run_job(
        lambda db: templates.register_template(
            db,
            phone_number_id=phone_number_id,
            name=name,
            body=body,
            language=language,
            category=category,
            status=status,
        )
    )
    typer.echo(f'template {template.name} ({template.language}, {template.variable_count} variables) registered')


@templates_cli.command('list')
def templates_list() -> None:
    """One template per line: number, name, language, status, variables."""
    for template, number in run_job(templates.list_templates):
        typer.echo(
            f'{number.phone_number_id}\t{template.name}\t{template.language}\t{template.status}\t'
            f'{template.variable_count}'
        )


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
