"""The durable outbox (M3) and the 24 h window (M4), against a fake Graph API over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.database import Database
from services.events import MESSAGE_STATUS, Event
from services.media_store import MediaStore
from services.models import (
    Contact,
    Conversation,
    ConversationMode,
    Message,
    MessagePriority,
    MessageStatus,
    MessageTemplate,
    SenderKind,
)
from services.models.types import utcnow
from services.whatsapp import outbox
from services.whatsapp import payload_builders as build
from services.whatsapp.fake_graph import FakeGraphApi, Reply
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.journal import journal_once
from services.whatsapp.outbox import OutsideWindow
from services.whatsapp.workers import IngestWorker, OutboxWorker
from tests.conftest import REPO_ROOT, World

CUSTOMER = '5491133334444'


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


@pytest.fixture
async def conversation_id(db: Database, world: World) -> int:
    """Martín wrote to Casa Central ten minutes ago: the 24 h window is open."""
    async with db.session() as session:
        contact = Contact(phone_e164='+5491133334444', wa_id=CUSTOMER, profile_name='Martín Ruiz')
        session.add(contact)
        await session.flush()
        conversation = Conversation(
            contact_id=contact.id or 0,
            number_id=world.central_number.id or 0,
            branch_id=world.central.id or 0,
            last_inbound_at=utcnow() - timedelta(minutes=10),
            waiting_since=utcnow() - timedelta(minutes=10),
            unread_count=1,
        )
        session.add(conversation)
        session.add(
            MessageTemplate(
                number_id=world.central_number.id or 0,
                name='retomar_conversacion',
                body='Hola {{1}}, te escribimos de {{2}}.',
                variable_count=2,
            )
        )
        await session.commit()
        return conversation.id or 0


@pytest.fixture
async def worker(db: Database, fake_graph: FakeGraphApi, tmp_path: Path) -> AsyncIterator[OutboxWorker]:
    client = GraphClient(base_url=fake_graph.base_url, token=fake_graph.token, timeout=2.0)
    # No waiting between retries in tests: the schedule itself is asserted where it matters.
    yield OutboxWorker(
        db, client=client, publisher=Recorder(), store=MediaStore(tmp_path / 'media'), delay=lambda attempt, after: 0.0
    )
    await client.aclose()


async def message(db: Database, message_id: int) -> Message:
    async with db.session() as session:
        found = await session.get(Message, message_id)
        assert found is not None
        return found


async def test_text_reply_is_stored_first_then_sent_once(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text='Tenemos stock', publisher=Recorder())
    assert (await message(db, queued.id or 0)).status == MessageStatus.QUEUED

    await worker.drain()

    sent = await message(db, queued.id or 0)
    assert sent.status == MessageStatus.SENT and sent.wa_message_id and sent.wa_message_id.startswith('wamid.')
    (request,) = fake_graph.sent_messages
    assert request['to'] == CUSTOMER and request['text']['body'] == 'Tenemos stock'
    assert request['biz_opaque_callback_data'] == f'lm:{queued.id}'


async def test_agent_reply_clears_the_waiting_state(db: Database, conversation_id: int) -> None:
    await outbox.queue_text(db, conversation_id=conversation_id, text='Hola Martín', publisher=Recorder())

    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None and conversation.waiting_since is None
    assert conversation.last_message_preview == 'Hola Martín'


async def test_server_error_then_success_sends_exactly_one_message(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    fake_graph.script_send([500, 200])
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text='¿Te sirve?', publisher=Recorder())

    await worker.drain()  # first attempt: 500 → queued again
    await worker.drain()  # second attempt: 200

    final = await message(db, queued.id or 0)
    assert (final.status, final.attempts) == (MessageStatus.SENT, 2)
    assert len(fake_graph.sent_messages) == 2
    assert [r.status for r in fake_graph.requests if r.path.endswith('/messages')] == [500, 200]


async def test_window_error_131047_fails_at_once_without_retry(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    fake_graph.script_send([(400, 131047)])
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder())

    await worker.drain()
    await worker.drain()

    failed = await message(db, queued.id or 0)
    assert (failed.status, failed.error_code) == (MessageStatus.FAILED, 131047)
    assert failed.error_title == 'Pasaron más de 24 h desde el último mensaje del cliente'
    assert len(fake_graph.sent_messages) == 1
    assert isinstance(worker.publisher, Recorder)
    assert any(e.kind == MESSAGE_STATUS and e.data['status'] == 'failed' for e in worker.publisher.events)


async def test_throughput_error_130429_is_retried_later(
    db: Database, conversation_id: int, fake_graph: FakeGraphApi, tmp_path: Path
) -> None:
    fake_graph.script_send([Reply(status=400, code=130429)])
    async with GraphClient(base_url=fake_graph.base_url, token=fake_graph.token) as client:
        worker = OutboxWorker(db, client=client, publisher=Recorder(), store=MediaStore(tmp_path))
        queued = await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder())

        await worker.drain()
        waiting = await message(db, queued.id or 0)
        assert waiting.status == MessageStatus.QUEUED and waiting.error_code == 130429
        assert waiting.next_attempt_at is not None and waiting.next_attempt_at > utcnow()  # backoff
        await worker.drain()
        assert len(fake_graph.sent_messages) == 1  # not due yet: nothing sent

        async with db.session() as session:  # time passes
            await session.exec(
                update(Message)
                .where(col(Message.id) == queued.id)
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        await worker.drain()

    assert (await message(db, queued.id or 0)).status == MessageStatus.SENT
    assert len(fake_graph.sent_messages) == 2


async def test_gives_up_after_the_maximum_attempts(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    worker.max_attempts = 3
    fake_graph.script_send([503, 503, 503, 200])
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder())

    for _ in range(4):
        await worker.drain()

    assert (await message(db, queued.id or 0)).status == MessageStatus.FAILED
    assert len(fake_graph.sent_messages) == 3


def test_backoff_grows_exponentially_with_jitter_and_respects_retry_after() -> None:
    delays = [outbox.retry_delay(attempt) for attempt in range(1, 12)]

    assert 1.0 <= delays[0] <= 2.0 and 4.0 <= delays[2] <= 8.0
    assert max(delays) <= 300.0
    assert outbox.retry_delay(1, retry_after=30.0) == 30.0


async def test_agent_replies_go_before_bulk_messages(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    bulk = await outbox.queue_text(
        db, conversation_id=conversation_id, text='promo', publisher=Recorder(), priority=MessagePriority.BULK
    )
    agent = await outbox.queue_text(db, conversation_id=conversation_id, text='respuesta', publisher=Recorder())

    claimed = await worker._claim(limit=1)

    assert [job.message_id for job in claimed] == [agent.id]
    assert bulk.id != agent.id


async def make_fit_for_campaigns(db: Database, conversation_id: int) -> None:
    """The conversation's customer passes the send gate (validated, contactability 90)."""
    async with db.session() as session:
        contact_id = (
            await session.exec(select(Conversation.contact_id).where(Conversation.id == conversation_id))
        ).one()
        await session.exec(
            update(Contact)
            .where(col(Contact.id) == contact_id)
            .values(score_contactabilidad=90, validado_tecnicamente=True)
        )
        await session.commit()


async def test_free_text_outside_the_24h_window_is_refused_but_a_template_goes(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    async with db.session() as session:
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
        await session.commit()
    await make_fit_for_campaigns(db, conversation_id)  # test_send_gate covers the gate: this test is the window's

    with pytest.raises(OutsideWindow):
        await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder())
    template = await outbox.queue_template(
        db,
        conversation_id=conversation_id,
        publisher=Recorder(),
        template_name='retomar_conversacion',
        variables=['Martín', 'Casa Central'],
    )
    await worker.drain()

    assert template.text == 'Hola Martín, te escribimos de Casa Central.'
    (request,) = fake_graph.sent_messages
    assert request['type'] == 'template' and request['template']['name'] == 'retomar_conversacion'
    assert [p['text'] for p in request['template']['components'][0]['parameters']] == ['Martín', 'Casa Central']


async def test_template_with_wrong_variables_is_refused(db: Database, conversation_id: int) -> None:
    from services.errors import InvalidInput

    with pytest.raises(InvalidInput, match='needs 2'):
        await outbox.queue_template(
            db,
            conversation_id=conversation_id,
            publisher=Recorder(),
            template_name='retomar_conversacion',
            variables=['Martín'],
        )


async def test_text_over_4096_characters_is_refused_before_queueing(db: Database, conversation_id: int) -> None:
    from services.errors import InvalidInput

    with pytest.raises(InvalidInput, match='4096'):
        await outbox.queue_text(db, conversation_id=conversation_id, text='x' * 4097, publisher=Recorder())


async def test_another_branch_cannot_send_into_the_conversation(
    db: Database, world: World, conversation_id: int
) -> None:
    from services import auth
    from services.errors import NotFound

    bruno = (await auth.login(db, username='bruno', password=world.password)).viewer  # Rosario's agent

    with pytest.raises(NotFound):
        await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder(), viewer=bruno)


async def test_ai_reply_is_cancelled_when_a_human_holds_the_conversation(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    queued = await outbox.queue_text(
        db, conversation_id=conversation_id, text='Soy el bot', publisher=Recorder(), sender_kind=SenderKind.AI
    )
    async with db.session() as session:  # an agent takes over before the worker runs
        await session.exec(
            update(Conversation).where(col(Conversation.id) == conversation_id).values(mode=ConversationMode.HUMAN)
        )
        await session.commit()

    await worker.drain()

    assert (await message(db, queued.id or 0)).status == MessageStatus.CANCELLED
    assert fake_graph.sent_messages == []


async def test_image_is_uploaded_then_sent_by_media_id(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi, tmp_path: Path
) -> None:
    png = bytes.fromhex(
        '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
        '1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5fd3c6f0000000049454e44ae426082'
    )
    queued = await outbox.queue_media(
        db,
        conversation_id=conversation_id,
        store=worker.store,
        content=png,
        mime_type='image/png',
        filename='repuesto.png',
        caption='Este es',
        publisher=Recorder(),
    )

    await worker.drain()

    upload = next(r for r in fake_graph.requests if r.path.endswith('/media'))
    assert upload.files['file'].content == png and upload.form == {'messaging_product': 'whatsapp', 'type': 'image/png'}
    (request,) = fake_graph.sent_messages
    assert request['type'] == 'image' and request['image']['caption'] == 'Este es' and request['image']['id']
    assert (await message(db, queued.id or 0)).status == MessageStatus.SENT


WORKER_CHILD = """
import asyncio, sys
from pathlib import Path
from services.database import Database
from services.events import NullPublisher
from services.media_store import MediaStore
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.workers import OutboxWorker

async def main(url, base, token):
    db = Database.from_url(url)
    async with GraphClient(base_url=base, token=token, timeout=60) as client:
        await OutboxWorker(db, client=client, publisher=NullPublisher(), store=MediaStore(Path('/tmp'))).drain()

asyncio.run(main(*sys.argv[1:]))
"""


async def test_worker_killed_mid_send_never_sends_twice(
    db: Database, database_url: str, conversation_id: int, fake_graph: FakeGraphApi, tmp_path: Path
) -> None:
    """kill -9 while Meta is answering: after restart the message is 'unconfirmed', not resent; Meta's
    later status webhook (matched by our callback id) then settles it."""
    fake_graph.script_send([Reply(status=200, delay=30.0)])
    queued = await outbox.queue_text(
        db, conversation_id=conversation_id, text='Tu pedido está listo', publisher=Recorder()
    )
    child = subprocess.Popen(
        [sys.executable, '-c', WORKER_CHILD, database_url, fake_graph.base_url, fake_graph.token],
        cwd=REPO_ROOT,
        env={**os.environ, 'PYTHONPATH': str(REPO_ROOT)},
    )
    try:
        await fake_graph.wait_for_sends(1, seconds=20)
        assert (await message(db, queued.id or 0)).status == MessageStatus.SENDING
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

    async with GraphClient(base_url=fake_graph.base_url, token=fake_graph.token) as client:
        restarted = OutboxWorker(
            db, client=client, publisher=Recorder(), store=MediaStore(tmp_path), stale_sending_after=timedelta(0)
        )
        assert await restarted.reconcile_stale_sends() == 1
        await restarted.drain()

    unconfirmed = await message(db, queued.id or 0)
    assert unconfirmed.status == MessageStatus.UNCONFIRMED
    assert len(fake_graph.sent_messages) == 1  # never sent twice

    # Meta did deliver it: its status webhook carries our id in biz_opaque_callback_data.
    await journal_once(
        db,
        __import__('json').dumps(
            build.envelope(
                phone_number_id='pn-central',
                display_phone_number='5491150000101',
                statuses=[
                    build.status(
                        wa_message_id='wamid.LATE',
                        status='delivered',
                        recipient_id=CUSTOMER,
                        biz_opaque_callback_data=f'lm:{queued.id}',
                    )
                ],
            )
        ),
    )
    await IngestWorker(db, publisher=Recorder()).drain()

    settled = await message(db, queued.id or 0)
    assert (settled.status, settled.wa_message_id) == (MessageStatus.DELIVERED, 'wamid.LATE')


async def test_status_webhook_before_the_send_response_is_not_lost(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    """Meta's 'delivered' can arrive before we stored the wamid from the send response."""
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder())
    await journal_once(
        db,
        __import__('json').dumps(
            build.envelope(
                phone_number_id='pn-central',
                display_phone_number='5491150000101',
                statuses=[
                    build.status(
                        wa_message_id='wamid.EARLY',
                        status='delivered',
                        recipient_id=CUSTOMER,
                        biz_opaque_callback_data=f'lm:{queued.id}',
                    )
                ],
            )
        ),
    )
    async with db.session() as session:  # as if the worker had marked it sending
        await session.exec(update(Message).where(col(Message.id) == queued.id).values(status=MessageStatus.SENDING))
        await session.commit()
    await IngestWorker(db, publisher=Recorder()).drain()
    await worker._finish(queued.id or 0, 1, conversation_id, MessageStatus.SENT, wa_message_id='wamid.EARLY')

    final = await message(db, queued.id or 0)
    assert (final.status, final.wa_message_id) == (MessageStatus.DELIVERED, 'wamid.EARLY')


async def test_concurrent_workers_send_each_message_once(
    db: Database, conversation_id: int, fake_graph: FakeGraphApi, tmp_path: Path
) -> None:
    for index in range(12):
        await outbox.queue_text(db, conversation_id=conversation_id, text=f'mensaje {index}', publisher=Recorder())
    async with GraphClient(base_url=fake_graph.base_url, token=fake_graph.token) as client:
        workers = [
            OutboxWorker(db, client=client, publisher=Recorder(), store=MediaStore(tmp_path), recipient_burst=100)
            for _ in range(3)
        ]
        await asyncio.gather(*(w.drain() for w in workers))

    bodies = sorted(m['text']['body'] for m in fake_graph.sent_messages)
    assert bodies == sorted(f'mensaje {index}' for index in range(12))
    async with db.session() as session:
        statuses = set((await session.exec(select(Message.status))).all())
    assert statuses == {MessageStatus.SENT}


async def test_lost_answer_waits_for_metas_status_instead_of_sending_twice(
    db: Database, conversation_id: int, fake_graph: FakeGraphApi, tmp_path: Path
) -> None:
    """The request reached Meta but the answer never came back (read timeout): no quick resend."""
    fake_graph.script_send([Reply(status=200, delay=3.0)])
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder())
    async with GraphClient(base_url=fake_graph.base_url, token=fake_graph.token, timeout=1.0) as client:
        worker = OutboxWorker(db, client=client, publisher=Recorder(), store=MediaStore(tmp_path))
        await worker.drain()

        waiting = await message(db, queued.id or 0)
        assert waiting.status == MessageStatus.QUEUED
        assert waiting.next_attempt_at is not None
        assert waiting.next_attempt_at - utcnow() > timedelta(seconds=50)  # waits for Meta's status webhook

        # Meta's 'sent' arrives with our id, then the retry time comes: nothing is sent again.
        await journal_once(
            db,
            __import__('json').dumps(
                build.envelope(
                    phone_number_id='pn-central',
                    display_phone_number='5491150000101',
                    statuses=[
                        build.status(
                            wa_message_id='wamid.ARRIVED',
                            status='sent',
                            recipient_id=CUSTOMER,
                            biz_opaque_callback_data=f'lm:{queued.id}',
                        )
                    ],
                )
            ),
        )
        await IngestWorker(db, publisher=Recorder()).drain()
        async with db.session() as session:
            await session.exec(
                update(Message)
                .where(col(Message.id) == queued.id)
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        await worker.drain()

    final = await message(db, queued.id or 0)
    assert (final.status, final.wa_message_id) == (MessageStatus.SENT, 'wamid.ARRIVED')
    assert len(fake_graph.sent_messages) == 1


async def test_expired_token_pauses_sending_instead_of_failing_the_queue(
    db: Database, conversation_id: int, worker: OutboxWorker, fake_graph: FakeGraphApi
) -> None:
    fake_graph.script_send([(401, 190)])
    queued = await outbox.queue_text(db, conversation_id=conversation_id, text='hola', publisher=Recorder())

    await worker.drain()

    paused = await message(db, queued.id or 0)
    assert (paused.status, paused.error_code) == (MessageStatus.QUEUED, 190)
    assert paused.next_attempt_at is not None and paused.next_attempt_at - utcnow() > timedelta(minutes=4)


async def test_only_as_many_messages_are_claimed_as_there_are_send_slots(
    db: Database, conversation_id: int, fake_graph: FakeGraphApi, tmp_path: Path
) -> None:
    fake_graph.script_send([Reply(status=200, delay=0.5)] * 2)
    await make_fit_for_campaigns(db, conversation_id)  # BULK is a campaign's priority: the gate asks again at send
    for index in range(5):
        await outbox.queue_text(
            db,
            conversation_id=conversation_id,
            text=f'promo {index}',
            publisher=Recorder(),
            priority=MessagePriority.BULK,
        )
    async with GraphClient(base_url=fake_graph.base_url, token=fake_graph.token) as client:
        worker = OutboxWorker(db, client=client, publisher=Recorder(), store=MediaStore(tmp_path), concurrency=2)

        assert await worker.run_once() == 2
        assert await worker.run_once() == 0  # both slots busy: the rest stays in the database, claimable
        agent = await outbox.queue_text(db, conversation_id=conversation_id, text='respuesta', publisher=Recorder())
        await asyncio.wait(list(worker._in_flight.values()))
        assert await worker.run_once(limit=1) == 1
        assert list(worker._in_flight) == [agent.id]  # queued later, still first in line
        await worker.drain()

    assert len(fake_graph.sent_messages) == 6
