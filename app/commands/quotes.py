"""`leadmaster quotes …`: Quotes (presupuestos): PDFs (S3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from app.commands import run_job
from app.settings import Settings
from services.database import Database
from services.errors import Conflict
from services.models import TemplateStatus
from services.sales import quotes
from services.sales.closing import TICKET_TEMPLATE, TICKET_TEMPLATE_BODY
from services.sales.render_pdf import quote_pdf
from services.sales.render_text import quote_messages
from services.sales.sending import QUOTE_TEMPLATE, QUOTE_TEMPLATE_BODY
from services.whatsapp import templates

cli = typer.Typer(help='Quotes (presupuestos): PDFs (S3).', no_args_is_help=True)


@cli.command('pdf')
def quote_pdf_command(
    number: Annotated[str, typer.Argument(help='The quote number as printed, e.g. SUC1-000123')],
    out: Annotated[Path, typer.Argument(help='Where to write the PDF', dir_okay=False, writable=True)],
) -> None:
    """Write a quote's PDF (the same document the customer receives)."""
    settings = Settings()

    async def work(db: Database) -> bytes:
        view = await quotes.get_quote_by_code(db, viewer=None, code=number, zone=ZoneInfo(settings.display_timezone))
        return quote_pdf(view)

    content = run_job(work, settings=settings)
    try:
        out.write_bytes(content)
    except OSError as exc:
        typer.secho(f'error: cannot write {out}: {exc.strerror}', err=True, fg='red')
        raise typer.Exit(1) from exc
    typer.echo(f'{out} ({len(content)} bytes)')


@cli.command('show')
def quote_show(number: Annotated[str, typer.Argument(help='e.g. SUC1-000123')]) -> None:
    """Print a quote as the customer reads it on WhatsApp."""
    settings = Settings()
    view = run_job(
        lambda db: quotes.get_quote_by_code(db, viewer=None, code=number, zone=ZoneInfo(settings.display_timezone)),
        settings=settings,
    )
    typer.echo(f'{view.code}\t{view.status}\t{view.totals.total}')
    typer.echo('\n---\n'.join(quote_messages(view, accept_hint=False)))


@cli.command('expire')
def quote_expire() -> None:
    """Mark sent quotes past their valid-until date as expired (the app does it every 10 minutes)."""
    settings = Settings()
    count = run_job(
        lambda db: quotes.expire_due_quotes(db, zone=ZoneInfo(settings.display_timezone)), settings=settings
    )
    typer.echo(f'{count} quotes expired')


@cli.command('register-templates')
def register_templates(
    phone_number_id: Annotated[str, typer.Option(help='The number the templates were approved for')],
    language: Annotated[str, typer.Option(help='Language code as approved in Meta')] = 'es_AR',
    status: Annotated[TemplateStatus, typer.Option(help='APPROVED once Meta approved them')] = TemplateStatus.APPROVED,
) -> None:
    """Register the quote and ticket templates (sent outside the 24 h window) with the exact bodies LeadMaster
    fills in; create them in Meta's WhatsApp Manager with the same names and text first (docs/sales.md)."""

    async def work(db: Database) -> list[str]:
        done = []
        for name, body in ((QUOTE_TEMPLATE, QUOTE_TEMPLATE_BODY), (TICKET_TEMPLATE, TICKET_TEMPLATE_BODY)):
            try:
                await templates.register_template(
                    db, phone_number_id=phone_number_id, name=name, body=body, language=language, status=status
                )
                done.append(f'{name}: registered')
            except Conflict:
                done.append(f'{name}: already registered')
        return done

    for line in run_job(work):
        typer.echo(line)
