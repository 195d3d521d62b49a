"""The webhook journal's group commit: every acknowledged body is stored under its own id."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from services.database import Database
from services.models import DeliveryStatus, WebhookDelivery
from services.whatsapp.journal import JournalWriter


async def test_concurrent_appends_each_get_their_own_committed_row(db: Database) -> None:
    woken: list[int] = []
    writer = JournalWriter(db, on_journaled=lambda: woken.append(1))
    writer.start()
    try:
        ids = await asyncio.gather(*(writer.append(f'{{"n": {index}}}') for index in range(60)))
    finally:
        await writer.stop()

    async with db.session() as session:
        stored = {row.id: row.body for row in (await session.exec(select(WebhookDelivery))).all()}
    assert len(set(ids)) == 60
    assert all(stored[delivery_id] == f'{{"n": {index}}}' for index, delivery_id in enumerate(ids))
    assert woken  # the ingest worker is told there is work


async def test_flagged_bodies_are_kept_with_their_reason(db: Database) -> None:
    writer = JournalWriter(db)
    writer.start()
    try:
        delivery_id = await writer.append('{"object": "page"}', status=DeliveryStatus.FLAGGED, error='odd shape')
    finally:
        await writer.stop()

    async with db.session() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
    assert delivery is not None and (delivery.status, delivery.error) == (DeliveryStatus.FLAGGED, 'odd shape')
