"""Records keep their facts and say who sent them (issue 18), on SQLite and PostgreSQL: a quote and its sale keep
the customer as they were when issued, a new quote takes no number until it is saved, and the ticket sent on a
customer's "sí" is the system's, never shown as the customer's own message."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import col, select

from services.access import Viewer
from services.database import Database
from services.inbox import console
from services.models import Contact, Conversation, Message, Quote, SenderKind
from services.sales import quotes
from services.sales.closing import CUSTOMER_TEXT, accept_quote, get_sale
from services.sales.desk import SalesDesk
from services.sales.quotes import LineDraft
from services.sales.render_pdf import quote_pdf
from services.sales.render_text import quote_messages
from services.sales.sending import send_quote

from .conftest import Catalog
from .test_closing import sent_quote


async def customer_renames_profile(db: Database, chat: int, name: str) -> None:
    """The customer changes their WhatsApp profile name; the next webhook stores it on the contact."""
    async with db.session() as session:
        conversation = await session.get(Conversation, chat)
        assert conversation is not None
        await session.exec(update(Contact).where(col(Contact.id) == conversation.contact_id).values(profile_name=name))
        await session.commit()


async def test_an_accepted_quote_and_its_sale_keep_the_customer_they_were_issued_to(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)
    result = await accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT)

    await customer_renames_profile(db, chat, '🔥 Joseca Tuning 🔥')

    quote = await quotes.get_quote(db, viewer=ana, quote_id=quote_id)
    [listed] = await quotes.list_quotes(db, viewer=ana)
    sale = await desk_sale(desk, result.sale.id, ana)
    assert (quote.contact_name, listed.contact_name, sale) == ('José Núñez', 'José Núñez', 'José Núñez')
    assert 'Cliente: José Núñez' in quote_messages(quote)[0]
    pdf_text = ' '.join(page.extract_text() for page in PdfReader(io.BytesIO(quote_pdf(quote))).pages)
    assert 'José Núñez' in pdf_text and 'Joseca' not in pdf_text
    async with db.session() as session:
        stored = await session.get(Quote, quote_id)
    assert stored is not None and (stored.customer_name, stored.customer_phone) == ('José Núñez', '+5491155550101')


async def desk_sale(desk: SalesDesk, sale_id: int, viewer: Viewer) -> str:
    return (await get_sale(desk, sale_id=sale_id, viewer=viewer)).contact_name


async def test_a_draft_shows_the_customer_as_they_are_now_and_is_fixed_when_sent(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    draft = await quotes.create_quote(
        db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    await customer_renames_profile(db, chat, 'José A. Núñez')
    assert (await quotes.get_quote(db, viewer=ana, quote_id=draft.id)).contact_name == 'José A. Núñez'

    await send_quote(desk, viewer=ana, quote_id=draft.id)
    await customer_renames_profile(db, chat, 'Otro nombre')

    assert (await quotes.get_quote(db, viewer=ana, quote_id=draft.id)).contact_name == 'José A. Núñez'


async def test_a_new_quote_on_screen_takes_no_number_until_it_is_saved(
    *, db: Database, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    preview = await quotes.new_quote_preview(
        db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id, quantity=2)]
    )
    await quotes.new_quote_preview(db, viewer=ana, conversation_id=chat)

    assert (preview.id, preview.code, preview.contact_name, str(preview.totals.total)) == (
        0,
        '',
        'José Núñez',
        '58927.00',
    )
    async with db.session() as session:
        assert (await session.exec(select(Quote))).all() == []
    saved = await quotes.create_quote(
        db, viewer=ana, conversation_id=chat, lines=[LineDraft(product_id=catalog.pads.id)]
    )
    assert saved.code == 'SUC1-000001'


async def test_the_ticket_of_a_customers_yes_is_the_systems_and_never_shown_as_the_customers(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    result = await accept_quote(desk, quote_id=quote_id, viewer=None, source=CUSTOMER_TEXT)

    assert result.ticket_sent, result.ticket_note
    async with db.session() as session:
        tickets = (
            await session.exec(
                select(Message).where(
                    Message.conversation_id == chat, col(Message.text).contains(result.sale.ticket_code)
                )
            )
        ).all()
    assert {(message.type, message.sender_kind) for message in tickets} == {
        ('text', SenderKind.SYSTEM),
        ('document', SenderKind.SYSTEM),
    }
    shown = await console.thread(db, viewer=ana, conversation_id=chat)
    ticket_bubbles = [message for message in shown if message.id in {ticket.id for ticket in tickets}]
    assert ticket_bubbles and all(message.direction == 'out' for message in ticket_bubbles)


async def test_the_ticket_of_a_sale_an_agent_closes_is_hers(
    *, db: Database, desk: SalesDesk, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote_id = await sent_quote(desk, ana, chat, catalog)

    result = await accept_quote(desk, quote_id=quote_id, viewer=ana)

    async with db.session() as session:
        tickets = (
            await session.exec(
                select(Message).where(
                    Message.conversation_id == chat, col(Message.text).contains(result.sale.ticket_code)
                )
            )
        ).all()
    assert tickets and {(message.sender_kind, message.sent_by_user_id) for message in tickets} == {
        (SenderKind.AGENT, ana.user_id)
    }
