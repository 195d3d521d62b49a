"""Reads about sessions that other features need (the alerts), without the gateway client."""

from __future__ import annotations

from sqlmodel import col, select

from ..database import Database
from ..models import SessionState, WaSession, WhatsAppNumber
from .states import GATEWAY_UNREACHABLE


async def sessions_needing_people(db: Database, *, alert_after_failures: int) -> list[tuple[WaSession, int]]:
    """Sessions a person must act on (for the alerts): a QR or passkey to confirm, restarts failing again and
    again, or a gateway that does not answer. With the branch of each. (A session an admin stopped is not here:
    that was a decision; `/health` still shows it.)"""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(WaSession, WhatsAppNumber.branch_id)
                .join(WhatsAppNumber, col(WhatsAppNumber.id) == col(WaSession.number_id))
                .where(col(WhatsAppNumber.active).is_(True))
            )
        ).all()
    return [
        (row, branch_id)
        for row, branch_id in rows
        if row.state == SessionState.QR_REQUIRED
        or (row.state == SessionState.FAILED and row.failures >= alert_after_failures)
        # The gateway itself does not answer: nobody hears any WA-Web customer.
        or (row.state == SessionState.DISCONNECTED and row.gateway_status == GATEWAY_UNREACHABLE)
    ]
