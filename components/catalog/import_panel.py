"""The admin's catalog import (S1, issue 21): upload a file, see its first rows and how its columns map onto the
catalog's fields (recognized by their titles, editable), import with a progress bar, then a report of the rows
that were rejected and why. The reading, checking and writing are services/catalog's; this only shows them."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from nicegui import events, ui

from components.i18n import t
from services.access import Viewer
from services.catalog import import_catalog, read_catalog_table
from services.catalog.tables import (
    FIELDS,
    MULTI_COLUMN_FIELDS,
    STOCK_PREFIX,
    CatalogTable,
    ColumnMapping,
    guess_mapping,
)
from services.database import Database
from services.errors import ServiceError

MAX_CATALOG_FILE_BYTES = 128 * 1024 * 1024  # a 100,000-product JSON with ten photo URLs each is about 60 MB
PREVIEW_ROWS = 5
PREVIEW_CELL_CHARACTERS = 60
SHOWN_REJECTED = 200
SEPARATOR_NAMES = {';': ';', ',': ',', '\t': 'TAB'}


def _cell_text(value: Any) -> str:
    if value is None:
        return ''
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = ' '.join(text.split())
    return text if len(text) <= PREVIEW_CELL_CHARACTERS else text[: PREVIEW_CELL_CHARACTERS - 1] + '…'


class CatalogImportPanel:
    def __init__(self, *, db: Database, viewer: Viewer) -> None:
        self.db = db
        self.viewer = viewer
        self.table: CatalogTable | None = None
        self.folder: tempfile.TemporaryDirectory[str] | None = None
        self.selects: dict[str, ui.select] = {}
        with ui.column().classes('w-full gap-2').mark('catalog-import-panel'):
            ui.label(t('catalog_import.title')).classes('text-lg font-semibold')
            ui.label(t('catalog_import.help')).classes('text-sm text-slate-500')
            self.upload = (
                ui.upload(
                    on_upload=self._uploaded,
                    auto_upload=True,
                    max_file_size=MAX_CATALOG_FILE_BYTES,
                    label=t('catalog_import.upload'),
                )
                .props('accept=".json,.csv,.txt" flat bordered')
                .classes('w-full max-w-md')
                .mark('catalog-import')
            )
            self.details = ui.column().classes('w-full gap-2')
            self.bar = ui.linear_progress(value=0, show_value=False).classes('w-full').mark('catalog-import-progress')
            self.bar.set_visibility(False)
            self.status = ui.label('').classes('text-sm').mark('catalog-import-status')
            self.report = ui.column().classes('w-full gap-1').mark('catalog-import-report')

    # --- the file -------------------------------------------------------------------------------------------

    async def _uploaded(self, event: events.UploadEventArguments) -> None:
        self._discard()
        self.report.clear()
        self.status.text = t('catalog_import.reading')
        self.status.classes(remove='text-red-700')
        self.folder = tempfile.TemporaryDirectory(prefix='leadmaster-catalog-')
        path = Path(self.folder.name) / 'upload'
        await event.file.save(path)
        try:
            self.table = await _read(path, event.file.name)
        except ServiceError as error:
            self._discard()
            self._fail(str(error))
            return
        finally:
            self.upload.reset()
        self.status.text = ''
        self._show(self.table)

    def _show(self, table: CatalogTable) -> None:
        separator = (
            t('catalog_import.separator', separator=SEPARATOR_NAMES.get(table.delimiter, table.delimiter))
            if table.delimiter
            else ''
        )
        mapping = guess_mapping(table.headers, kind=table.kind)
        with self.details:
            ui.label(
                t(
                    'catalog_import.file',
                    name=table.name,
                    kind=table.kind.upper(),
                    rows=len(table.rows),
                    encoding=table.encoding,
                    separator=separator,
                )
            ).classes('text-sm font-medium').mark('catalog-import-file')
            ui.label(t('catalog_import.preview')).classes('text-sm text-slate-600')
            columns = [
                {'name': f'c{i}', 'label': header, 'field': f'c{i}', 'align': 'left'}
                for i, header in enumerate(table.headers)
            ]
            rows = [
                {'c_position': position, **{f'c{i}': _cell_text(row.get(h)) for i, h in enumerate(table.headers)}}
                for position, row in table.rows[:PREVIEW_ROWS]
            ]
            ui.table(columns=columns, rows=rows, row_key='c_position').props('dense flat bordered').classes(
                'w-full max-w-full overflow-x-auto'
            ).mark('catalog-import-preview')
            ui.label(t('catalog_import.mapping')).classes('text-sm text-slate-600 mt-2')
            ui.label(t('catalog_import.mapping_help')).classes('text-xs text-slate-500')
            with ui.element('div').classes('grid grid-cols-1 md:grid-cols-2 xl:grid-cols-3 gap-x-4 gap-y-1 w-full'):
                self.selects = {}
                for field in FIELDS:
                    chosen = mapping.get(field, [])
                    if field in MULTI_COLUMN_FIELDS:
                        select = ui.select(
                            list(table.headers), multiple=True, value=chosen, label=t(f'catalog_import.field.{field}')
                        ).props('dense outlined use-chips')
                    else:
                        options = {'': t('catalog_import.none'), **{h: h for h in table.headers}}
                        select = ui.select(
                            options, value=chosen[0] if chosen else '', label=t(f'catalog_import.field.{field}')
                        ).props('dense outlined')
                    self.selects[field] = select.classes('w-full').mark(f'catalog-import-map-{field}')
            stock = [h for h in mapping if h.startswith(STOCK_PREFIX)] + (['stock'] if 'stock' in mapping else [])
            if stock:
                ui.label(t('catalog_import.stock_columns', columns=', '.join(stock))).classes('text-xs')
            with ui.row().classes('gap-2 mt-1'):
                self.start = (
                    ui.button(t('catalog_import.start', rows=len(table.rows)), on_click=self._import)
                    .props('color=primary')
                    .mark('catalog-import-start')
                )
                self.cancel = (
                    ui.button(t('catalog_import.cancel'), on_click=self._discard)
                    .props('flat')
                    .mark('catalog-import-cancel')
                )

    def chosen_mapping(self) -> ColumnMapping:
        assert self.table is not None
        mapping: ColumnMapping = {}
        for field, select in self.selects.items():
            value = select.value
            columns = list(value) if isinstance(value, (list, tuple)) else ([value] if value else [])
            if columns:
                mapping[field] = columns
        # Stock columns are not offered for editing: they only ever map onto themselves.
        for field, columns in guess_mapping(self.table.headers, kind=self.table.kind).items():
            if field == 'stock' or field.startswith(STOCK_PREFIX):
                mapping[field] = columns
        return mapping

    # --- the import -----------------------------------------------------------------------------------------

    async def _import(self) -> None:
        if self.table is None:
            return
        table, mapping = self.table, self.chosen_mapping()
        self.start.disable()
        self.cancel.disable()
        for select in self.selects.values():
            select.disable()
        self.report.clear()
        self.bar.value = 0
        self.bar.set_visibility(True)
        self.status.text = t('catalog_import.checking')

        def progress(done: int, total: int) -> None:
            self.bar.value = done / total if total else 1
            self.status.text = t('catalog_import.progress', done=done, total=total)

        try:
            result = await import_catalog(self.db, table, mapping=mapping, progress=progress, viewer=self.viewer)
        except ServiceError as error:
            self._fail(str(error))
            self.start.enable()
            self.cancel.enable()
            for select in self.selects.values():
                select.enable()
            self.bar.set_visibility(False)
            return
        self.bar.value = 1
        self.status.text = t(
            'catalog_import.done',
            total=result.total,
            seconds=f'{result.seconds:.1f}'.replace('.', ','),
            created=result.created,
            updated=result.updated,
        )
        with self.report:
            if result.unpriced:
                ui.label(t('catalog_import.unpriced', count=result.unpriced)).classes('text-sm text-amber-800').mark(
                    'catalog-import-unpriced'
                )
            if result.rejected:
                ui.label(t('catalog_import.rejected', count=len(result.rejected))).classes('text-sm text-red-700').mark(
                    'catalog-import-rejected-count'
                )
                ui.table(
                    columns=[
                        {'name': name, 'label': t(f'catalog_import.col.{name}'), 'field': name, 'align': 'left'}
                        for name in ('position', 'code', 'reason')
                    ],
                    rows=[
                        {'position': r.position, 'code': r.code, 'reason': r.reason}
                        for r in result.rejected[:SHOWN_REJECTED]
                    ],
                    row_key='position',
                ).props('dense flat bordered wrap-cells').classes('w-full').mark('catalog-import-rejected')
                if len(result.rejected) > SHOWN_REJECTED:
                    ui.label(t('catalog_import.rejected_more', count=len(result.rejected) - SHOWN_REJECTED))
        self._discard(keep_status=True)

    def _fail(self, reason: str) -> None:
        self.status.text = t('catalog_import.failed', reason=reason)
        self.status.classes(add='text-red-700')

    def _discard(self, *, keep_status: bool = False) -> None:
        self.details.clear()
        self.selects = {}
        self.table = None
        if not keep_status:
            self.status.text = ''
            self.bar.set_visibility(False)
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None


async def _read(path: Path, name: str) -> CatalogTable:
    return await asyncio.to_thread(read_catalog_table, path, name=name)
