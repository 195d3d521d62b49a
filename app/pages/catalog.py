"""The catalog page (S1): agents search products and send one into a conversation (`/catalog?c=<id>`, with
that conversation's AI summary alongside); admins import catalog files (components/catalog: preview,
column mapping, progress bar, report of rejected rows)."""

from __future__ import annotations

from nicegui import ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.assistant.catalog_search import CatalogSearch, send_to_customer
from components.assistant.summary_panel import SummaryPanel
from components.catalog import CatalogImportPanel
from components.i18n import t
from components.page_frame import selected_branch_id
from services.access import Viewer
from services.assistant.summary import latest_summary
from services.catalog import ProductHit
from services.errors import NotFound
from services.inbox.conversations import ConversationRow, get_conversation
from services.models import Role


@signed_in_page('/catalog', title_key='nav.catalog')
async def catalog_page(viewer: Viewer, c: int | None = None) -> None:
    db = runtime().db
    conversation: ConversationRow | None = None
    if c is not None:
        try:
            conversation = await get_conversation(db, viewer=viewer, conversation_id=c)
        except NotFound:
            ui.label(t('catalog.no_conversation')).classes('text-red-700').mark('catalog-no-conversation')
    ui.label(t('catalog.title')).classes('text-xl font-semibold')

    async def send(hit: ProductHit) -> None:
        assert conversation is not None
        await send_to_customer(db, viewer=viewer, conversation_id=conversation.id, hit=hit, publisher=runtime().bus)

    # Stock is shown for the conversation's branch, else the header's choice, else the viewer's own.
    branch_id = conversation.branch_id if conversation else (selected_branch_id() or viewer.branch_id)
    with ui.row().classes('w-full gap-4 no-wrap items-start'):
        with ui.column().classes('flex-1 gap-2'):
            if conversation is not None:
                ui.label(t('catalog.sending_to', name=conversation.contact_name)).classes('text-sm').mark(
                    'catalog-target'
                )
            CatalogSearch(db=db, viewer=viewer, branch_id=branch_id, on_send=send if conversation else None)
        if conversation is not None:
            with ui.column().classes('w-[350px] gap-2'):
                SummaryPanel().show(await latest_summary(db, viewer=viewer, conversation_id=conversation.id))
    if viewer.has_role(Role.ADMIN):
        ui.separator().classes('my-4')
        CatalogImportPanel(db=db, viewer=viewer)
