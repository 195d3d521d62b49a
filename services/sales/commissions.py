"""Commissions (S4): a percentage of each sale's net amount (IVA excluded), the agent's own rate or else the
branch's default, fixed on the sale when it is made — a later rate change does not rewrite past sales.

Agents see their own; managers their branches; admins all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from ..access import Viewer, branch_scope
from ..database import Database
from ..errors import InvalidInput
from ..models import Branch, Role, Sale, User
from .money import HUNDRED, ZERO, to_cents


def commission_for(net: Decimal, *, agent_rate: Decimal | None, branch_rate: Decimal | None,
                   has_agent: bool = True) -> tuple[Decimal, Decimal]:
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


def utc_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the business zone, as UTC instants."""
    if end < start:
        raise InvalidInput(f'the range ends ({end}) before it starts ({start})')
    return (datetime.combine(start, time(), zone), datetime.combine(end + timedelta(days=1), time(), zone))


async def commissions(db: Database, *, viewer: Viewer, start: date, end: date, branch_id: int | None = None,
                      zone: ZoneInfo) -> list[CommissionRow]:
    """Per agent over [start, end] (business days). An agent gets only their own row."""
    since, until = utc_bounds(start, end, zone)
    query = (select(Sale.agent_id, User.full_name, Branch.code, func.count(), func.sum(Sale.net_total),
                    func.sum(Sale.commission_amount))
             .join(User, col(User.id) == col(Sale.agent_id)).join(Branch, col(Branch.id) == col(Sale.branch_id))
             .where(branch_scope(Sale.branch_id, viewer, only=branch_id), col(Sale.sold_at) >= since,
                    col(Sale.sold_at) < until)
             .group_by(Sale.agent_id, User.full_name, Branch.code).order_by(User.full_name, Branch.code))
    if not viewer.has_role(Role.MANAGER):
        query = query.where(col(Sale.agent_id) == viewer.user_id)
    async with db.session() as session:
        rows = (await session.exec(query)).all()
    # SUM keeps the column's type, so the integer cents come back as exact Decimal amounts.
    return [CommissionRow(agent_id=agent_id, agent_name=name, branch_code=code, sales=count,
                          net_total=net or ZERO, commission=commission or ZERO)
            for agent_id, name, code, count, net, commission in rows]
