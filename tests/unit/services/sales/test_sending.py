"""Sending quotes (S3): text + PDF through the outbox inside the 24 h window, the approved template outside it,
and the AI only where the branch allows — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.access import Viewer
from services.database import Database
from services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from services.models import Branch, Conversation, Media, Message, MessageTemplate, Quote, QuoteStatus, SenderKind
from services.models.types import utcnow
from services.sales import quotes
from services.sales.desk import QUOTE_UPDATED, SalesDesk
from services.sales.quotes import LineDraft
from services.sales.sending import QUOTE_TEMPLATE, QUOTE_TEMPLATE_BODY, NoTemplate, send_quote
from services.whatsapp.fake_graph import FakeGraphApi
from services.whatsapp.graph_client import GraphClient
from services.whatsapp.workers import OutboxWorker
from tests.conftest import World

from .conftest import Catalog, Recorder


async def _draft(db: Database, viewer: Viewer | None, chat: int, catalog: Catalog) -> int:
    """2 × 24350.00 (21 %) + 8999.99 (10.5 %): net 57699.99, IVA 10227.00 + 945.00 = 11172.00, total 68871.99."""
    quote = await quotes.create_quote(
        db,
        viewer=viewer,
        conversation_id=chat,
        drafted_by_ai=viewer is None,
        lines=[LineDraft(product_id=catalog.pads.id, quantity=2), LineDraft(product_id=catalog.filter.id)],
    )
    return quote.id


async def _outbound(db: Database, chat: int) -> list[Message]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(Message)
                    .where(Message.conversation_id == chat, Message.direction == 'out')
                    .order_by(col(Message.id))
                )
            ).all()
        )


async def _close_window(db: Database, chat: int) -> None:
    async with db.session() as session:
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == chat)
            .values(last_inbound_at=utcnow() - timedelta(hours=30))
        )
        await session.commit()


async def test_inside_the_window_the_customer_gets_the_text_and_the_pdf(
    *, db: Database, desk: SalesDesk, recorder: Recorder, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await _draft(db, ana, chat, catalog)

    result = await send_quote(desk, viewer=ana, quote_id=quote_id)

    assert result.quote.status == QuoteStatus.SENT and not result.via_template
    assert [
        (event.data['quote_id'], event.data['status']) for event in recorder.events if event.kind == QUOTE_UPDATED
    ] == [(quote_id, 'sent')]
    assert result.quote.sent_by_id == ana.user_id and result.quote.sent_at is not None
    text, document = await _outbound(db, chat)
    assert text.type == 'text' and text.sender_kind == SenderKind.AGENT
    assert 'Presupuesto SUC1-000001' in text.text and '*Total: $ 68.871,99*' in text.text
    assert document.type == 'document' and document.payload['filename'] == 'Presupuesto-SUC1-000001.pdf'
    async with db.session() as session:
        media = await session.get(Media, document.media_id)
    assert media is not None and media.mime_type == 'application/pdf'
    assert (await desk.store.read(media.storage_path or '')).startswith(b'%PDF-')


async def test_the_outbox_delivers_both_to_whatsapp(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int, fake_graph: FakeGraphApi
) -> None:
    quote_id = await _draft(db, ana, chat, catalog)
    await send_quote(desk, viewer=ana, quote_id=quote_id)

    async with GraphClient(base_url=fake_graph.base_url, token=fake_graph.token) as client:
        await OutboxWorker(db, client=client, publisher=desk.publisher, store=desk.store).drain()

    sends = fake_graph.sent_messages
    assert [send['type'] for send in sends] == ['text', 'document']
    assert sends[0]['to'] == '5491155550101' and 'SUC1-000001' in sends[0]['text']['body']
    assert sends[1]['document']['filename'] == 'Presupuesto-SUC1-000001.pdf'
    uploads = [request for request in fake_graph.requests if request.path.endswith('/media')]
    assert uploads and uploads[0].files['file'].content.startswith(b'%PDF-')


async def test_outside_the_window_without_the_template_nothing_is_sent(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await _draft(db, ana, chat, catalog)
    await _close_window(db, chat)

    with pytest.raises(NoTemplate, match=QUOTE_TEMPLATE):
        await send_quote(desk, viewer=ana, quote_id=quote_id)

    assert await _outbound(db, chat) == []
    assert (await quotes.get_quote(db, viewer=ana, quote_id=quote_id)).status == QuoteStatus.DRAFT


async def test_outside_the_window_the_approved_template_carries_number_total_and_date(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    async with db.session() as session:
        session.add(
            MessageTemplate(
                number_id=world.central_number.id or 0, name=QUOTE_TEMPLATE, body=QUOTE_TEMPLATE_BODY, variable_count=5
            )
        )
        await session.commit()
    quote_id = await _draft(db, ana, chat, catalog)
    await _close_window(db, chat)

    result = await send_quote(desk, viewer=ana, quote_id=quote_id)

    [message] = await _outbound(db, chat)
    assert result.via_template and message.type == 'template'
    assert message.payload['template']['variables'] == [
        'José Núñez',
        'SUC1-000001',
        'Casa Central',
        '$ 68.871,99',
        f'{result.quote.valid_until:%d/%m/%Y}',
    ]
    assert 'presupuesto SUC1-000001 de Casa Central por un total de $ 68.871,99' in message.text


async def test_the_ai_sends_only_where_the_branch_allows_it(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, chat: int
) -> None:
    quote_id = await _draft(db, None, chat, catalog)

    with pytest.raises(PermissionDenied, match='does not let the AI send'):
        await send_quote(desk, viewer=None, quote_id=quote_id, as_ai=True)
    with pytest.raises(PermissionDenied):
        await send_quote(desk, viewer=None, quote_id=quote_id)
    assert await _outbound(db, chat) == []

    async with db.session() as session:
        await session.exec(update(Branch).where(col(Branch.id) == world.central.id).values(ai_sends_quotes=True))
        await session.commit()
    await send_quote(desk, viewer=None, quote_id=quote_id, as_ai=True)
    assert {message.sender_kind for message in await _outbound(db, chat)} == {SenderKind.AI}


async def test_what_cannot_be_sent(
    *, db: Database, world: World, desk: SalesDesk, catalog: Catalog, ana: Viewer, bruno: Viewer, chat: int
) -> None:
    quote_id = await _draft(db, ana, chat, catalog)
    with pytest.raises(NotFound):
        await send_quote(desk, viewer=bruno, quote_id=quote_id)

    empty = await quotes.create_quote(db, viewer=ana, conversation_id=chat, lines=[])
    with pytest.raises(InvalidInput, match='no lines'):
        await send_quote(desk, viewer=ana, quote_id=empty.id)

    no_chat = await quotes.create_quote(
        db, viewer=ana, branch_id=world.central.id, lines=[LineDraft(description='Envío', unit_price=Decimal('10.00'))]
    )
    with pytest.raises(InvalidInput, match='not linked to a conversation'):
        await send_quote(desk, viewer=ana, quote_id=no_chat.id)

    async with db.session() as session:
        await session.exec(update(Quote).where(col(Quote.id) == quote_id).values(status=QuoteStatus.ACCEPTED))
        await session.commit()
    with pytest.raises(Conflict, match='accepted'):
        await send_quote(desk, viewer=ana, quote_id=quote_id)
    assert await _outbound(db, chat) == []


async def test_resending_a_sent_quote_sends_it_again_without_changing_it(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await _draft(db, ana, chat, catalog)
    first = await send_quote(desk, viewer=ana, quote_id=quote_id)

    again = await send_quote(desk, viewer=ana, quote_id=quote_id)

    assert again.quote.sent_at == first.quote.sent_at
    assert [message.type for message in await _outbound(db, chat)] == ['text', 'document', 'text', 'document']
