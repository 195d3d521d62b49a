"""Quotes as WhatsApp text (≤ 4096 characters a part, split between lines) and as PDF (read back with pypdf)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from services.access import Viewer
from services.database import Database
from services.models import QuoteStatus
from services.sales import quotes
from services.sales.quotes import LineDraft, QuoteLineView, QuoteView
from services.sales.render_pdf import quote_pdf, ticket_pdf
from services.sales.render_text import TicketView, quote_messages, ticket_messages
from services.sales.totals import LineInput, compute_totals
from tests.conftest import World

from .conftest import Catalog


def made_up_quote(
    count: int,
    *,
    description: str = 'Amortiguador delantero Monroe Gas-Matic para Peugeot 208 2019',
    contact: str = 'José Núñez',
) -> QuoteView:
    inputs = [
        LineInput(
            quantity=index % 3 + 1,
            unit_price=Decimal('15999.90') + index,
            discount_percent=Decimal('5') if index % 4 == 0 else Decimal('0'),
        )
        for index in range(count)
    ]
    totals = compute_totals(inputs, discount_percent=Decimal('2.5'))
    lines = tuple(
        QuoteLineView(
            position=index + 1,
            product_id=index + 1,
            sku=f'AMO-{index:04d}',
            description=f'{description} #{index + 1}',
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            discount_amount=line.discount_amount,
            iva_rate=line.iva_rate,
            amounts=amounts,
        )
        for index, (line, amounts) in enumerate(zip(inputs, totals.lines, strict=True))
    )
    return QuoteView(
        id=1,
        code='SUC1-000042',
        number=42,
        branch_id=1,
        branch_code='SUC1',
        branch_name='Casa Central',
        branch_address='Av. Corrientes 1234',
        branch_city='CABA',
        conversation_id=None,
        contact_id=None,
        contact_name=contact,
        status=QuoteStatus.DRAFT,
        valid_until=date(2026, 12, 8),
        notes='',
        discount_percent=Decimal('2.5'),
        discount_amount=Decimal('0'),
        lines=lines,
        totals=totals,
        created_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        created_by_id=None,
        created_by_name='',
        drafted_by_ai=False,
    )


def test_a_short_quote_is_one_message_with_lines_totals_and_validity() -> None:
    quote = made_up_quote(2)

    [text] = quote_messages(quote)

    assert text.startswith('*Presupuesto SUC1-000042* · Casa Central')
    assert 'Cliente: José Núñez' in text
    assert '#1 (AMO-0000)' in text and '#2 (AMO-0001)' in text
    assert f'*Total: $ {quote.totals.total:,.2f}*'.replace(',', 'X').replace('.', ',').replace('X', '.') in text
    assert 'Descuento general (2,5 %)' in text
    assert 'Válido hasta el 08/12/2026.' in text
    assert 'respondé *SÍ*' in text


def test_a_long_quote_is_split_between_lines_with_the_totals_last() -> None:
    quote = made_up_quote(60)

    parts = quote_messages(quote)

    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    assert [part.rsplit(' ', 1)[-1] for part in parts] == [
        f'({index}/{len(parts)})' for index in range(1, len(parts) + 1)
    ]
    joined = '\n'.join(parts)
    positions = [joined.index(f'Gas-Matic para Peugeot 208 2019 #{index} ') for index in range(1, 61)]
    assert positions == sorted(positions)  # every line once, in order, none cut
    assert all(joined.count(f'#{index} (') == 1 for index in range(1, 61))
    assert '*Total:' in parts[-1] and all('*Total:' not in part for part in parts[:-1])
    assert all(part.startswith('*Presupuesto SUC1-000042*') for part in parts)


def test_a_smaller_limit_splits_sooner_and_still_fits() -> None:
    parts = quote_messages(made_up_quote(10), limit=700)

    assert len(parts) >= 3
    assert all(len(part) <= 700 for part in parts)


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return '\n'.join(page.extract_text() for page in reader.pages)


async def test_the_pdf_carries_branch_number_lines_iva_and_totals(
    *, db: Database, world: World, catalog: Catalog, ana: Viewer, chat: int
) -> None:
    quote = await quotes.create_quote(
        db,
        viewer=ana,
        conversation_id=chat,
        lines=[
            LineDraft(product_id=catalog.pads.id, quantity=2),
            LineDraft(product_id=catalog.filter.id, quantity=1),
            LineDraft(description='Mano de obra: colocación y purgado', unit_price=Decimal('12000.00')),
        ],
        discount_percent=Decimal('5'),
        notes='Incluye líquido de frenos DOT4 — envío sin cargo.',
    )

    text = _pdf_text(quote_pdf(quote))

    assert content_starts_with_pdf(quote_pdf(quote))
    for expected in (
        'Casa Central',
        'Presupuesto N° SUC1-000001',
        'Cliente: José Núñez',
        'Pastillas de freno delanteras Bosch',
        'FRE-1001',
        'Filtro de aceite Mann W712',
        'Mano de obra: colocación y purgado',
        'Descuento general (5 %)',
        f'Válido hasta: {quote.valid_until:%d/%m/%Y}',
        'Incluye líquido de frenos DOT4 — envío sin cargo.',
    ):
        assert expected in text, expected
    # 48700 + 8999.99 + 12000 = 69699.99; −5 % (3485.00) = 66214.99
    assert '$ 69.699,99' in text and '-$ 3.485,00' in text and '$ 66.214,99' in text
    for bucket in quote.totals.iva:
        assert f'IVA {bucket.rate.normalize():f} %'.replace('.', ',') in text
    assert f'TOTAL $ {quote.totals.total:,.2f}'.replace(',', 'X').replace('.', ',').replace('X', '.') in text


def content_starts_with_pdf(content: bytes) -> bool:
    return content.startswith(b'%PDF-')


def test_a_long_pdf_gets_more_pages_and_names_with_emoji_do_not_break_it() -> None:
    quote = made_up_quote(80, contact='Juan 🚗 Pérez')

    content = quote_pdf(quote)

    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) >= 2
    text = _pdf_text(content)
    assert 'Cliente: Juan ? Pérez' in text
    assert '#80' in text and 'Página 2/' in text


def test_ticket_text_and_pdf() -> None:
    ticket = TicketView(
        sale_id=1,
        ticket_code='SUC1-T-000007',
        sold_at=datetime(2026, 12, 1, 18, 30, tzinfo=UTC),
        agent_name='Ana Gómez',
        quote=made_up_quote(3),
    )

    [text] = ticket_messages(ticket)
    pdf_text = _pdf_text(ticket_pdf(ticket))

    assert 'Ticket de venta SUC1-T-000007' in text and 'confirmado el 01/12/2026 15:30' in text  # Buenos Aires time
    assert 'Te atendió: Ana Gómez.' in text
    assert 'Ticket de venta N° SUC1-T-000007' in pdf_text and 'Presupuesto: SUC1-000042' in pdf_text
    assert 'no válido como factura' in pdf_text
