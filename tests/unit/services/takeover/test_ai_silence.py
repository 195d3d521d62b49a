"""T1 "while a human holds it the AI never sends", enforced in the outbox at send time, against the fake Graph
API over real HTTP (services/whatsapp/fake_graph)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.database import Database
from services.media_store import MediaStore
from services.models import Message, MessageStatus, SenderKind
from services.takeover import release, release_expired, request_human, set_ai, take
from services.whatsapp import outbox
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.workers import OutboxWorker
from tests.conftest import World

from .conftest import NOW, Recorder, later, viewer_of


@pytest.fixture
async def worker(db: Database, fake_graph: FakeGraphApi, tmp_path: Path) -> AsyncIterator[OutboxWorker]:
    client = GraphClient(base_url=fake_graph.base_url, token=fake_graph.token, timeout=2.0)
    yield OutboxWorker(
        db, client=client, publisher=Recorder(), store=MediaStore(tmp_path / 'media'), delay=lambda attempt, after: 0.0
    )
    await client.aclose()


async def ai_says(db: Database, conversation_id: int, text: str) -> int:
    queued = await outbox.queue_text(
        db, conversation_id=conversation_id, text=text, publisher=Recorder(), sender_kind=SenderKind.AI
    )
    return queued.id or 0


async def status(db: Database, message_id: int) -> MessageStatus:
    async with db.session() as session:
        found = await session.get(Message, message_id)
        assert found is not None
        return MessageStatus(found.status)


def bodies(fake: FakeGraphApi) -> list[str]:
    return [request['text']['body'] for request in fake.sent_messages]


async def test_an_ai_reply_queued_just_before_a_take_is_never_sent(
    db: Database, world: World, martin: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    ana = await viewer_of(db, world.ana)
    reply = await ai_says(db, martin, 'Soy el asistente: ¿me pasás el VIN?')
    await take(db, viewer=ana, conversation_id=martin, publisher=Recorder())
    mine = await outbox.queue_text(
        db, conversation_id=martin, text='Hola Martín, soy Ana', publisher=Recorder(), viewer=ana
    )

    await worker.drain()

    assert await status(db, reply) == MessageStatus.CANCELLED
    assert await status(db, mine.id or 0) == MessageStatus.SENT
    assert bodies(fake_graph) == ['Hola Martín, soy Ana']


async def test_after_a_release_or_a_timeout_the_ai_answers_again(
    db: Database, world: World, martin: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    ana = await viewer_of(db, world.ana)
    await take(db, viewer=ana, conversation_id=martin, publisher=Recorder(), now=NOW)
    await release(db, viewer=ana, conversation_id=martin, publisher=Recorder(), now=later(10))
    first = await ai_says(db, martin, 'Vuelvo yo, el asistente')
    await worker.drain()

    await take(db, viewer=ana, conversation_id=martin, publisher=Recorder(), now=later(20))
    await release_expired(db, publisher=Recorder(), now=later(3600))  # Ana went for lunch
    second = await ai_says(db, martin, 'Sigo yo mientras vuelve un vendedor')
    await worker.drain()

    assert (await status(db, first), await status(db, second)) == (MessageStatus.SENT, MessageStatus.SENT)
    assert bodies(fake_graph) == ['Vuelvo yo, el asistente', 'Sigo yo mientras vuelve un vendedor']


async def test_a_paused_ai_is_silent_but_its_own_handoff_message_goes_out(
    db: Database, world: World, martin: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    handoff = await ai_says(db, martin, 'Te paso con un vendedor')
    await request_human(db, conversation_id=martin, reason='pidió una persona', publisher=Recorder())
    await worker.drain()
    await set_ai(db, viewer=await viewer_of(db, world.ana), conversation_id=martin, enabled=False, publisher=Recorder())
    paused = await ai_says(db, martin, 'Esto no debería salir')
    await worker.drain()

    assert await status(db, handoff) == MessageStatus.SENT
    assert await status(db, paused) == MessageStatus.CANCELLED
    assert bodies(fake_graph) == ['Te paso con un vendedor']
