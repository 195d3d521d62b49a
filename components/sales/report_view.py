"""The daily sales report on screen: headline figures, ECharts (total per day, per agent; axes and tooltips in the
reader's number format, 80.000 and $ 1.234,56), the table per day, branch and agent, and the commissions."""

from __future__ import annotations

from collections.abc import Sequence

from nicegui import ui

from services.sales.commissions import CommissionRow
from services.sales.money import format_ars
from services.sales.reports import Figures, SalesReport

from ..dashboard.format import money_tooltip, number_axis
from ..i18n import t


def _conversion(figures: Figures) -> str:
    value = figures.conversion_percent
    return '—' if value is None else f'{value:.1f} %'.replace('.', ',')


def headline(report: SalesReport) -> None:
    totals = report.totals
    with ui.row().classes('w-full gap-3').mark('report-headline'):
        for key, value, marker in (
            ('sales.report.sales', str(totals.sales), 'kpi-sales'),
            ('sales.report.total', format_ars(totals.total), 'kpi-total'),
            ('sales.report.net', format_ars(totals.net), 'kpi-net'),
            ('sales.report.iva', format_ars(totals.iva), 'kpi-iva'),
            ('sales.report.average_ticket', format_ars(totals.average_ticket), 'kpi-average'),
            ('sales.report.conversion', _conversion(totals), 'kpi-conversion'),
        ):
            with ui.card().classes('p-3 gap-0 min-w-36'):
                ui.label(t(key)).classes('text-xs text-slate-500')
                ui.label(value).classes('text-lg font-semibold').mark(marker)


def charts(report: SalesReport) -> None:
    with ui.row().classes('w-full gap-3 no-wrap'):
        ui.echart(
            {
                'title': {'text': t('sales.report.by_day'), 'textStyle': {'fontSize': 13}},
                'tooltip': money_tooltip(),
                'grid': {'left': 80, 'right': 20, 'top': 40, 'bottom': 30},
                'xAxis': {'type': 'category', 'data': [f'{day:%d/%m}' for day, _ in report.by_day]},
                'yAxis': number_axis(),
                'series': [
                    {
                        'type': 'bar',
                        'name': t('sales.report.total'),
                        'data': [float(figures.total) for _, figures in report.by_day],
                    }
                ],
            }
        ).classes('w-1/2 h-64').mark('chart-by-day')
        ui.echart(
            {
                'title': {'text': t('sales.report.by_agent'), 'textStyle': {'fontSize': 13}},
                'tooltip': money_tooltip(),
                'grid': {'left': 120, 'right': 30, 'top': 40, 'bottom': 30},
                'xAxis': number_axis(),
                'yAxis': {
                    'type': 'category',
                    'data': [name or t('sales.report.no_agent') for name, _ in reversed(report.by_agent)],
                },
                'series': [
                    {
                        'type': 'bar',
                        'name': t('sales.report.total'),
                        'data': [float(figures.total) for _, figures in reversed(report.by_agent)],
                    }
                ],
            }
        ).classes('w-1/2 h-64').mark('chart-by-agent')


def rows_table(report: SalesReport) -> None:
    if not report.rows:
        ui.label(t('sales.report.empty')).classes('text-slate-500').mark('report-empty')
    columns = [
        {'name': 'date', 'label': t('sales.report.date'), 'field': 'date', 'align': 'left'},
        {'name': 'branch', 'label': t('sales.report.branch'), 'field': 'branch', 'align': 'left'},
        {'name': 'agent', 'label': t('sales.report.agent'), 'field': 'agent', 'align': 'left'},
        {'name': 'sales', 'label': t('sales.report.sales'), 'field': 'sales'},
        {'name': 'net', 'label': t('sales.report.net'), 'field': 'net', 'align': 'right'},
        {'name': 'iva', 'label': t('sales.report.iva'), 'field': 'iva', 'align': 'right'},
        {'name': 'total', 'label': t('sales.report.total'), 'field': 'total', 'align': 'right'},
        # On a tablet the average ticket and the quotes sent (both in the headline and the CSV) make room.
        {
            'name': 'average',
            'label': t('sales.report.average_ticket'),
            'field': 'average',
            'align': 'right',
            'classes': 'max-lg:hidden',
            'headerClasses': 'max-lg:hidden',
        },
        {
            'name': 'quotes',
            'label': t('sales.report.quotes_sent'),
            'field': 'quotes',
            'classes': 'max-lg:hidden',
            'headerClasses': 'max-lg:hidden',
        },
        {'name': 'conversion', 'label': t('sales.report.conversion'), 'field': 'conversion'},
        {'name': 'commission', 'label': t('sales.report.commission'), 'field': 'commission', 'align': 'right'},
    ]
    ui.table(
        columns=columns,
        row_key='key',
        pagination=50,
        rows=[
            {
                'key': f'{row.day}-{row.branch_id}-{row.agent_id}',
                'date': f'{row.day:%d/%m/%Y}',
                'branch': row.branch_code,
                'agent': row.agent_name or t('sales.report.no_agent'),
                'sales': row.figures.sales,
                'net': format_ars(row.figures.net),
                'iva': format_ars(row.figures.iva),
                'total': format_ars(row.figures.total),
                'average': format_ars(row.figures.average_ticket),
                'quotes': row.figures.quotes_sent,
                'conversion': _conversion(row.figures),
                'commission': format_ars(row.figures.commission),
            }
            for row in report.rows
        ],
    ).classes('w-full max-w-full').mark('report-table')


def commissions_table(rows: Sequence[CommissionRow]) -> None:
    ui.label(t('sales.report.commissions')).classes('text-lg font-semibold mt-2')
    ui.table(
        columns=[
            {'name': 'agent', 'label': t('sales.report.agent'), 'field': 'agent', 'align': 'left'},
            {'name': 'branch', 'label': t('sales.report.branch'), 'field': 'branch', 'align': 'left'},
            {'name': 'sales', 'label': t('sales.report.sales'), 'field': 'sales'},
            {'name': 'net', 'label': t('sales.report.net'), 'field': 'net', 'align': 'right'},
            {'name': 'commission', 'label': t('sales.report.commission'), 'field': 'commission', 'align': 'right'},
        ],
        row_key='key',
        rows=[
            {
                'key': f'{row.agent_id}-{row.branch_code}',
                'agent': row.agent_name,
                'branch': row.branch_code,
                'sales': row.sales,
                'net': format_ars(row.net_total),
                'commission': format_ars(row.commission),
            }
            for row in rows
        ],
    ).classes('w-full max-w-3xl').mark('commissions-table')
