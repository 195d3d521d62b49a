"""The quote in the console's right column (S3, S4): the conversation's open quote in the compact editor, a
"Cotizar" button that starts one with the AI summary's products, and a catalog search whose results are sent to
the customer or added to the quote. When the customer accepts (`quote.updated` with a sale), the sale and its
ticket show here at once.

The section only reloads when another conversation is opened or a `quote.updated` is about this conversation:
the page calls `show` on every change of the open conversation (each customer message), and rebuilding then
would throw away what the agent is typing into a draft.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from nicegui import ui

from components.assistant.catalog_search import CatalogSearch, send_to_customer
from components.i18n import t
from components.notify import Notifier
from components.panel_section import PanelContext, PanelSection
from services.assistant.summary import latest_summary
from services.catalog import ProductHit
from services.catalog.search import products_by_skus
from services.errors import NotFound, ServiceError
from services.events import Event
from services.inbox.console import ConversationDetail
from services.models import QuoteStatus
from services.sales import quotes
from services.sales.desk import QUOTE_UPDATED, SalesDesk
from services.sales.quotes import QuoteView

from .quote_editor import QuoteEditor

HoldToReply = Callable[[], Awaitable[bool]]
OPEN_STATUSES = (QuoteStatus.DRAFT, QuoteStatus.SENT)


class QuoteSection(PanelSection):
    key: ClassVar[str] = 'quote'

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        self._notify = Notifier()  # the section may be rebuilt while an action awaits (components/notify.py)
        self.desk: SalesDesk = context.services['sales']
        # The inbox's "replying takes an unattended conversation first" (T1); sending a product or a quote is a
        # person answering, so the AI must stop.
        self.hold_to_reply: HoldToReply | None = context.services.get('hold_to_reply')
        self.conversation_id: int | None = None
        self.branch_id: int | None = None
        self.search: CatalogSearch | None = None
        with ui.row().classes('w-full items-center gap-2 no-wrap'):
            ui.label(t('sales.console.title')).classes('text-sm font-semibold')
            ui.space()
            self.full_page = (
                ui.link(t('sales.console.full_page'), '/presupuestos').classes('text-xs').mark('quote-full-page')
            )
            self.quote_button = (
                ui.button(t('sales.console.quote'), icon='request_quote', on_click=self.quote_from_summary)
                .props('dense outline')
                .tooltip(t('sales.console.quote_help'))
                .mark('quote-from-summary')
            )
        self.sold = ui.label().classes('text-sm font-semibold text-green-8').mark('quote-sold')
        self.empty = ui.label(t('sales.console.none')).classes('text-xs text-slate-500').mark('quote-none')
        self.catalog = (
            ui.expansion(t('sales.console.catalog'), icon='search')
            .props('dense')
            .classes('w-full text-sm')
            .mark('console-catalog')
        )
        self.editor = QuoteEditor(
            desk=self.desk, viewer=context.viewer, compact=True, on_changed=self._changed, before_send=self._hold
        )
        self._show_state()

    # --- the panel's hooks ---

    async def show(self, detail: ConversationDetail) -> None:
        if detail.row.id == self.conversation_id:
            return  # the same conversation changed (a message, a take): the quote did not
        self.conversation_id, self.branch_id = detail.row.id, detail.row.branch_id
        self._build_search()
        await self.reload()

    def clear(self) -> None:
        self.conversation_id = self.branch_id = None
        self.editor.clear()
        self._show_state()

    async def on_event(self, event: Event) -> None:
        if event.kind != QUOTE_UPDATED or event.conversation_id != self.conversation_id:
            return
        shown = self.editor.quote
        # A draft the agent is editing stays as typed unless the event is about that very quote.
        if shown is None or not shown.editable or shown.id == event.data.get('quote_id'):
            await self.reload()

    # --- loading ---

    async def reload(self) -> None:
        """Show the conversation's open quote (draft or sent), else its newest accepted one (with the sale)."""
        if self.conversation_id is None:
            return
        rows = await quotes.list_quotes(
            self.desk.db,
            viewer=self.context.viewer,
            conversation_id=self.conversation_id,
            limit=20,
            zone=self.desk.zone,
        )
        chosen = next((row for row in rows if row.status in OPEN_STATUSES), None)
        if chosen is None and rows and rows[0].status == QuoteStatus.ACCEPTED:
            chosen = rows[0]
        if chosen is None:
            self.editor.clear()
        else:
            try:
                await self.editor.show(chosen.id)
            except NotFound:
                self.editor.clear()
        self._show_state()

    def _show_state(self) -> None:
        quote = self.editor.quote
        has_open = quote is not None and quote.status in OPEN_STATUSES
        self.quote_button.set_visibility(self.conversation_id is not None and not has_open)
        self.empty.set_visibility(quote is None)
        self.sold.text = t('sales.console.sold', ticket=quote.ticket_code) if quote and quote.ticket_code else ''
        self.sold.set_visibility(bool(self.sold.text))
        self.full_page.props(f'href=/presupuestos/{quote.id}' if quote else 'href=/presupuestos')

    async def _changed(self, quote: QuoteView) -> None:
        self._show_state()

    # --- starting and filling a quote ---

    async def quote_from_summary(self) -> None:
        """ "Cotizar": a new draft with the products of the AI summary (one of each), or empty without any."""
        if self.conversation_id is None:
            return
        try:
            summary = await latest_summary(
                self.context.db, viewer=self.context.viewer, conversation_id=self.conversation_id
            )
        except NotFound:
            summary = None
        skus = [product.sku for product in summary.products] if summary else []
        found = await products_by_skus(self.context.db, skus=skus, branch_id=self.branch_id) if skus else {}
        await self._start([(found[sku].id, 1) for sku in skus if sku in found])

    async def _start(self, items: list[tuple[int, int]]) -> None:
        try:
            await self.editor.start(conversation_id=self.conversation_id, items=items)
        except ServiceError as exc:
            self._notify(t('sales.editor.error', reason=str(exc)), type='negative')
            return
        self._show_state()

    async def add_product(self, hit: ProductHit) -> None:
        """A catalog result onto the open draft (kept local until saved or sent), or a new draft with it."""
        quote = self.editor.quote
        if quote is not None and quote.editable:
            await self.editor.add_products([(hit.id, 1)])
        else:
            await self._start([(hit.id, 1)])

    async def send_product(self, hit: ProductHit) -> None:
        if self.conversation_id is None or not await self._hold():
            return
        await send_to_customer(
            self.context.db,
            viewer=self.context.viewer,
            conversation_id=self.conversation_id,
            hit=hit,
            publisher=self.context.publisher,
            notify=self._notify,
        )

    async def _hold(self) -> bool:
        return True if self.hold_to_reply is None else await self.hold_to_reply()

    def _build_search(self) -> None:
        if self.search is not None and self.search.branch_id == self.branch_id:
            return
        self.catalog.clear()
        with self.catalog:
            # Stock and prices for the conversation's branch; no autofocus: the composer keeps the cursor.
            self.search = CatalogSearch(
                db=self.context.db,
                viewer=self.context.viewer,
                branch_id=self.branch_id,
                on_send=self.send_product,
                on_add=self.add_product,
                limit=8,
                autofocus=False,
            )
