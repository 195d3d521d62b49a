"""`leadmaster sales …`: Sales: daily reports as CSV (S4)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from app.commands import run_job
from app.settings import Settings
from services import branches
from services.database import Database
from services.sales.day_totals import rebuild_day_totals
from services.sales.reports import daily_report, report_csv

cli = typer.Typer(help='Sales: daily reports as CSV (S4).', no_args_is_help=True)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f'{value!r} is not a date (YYYY-MM-DD)') from exc


@cli.command('report')
def sales_report(
    day: Annotated[str | None, typer.Option('--date', help='Business day YYYY-MM-DD (default: today)')] = None,
    until: Annotated[str | None, typer.Option('--until', help='Last day of a range (default: --date)')] = None,
    branch: Annotated[str | None, typer.Option(help='Branch code, e.g. SUC1 (default: every branch)')] = None,
) -> None:
    """The daily sales report as CSV on stdout: one row per day, branch and agent, then a TOTAL row."""
    settings = Settings()
    zone = ZoneInfo(settings.display_timezone)
    start = _day(day) if day else datetime.now(zone).date()
    end = _day(until) if until else start

    async def work(db: Database) -> str:
        branch_id = (await branches.get_branch_by_code(db, code=branch)).id if branch else None
        return report_csv(await daily_report(db, viewer=None, start=start, end=end, branch_id=branch_id))

    typer.echo(run_job(work, settings=settings), nl=False)


@cli.command('rebuild-totals')
def rebuild_totals(
    since: Annotated[str, typer.Option('--from', help='First business day YYYY-MM-DD')],
    until: Annotated[str | None, typer.Option('--until', help='Last day (default: today)')] = None,
) -> None:
    """Recompute the report's daily totals from the sales and quotes themselves: after importing sales from
    another system, or after changing LEADMASTER_DISPLAY_TIMEZONE."""
    settings = Settings()
    zone = ZoneInfo(settings.display_timezone)
    start = _day(since)
    end = _day(until) if until else datetime.now(zone).date()
    rows = run_job(lambda db: rebuild_day_totals(db, start=start, end=end, zone=zone), settings=settings)
    typer.echo(f'{rows} daily rows rebuilt for {start.isoformat()}..{end.isoformat()}')
