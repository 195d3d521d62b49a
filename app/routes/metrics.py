"""`/metrics` for Prometheus (SPEC O4): what every process of this deployment counted (services/metrics.py), and
gauges read from the database at scrape time — the journal's backlog, the outbox's depth, unconfirmed replies, dead
letters — which are the same whichever process is asked.

Only for the monitoring system: with `LEADMASTER_METRICS_TOKEN` set, a `Bearer` token is required; without it, only
requests from this machine (127.0.0.1 / ::1) are answered, so a public deployment never shows it by accident.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import col, select

from app.routes.dependencies import DatabaseDep
from app.runtime import runtime
from services import metrics
from services.database import Database
from services.models import DeadLetter, Direction, Message, MessageStatus, SessionState, WaSession
from services.models.types import utcnow
from services.whatsapp.journal import journal_backlog

router = APIRouter(tags=['operations'])
LOCAL = frozenset({'127.0.0.1', '::1', 'localhost'})


@router.get(
    '/metrics',
    summary='Prometheus metrics',
    response_class=PlainTextResponse,
    responses={401: {'description': 'Missing or wrong token'}, 403: {'description': 'Not from this machine'}},
)
async def prometheus_metrics(
    request: Request, db: DatabaseDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token = runtime().settings.metrics_token
    if token is not None:
        expected = f'Bearer {token.get_secret_value()}'
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
            return PlainTextResponse('metrics token required', status_code=401, headers={'WWW-Authenticate': 'Bearer'})
    elif request.client is None or request.client.host not in LOCAL:
        return PlainTextResponse('metrics are served to this machine only (or set LEADMASTER_METRICS_TOKEN)', 403)
    body = generate_latest(metrics.registry()) + generate_latest(await _database_gauges(db))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def _database_gauges(db: Database) -> CollectorRegistry:
    """One query each, at scrape time: backlogs are facts of the database, not of a process."""
    pending, oldest = await journal_backlog(db)
    async with db.autocommit_session() as session:
        outbound = dict(
            (
                await session.exec(
                    select(Message.status, func.count())
                    .where(
                        col(Message.direction) == Direction.OUTBOUND,
                        col(Message.status).in_(
                            [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.UNCONFIRMED]
                        ),
                    )
                    .group_by(col(Message.status))
                )
            ).all()
        )
        dead_letters = (await session.exec(select(func.count()).where(col(DeadLetter.resolved_at).is_(None)))).one()
        session_states = dict(
            (await session.exec(select(WaSession.state, func.count()).group_by(col(WaSession.state)))).all()
        )
    # M6: WhatsApp-Web sessions by state, every state present (0 included), so an alert rule can compare them.
    by_state = GaugeMetricFamily('leadmaster_wa_sessions', 'WhatsApp-Web sessions by state', labels=['state'])
    for state in SessionState:
        by_state.add_metric([state.value], float(session_states.get(state, 0)))
    gauges = [
        by_state,
        _gauge('leadmaster_journal_pending', 'Webhook bodies journaled, not yet ingested', pending),
        _gauge(
            'leadmaster_journal_oldest_pending_seconds',
            'Age of the oldest webhook body waiting to be ingested',
            (utcnow() - oldest).total_seconds() if oldest is not None else 0.0,
        ),
        _gauge('leadmaster_outbox_queued', 'Replies waiting to be sent', outbound.get(MessageStatus.QUEUED, 0)),
        _gauge('leadmaster_outbox_sending', 'Replies being sent now', outbound.get(MessageStatus.SENDING, 0)),
        _gauge(
            'leadmaster_outbox_unconfirmed',
            'Replies whose send was cut off (a person decides)',
            outbound.get(MessageStatus.UNCONFIRMED, 0),
        ),
        _gauge('leadmaster_dead_letters', 'Acknowledged webhook parts not stored, not yet replayed', dead_letters),
    ]
    registry = CollectorRegistry()
    registry.register(_Fixed(gauges))
    return registry


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


class _Fixed:
    """A collector that yields metric families computed beforehand (the database was read asynchronously)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families
