"""Commissions (S4): a percentage of each sale's net amount (IVA excluded), the agent's own rate or else the
branch's default, fixed on the sale when it is made — a later rate change does not rewrite past sales.

Agents see their own; managers their branches; admins all. Read from the daily totals (`day_totals`), which
carry each day's commission per agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import col

from ..access import Viewer, branch_scope
from ..database import Database, select_columns
from ..errors import InvalidInput
from ..models import Branch, Role, User, table_of
from ..models.sales import SalesDayTotal
from .money import HUNDRED, ZERO, to_cents


def commission_for(
    net: Decimal, *, agent_rate: Decimal | None, branch_rate: Decimal | None, has_agent: bool = True
) -> tuple[Decimal, Decimal]:
    """(rate %, amount) for a sale of `net`; a sale without an agent (the AI closed it alone) earns none."""
    if not has_agent:
        return ZERO, ZERO
    rate = agent_rate if agent_rate is not None else (branch_rate or ZERO)
    return rate, to_cents(net * rate / HUNDRED)


@dataclass(frozen=True)
class CommissionRow:
    agent_id: int
    agent_name: str
    branch_code: str
    sales: int
    net_total: Decimal
    commission: Decimal


async def commissions(
    db: Database, *, viewer: Viewer, start: date, end: date, branch_id: int | None = None
) -> list[CommissionRow]:
    """Per agent over the business days [start, end], from the daily totals. An agent gets only their own row."""
    if end < start:
        raise InvalidInput(f'the range ends ({end}) before it starts ({start})')
    totals = table_of(SalesDayTotal)
    query = (
        select_columns(
            totals.c.agent_key,
            User.full_name,
            Branch.code,
            func.sum(totals.c.sales),
            func.sum(totals.c.net_total),
            func.sum(totals.c.commission_amount),
        )
        .join(User, col(User.id) == totals.c.agent_key)
        .join(Branch, col(Branch.id) == totals.c.branch_id)
        .where(
            branch_scope(totals.c.branch_id, viewer, only=branch_id),
            totals.c.day >= start,
            totals.c.day <= end,
            totals.c.sales != 0,
        )
        .group_by(totals.c.agent_key, User.full_name, Branch.code)
        .order_by(User.full_name, Branch.code)
    )
    if not viewer.has_role(Role.MANAGER):
        query = query.where(totals.c.agent_key == (viewer.user_id or -1))
    async with db.session() as session:
        rows = (await session.exec(query)).all()
    # SUM keeps the column's type, so the integer cents come back as exact Decimal amounts.
    return [
        CommissionRow(
            agent_id=agent_id,
            agent_name=name,
            branch_code=code,
            sales=int(count),
            net_total=net or ZERO,
            commission=commission or ZERO,
        )
        for agent_id, name, code, count, net, commission in rows
    ]
