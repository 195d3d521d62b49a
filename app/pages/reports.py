"""`/reportes` (S4): the daily sales report per branch and agent, for managers (their branches) and admins
(all; the header's branch selector narrows), over a date range (the shared picker, components/date_range.py);
charts, table, commissions and the CSV export for a spreadsheet set to Spanish (Argentina)."""

from __future__ import annotations

from datetime import date

from nicegui import ui

from app.pages.guard import signed_in_page
from app.pages.quotes import sales_desk
from components.date_range import DateRangePicker
from components.i18n import t
from components.page_frame import selected_branch_id
from components.sales import report_view
from services.access import Viewer
from services.errors import ServiceError
from services.models import Role
from services.sales.commissions import commissions
from services.sales.reports import daily_report, report_csv


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@signed_in_page('/reportes', minimum_role=Role.MANAGER, title_key='sales.nav.reports')
async def reports_page(viewer: Viewer, desde: str | None = None, hasta: str | None = None) -> None:
    desk = sales_desk()
    today = desk.today()
    start, end = _day(desde, today), _day(hasta, today)
    if end < start:
        start, end = end, start

    def go(first: date, last: date) -> None:
        ui.navigate.to(f'/reportes?desde={first.isoformat()}&hasta={last.isoformat()}')

    with ui.row().classes('w-full items-center gap-3'):
        ui.label(t('sales.report.title')).classes('text-xl font-semibold')
        ui.space()
        DateRangePicker(start=start, end=end, today=today, on_change=go)
    try:
        report = await daily_report(desk.db, viewer=viewer, start=start, end=end, branch_id=selected_branch_id())
        agents = await commissions(desk.db, viewer=viewer, start=start, end=end, branch_id=selected_branch_id())
    except ServiceError as exc:
        ui.label(t('sales.editor.error', reason=str(exc))).classes('text-red-7').mark('report-error')
        return
    report_view.headline(report)
    report_view.charts(report)
    csv_text = report_csv(report, spreadsheet=True)  # for Excel / LibreOffice in Spanish (Argentina)
    ui.button(
        t('sales.report.download'),
        icon='download',
        on_click=lambda: ui.download.content(
            csv_text.encode(), f'ventas-{start.isoformat()}-{end.isoformat()}.csv', 'text/csv'
        ),
    ).props('outline dense').mark('download-csv')
    report_view.rows_table(report)
    report_view.commissions_table(agents)
