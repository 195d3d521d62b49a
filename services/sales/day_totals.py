"""The daily report's running totals (S4): one row per branch, business day and agent in `sales_day_totals`,
incremented inside the transactions that send quotes and close sales, so reading a month costs the same with
100 or 100,000 sales. `rebuild_day_totals` recomputes them from `sales` and `quotes` (data loaded from
elsewhere, or a changed time zone).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnClause, case, delete, func, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from ..database import Database, select_columns
from ..models import Quote, QuoteStatus, Sale, table_of
from ..models.sales import SalesDayTotal
from .money import ZERO

_COUNTERS = ('sales', 'net_total', 'iva_total', 'total', 'commission_amount', 'quotes_sent', 'quotes_accepted')


async def add_to_day(
    session: AsyncSession,
    *,
    branch_id: int,
    agent_id: int | None,
    day: date,
    sales: int = 0,
    net_total: Decimal = ZERO,
    iva_total: Decimal = ZERO,
    total: Decimal = ZERO,
    commission_amount: Decimal = ZERO,
    quotes_sent: int = 0,
    quotes_accepted: int = 0,
) -> None:
    """Add to one (branch, day, agent) row in the caller's transaction; concurrent adds never lose one
    (`INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x` on both databases)."""
    table = table_of(SalesDayTotal)
    values = {
        'branch_id': branch_id,
        'day': day,
        'agent_key': agent_id or 0,
        'sales': sales,
        'net_total': net_total,
        'iva_total': iva_total,
        'total': total,
        'commission_amount': commission_amount,
        'quotes_sent': quotes_sent,
        'quotes_accepted': quotes_accepted,
    }
    insert = pg_insert if session.get_bind().dialect.name == 'postgresql' else sqlite_insert
    statement = insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=['branch_id', 'day', 'agent_key'],
        set_={name: table.c[name] + statement.excluded[name] for name in _COUNTERS},
    )
    await session.exec(statement)


def business_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def day_bounds(start: date, end: date, zone: ZoneInfo) -> list[datetime]:
    """The zone's midnights from `start` to the day after `end`, as aware instants."""
    return [datetime.combine(start + timedelta(days=offset), time(), zone) for offset in range((end - start).days + 2)]


def _day_index(column: Any, bounds: list[datetime]) -> Any:
    """Which business day an instant falls on (0 = the first): a CASE over the midnights, so both databases cut
    days identically — SQLite has no time zones — and a DST change would be handled."""
    whens = [(column < bound, index) for index, bound in enumerate(bounds[1:-1])]
    return case(*whens, else_=len(bounds) - 2) if whens else literal_column('0')


async def rebuild_day_totals(db: Database, *, start: date, end: date, zone: ZoneInfo) -> int:
    """Recompute [start, end] from the sales and quotes themselves; returns the rows written."""
    bounds = day_bounds(start, end, zone)
    since, until = bounds[0], bounds[-1]
    positions: tuple[ColumnClause[Any], ...] = (literal_column('1'), literal_column('2'), literal_column('3'))
    sales_query = (
        select_columns(
            _day_index(col(Sale.sold_at), bounds),
            Sale.branch_id,
            func.coalesce(Sale.agent_id, 0),
            func.count(),
            func.sum(Sale.net_total),
            func.sum(Sale.iva_total),
            func.sum(Sale.total),
            func.sum(Sale.commission_amount),
        )
        .where(col(Sale.sold_at) >= since, col(Sale.sold_at) < until)
        .group_by(*positions)
    )  # by position: the CASE's bound parameters differ per clause
    quotes_query = (
        select_columns(
            _day_index(col(Quote.sent_at), bounds),
            Quote.branch_id,
            func.coalesce(Quote.sent_by_id, Quote.created_by_id, 0),
            func.count(),
            func.sum(case((col(Quote.status) == QuoteStatus.ACCEPTED, 1), else_=0)),
        )
        .where(col(Quote.sent_at) >= since, col(Quote.sent_at) < until)
        .group_by(*positions)
    )
    rows: dict[tuple[int, int, int], dict[str, Any]] = {}

    def row(day: int, branch: int, agent: int) -> dict[str, Any]:
        return rows.setdefault(
            (int(day), branch, int(agent)),
            {
                'branch_id': branch,
                'day': start + timedelta(days=int(day)),
                'agent_key': int(agent),
                'sales': 0,
                'net_total': ZERO,
                'iva_total': ZERO,
                'total': ZERO,
                'commission_amount': ZERO,
                'quotes_sent': 0,
                'quotes_accepted': 0,
            },
        )

    async with db.session() as session:
        await session.exec(delete(SalesDayTotal).where(col(SalesDayTotal.day) >= start, col(SalesDayTotal.day) <= end))
        for day, branch, agent, count, net, iva, total, commission in (await session.exec(sales_query)).all():
            row(day, branch, agent).update(
                sales=count,
                net_total=net or ZERO,
                iva_total=iva or ZERO,
                total=total or ZERO,
                commission_amount=commission or ZERO,
            )
        for day, branch, agent, sent, accepted in (await session.exec(quotes_query)).all():
            row(day, branch, agent).update(quotes_sent=sent, quotes_accepted=int(accepted or 0))
        session.add_all([SalesDayTotal(**values) for values in rows.values()])
        await session.commit()
    return len(rows)
