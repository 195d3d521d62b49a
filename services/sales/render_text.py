"""Quotes and tickets as WhatsApp text (S3, S4): lines, totals, validity, within 4096 characters a message.

Customer-facing text is Spanish (es-AR) whatever the agent's UI language: the customers are Argentine.
A long quote is split between lines — never inside one — and the totals always travel together in the last
part; every part says which part it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..whatsapp.graph_client import TEXT_BODY_LIMIT
from .money import format_ars, format_rate
from .quotes import DEFAULT_ZONE, QuoteLineView, QuoteView
from .totals import QuoteTotals

ACCEPT_HINT = 'Para confirmar la compra respondé *SÍ* a este mensaje.'
_PART_MARK = ' ({index}/{count})'
_PART_RESERVE = len(_PART_MARK.format(index=99, count=99)) + 1


@dataclass(frozen=True)
class TicketView:
    sale_id: int
    ticket_code: str
    sold_at: datetime
    agent_name: str
    quote: QuoteView


def _line_block(line: QuoteLineView) -> str:
    sku = f' ({line.sku})' if line.sku else ''
    text = (
        f'{line.position}. {line.description}{sku}\n'
        f'   {line.quantity} × {format_ars(line.unit_price)} + IVA {format_rate(line.iva_rate)}'
    )
    if line.amounts.line_discount:
        text += f'\n   Descuento: -{format_ars(line.amounts.line_discount)}'
    return text + f'\n   Importe: {format_ars(line.amounts.net)}'


def totals_block(totals: QuoteTotals, discount_label: str) -> str:
    rows = [f'Subtotal: {format_ars(totals.subtotal)}']
    if totals.quote_discount:
        rows.append(f'{discount_label}: -{format_ars(totals.quote_discount)}')
        rows.append(f'Neto gravado: {format_ars(totals.net_total)}')
    rows.extend(f'IVA {format_rate(bucket.rate)}: {format_ars(bucket.amount)}' for bucket in totals.iva)
    rows.append(f'*Total: {format_ars(totals.total)}*')
    return '\n'.join(rows)


def discount_label(quote: QuoteView) -> str:
    if quote.discount_percent:
        return f'Descuento general ({format_rate(quote.discount_percent)})'
    return 'Descuento general'


def quote_messages(quote: QuoteView, *, limit: int = TEXT_BODY_LIMIT, accept_hint: bool = True) -> list[str]:
    """The quote as one or more WhatsApp texts, each at most `limit` characters."""
    header = f'*Presupuesto {quote.code}* · {quote.branch_name}'
    if quote.contact_name:
        header += f'\nCliente: {quote.contact_name}'
    header += '\nPrecios unitarios sin IVA.'
    footer = [totals_block(quote.totals, discount_label(quote)), f'Válido hasta el {quote.valid_until:%d/%m/%Y}.']
    if quote.notes:
        footer.append(f'Notas: {quote.notes}')
    if accept_hint:
        footer.append(ACCEPT_HINT)
    return pack(
        [header, *(_line_block(line) for line in quote.lines)],
        '\n'.join(footer),
        limit=limit,
        continued=f'*Presupuesto {quote.code}* (continuación)',
    )


def ticket_messages(ticket: TicketView, *, limit: int = TEXT_BODY_LIMIT, zone: ZoneInfo = DEFAULT_ZONE) -> list[str]:
    quote = ticket.quote
    header = (
        f'*Ticket de venta {ticket.ticket_code}* · {quote.branch_name}\n'
        f'Presupuesto {quote.code} confirmado el {ticket.sold_at.astimezone(zone):%d/%m/%Y %H:%M}.'
    )
    footer = [totals_block(quote.totals, discount_label(quote))]
    if ticket.agent_name:
        footer.append(f'Te atendió: {ticket.agent_name}.')
    footer.append('¡Gracias por tu compra! (Documento no válido como factura.)')
    return pack(
        [header, *(_line_block(line) for line in quote.lines)],
        '\n'.join(footer),
        limit=limit,
        continued=f'*Ticket {ticket.ticket_code}* (continuación)',
    )


def pack(blocks: Sequence[str], footer: str, *, limit: int, continued: str) -> list[str]:
    """Join blocks with blank lines into parts of at most `limit` characters; the footer closes the last part.

    Blocks are never cut (a quote line is a few hundred characters at most); the parts get "(i/n)" marks.
    """
    budget = limit - _PART_RESERVE
    parts: list[list[str]] = [[]]

    def size(part: list[str]) -> int:
        return sum(len(block) for block in part) + 2 * max(0, len(part) - 1)

    for block in [*blocks, footer]:
        current = parts[-1]
        if current and size(current) + 2 + len(block) > budget:
            parts.append([continued])
            current = parts[-1]
        if size([*current, block]) > budget:
            raise ValueError(f'a block of {len(block)} characters does not fit in a {limit}-character message')
        current.append(block)
    texts = ['\n\n'.join(part) for part in parts]
    if len(texts) == 1:
        return texts
    return [text + _PART_MARK.format(index=index, count=len(texts)) for index, text in enumerate(texts, start=1)]
