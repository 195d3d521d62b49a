"""The demo's finished campaign: results on /campanas from the first start, nothing left for a worker to send."""

from __future__ import annotations

from sqlmodel import select

from services.campaigns.service import campaign_results
from services.database import Database
from services.demo.campaigns import DEMO_NAME, seed_campaigns
from services.demo.seed import seed_demo
from services.models import Message, MessageStatus
from services.models.campaigns import Campaign


async def test_the_demo_campaign_is_finished_with_results_and_a_rate_rising_with_the_score(db: Database) -> None:
    await seed_demo(db, password='demo-password', catalog_size=0)  # seeds the campaign too (make run)
    async with db.session() as session:
        campaign_id = (await session.exec(select(Campaign.id).where(Campaign.name == DEMO_NAME))).one() or 0
    assert await seed_campaigns(db) is None  # once

    results = await campaign_results(db, viewer=None, campaign_id=campaign_id)
    assert (results.status, results.recipients, results.queued) == ('done', 40, 0)
    assert results.blocked == {'low_score': 16, 'not_validated': 2}
    assert (results.sent, results.failed_total, results.replied, results.opted_out) == (21, 1, 6, 1)
    rates = [band.response_rate for band in results.bands if band.response_rate is not None]
    assert rates == sorted(rates) and len(rates) == 3  # the higher the score, the more they answer
    async with db.session() as session:
        queued = (await session.exec(select(Message.id).where(Message.status == MessageStatus.QUEUED))).all()
    assert queued == []
