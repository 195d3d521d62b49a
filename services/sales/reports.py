"""The daily sales report per branch and agent (S4): count, net, IVA, total, average ticket, commission and
the quote → sale conversion, over a range of business days (Argentine calendar days, not UTC ones).

Days are cut in Python (the zone's midnights as UTC instants) and mapped with a CASE in SQL, so both databases
group identically — SQLite has no time zones — and a DST change, should Argentina adopt one again, is handled.

Conversion is a cohort figure: of the quotes *sent* on a day (by an agent), how many have been accepted so
far. It never exceeds 100 %, unlike "sales today / quotes today" when yesterday's quote is accepted today.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal_column
from sqlmodel import col, select

from ..access import Viewer, branch_scope
from ..database import Database
from ..errors import InvalidInput
from ..models import Branch, Quote, QuoteStatus, Role, Sale, User
from .money import HUNDRED, ZERO, to_cents

MAX_REPORT_DAYS = 366
CSV_COLUMNS = ('date', 'branch', 'agent', 'sales', 'net', 'iva', 'total', 'average_ticket', 'quotes_sent',
               'quotes_accepted', 'conversion_percent', 'commission')


@dataclass(frozen=True)
class Figures:
    sales: int = 0
    net: Decimal = ZERO
    iva: Decimal = ZERO
    total: Decimal = ZERO
    commission: Decimal = ZERO
    quotes_sent: int = 0
    quotes_accepted: int = 0

    @property
    def average_ticket(self) -> Decimal:
        return to_cents(self.total / self.sales) if self.sales else ZERO

    @property
    def conversion_percent(self) -> Decimal | None:
        """Accepted / sent quotes, in %; None when no quote was sent (0 % would be a claim)."""
        if not self.quotes_sent:
            return None
        return (Decimal(self.quotes_accepted) * HUNDRED / self.quotes_sent).quantize(Decimal('0.1'))

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.sales + other.sales, self.net + other.net, self.iva + other.iva,
                       self.total + other.total, self.commission + other.commission,
                       self.quotes_sent + other.quotes_sent, self.quotes_accepted + other.quotes_accepted)


@dataclass(frozen=True)
class ReportRow:
    day: date
    branch_id: int
    branch_code: str
    agent_id: int | None
    agent_name: str  # '' = no agent (the AI closed it alone)
    figures: Figures


@dataclass(frozen=True)
class SalesReport:
    start: date
    end: date
    rows: tuple[ReportRow, ...]
    totals: Figures
    by_day: tuple[tuple[date, Figures], ...]  # every day of the range, zeros included (charts need them)
    by_agent: tuple[tuple[str, Figures], ...]
    by_branch: tuple[tuple[str, Figures], ...]
    days: tuple[date, ...] = field(default=())


def _day_bounds(start: date, end: date, zone: ZoneInfo) -> list[datetime]:
    return [datetime.combine(start + timedelta(days=offset), time(), zone)
            for offset in range((end - start).days + 2)]


def _day_index(column: Any, bounds: list[datetime]) -> Any:
    """Which business day an instant falls on: 0 for the first day of the range, 1 for the next…"""
    whens = [(column < bound, index) for index, bound in enumerate(bounds[1:-1])]
    return case(*whens, else_=len(bounds) - 2) if whens else literal_column('0')


def _sum(value: Decimal | None) -> Decimal:
    return value if value is not None else ZERO


async def daily_report(db: Database, *, viewer: Viewer | None, start: date, end: date, branch_id: int | None = None,
                       zone: ZoneInfo) -> SalesReport:
    """Managers see their branches, admins all (`viewer` None: the CLI, unrestricted); `branch_id` narrows."""
    if viewer is not None:
        viewer.require_role(Role.MANAGER)
    if end < start:
        raise InvalidInput(f'the range ends ({end}) before it starts ({start})')
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput(f'a report covers at most {MAX_REPORT_DAYS} days')
    bounds = _day_bounds(start, end, zone)
    since, until = bounds[0], bounds[-1]
    positions = (literal_column('1'), literal_column('2'), literal_column('3'))

    sale_day = _day_index(col(Sale.sold_at), bounds).label('day')
    sales_query = (select(sale_day, Sale.branch_id, Sale.agent_id, func.count(), func.sum(Sale.net_total),
                          func.sum(Sale.iva_total), func.sum(Sale.total), func.sum(Sale.commission_amount))
                   .where(col(Sale.sold_at) >= since, col(Sale.sold_at) < until)
                   .group_by(*positions))  # by position: the CASE's bound parameters differ per clause
    quote_agent = func.coalesce(Quote.sent_by_id, Quote.created_by_id)
    sent_day = _day_index(col(Quote.sent_at), bounds).label('day')
    quotes_query = (select(sent_day, Quote.branch_id, quote_agent, func.count(),
                           func.sum(case((col(Quote.status) == QuoteStatus.ACCEPTED, 1), else_=0)))
                    .where(col(Quote.sent_at) >= since, col(Quote.sent_at) < until)
                    .group_by(*positions))
    if viewer is not None or branch_id is not None:
        scope_viewer = viewer or _UNRESTRICTED
        sales_query = sales_query.where(branch_scope(Sale.branch_id, scope_viewer, only=branch_id))
        quotes_query = quotes_query.where(branch_scope(Quote.branch_id, scope_viewer, only=branch_id))

    figures: dict[tuple[int, int, int | None], Figures] = {}
    async with db.session() as session:
        for day, branch, agent, count, net, iva, total, commission in (await session.exec(sales_query)).all():
            key = (int(day), branch, agent)
            figures[key] = figures.get(key, Figures()) + Figures(
                sales=count, net=_sum(net), iva=_sum(iva), total=_sum(total), commission=_sum(commission))
        for day, branch, agent, sent, accepted in (await session.exec(quotes_query)).all():
            key = (int(day), branch, agent)
            figures[key] = figures.get(key, Figures()) + Figures(quotes_sent=sent, quotes_accepted=int(accepted or 0))
        branch_codes = await _names(session, Branch, Branch.code, {branch for _, branch, _ in figures})
        agent_names = await _names(session, User, User.full_name, {agent for _, _, agent in figures if agent})
    days = tuple(start + timedelta(days=offset) for offset in range((end - start).days + 1))
    rows = tuple(sorted(
        (ReportRow(day=days[day], branch_id=branch, branch_code=branch_codes.get(branch, '?'), agent_id=agent,
                   agent_name=agent_names.get(agent, '') if agent else '', figures=value)
         for (day, branch, agent), value in figures.items()),
        key=lambda row: (row.day, row.branch_code, row.agent_name)))
    return SalesReport(start=start, end=end, rows=rows, totals=_total(row.figures for row in rows),
                       by_day=tuple((day, _total(row.figures for row in rows if row.day == day)) for day in days),
                       by_agent=_grouped(rows, lambda row: row.agent_name),
                       by_branch=_grouped(rows, lambda row: row.branch_code), days=days)


_UNRESTRICTED = Viewer(user_id=None, username='cli', full_name='cli', role=Role.ADMIN, branch_id=None,
                       branch_ids=None)


async def _names(session: Any, model: Any, column: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (await session.exec(select(model.id, column).where(col(model.id).in_(sorted(ids))))).all()
    return dict(rows)


def _total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for value in figures:
        result = result + value
    return result


def _grouped(rows: tuple[ReportRow, ...], key: Any) -> tuple[tuple[str, Figures], ...]:
    groups: dict[str, Figures] = {}
    for row in rows:
        groups[key(row)] = groups.get(key(row), Figures()) + row.figures
    return tuple(sorted(groups.items(), key=lambda item: -item[1].total))


def report_csv(report: SalesReport) -> str:
    """One row per day, branch and agent, plus a final TOTAL row; '.' decimals, for spreadsheets and scripts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(CSV_COLUMNS)

    def figures_cells(value: Figures) -> list[str]:
        conversion = value.conversion_percent
        return [str(value.sales), f'{value.net:.2f}', f'{value.iva:.2f}', f'{value.total:.2f}',
                f'{value.average_ticket:.2f}', str(value.quotes_sent), str(value.quotes_accepted),
                '' if conversion is None else f'{conversion:.1f}', f'{value.commission:.2f}']

    for row in report.rows:
        writer.writerow([row.day.isoformat(), row.branch_code, row.agent_name, *figures_cells(row.figures)])
    writer.writerow(['TOTAL', '', '', *figures_cells(report.totals)])
    return out.getvalue()
