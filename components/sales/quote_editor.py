"""The quote editor: lines from products, quantities, discounts, live totals, stock, notes; save, send, close
the sale, reject, PDF. The same component serves the full page (`/presupuestos/{id}`) and the console's right
column (`compact=True`).

Totals are recomputed in the browser session on every keystroke with the same arithmetic the services store
(`services.sales.totals`), so what the agent sees is what the customer gets. Stock is asked for in the
background: the editor never waits for the inventory provider.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from nicegui import background_tasks, ui

from services.access import Viewer
from services.errors import InvalidInput, ServiceError
from services.models import QuoteStatus
from services.sales import products, quotes
from services.sales.closing import accept_quote
from services.sales.desk import SalesDesk
from services.sales.inventory import StockItem, StockLevel
from services.sales.money import ZERO, format_ars, format_rate, parse_decimal
from services.sales.quotes import LineDraft, QuoteView
from services.sales.render_pdf import quote_pdf
from services.sales.sending import send_quote
from services.sales.totals import DEFAULT_IVA_RATE, LineInput, QuoteTotals, compute_totals

from ..i18n import t
from ..notify import Notifier

Changed = Callable[[QuoteView], Awaitable[None]]

STATUS_COLORS = {
    QuoteStatus.DRAFT: 'grey-7',
    QuoteStatus.SENT: 'blue-7',
    QuoteStatus.ACCEPTED: 'green-7',
    QuoteStatus.REJECTED: 'red-7',
    QuoteStatus.EXPIRED: 'orange-8',
}


@dataclass(frozen=True)
class _Row:
    product_id: int | None
    sku: str
    description: str
    unit_price: Decimal
    iva_rate: Decimal
    quantity: int = 1
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO

    def draft(self) -> LineDraft:
        return LineDraft(
            quantity=self.quantity,
            product_id=self.product_id,
            description=self.description,
            unit_price=None if self.product_id else self.unit_price,
            iva_rate=self.iva_rate,
            discount_percent=self.discount_percent,
            discount_amount=self.discount_amount,
        )

    def line_input(self) -> LineInput:
        return LineInput(
            quantity=self.quantity,
            unit_price=self.unit_price,
            iva_rate=self.iva_rate,
            discount_percent=self.discount_percent,
            discount_amount=self.discount_amount,
        )


def status_chip(status: QuoteStatus) -> ui.chip:
    return (
        ui.chip(t(f'sales.status.{status}'), color=STATUS_COLORS.get(status, 'grey-7'), text_color='white')
        .props('dense square')
        .mark('quote-status')
    )


def stock_text(level: StockLevel | None) -> str:
    if level is None:
        return ''
    if not level.confirmed:
        if level.quantity is None:
            return t('sales.editor.stock_unconfirmed')
        return t('sales.editor.stock_unconfirmed_last', quantity=level.quantity)
    if not level.quantity or level.quantity <= 0:
        return t('sales.editor.no_stock')
    return t('sales.editor.stock', quantity=level.quantity)


class QuoteEditor:
    def __init__(
        self,
        *,
        desk: SalesDesk,
        viewer: Viewer,
        compact: bool = False,
        on_changed: Changed | None = None,
        before_send: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.desk = desk
        self._notify = Notifier()  # the editor may be rebuilt while an action awaits (components/notify.py)
        self.viewer = viewer
        self.compact = compact
        self.on_changed = on_changed
        # The console's "a person answering takes the conversation" (T1): False stops the send.
        self.before_send = before_send
        self.quote: QuoteView | None = None
        self.rows: list[_Row] = []
        self.discount_percent = ZERO
        self.discount_amount = ZERO
        self.notes = ''
        self.stock: dict[int, StockLevel] = {}
        self._stock_labels: dict[int, ui.label] = {}
        self._amount_labels: dict[int, ui.label] = {}
        self._stock_task: asyncio.Task[None] | None = None
        with ui.column().classes('w-full gap-2').mark('quote-editor') as self.root:
            pass

    # --- loading ---

    async def show(self, quote_id: int) -> None:
        self.set_quote(await quotes.get_quote(self.desk.db, viewer=self.viewer, quote_id=quote_id, zone=self.desk.zone))

    async def start(
        self, *, conversation_id: int | None = None, branch_id: int | None = None, items: Sequence[tuple[int, int]] = ()
    ) -> QuoteView:
        """A new draft with these (product id, quantity): the console's "quote the AI's products" click."""
        quote = await quotes.create_quote(
            self.desk.db,
            viewer=self.viewer,
            conversation_id=conversation_id,
            branch_id=branch_id,
            zone=self.desk.zone,
            lines=[LineDraft(product_id=product_id, quantity=quantity) for product_id, quantity in items],
        )
        self.set_quote(quote)
        return quote

    async def begin(
        self, *, conversation_id: int | None = None, branch_id: int | None = None, items: Sequence[tuple[int, int]] = ()
    ) -> QuoteView:
        """A new quote on screen only: it takes its number (and exists) when the agent saves, sends, accepts or
        prints it. Opening "Nuevo presupuesto" and leaving costs nothing and leaves no gap in the numbering."""
        quote = await quotes.new_quote_preview(
            self.desk.db,
            viewer=self.viewer,
            conversation_id=conversation_id,
            branch_id=branch_id,
            zone=self.desk.zone,
            lines=[LineDraft(product_id=product_id, quantity=quantity) for product_id, quantity in items],
        )
        self.set_quote(quote)
        return quote

    @property
    def unsaved(self) -> bool:
        return self.quote is not None and self.quote.id == 0

    def clear(self) -> None:
        """Show no quote (the console with no open quote in the conversation)."""
        self.quote = None
        self.rows = []
        self.stock = {}
        self.render()

    def set_quote(self, quote: QuoteView) -> None:
        self.quote = quote
        self.rows = [
            _Row(
                product_id=line.product_id,
                sku=line.sku,
                description=line.description,
                unit_price=line.unit_price,
                iva_rate=line.iva_rate,
                quantity=line.quantity,
                discount_percent=line.discount_percent,
                discount_amount=line.discount_amount,
            )
            for line in quote.lines
        ]
        self.discount_percent, self.discount_amount = quote.discount_percent, quote.discount_amount
        self.notes = quote.notes
        self.render()
        self._check_stock()

    # --- drawing ---

    def render(self) -> None:
        self.root.clear()
        self._stock_labels = {}
        quote = self.quote
        if quote is None:
            return
        with self.root:
            with ui.row().classes('w-full items-center gap-2'):
                title = t('sales.editor.title', code=quote.code) if quote.id else t('sales.editor.new_title')
                ui.label(title).classes('text-lg font-semibold').mark('quote-code')
                status_chip(quote.status)
                if quote.ticket_code:
                    ui.label(t('sales.editor.sold', ticket=quote.ticket_code)).classes('text-sm text-green-8').mark(
                        'quote-ticket'
                    )
            if quote.contact_name:
                ui.label(t('sales.editor.customer', name=quote.contact_name)).classes('text-sm')
            ui.label(t('sales.editor.valid_until', date=f'{quote.valid_until:%d/%m/%Y}')).classes(
                'text-sm text-slate-500'
            ).mark('quote-valid-until')
            if quote.drafted_by_ai and quote.editable:
                ui.label(t('sales.editor.ai_draft')).classes('text-sm text-orange-8').mark('quote-ai-draft')
            self.lines_box = ui.column().classes('w-full gap-1').mark('quote-lines')
            if quote.editable:
                self._adders()
                self._quote_discounts()
            elif quote.notes:
                ui.label(quote.notes).classes('text-sm whitespace-pre-line').mark('quote-notes')
            self.error = ui.label().classes('text-sm text-red-7').mark('quote-error')
            self.totals_box = ui.column().classes('w-full gap-0 items-end').mark('quote-totals')
            self._actions()
        self._draw_lines()
        self._draw_totals()

    def _draw_lines(self) -> None:
        self.lines_box.clear()
        self._amount_labels = {}
        editable = self.quote is not None and self.quote.editable
        with self.lines_box:
            if not self.rows:
                ui.label(t('sales.editor.no_lines')).classes('text-sm text-slate-500')
            for index, row in enumerate(self.rows):
                self._draw_row(index, row, editable)

    def _draw_row(self, index: int, row: _Row, editable: bool) -> None:
        number = index + 1
        with ui.card().classes('w-full p-2 gap-1').props('flat bordered').mark(f'quote-line-{number}'):
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                ui.label(f'{number}. {row.description}').classes('text-sm font-medium grow')
                if editable:
                    ui.button(icon='delete', on_click=lambda index=index: self._remove(index)).props(
                        'flat dense round size=sm'
                    ).tooltip(t('sales.editor.remove')).mark(f'remove-line-{number}')
            with ui.row().classes('w-full items-center gap-2 text-xs text-slate-500'):
                if row.sku:
                    ui.label(row.sku)
                ui.label(f'{format_ars(row.unit_price)} + IVA {format_rate(row.iva_rate)}')
                if row.product_id is not None and self._shows_stock():
                    self._stock_labels[row.product_id] = ui.label(
                        stock_text(self.stock.get(row.product_id)) or t('sales.editor.stock_checking')
                    ).mark(f'stock-{number}')
            if editable:
                with ui.row().classes('w-full items-center gap-2' + (' no-wrap' if self.compact else '')):
                    width = 'w-16' if self.compact else 'w-24'
                    ui.number(
                        t('sales.editor.quantity'),
                        value=row.quantity,
                        min=1,
                        max=100_000,
                        step=1,
                        precision=0,
                        on_change=lambda event, index=index: self._edit(index, quantity=event.value),
                    ).props('dense outlined').classes(width).mark(f'quantity-{number}')
                    ui.number(
                        t('sales.editor.line_discount_percent'),
                        value=float(row.discount_percent),
                        min=0,
                        max=100,
                        on_change=lambda event, index=index: self._edit(index, discount_percent=event.value),
                    ).props('dense outlined').classes(width).mark(f'discount-percent-{number}')
                    ui.number(
                        t('sales.editor.line_discount_amount'),
                        value=float(row.discount_amount),
                        min=0,
                        on_change=lambda event, index=index: self._edit(index, discount_amount=event.value),
                    ).props('dense outlined').classes(width).mark(f'discount-amount-{number}')
                    ui.space()
                    self._line_amount(number)
            else:
                with ui.row().classes('w-full items-center gap-2 text-sm'):
                    ui.label(f'{row.quantity} ×')
                    ui.space()
                    self._line_amount(number)

    def _line_amount(self, number: int) -> None:
        self._amount_labels[number] = ui.label().classes('text-sm font-medium').mark(f'line-amount-{number}')

    def _adders(self) -> None:
        with ui.row().classes('w-full items-center gap-2 no-wrap'):
            self.reference = (
                ui.input(t('sales.editor.add_reference')).props('dense outlined').classes('grow').mark('add-reference')
            )
            self.reference.on('keydown.enter', self._add_reference)
            ui.button(t('sales.editor.add'), icon='add', on_click=self._add_reference).props('dense').mark(
                'add-product'
            )
        with (
            ui.expansion(t('sales.editor.free_line')).classes('w-full text-sm').props('dense'),
            ui.row().classes('w-full items-center gap-2 no-wrap'),
        ):
            self.free_description = (
                ui.input(t('sales.editor.description')).props('dense outlined').classes('grow').mark('free-description')
            )
            self.free_price = (
                ui.input(t('sales.editor.free_price')).props('dense outlined').classes('w-28').mark('free-price')
            )
            ui.button(icon='add', on_click=self._add_free_line).props('dense').mark('add-free-line')

    def _quote_discounts(self) -> None:
        with ui.row().classes('w-full items-center gap-2'):
            ui.number(
                t('sales.editor.quote_discount_percent'),
                value=float(self.discount_percent),
                min=0,
                max=100,
                on_change=lambda event: self._set_quote_discount('discount_percent', event.value),
            ).props('dense outlined').classes('w-40').mark('quote-discount-percent')
            ui.number(
                t('sales.editor.quote_discount_amount'),
                value=float(self.discount_amount),
                min=0,
                on_change=lambda event: self._set_quote_discount('discount_amount', event.value),
            ).props('dense outlined').classes('w-40').mark('quote-discount-amount')
        ui.textarea(
            t('sales.editor.notes'), value=self.notes, on_change=lambda event: self._set_notes(event.value)
        ).props('dense outlined autogrow maxlength=2000').classes('w-full').mark('quote-notes-input')

    def _actions(self) -> None:
        quote = self.quote
        assert quote is not None
        with ui.row().classes('w-full gap-2 justify-end'):
            ui.button(t('sales.editor.pdf'), icon='picture_as_pdf', on_click=self._download_pdf).props(
                'flat dense'
            ).mark('quote-pdf')
            if quote.status == QuoteStatus.DRAFT:
                ui.button(t('sales.editor.save'), icon='save', on_click=self._save).props('outline dense').mark(
                    'save-quote'
                )
            if quote.status in {QuoteStatus.DRAFT, QuoteStatus.SENT} and quote.id:
                ui.button(t('sales.editor.reject'), icon='thumb_down', on_click=self._reject).props(
                    'flat dense color=red-7'
                ).mark('reject-quote')
            if quote.status in {QuoteStatus.DRAFT, QuoteStatus.SENT}:
                ui.button(t('sales.editor.accept'), icon='point_of_sale', on_click=self._confirm_accept).props(
                    'outline dense color=green-8'
                ).mark('accept-quote')
                label = t('sales.editor.send') if quote.status == QuoteStatus.DRAFT else t('sales.editor.resend')
                ui.button(label, icon='send', on_click=self._send).props('dense').mark('send-quote')

    # --- totals ---

    def totals(self) -> QuoteTotals:
        return compute_totals(
            [row.line_input() for row in self.rows],
            discount_percent=self.discount_percent,
            discount_amount=self.discount_amount,
        )

    def _draw_totals(self) -> None:
        self.totals_box.clear()
        try:
            totals = self.totals()
        except InvalidInput as exc:
            self.error.text = t('sales.editor.invalid', reason=str(exc))
            return
        self.error.text = ''
        for number, amounts in enumerate(totals.lines, start=1):
            if number in self._amount_labels:
                self._amount_labels[number].text = format_ars(amounts.net)
        with self.totals_box:
            self._total_row(t('sales.editor.subtotal'), format_ars(totals.subtotal), 'quote-subtotal')
            if totals.quote_discount:
                self._total_row(t('sales.editor.discount'), f'-{format_ars(totals.quote_discount)}', 'quote-discount')
                self._total_row(t('sales.editor.net'), format_ars(totals.net_total), 'quote-net')
            for bucket in totals.iva:
                self._total_row(
                    t('sales.editor.iva', rate=format_rate(bucket.rate)),
                    format_ars(bucket.amount),
                    f'quote-iva-{bucket.rate}',
                )
            self._total_row(t('sales.editor.total'), format_ars(totals.total), 'quote-total', strong=True)

    @staticmethod
    def _total_row(label: str, value: str, marker: str, *, strong: bool = False) -> None:
        with ui.row().classes('gap-4 items-baseline'):
            ui.label(label).classes('text-sm' + (' font-bold' if strong else ''))
            ui.label(value).classes('text-sm text-right min-w-28' + (' text-base font-bold' if strong else '')).mark(
                marker
            )

    # --- editing (local until saved) ---

    def _edit(self, index: int, **changes: object) -> None:
        row = self.rows[index]
        try:
            if 'quantity' in changes:
                value = changes['quantity']
                row = replace(row, quantity=int(value) if isinstance(value, (int, float, str)) else 0)
            if 'discount_percent' in changes:
                row = replace(
                    row,
                    discount_percent=parse_decimal(
                        str(changes['discount_percent'] or 0), what=t('sales.editor.line_discount_percent')
                    ),
                )
            if 'discount_amount' in changes:
                row = replace(
                    row,
                    discount_amount=parse_decimal(
                        str(changes['discount_amount'] or 0), what=t('sales.editor.line_discount_amount')
                    ),
                )
        except (InvalidInput, ValueError) as exc:
            self.error.text = t('sales.editor.invalid', reason=str(exc))
            return
        self.rows[index] = row
        self._draw_totals()

    def _set_quote_discount(self, field: str, value: object) -> None:
        try:
            setattr(self, field, parse_decimal(str(value or 0), what=t(f'sales.editor.quote_{field}')))
        except InvalidInput as exc:
            self.error.text = t('sales.editor.invalid', reason=str(exc))
            return
        self._draw_totals()

    def _set_notes(self, value: str | None) -> None:
        self.notes = value or ''

    def _remove(self, index: int) -> None:
        del self.rows[index]
        self._draw_lines()
        self._draw_totals()

    async def _add_reference(self) -> None:
        reference = (self.reference.value or '').strip()
        if not reference:
            return
        try:
            product = await products.find_product(self.desk.db, reference=reference)
        except ServiceError as exc:
            self._notify(t('sales.editor.error', reason=str(exc)), type='warning')
            return
        self.reference.value = ''
        await self.add_products([(product.id or 0, 1)])

    async def add_products(self, items: Sequence[tuple[int, int]]) -> None:
        """Add (product id, quantity); the catalog search or the AI summary call this (a product already on the
        quote gets the quantity added)."""
        found = await products.products_by_id(self.desk.db, [product_id for product_id, _ in items])
        for product_id, quantity in items:
            product = found.get(product_id)
            if product is None or not product.active:
                self._notify(t('sales.editor.error', reason=f'no active product {product_id}'), type='warning')
                continue
            if not product.priced:
                self._notify(t('sales.editor.error', reason=quotes.unpriced_message(product.sku)), type='warning')
                continue
            for index, row in enumerate(self.rows):
                if row.product_id == product_id:
                    self.rows[index] = replace(row, quantity=row.quantity + quantity)
                    break
            else:
                self.rows.append(
                    _Row(
                        product_id=product_id,
                        sku=product.sku,
                        description=product.title,
                        unit_price=product.price,
                        iva_rate=product.iva_rate,
                        quantity=quantity,
                    )
                )
        self._draw_lines()
        self._draw_totals()
        self._check_stock()

    def _add_free_line(self) -> None:
        description = (self.free_description.value or '').strip()
        try:
            price = parse_decimal(self.free_price.value or '', what=t('sales.editor.free_price'))
            if not description:
                raise InvalidInput(t('sales.editor.description'))
        except InvalidInput as exc:
            self.error.text = t('sales.editor.invalid', reason=str(exc))
            return
        # A hand-typed line has no product to take its IVA from: the branch's default (issue 15) applies.
        iva_rate = self.quote.default_iva_rate if self.quote else DEFAULT_IVA_RATE
        self.rows.append(_Row(product_id=None, sku='', description=description, unit_price=price, iva_rate=iva_rate))
        self.free_description.value = ''
        self.free_price.value = ''
        self._draw_lines()
        self._draw_totals()

    # --- stock, in the background ---

    def _shows_stock(self) -> bool:
        """Stock matters while the quote is open (a draft, or sent and waiting for the customer's answer); an
        accepted, rejected or expired quote shows none. Whatever shows "consultando stock…" is always asked for."""
        return self.quote is not None and self.quote.status in {QuoteStatus.DRAFT, QuoteStatus.SENT}

    def _check_stock(self) -> None:
        if not self._shows_stock():
            return
        assert self.quote is not None
        items = [
            StockItem(row.product_id, row.sku)
            for row in self.rows
            if row.product_id is not None and row.product_id not in self.stock
        ]
        if not items:
            return
        quote = self.quote
        self._stock_task = background_tasks.create(
            self._fetch_stock(quote.branch_id, quote.branch_code, items), name='quote-stock'
        )

    async def _fetch_stock(self, branch_id: int, branch_code: str, items: list[StockItem]) -> None:
        try:
            levels = await self.desk.inventory.stock(branch_id=branch_id, branch_code=branch_code, items=items)
        except Exception:  # never "consultando…" forever: an answer that did not come is an unconfirmed stock
            levels = {}
        for item in items:  # one the provider did not answer for is unconfirmed too
            levels.setdefault(item.product_id, StockLevel(item.product_id, None, confirmed=False, source='none'))
        self.stock.update(levels)
        for product_id, level in levels.items():
            label = self._stock_labels.get(product_id)
            if label is not None and not label.is_deleted:
                label.text = stock_text(level)

    async def wait_for_stock(self) -> None:
        """For tests: the background stock check has finished."""
        if self._stock_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._stock_task

    # --- commands ---

    async def _run(self, work: Callable[[], Awaitable[QuoteView | None]], success: str | None = None) -> bool:
        try:
            quote = await work()
        except ServiceError as exc:
            self._notify(t('sales.editor.error', reason=str(exc)), type='negative')
            return False
        if quote is not None:
            self.set_quote(quote)
            if self.on_changed is not None:
                await self.on_changed(quote)
        if success:
            self._notify(success, type='positive')
        return True

    async def save(self) -> bool:
        quote = self.quote
        assert quote is not None
        if quote.id == 0:  # a new quote: it is created, and numbered, now
            return await self._run(
                lambda: quotes.create_quote(
                    self.desk.db,
                    viewer=self.viewer,
                    conversation_id=quote.conversation_id,
                    branch_id=None if quote.conversation_id else quote.branch_id,
                    lines=[row.draft() for row in self.rows],
                    discount_percent=self.discount_percent,
                    discount_amount=self.discount_amount,
                    notes=self.notes,
                    zone=self.desk.zone,
                )
            )
        return await self._run(
            lambda: quotes.update_quote(
                self.desk.db,
                viewer=self.viewer,
                quote_id=quote.id,
                lines=[row.draft() for row in self.rows],
                discount_percent=self.discount_percent,
                discount_amount=self.discount_amount,
                notes=self.notes,
                zone=self.desk.zone,
            )
        )

    async def _save(self) -> None:
        if await self.save():
            self._notify(t('sales.editor.saved'), type='positive')

    async def _send(self) -> None:
        quote = self.quote
        assert quote is not None
        if self.before_send is not None and not await self.before_send():
            return
        if quote.status == QuoteStatus.DRAFT:
            if not await self.save():
                return
            quote = self.quote  # saved: a new quote has its id and number now
            assert quote is not None
        via_template = False

        async def send() -> QuoteView:
            nonlocal via_template
            result = await send_quote(self.desk, viewer=self.viewer, quote_id=quote.id)
            via_template = result.via_template
            return result.quote

        if await self._run(send):
            self._notify(t('sales.editor.sent_template') if via_template else t('sales.editor.sent'), type='positive')

    async def _reject(self) -> None:
        quote = self.quote
        assert quote is not None
        await self._run(
            lambda: quotes.reject_quote(self.desk.db, viewer=self.viewer, quote_id=quote.id, zone=self.desk.zone),
            t('sales.editor.rejected'),
        )

    def _confirm_accept(self) -> None:
        quote = self.quote
        assert quote is not None
        with ui.dialog() as dialog, ui.card().mark('accept-dialog'):
            ui.label(t('sales.editor.accept_confirm', code=quote.code or t('sales.editor.new_title')))
            with ui.row().classes('w-full justify-end'):
                ui.button(t('sales.editor.cancel'), on_click=dialog.close).props('flat')
                ui.button(t('sales.editor.confirm'), on_click=lambda: self._accept(dialog)).mark('confirm-accept')
        dialog.open()

    async def _accept(self, dialog: ui.dialog) -> None:
        dialog.close()
        quote = self.quote
        assert quote is not None
        if quote.status == QuoteStatus.DRAFT:
            if not await self.save():
                return
            quote = self.quote  # saved: a new quote has its id and number now
            assert quote is not None
        try:
            result = await accept_quote(self.desk, quote_id=quote.id, viewer=self.viewer)
        except ServiceError as exc:
            self._notify(t('sales.editor.error', reason=str(exc)), type='negative')
            return
        key = 'sales.editor.accepted' if result.created else 'sales.editor.already_accepted'
        self._notify(t(key, ticket=result.sale.ticket_code), type='positive')
        if result.created and not result.ticket_sent:
            self._notify(t('sales.editor.ticket_not_sent', reason=result.ticket_note), type='warning')
        await self._run(
            lambda: quotes.get_quote(self.desk.db, viewer=self.viewer, quote_id=quote.id, zone=self.desk.zone)
        )

    async def _download_pdf(self) -> None:
        quote = self.quote
        assert quote is not None
        if quote.editable:
            if not await self.save():
                return
            quote = self.quote
            assert quote is not None
        content = await asyncio.to_thread(quote_pdf, quote)
        ui.download.content(content, f'Presupuesto-{quote.code}.pdf', 'application/pdf')
