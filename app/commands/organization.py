"""`leadmaster users|branches|numbers|apikeys|templates`: the organisation — people, branches, their WhatsApp numbers,
API keys and approved templates (SPEC B1-B4, M3)."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from app.commands import run_job
from services import api_keys, branches, users
from services.database import Database
from services.models import BranchCreate, ChannelKind, Role, TemplateStatus, UserCreate
from services.whatsapp import templates

users_cli = typer.Typer(help='Agents, managers and admins.', no_args_is_help=True)
branches_cli = typer.Typer(help='Branches (sucursales).', no_args_is_help=True)
numbers_cli = typer.Typer(help='WhatsApp numbers and the branch each routes to.', no_args_is_help=True)
apikeys_cli = typer.Typer(help='Keys for the HTTP API.', no_args_is_help=True)
templates_cli = typer.Typer(
    help='Approved WhatsApp templates per number (sendable outside 24 h).', no_args_is_help=True
)


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


@users_cli.command('deactivate')
def users_deactivate(username: Annotated[str, typer.Argument(help='Login name')]) -> None:
    """Deactivate a user: their sessions end and they cannot sign in (their history stays)."""

    async def work(db: Database) -> None:
        user = await users.get_user_by_username(db, username=username)
        await users.set_active(db, user_id=user.id or 0, active=False)

    run_job(work)
    typer.echo(f'user {username.lower()} deactivated')


@users_cli.command('activate')
def users_activate(username: Annotated[str, typer.Argument(help='Login name')]) -> None:
    """Let a deactivated user sign in again."""

    async def work(db: Database) -> None:
        user = await users.get_user_by_username(db, username=username)
        await users.set_active(db, user_id=user.id or 0, active=True)

    run_job(work)
    typer.echo(f'user {username.lower()} activated')


@users_cli.command('reset-password')
def users_reset_password(username: Annotated[str, typer.Argument(help='Login name')]) -> None:
    """Give a user a new random password (printed once, last word of the last line); ends their sessions and
    lifts a lockout."""

    async def work(db: Database) -> str:
        user = await users.get_user_by_username(db, username=username)
        return await users.reset_password(db, user_id=user.id or 0)

    password = run_job(work)
    typer.echo(f'user {username.lower()}: new password — tell it to them now, it is not shown again')
    typer.echo(f'password: {password}')


@users_cli.command('unlock')
def users_unlock(username: Annotated[str, typer.Argument(help='Login name')]) -> None:
    """Lift a lockout after too many failed logins."""

    async def work(db: Database) -> None:
        user = await users.get_user_by_username(db, username=username)
        await users.unlock(db, user_id=user.id or 0)

    run_job(work)
    typer.echo(f'user {username.lower()} unlocked')


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
    waba_id: Annotated[
        str | None, typer.Option(help='WhatsApp Business Account id (cloud), for the template sync')
    ] = None,
) -> None:
    """Attach a WhatsApp number to a branch (inbound routing: phone_number_id → branch). Meta's test numbers
    (+1 555 …) are accepted."""
    number = run_job(
        lambda db: branches.add_number(
            db,
            branch_code=branch,
            channel=channel,
            phone_number_id=phone_number_id,
            display_phone=display,
            label=label,
            waba_id=waba_id,
        )
    )
    typer.echo(f'number {number.display_phone} ({number.phone_number_id}) routes to {branch.upper()}')


@numbers_cli.command('edit')
def numbers_edit(
    phone_number_id: Annotated[str, typer.Argument(help="The number's phone_number_id (cloud) or session name")],
    branch: Annotated[str | None, typer.Option(help='Move it to this branch (code)')] = None,
    display: Annotated[str | None, typer.Option(help='The number customers see')] = None,
    label: Annotated[str | None, typer.Option(help='Label')] = None,
    waba_id: Annotated[str | None, typer.Option(help='WhatsApp Business Account id')] = None,
) -> None:
    """Change a number's branch, display number, label or WABA id (what is not given stays)."""

    async def work(db: Database) -> tuple[str, str]:
        number = await branches.get_number_by_phone_number_id(db, phone_number_id=phone_number_id)
        target = await branches.get_branch_by_code(db, code=branch) if branch else None
        changed = await branches.update_number(
            db,
            number_id=number.id or 0,
            changes=branches.NumberChanges(
                branch_id=(target.id or 0) if target else number.branch_id,
                display_phone=display if display is not None else number.display_phone,
                label=label if label is not None else number.label,
                waba_id=waba_id if waba_id is not None else number.waba_id,
                active=number.active,
            ),
        )
        code = target.code if target else (await branches.get_branch(db, branch_id=changed.branch_id)).code
        return changed.display_phone, code

    display_phone, code = run_job(work)
    typer.echo(f'number {display_phone} ({phone_number_id}) routes to {code}')


def _set_number_active(phone_number_id: str, *, active: bool) -> None:
    async def work(db: Database) -> None:
        number = await branches.get_number_by_phone_number_id(db, phone_number_id=phone_number_id)
        await branches.update_number(
            db,
            number_id=number.id or 0,
            changes=branches.NumberChanges(
                branch_id=number.branch_id,
                display_phone=number.display_phone,
                label=number.label,
                waba_id=number.waba_id,
                active=active,
            ),
        )

    run_job(work)


@numbers_cli.command('deactivate')
def numbers_deactivate(
    phone_number_id: Annotated[str, typer.Argument(help="The number's phone_number_id or session name")],
) -> None:
    """Stop routing a number: its webhooks become dead letters (replayable once it is active again)."""
    _set_number_active(phone_number_id, active=False)
    typer.echo(f'number {phone_number_id} deactivated')


@numbers_cli.command('activate')
def numbers_activate(
    phone_number_id: Annotated[str, typer.Argument(help="The number's phone_number_id or session name")],
) -> None:
    """Route a deactivated number again."""
    _set_number_active(phone_number_id, active=True)
    typer.echo(f'number {phone_number_id} activated')


@numbers_cli.command('list')
def numbers_list() -> None:
    """One number per line: display number, phone_number_id, channel, branch code."""
    for number, branch in run_job(branches.list_numbers):
        state = '' if number.active else '  (inactive)'
        typer.echo(f'{number.display_phone}\t{number.phone_number_id}\t{number.channel}\t{branch.code}{state}')


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


@apikeys_cli.command('list')
def apikeys_list() -> None:
    """One key per line: prefix, name, scope, state (the keys themselves are never stored)."""
    for key, branch in run_job(api_keys.list_api_keys):
        state = 'revoked' if key.revoked_at else 'active'
        typer.echo(f'{key.prefix}\t{key.name}\t{branch.code if branch else "all branches"}\t{state}')


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
