"""Quote pages (S3, S4): the list of the branch's quotes (with the agent's own commissions this month), a new
draft from a conversation and products, and the full-page quote editor."""

from __future__ import annotations

import json
from datetime import date

from nicegui import ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.i18n import local_time, t
from components.page_frame import selected_branch_id
from components.sales.quote_editor import QuoteEditor
from services.access import Viewer
from services.errors import NotFound, ServiceError
from services.models import QuoteStatus
from services.sales import quotes
from services.sales.commissions import commissions
from services.sales.desk import SalesDesk
from services.sales.money import format_ars
from services.sales.quotes import QuoteView


def sales_desk() -> SalesDesk:
    """The process's desk (built in `app.wiring`): the inventory provider and its cache are process-wide."""
    return runtime().sales


@signed_in_page('/presupuestos', title_key='sales.nav.quotes')
async def quotes_page(viewer: Viewer, estado: str | None = None) -> None:
    desk = sales_desk()
    status = QuoteStatus(estado) if estado in set(QuoteStatus) else None
    with ui.row().classes('w-full items-center gap-4'):
        ui.label(t('sales.quotes.title')).classes('text-xl font-semibold')
        ui.space()
        options = {'': t('sales.quotes.all'), **{value.value: t(f'sales.status.{value}') for value in QuoteStatus}}
        ui.select(
            options,
            value=status.value if status else '',
            label=t('sales.quotes.filter_status'),
            on_change=lambda event: ui.navigate.to(
                f'/presupuestos?estado={event.value}' if event.value else '/presupuestos'
            ),
        ).props('dense outlined').classes('w-48').mark('quote-status-filter')
        if viewer.branch_id is not None:
            ui.button(t('sales.quotes.new'), icon='add', on_click=lambda: ui.navigate.to('/presupuestos/nuevo')).mark(
                'new-quote'
            )
    rows = await quotes.list_quotes(
        desk.db, viewer=viewer, branch_id=selected_branch_id(), statuses=[status] if status else None, zone=desk.zone
    )
    if not rows:
        ui.label(t('sales.quotes.empty')).classes('text-slate-500').mark('quotes-empty')
    table = (
        ui.table(
            columns=[
                {'name': 'code', 'label': t('sales.quotes.number'), 'field': 'code', 'align': 'left', 'sortable': True},
                {'name': 'customer', 'label': t('sales.quotes.customer'), 'field': 'customer', 'align': 'left'},
                {'name': 'status', 'label': t('sales.quotes.filter_status'), 'field': 'status', 'align': 'left'},
                {'name': 'total', 'label': t('sales.quotes.total'), 'field': 'total', 'align': 'right'},
                {'name': 'valid_until', 'label': t('sales.quotes.valid_until'), 'field': 'valid_until'},
                {'name': 'created', 'label': t('sales.quotes.created'), 'field': 'created'},
            ],
            rows=[
                {
                    'id': row.id,
                    'code': row.code,
                    'customer': row.contact_name or '—',
                    'status': t(f'sales.status.{row.status}'),
                    'total': format_ars(row.total),
                    'valid_until': f'{row.valid_until:%d/%m/%Y}',
                    'created': local_time(row.created_at),
                }
                for row in rows
            ],
            row_key='id',
            pagination=25,
        )
        .classes('w-full')
        .mark('quotes-table')
    )
    table.on('rowClick', lambda event: ui.navigate.to(f'/presupuestos/{event.args[1]["id"]}'))
    await _my_commissions(viewer, desk)


async def _my_commissions(viewer: Viewer, desk: SalesDesk) -> None:
    if viewer.user_id is None or viewer.branch_id is None:
        return
    today = desk.today()
    mine = [
        row
        for row in await commissions(desk.db, viewer=viewer, start=date(today.year, today.month, 1), end=today)
        if row.agent_id == viewer.user_id
    ]
    with ui.card().classes('w-full max-w-xl').mark('my-commissions'):
        ui.label(t('sales.quotes.my_commissions')).classes('font-semibold')
        if not mine:
            ui.label(t('sales.quotes.no_commission')).classes('text-sm text-slate-500')
        for row in mine:
            ui.label(
                t(
                    'sales.quotes.commission_line',
                    sales=row.sales,
                    net=format_ars(row.net_total),
                    commission=format_ars(row.commission),
                )
            ).classes('text-sm')


def _parse_items(text: str | None) -> list[tuple[int, int]]:
    """`12,15x2` → [(12, 1), (15, 2)]: products from a link (the console's AI summary)."""
    items = []
    for part in (text or '').split(','):
        product, _, quantity = part.strip().partition('x')
        if product.isdigit():
            items.append((int(product), int(quantity) if quantity.isdigit() and int(quantity) > 0 else 1))
    return items


@signed_in_page('/presupuestos/nuevo', title_key='sales.nav.quotes')
async def new_quote_page(viewer: Viewer, conversacion: int | None = None, productos: str | None = None) -> None:
    """A new quote on screen: nothing is written, and no number taken, until the agent saves it (or sends,
    accepts or prints it, which save it first). Then the address becomes the quote's own."""
    desk = sales_desk()
    ui.link(t('sales.quotes.back'), '/presupuestos').classes('text-sm')

    client = ui.context.client  # the button that saved is redrawn meanwhile: its slot is no context then

    async def saved(quote: QuoteView) -> None:
        if quote.id:
            client.run_javascript(f'history.replaceState(null, "", {json.dumps(f"/presupuestos/{quote.id}")})')

    with ui.column().classes('w-full max-w-4xl'):
        editor = QuoteEditor(desk=desk, viewer=viewer, on_changed=saved)
        try:
            await editor.begin(
                conversation_id=conversacion,
                branch_id=None if conversacion else viewer.branch_id,
                items=_parse_items(productos),
            )
        except ServiceError as exc:
            ui.label(t('sales.editor.error', reason=str(exc))).classes('text-red-7').mark('quote-error')


@signed_in_page('/presupuestos/{quote_id}', title_key='sales.nav.quotes')
async def quote_page(viewer: Viewer, quote_id: int) -> None:
    desk = sales_desk()
    ui.link(t('sales.quotes.back'), '/presupuestos').classes('text-sm')
    with ui.column().classes('w-full max-w-4xl'):
        editor = QuoteEditor(desk=desk, viewer=viewer)
        try:
            await editor.show(quote_id)
        except NotFound:
            ui.label(t('sales.quotes.not_found')).mark('quote-not-found')
