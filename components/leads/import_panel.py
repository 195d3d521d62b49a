"""The prospect import (SPEC L3, issue 16): upload a CSV or vCard, see its first rows and how its columns map onto
a prospect's fields (recognized by their titles, editable), choose the branch, import with a progress bar, then
the counts and the invalid rows with their line numbers. Reading, matching and writing are services/leads'."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from nicegui import events, ui

from components.i18n import format_count, t
from services.access import Viewer
from services.database import Database
from services.errors import ServiceError
from services.leads import FIELDS, ImportResult, guess_mapping, import_prospects, read_prospect_file
from services.leads.files import MULTI_COLUMN_FIELDS, ColumnMapping, ProspectTable
from services.models import Branch

MAX_PROSPECT_FILE_BYTES = 64 * 1024 * 1024  # 100,000 rows of a generous spreadsheet are about 15 MB
PREVIEW_ROWS = 5
PREVIEW_CELL_CHARACTERS = 40
SHOWN_INVALID = 200
SEPARATOR_NAMES = {';': ';', ',': ',', '\t': 'TAB'}


def _cell_text(value: str | None) -> str:
    text = ' '.join((value or '').split())
    return text if len(text) <= PREVIEW_CELL_CHARACTERS else text[: PREVIEW_CELL_CHARACTERS - 1] + '…'


class LeadImportPanel:
    def __init__(self, *, db: Database, viewer: Viewer, branches: list[Branch], default_branch_id: int | None) -> None:
        self.db = db
        self.viewer = viewer
        self.branches = branches
        self.default_branch_id = default_branch_id
        self.table: ProspectTable | None = None
        self.selects: dict[str, ui.select] = {}
        self.branch_select: ui.select | None = None
        self.last_result: ImportResult | None = None
        with ui.column().classes('w-full gap-2').mark('leads-import-panel'):
            ui.label(t('leads.import.title')).classes('text-lg font-semibold')
            ui.label(t('leads.import.help')).classes('text-sm text-slate-500')
            self.upload = (
                ui.upload(
                    on_upload=self._uploaded,
                    auto_upload=True,
                    max_file_size=MAX_PROSPECT_FILE_BYTES,
                    label=t('leads.import.upload'),
                )
                .props('accept=".csv,.txt,.vcf,.vcard" flat bordered')
                .classes('w-full max-w-md')
                .mark('leads-import')
            )
            self.details = ui.column().classes('w-full gap-2')
            self.bar = ui.linear_progress(value=0, show_value=False).classes('w-full').mark('leads-import-progress')
            self.bar.set_visibility(False)
            self.status = ui.label('').classes('text-sm').mark('leads-import-status')
            self.report = ui.column().classes('w-full gap-1').mark('leads-import-report')

    async def _uploaded(self, event: events.UploadEventArguments) -> None:
        self._discard()
        self.report.clear()
        self.status.text = t('leads.import.reading')
        self.status.classes(remove='text-red-700')
        with tempfile.TemporaryDirectory(prefix='leadmaster-leads-') as folder:
            path = Path(folder) / 'upload'
            await event.file.save(path)
            try:
                self.table = await asyncio.to_thread(read_prospect_file, path, name=event.file.name)
            except (ValueError, OSError) as error:
                self._fail(str(error))
                return
            finally:
                self.upload.reset()
        self.status.text = ''
        self._show(self.table)

    def _show(self, table: ProspectTable) -> None:
        separator = (
            t('leads.import.separator', separator=SEPARATOR_NAMES.get(table.delimiter, table.delimiter))
            if table.delimiter
            else ''
        )
        mapping = guess_mapping(table.headers)
        with self.details:
            ui.label(
                t(
                    'leads.import.file',
                    name=table.name,
                    kind='vCard' if table.kind == 'vcard' else 'CSV',
                    rows=format_count(len(table.rows)),
                    encoding=table.encoding,
                    separator=separator,
                )
            ).classes('text-sm font-medium').mark('leads-import-file')
            ui.label(t('leads.import.preview')).classes('text-sm text-slate-600')
            columns = [
                {'name': f'c{i}', 'label': header, 'field': f'c{i}', 'align': 'left'}
                for i, header in enumerate(table.headers)
            ]
            rows = [
                {'line': line, **{f'c{i}': _cell_text(row.get(h)) for i, h in enumerate(table.headers)}}
                for line, row in table.rows[:PREVIEW_ROWS]
            ]
            ui.table(columns=columns, rows=rows, row_key='line').props('dense flat bordered').classes(
                'w-full max-w-full overflow-x-auto'
            ).mark('leads-import-preview')
            ui.label(t('leads.import.mapping')).classes('text-sm text-slate-600 mt-2')
            with ui.element('div').classes('grid grid-cols-1 md:grid-cols-2 xl:grid-cols-3 gap-x-4 gap-y-1 w-full'):
                self.selects = {}
                for field in FIELDS:
                    chosen = mapping.get(field, [])
                    if field in MULTI_COLUMN_FIELDS:
                        select = ui.select(
                            list(table.headers), multiple=True, value=chosen, label=t(f'leads.field.{field}')
                        ).props('dense outlined use-chips')
                    else:
                        options = {'': t('leads.import.none'), **{h: h for h in table.headers}}
                        select = ui.select(
                            options, value=chosen[0] if chosen else '', label=t(f'leads.field.{field}')
                        ).props('dense outlined')
                    self.selects[field] = select.classes('w-full').mark(f'leads-import-map-{field}')
            branch_options: dict[int | None, str] = {}
            if self.viewer.sees_all_branches:
                branch_options[None] = t('leads.import.none')
            branch_options.update({branch.id: branch.name for branch in self.branches if branch.id is not None})
            default = self.default_branch_id if self.default_branch_id in branch_options else next(iter(branch_options))
            self.branch_select = (
                ui.select(branch_options, value=default, label=t('leads.import.branch'))
                .props('dense outlined')
                .classes('w-64')
                .mark('leads-import-branch')
            )
            with ui.row().classes('gap-2 mt-1'):
                self.start = (
                    ui.button(t('leads.import.start', rows=format_count(len(table.rows))), on_click=self._import)
                    .props('color=primary')
                    .mark('leads-import-start')
                )
                self.cancel = (
                    ui.button(t('leads.import.cancel'), on_click=self._discard)
                    .props('flat')
                    .mark('leads-import-cancel')
                )

    def chosen_mapping(self) -> ColumnMapping:
        mapping: ColumnMapping = {}
        for field, select in self.selects.items():
            value = select.value
            columns = list(value) if isinstance(value, (list, tuple)) else ([value] if value else [])
            if columns:
                mapping[field] = columns
        return mapping

    async def _import(self) -> None:
        if self.table is None:
            return
        table, mapping = self.table, self.chosen_mapping()
        branch_id = self.branch_select.value if self.branch_select is not None else None
        self.start.disable()
        self.cancel.disable()
        self.report.clear()
        self.bar.value = 0
        self.bar.set_visibility(True)

        def progress(done: int, total: int) -> None:
            self.bar.value = done / total if total else 1
            self.status.text = t('leads.import.progress', done=format_count(done), total=format_count(total))

        try:
            result = await import_prospects(
                self.db, table, mapping=mapping, branch_id=branch_id, viewer=self.viewer, progress=progress
            )
        except (ServiceError, ValueError) as error:
            self._fail(str(error))
            self.start.enable()
            self.cancel.enable()
            self.bar.set_visibility(False)
            return
        self.last_result = result
        self.bar.value = 1
        self.status.text = t(
            'leads.import.done',
            seconds=f'{result.seconds:.1f}'.replace('.', ','),
            created=format_count(result.created),
            merged=format_count(result.merged),
            invalid=format_count(len(result.invalid)),
        )
        invalid = result.invalid
        if invalid:
            with self.report:
                ui.label(t('leads.import.invalid_rows')).classes('text-sm text-red-700')
                ui.table(
                    columns=[
                        {'name': name, 'label': t(f'leads.import.col.{name}'), 'field': name, 'align': 'left'}
                        for name in ('line', 'reason')
                    ],
                    rows=[{'line': row.line, 'reason': row.reason} for row in invalid[:SHOWN_INVALID]],
                    row_key='line',
                ).props('dense flat bordered wrap-cells').classes('w-full').mark('leads-import-invalid')
        self.details.clear()
        self.selects = {}
        self.table = None

    def _fail(self, reason: str) -> None:
        self.status.text = t('leads.import.failed', reason=reason)
        self.status.classes(add='text-red-700')

    def _discard(self) -> None:
        self.details.clear()
        self.selects = {}
        self.table = None
        self.status.text = ''
        self.bar.set_visibility(False)
