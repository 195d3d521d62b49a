"""The daily sales report per branch and agent (S4): count, net, IVA, total, average ticket, commission and
the quote → sale conversion, over a range of business days (Argentine calendar days, not UTC ones).

The figures come from `sales_day_totals` (see `day_totals`), kept current by the services that send quotes and
close sales: a month's report reads one row per day, branch and agent, however many sales there were.

Conversion is a cohort figure: of the quotes *sent* on a day (by an agent), how many have been accepted so
far. It never exceeds 100 %, unlike "sales today / quotes today" when yesterday's quote is accepted today.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col

from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import InvalidInput
from ..models import Branch, Role, User, table_of
from ..models.sales import SalesDayTotal
from .money import HUNDRED, ZERO, to_cents

MAX_REPORT_DAYS = 366
CSV_COLUMNS = (
    'date',
    'branch',
    'agent',
    'sales',
    'net',
    'iva',
    'total',
    'average_ticket',
    'quotes_sent',
    'quotes_accepted',
    'conversion_percent',
    'commission',
)
# The same columns for a spreadsheet set to Spanish (Argentina), whose users read Spanish headers.
SPREADSHEET_HEADERS = (
    'Fecha',
    'Sucursal',
    'Vendedor',
    'Ventas',
    'Neto',
    'IVA',
    'Total',
    'Ticket promedio',
    'Presupuestos enviados',
    'Presupuestos aceptados',
    'Conversión %',
    'Comisión',
)


# slots, not frozen: a month of every branch builds ~1,500 of each, and frozen dataclasses initialise slowly.
@dataclass(slots=True)
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
        return Figures(
            self.sales + other.sales,
            self.net + other.net,
            self.iva + other.iva,
            self.total + other.total,
            self.commission + other.commission,
            self.quotes_sent + other.quotes_sent,
            self.quotes_accepted + other.quotes_accepted,
        )


@dataclass(slots=True)
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


async def daily_report(
    db: Database, *, viewer: Viewer | None, start: date, end: date, branch_id: int | None = None
) -> SalesReport:
    """Managers see their branches, admins all (`viewer` None: the CLI, unrestricted); `branch_id` narrows."""
    if viewer is not None:
        viewer.require_role(Role.MANAGER)
    if end < start:
        raise InvalidInput(f'the range ends ({end}) before it starts ({start})')
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput(f'a report covers at most {MAX_REPORT_DAYS} days')
    table = table_of(SalesDayTotal)
    # Plain columns, not ORM objects, and the names joined in: one round trip, ~1,500 rows for a month of
    # every branch, where entity loading would dominate.
    query = (
        select_columns(
            table.c.day,
            table.c.branch_id,
            Branch.code,
            table.c.agent_key,
            User.full_name,
            table.c.sales,
            table.c.net_total,
            table.c.iva_total,
            table.c.total,
            table.c.commission_amount,
            table.c.quotes_sent,
            table.c.quotes_accepted,
        )
        .join(Branch, col(Branch.id) == table.c.branch_id)
        .outerjoin(User, col(User.id) == table.c.agent_key)
        .where(table.c.day >= start, table.c.day <= end)
    )
    if viewer is not None or branch_id is not None:
        query = query.where(branch_scope(table.c.branch_id, viewer or _UNRESTRICTED, only=branch_id))
    async with db.session() as session:
        totals = (await session.exec(query)).all()
    days = tuple(start + timedelta(days=offset) for offset in range((end - start).days + 1))
    rows = tuple(
        sorted(
            (
                ReportRow(
                    day=day,
                    branch_id=branch,
                    branch_code=code,
                    agent_id=agent or None,
                    agent_name=name or '',
                    figures=Figures(
                        sales=count,
                        net=net,
                        iva=iva,
                        total=total,
                        commission=commission,
                        quotes_sent=sent,
                        quotes_accepted=accepted,
                    ),
                )
                for day, branch, code, agent, name, count, net, iva, total, commission, sent, accepted in totals
                if count or sent or accepted
            ),
            key=lambda row: (row.day, row.branch_code, row.agent_name),
        )
    )
    per_day: dict[date, list[Figures]] = {}
    for row in rows:
        per_day.setdefault(row.day, []).append(row.figures)
    return SalesReport(
        start=start,
        end=end,
        rows=rows,
        totals=_total([row.figures for row in rows]),
        by_day=tuple((day, _total(per_day.get(day, []))) for day in days),
        by_agent=_grouped(rows, lambda row: row.agent_name),
        by_branch=_grouped(rows, lambda row: row.branch_code),
        days=days,
    )


_UNRESTRICTED = Viewer(user_id=None, username='cli', full_name='cli', role=Role.ADMIN, branch_id=None, branch_ids=None)


def _total(figures: Sequence[Figures]) -> Figures:
    """Field by field, not `a + b + …`: one object per group instead of one per row."""
    return Figures(
        sum(value.sales for value in figures),
        sum((value.net for value in figures), ZERO),
        sum((value.iva for value in figures), ZERO),
        sum((value.total for value in figures), ZERO),
        sum((value.commission for value in figures), ZERO),
        sum(value.quotes_sent for value in figures),
        sum(value.quotes_accepted for value in figures),
    )


def _grouped(rows: tuple[ReportRow, ...], key: Any) -> tuple[tuple[str, Figures], ...]:
    groups: dict[str, list[Figures]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row.figures)
    totals = [(name, _total(values)) for name, values in groups.items()]
    return tuple(sorted(totals, key=lambda item: -item[1].total))


def report_csv(report: SalesReport, *, spreadsheet: bool = False) -> str:
    """One row per day, branch and agent, plus a final TOTAL row. Plain (the CLI, scripts): `,` between fields,
    `.` decimals, ISO dates, the English column names of `CSV_COLUMNS`. `spreadsheet` (the page's download, opened
    in Excel or LibreOffice set to Spanish (Argentina)): `;` between fields, `,` decimals without thousands
    separators (a number the spreadsheet sums, not text), dd/mm/yyyy, Spanish headers (`SPREADSHEET_HEADERS`) and a
    UTF-8 BOM so accents survive — a `.` decimal there is read as a thousands separator, turning $ 1.234,56 into
    123.456."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n', delimiter=';' if spreadsheet else ',')
    writer.writerow(SPREADSHEET_HEADERS if spreadsheet else CSV_COLUMNS)

    def number(value: Decimal, places: int) -> str:
        text = f'{value:.{places}f}'
        return text.replace('.', ',') if spreadsheet else text

    def figures_cells(value: Figures) -> list[str]:
        conversion = value.conversion_percent
        return [
            str(value.sales),
            number(value.net, 2),
            number(value.iva, 2),
            number(value.total, 2),
            number(value.average_ticket, 2),
            str(value.quotes_sent),
            str(value.quotes_accepted),
            '' if conversion is None else number(Decimal(conversion), 1),
            number(value.commission, 2),
        ]

    for row in report.rows:
        day = row.day.strftime('%d/%m/%Y') if spreadsheet else row.day.isoformat()
        writer.writerow([day, row.branch_code, row.agent_name, *figures_cells(row.figures)])
    writer.writerow(['TOTAL', '', '', *figures_cells(report.totals)])
    return ('\ufeff' if spreadsheet else '') + out.getvalue()
