"""The catalog search widget (S1): a search box, an in-stock switch and the results (title, brand, price with
IVA or "no price", stock at the branch, the first photo as a lazy thumbnail, the code that matched), each with
optional "send to the conversation" and "add to the quote" buttons.
It calls the search service; it opens no database session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.i18n import t
from services.access import Viewer
from services.catalog import ProductHit, SearchResult, format_ars, search_products, send_product
from services.database import Database
from services.errors import ServiceError
from services.events import EventPublisher
from services.whatsapp.outbox import OutsideWindow

SendProduct = Callable[[ProductHit], Awaitable[None]]


async def send_to_customer(
    db: Database,
    *,
    viewer: Viewer,
    conversation_id: int,
    hit: ProductHit,
    publisher: EventPublisher,
    notify: Callable[..., Any] | None = None,
) -> bool:
    """A product from the catalog into the conversation, telling the agent how it went (the catalog page and the
    console's quote section both offer "send")."""
    notify = notify or ui.notify  # looked up at call time (the simulated user of the tests replaces it)
    try:
        await send_product(db, viewer=viewer, conversation_id=conversation_id, sku=hit.sku, publisher=publisher)
    except OutsideWindow:
        notify(t('catalog.outside_window'), type='warning')
        return False
    except ServiceError as exc:
        notify(t('catalog.send_failed', reason=str(exc)), type='negative')
        return False
    notify(t('catalog.sent'), type='positive')
    return True


class CatalogSearch:
    def __init__(
        self,
        *,
        db: Database,
        viewer: Viewer,
        branch_id: int | None,
        on_send: SendProduct | None = None,
        on_add: SendProduct | None = None,
        limit: int = 20,
        autofocus: bool = True,
    ) -> None:
        self.db = db
        self.viewer = viewer
        self.branch_id = branch_id
        self.on_send = on_send
        self.on_add = on_add
        self.limit = limit
        with ui.column().classes('w-full gap-2').mark('catalog-search'):
            # Wraps: in the console's 350 px panel the "in stock" box goes under a full-width search field (side by
            # side it left the field 50 px wide); on the catalog page they share a line.
            with ui.row().classes('w-full items-center gap-x-3 gap-y-0'):
                self.query = (
                    ui.input(t('catalog.search'), placeholder=t('catalog.search_hint'))
                    .props('outlined dense clearable debounce=300' + (' autofocus' if autofocus else ''))
                    .classes('flex-1 min-w-[14rem]')
                    .mark('catalog-query')
                )
                self.in_stock = ui.checkbox(t('catalog.in_stock_only')).mark('catalog-in-stock')
            self.notes = ui.row().classes('w-full gap-2 text-xs text-slate-500')
            self.results = ui.column().classes('w-full gap-1').mark('catalog-results')
        self.query.on_value_change(self.search)
        self.in_stock.on_value_change(self.search)

    async def search(self) -> SearchResult | None:
        text = (self.query.value or '').strip()
        self.results.clear()
        self.notes.clear()
        if not text:
            return None
        result = await search_products(
            self.db,
            query=text,
            viewer=self.viewer,
            branch_id=self.branch_id,
            in_stock_only=bool(self.in_stock.value),
            limit=self.limit,
        )
        self._show_notes(result)
        with self.results:
            if not result.hits:
                ui.label(t('catalog.no_results')).classes('text-slate-500').mark('catalog-empty')
            for hit in result.hits:
                self._row(hit)
        return result

    def _show_notes(self, result: SearchResult) -> None:
        with self.notes:
            if result.vehicle is not None and (result.vehicle.known or result.vehicle.year):
                ui.badge(t('catalog.vehicle', vehicle=result.vehicle.label()), color='blue').props('outline').mark(
                    'catalog-vehicle'
                )
            for typed, corrected in result.corrections.items():
                ui.label(t('catalog.corrected', typed=typed, corrected=corrected)).mark('catalog-corrected')
            if result.ignored:
                ui.label(t('catalog.ignored', words=', '.join(result.ignored))).mark('catalog-ignored')
            if result.partial:
                ui.label(t('catalog.partial')).classes('text-orange-700').mark('catalog-partial')
            if result.truncated:
                ui.label(t('catalog.truncated')).mark('catalog-truncated')

    def _row(self, hit: ProductHit) -> None:
        # Two lines: the photo and the title get the card's whole width (in the console's 350 px panel a price
        # column beside them squeezed the title to a word per line and overlapped it), price and actions below.
        with (
            ui.card().classes('w-full p-2 gap-1').props('flat bordered').mark(f'catalog-hit-{hit.sku}'),
        ):
            with ui.row().classes('w-full items-start gap-3 no-wrap'):
                _thumbnail(hit.image_url)
                with ui.column().classes('flex-1 min-w-0 gap-0'):
                    ui.label(hit.title).classes('font-medium break-words').mark('catalog-title')
                    with ui.row().classes('gap-2 text-xs text-slate-500'):
                        # A MercadoLibre item has no brand: no empty part between the dots.
                        ui.label(' · '.join(part for part in (hit.sku, hit.brand, hit.category) if part))
                        if hit.matched_code:
                            ui.badge(t('catalog.code', code=hit.matched_code), color='purple').mark(
                                'catalog-matched-code'
                            )
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                with_iva = hit.price_with_iva
                if with_iva is not None:
                    ui.label(format_ars(with_iva)).classes('font-semibold').mark('catalog-price')
                else:  # imported without a price (a MercadoLibre export): found, not quotable until priced
                    ui.label(t('catalog.no_price')).classes('text-amber-800 font-medium').mark('catalog-price')
                ui.label(f'{t("catalog.stock")}: {self._stock_text(hit)}').classes('text-xs').mark('catalog-stock')
                ui.space()
                if self.on_add is not None:
                    add = ui.button(icon='add_shopping_cart', on_click=lambda hit=hit: self._add(hit)).props(
                        'flat round dense color=green-8'
                    )
                    add.tooltip(t('catalog.add_to_quote') if hit.price is not None else t('catalog.no_price'))
                    add.mark(f'catalog-add-{hit.sku}')
                    if hit.price is None:
                        add.disable()
                if self.on_send is not None:
                    ui.button(icon='send', on_click=lambda hit=hit: self._send(hit)).props(
                        'flat round dense color=primary'
                    ).tooltip(t('catalog.send')).mark(f'catalog-send-{hit.sku}')

    def _stock_text(self, hit: ProductHit) -> str:
        if hit.stock is not None:
            return t('catalog.stock_units', units=hit.stock)
        if hit.stock_by_branch:
            return t('catalog.stock_units', units=hit.total_stock)
        return t('catalog.no_stock_figure')

    async def _send(self, hit: ProductHit) -> None:
        if self.on_send is not None:
            await self.on_send(hit)

    async def _add(self, hit: ProductHit) -> None:
        if self.on_add is not None:
            await self.on_add(hit)


def _thumbnail(url: str | None) -> None:
    """The product's first photo, loaded lazily from the retailer's image host (MercadoLibre's for an ML export),
    opening full size in a new tab; a grey placeholder when there is none or it fails to load (hosts go away)."""
    box = 'w-14 h-14 shrink-0 rounded bg-slate-100'
    if not url:
        with (
            ui.element('div').classes(f'{box} flex items-center justify-center text-slate-400').mark('catalog-no-photo')
        ):
            ui.icon('image').tooltip(t('catalog.no_photo'))
        return
    with ui.link(target=url, new_tab=True).classes('shrink-0').mark('catalog-photo'):
        image = ui.image(url).props('loading=lazy fit=contain no-spinner no-transition').classes(box)
        image.mark('catalog-image')
        with (
            image.add_slot('error'),
            ui.element('div').classes('absolute-full flex flex-center bg-slate-100 text-slate-400'),
        ):
            ui.icon('image_not_supported').tooltip(t('catalog.no_photo'))
