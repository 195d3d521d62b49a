"""`leadmaster sessions …`: WhatsApp-Web sessions through the WAHA gateway (SPEC M6, docs/channels.md)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

import typer

from app.commands import run_job
from app.settings import Settings
from services.branches import list_branches
from services.database import Database
from services.events import Event
from services.models import WaSessionPublic
from services.secrets import with_stored_secrets
from services.sessions import service
from services.sessions.control import ProbePolicy, SessionControl
from services.whatsapp.waha.client import WahaClient

cli = typer.Typer(help='WhatsApp-Web sessions through the WAHA gateway (M6).', no_args_is_help=True)


class _NoEvents:
    """The CLI publishes no live events: an admin page open meanwhile shows the new state when reloaded (the CLI
    has already recorded it, so the running app's probes find no change to announce)."""

    async def publish(self, events: Sequence[Event]) -> None:
        return None


def _with_control(settings: Settings, act: Callable[[SessionControl], Awaitable[WaSessionPublic]]) -> WaSessionPublic:
    async def work(db: Database) -> WaSessionPublic:
        # The gateway's key and HMAC key may be kept only in the encrypted store (`leadmaster secrets set`).
        filled = await with_stored_secrets(db, settings)
        waha = WahaClient(base_url=filled.effective_waha_base_url, api_key=filled.effective_waha_api_key)
        try:
            control = SessionControl(
                db,
                client=waha,
                publisher=_NoEvents(),
                webhook_url=filled.effective_waha_webhook_url,
                webhook_hmac_key=filled.effective_waha_webhook_hmac_key,
                policy=ProbePolicy(timezone=filled.display_timezone),
            )
            return await act(control)
        finally:
            await waha.aclose()

    return run_job(work, settings=settings)


def _line(current: WaSessionPublic) -> str:
    return f'{current.name}\t{current.branch_id}\t{current.state}\t{current.gateway_status or "-"}'


@cli.command('add')
def add(
    branch: Annotated[str, typer.Option(help='Branch code, e.g. SUC1')],
    name: Annotated[str, typer.Option(help="The gateway's session name (letters, digits, - and _)")],
    display: Annotated[str, typer.Option(help='The phone, e.g. +5491155550101 (learnt when paired if omitted)')] = '',
    label: Annotated[str, typer.Option(help='A name for people, e.g. "Ventas Córdoba"')] = '',
) -> None:
    """Add a session to a branch. It listens only until `sessions allow-send NAME --on`."""
    created = run_job(
        lambda db: service.add_session(db, branch_code=branch, name=name, display_phone=display, label=label)
    )
    typer.echo(
        f'session {created.name} added to {branch.upper()} ({created.state}); start it with '
        f'`leadmaster sessions start {created.name}`'
    )


@cli.command('list')
def list_() -> None:
    """One session per line: name, branch, state, gateway status (tab-separated)."""
    rows = run_job(lambda db: service.list_sessions(db, viewer=None))
    branch_codes = run_job(_branch_codes)
    for current in rows:
        typer.echo(
            f'{current.name}\t{branch_codes.get(current.branch_id, current.branch_id)}\t{current.state}'
            f'\t{current.gateway_status or "-"}'
        )


async def _branch_codes(db: Database) -> dict[int, str]:
    return {branch.id or 0: branch.code for branch in await list_branches(db, viewer=None)}


@cli.command('status')
def status(
    name: str,
    as_json: Annotated[
        bool, typer.Option('--json', help='One JSON object, like GET /api/v1/sessions/NAME/status')
    ] = False,
) -> None:
    """The session's state as last read from the gateway (the running app probes it every few seconds)."""
    current = run_job(lambda db: service.get_session(db, name=name, viewer=None))
    document = service.status_document(current)
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False, default=lambda value: value.isoformat()))
        return
    since = f'{current.state_since:%Y-%m-%d %H:%M} UTC'
    typer.echo(f'{current.name}: {current.state} ({current.gateway_status or "-"}) since {since}')
    typer.echo(f'reason: {current.reason}')
    typer.echo(f'action: {document["recommended_action"]}; sending {"allowed" if current.sending_enabled else "off"}')


def _action(name: str, verb: str) -> None:
    settings = Settings()
    current = _with_control(settings, lambda control: getattr(control, verb)(name=name, actor=None))
    typer.echo(f'{current.name}: {current.state} ({current.gateway_status or "-"})')


@cli.command('start')
def start(name: str) -> None:
    """Start the session on the gateway (creating it there with our webhook if new)."""
    _action(name, 'start')


@cli.command('stop')
def stop(name: str) -> None:
    _action(name, 'stop')


@cli.command('restart')
def restart(name: str) -> None:
    _action(name, 'restart')


@cli.command('logout')
def logout(name: str) -> None:
    """Unlink the phone: the next start asks for a QR."""
    _action(name, 'logout')


@cli.command('allow-send')
def allow_send(
    name: str,
    on: Annotated[bool, typer.Option('--on/--off', help='Allow sending through it, or back to listen-only')],
) -> None:
    """Seed 001: sending through a WhatsApp-Web number risks a ban; allowed per session, at a human pace."""
    current = run_job(lambda db: service.allow_sending(db, name=name, allowed=on, actor=None))
    typer.echo(f'{current.name}: sending {"allowed" if current.sending_enabled else "off (listen-only)"}')
