"""`/metrics` for Prometheus (SPEC O4): what the app counted and the database's backlogs, for the monitoring system
only."""

from __future__ import annotations

import httpx
import pytest
from nicegui import app
from nicegui.testing import User
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from app.runtime import runtime
from services.whatsapp import payload_builders as build
from tests.conftest import World
from tests.unit.app.routes.test_whatsapp_webhook import CUSTOMER, body_for, post


async def scrape(client: httpx.AsyncClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get('/metrics', headers=headers)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_a_webhook_is_counted_acknowledged_ingested_and_the_backlog_read(user: User, world: World) -> None:
    before = await scrape(user.http_client)

    assert (
        await post(user, body_for(world, messages=[build.text_message(from_=CUSTOMER, body='hola')]))
    ).status_code == 200
    waiting = await scrape(user.http_client)
    await runtime().ingest.drain()
    after = await scrape(user.http_client)

    acknowledged = ('leadmaster_webhook_requests_total', (('status', '200'),))
    stored = ('leadmaster_ingested_messages_total', (('result', 'stored'),))
    assert after[acknowledged] - before.get(acknowledged, 0) == 1
    assert after[stored] - before.get(stored, 0) == 1
    assert waiting[('leadmaster_journal_pending', ())] == 1  # journaled, not yet ingested
    assert after[('leadmaster_journal_pending', ())] == 0
    assert (
        after[('leadmaster_webhook_ack_seconds_count', ())]
        - before.get(('leadmaster_webhook_ack_seconds_count', ()), 0)
        == 1
    )


async def test_only_this_machine_or_the_token_may_read_them(
    user: User, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app, client=('203.0.113.7', 40000)), base_url='http://leadmaster.example'
    ) as elsewhere:
        assert (await elsewhere.get('/metrics')).status_code == 403

        monkeypatch.setattr(runtime().settings, 'metrics_token', SecretStr('s3cret-scrape'))
        assert (await elsewhere.get('/metrics')).status_code == 401
        assert (await elsewhere.get('/metrics', headers={'Authorization': 'Bearer wrong'})).status_code == 401
        assert await scrape(elsewhere, Authorization='Bearer s3cret-scrape')
