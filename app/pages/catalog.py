"""The catalog page (S1): agents search products and send one into a conversation (`/catalog?c=<id>`, with
that conversation's AI summary alongside); admins import catalog files with a progress bar."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nicegui import events, ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.assistant.catalog_search import CatalogSearch, send_to_customer
from components.assistant.summary_panel import SummaryPanel
from components.i18n import t
from components.page_frame import selected_branch_id
from services.access import Viewer
from services.assistant.summary import latest_summary
from services.catalog import ProductHit, import_file
from services.errors import NotFound, ServiceError
from services.inbox.conversations import ConversationRow, get_conversation
from services.models import Role

MAX_CATALOG_FILE_BYTES = 64 * 1024 * 1024


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
        _import_section(viewer)


def _import_section(viewer: Viewer) -> None:
    ui.separator().classes('my-4')
    ui.label(t('catalog.import_title')).classes('text-lg font-semibold')
    ui.label(t('catalog.import_help')).classes('text-sm text-slate-500')
    bar = ui.linear_progress(value=0, show_value=False).classes('w-full').mark('catalog-import-progress')
    bar.set_visibility(False)
    status = ui.label('').classes('text-sm').mark('catalog-import-status')

    async def uploaded(event: events.UploadEventArguments) -> None:
        suffix = Path(event.file.name).suffix.lower()
        bar.set_visibility(True)
        bar.value = 0

        def progress(done: int, total: int) -> None:
            bar.value = done / total if total else 1
            status.text = t('catalog.import_progress', done=done, total=total)

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f'catalog{suffix}'
            await event.file.save(path)
            try:
                report = await import_file(runtime().db, path, progress=progress, viewer=viewer)
            except ServiceError as error:
                status.text = t('catalog.import_failed', reason=str(error).replace(str(path), event.file.name))
                bar.set_visibility(False)
                upload.reset()
                return
        status.text = t('catalog.import_done', total=report.total, created=report.created, updated=report.updated)
        upload.reset()

    upload = (
        ui.upload(
            on_upload=uploaded, auto_upload=True, max_file_size=MAX_CATALOG_FILE_BYTES, label=t('catalog.import_title')
        )
        .props('accept=".json,.csv" flat bordered')
        .classes('w-96')
        .mark('catalog-import')
    )
