"""The figures of a range of days (B3, T5): headline cards, the latest answers by a person, the charts per day
(ECharts, numbers in the reader's format) and who attended, per agent."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from services.dashboard import PeriodFigures, Spread
from services.sales.money import format_ars

from ..i18n import format_count, t
from .format import duration, money_tooltip, number_axis, number_tooltip, percent


def _spread(spread: Spread) -> tuple[str, str]:
    if spread.p50 is None:
        return t('dashboard.none'), ''
    return duration(spread.p50), t('dashboard.p50_p90', p50=duration(spread.p50), p90=duration(spread.p90))


class FiguresView:
    """Headline cards of one range; `prefix` names their markers (today-…, range-…)."""

    def __init__(self, prefix: str, *, recent_answers: bool = False) -> None:
        self._cards: dict[str, tuple[ui.label, ui.label]] = {}
        with ui.row().classes('w-full gap-3'):
            for key, label_key in (
                ('conversations', 'dashboard.conversations'),
                ('first-response', 'dashboard.first_response'),
                ('first-human-response', 'dashboard.first_human_response'),
                ('resolution', 'dashboard.resolution'),
                ('ai-share', 'dashboard.ai_share'),
                ('takeovers', 'dashboard.takeovers'),
                ('sales', 'dashboard.sales'),
            ):
                with ui.card().classes('p-3 gap-0 min-w-44'):
                    ui.label(t(label_key)).classes('text-xs text-slate-500')
                    value = ui.label(t('dashboard.none')).classes('text-lg font-semibold').mark(f'{prefix}-{key}')
                    detail = ui.label('').classes('text-xs text-slate-500').mark(f'{prefix}-{key}-detail')
                self._cards[key] = (value, detail)
        self.recent: ui.column | None = None
        if recent_answers:
            with ui.column().classes('w-full gap-0'):
                ui.label(t('dashboard.recent_answers')).classes('text-sm font-semibold')
                self.recent = ui.column().classes('w-full gap-0').mark(f'{prefix}-recent')

    def _set(self, key: str, value: str, detail: str = '') -> None:
        shown, extra = self._cards[key]
        shown.set_text(value)
        extra.set_text(detail)

    def show(self, figures: PeriodFigures) -> None:
        self._set('conversations', format_count(figures.conversations))
        self._set('first-response', *_spread(figures.first_response))
        self._set('first-human-response', *_spread(figures.first_human_response))
        self._set('resolution', *_spread(figures.resolution))
        resolved = figures.resolved_by_ai + figures.resolved_by_people
        self._set(
            'ai-share',
            percent(figures.ai_share_percent),
            t(
                'dashboard.ai_share_detail',
                ai=format_count(figures.resolved_by_ai),
                resolved=format_count(resolved),
                people=format_count(figures.resolved_by_people),
            )
            if resolved
            else '',
        )
        self._set(
            'takeovers',
            f'{format_count(figures.takeovers)} / {format_count(figures.expired)}',
            t('dashboard.takeovers_detail', expired=format_count(figures.expired)),
        )
        self._set(
            'sales', format_ars(figures.sales_total), t('dashboard.sales_detail', count=format_count(figures.sales))
        )
        if self.recent is not None:
            self.recent.clear()
            with self.recent:
                for answer in figures.recent_answers:
                    with ui.row().classes('items-center gap-2').mark('recent-answer'):
                        ui.label(answer.contact_name).classes('text-sm')  # text, never HTML
                        ui.label(t('dashboard.answered_in', duration=duration(answer.seconds))).classes(
                            'text-sm text-slate-600'
                        )


def _chart(title_key: str, marker: str, options: dict[str, object]) -> ui.echart:
    return (
        # An empty category axis and no series until `show`: an axis tooltip with no x axis fails in ECharts
        # ("reading 'group'") when the chart mounts.
        ui.echart(
            {
                'title': {'text': t(title_key), 'textStyle': {'fontSize': 13}},
                'xAxis': {'type': 'category', 'data': []},
                'series': [],
                **options,
            }
        )
        .classes('w-[calc(50%-0.5rem)] max-lg:w-full h-64')
        .mark(marker)
    )


class RangeCharts:
    """The range per day: conversations (how they ended), first response medians, takeovers and expiries, sales."""

    def __init__(self) -> None:
        grid = {'left': 70, 'right': 20, 'top': 50, 'bottom': 30}
        legend = {'top': 22, 'textStyle': {'fontSize': 11}}
        with ui.row().classes('w-full gap-4'):
            self.conversations = _chart(
                'dashboard.chart.conversations',
                'chart-conversations',
                {'tooltip': number_tooltip(), 'legend': legend, 'grid': grid, 'yAxis': number_axis()},
            )
            self.first_response = _chart(
                'dashboard.chart.first_response',
                'chart-first-response',
                {'tooltip': number_tooltip(), 'legend': legend, 'grid': grid, 'yAxis': number_axis()},
            )
            self.takeovers = _chart(
                'dashboard.chart.takeovers',
                'chart-takeovers',
                {'tooltip': number_tooltip(), 'legend': legend, 'grid': grid, 'yAxis': number_axis()},
            )
            self.sales = _chart(
                'dashboard.chart.sales',
                'chart-sales',
                {'tooltip': money_tooltip(), 'grid': grid, 'yAxis': number_axis()},
            )

    def show(self, figures: PeriodFigures) -> None:
        days = [f'{day.day:%d/%m}' for day in figures.days]

        def draw(chart: ui.echart, series: list[dict[str, object]]) -> None:
            chart.options['xAxis'] = {'type': 'category', 'data': days}
            chart.options['series'] = series
            chart.update()

        def bars(name_key: str, values: Callable[..., object], **extra: object) -> dict[str, object]:
            return {'type': 'bar', 'name': t(name_key), 'data': [values(day) for day in figures.days], **extra}

        draw(
            self.conversations,
            [
                bars('dashboard.chart.by_ai', lambda d: d.resolved_by_ai, stack='all'),
                bars('dashboard.chart.by_people', lambda d: d.resolved_by_people, stack='all'),
                bars(
                    'dashboard.chart.open',
                    lambda d: d.conversations - d.resolved_by_ai - d.resolved_by_people,
                    stack='all',
                ),
            ],
        )
        draw(
            self.first_response,
            [
                {
                    'type': 'line',
                    'name': t(key),
                    'connectNulls': True,
                    'data': [None if value(day) is None else round(value(day) or 0) for day in figures.days],
                }
                for key, value in (
                    ('dashboard.chart.any', lambda d: d.first_response_p50),
                    ('dashboard.chart.person', lambda d: d.first_human_response_p50),
                )
            ],
        )
        draw(
            self.takeovers,
            [
                bars('dashboard.takeovers', lambda d: d.takeovers),
                bars('dashboard.col.expired', lambda d: d.expired),
            ],
        )
        draw(self.sales, [bars('dashboard.sales', lambda d: float(d.sales_total))])


class AttendanceTable:
    """T5 in reports: per agent, the conversations she wrote in or held, her messages, takeovers, releases and
    the takeovers her inactivity let expire."""

    def __init__(self) -> None:
        ui.label(t('dashboard.attendance')).classes('text-base font-semibold')
        self.table = (
            ui.table(
                columns=[
                    {'name': 'agent', 'label': t('dashboard.col.agent'), 'field': 'agent', 'align': 'left'},
                    {'name': 'conversations', 'label': t('dashboard.col.conversations'), 'field': 'conversations'},
                    {'name': 'messages', 'label': t('dashboard.col.messages'), 'field': 'messages'},
                    {'name': 'takeovers', 'label': t('dashboard.col.takeovers'), 'field': 'takeovers'},
                    {'name': 'releases', 'label': t('dashboard.col.releases'), 'field': 'releases'},
                    {'name': 'expired', 'label': t('dashboard.col.expired'), 'field': 'expired'},
                ],
                rows=[],
                row_key='key',
            )
            .classes('w-full max-w-4xl')
            .mark('attendance-table')
        )
        self.table.props(f'no-data-label="{t("dashboard.attendance_empty")}"')

    def show(self, figures: PeriodFigures) -> None:
        self.table.rows = [
            {
                'key': row.user_id,
                'agent': row.name,
                'conversations': format_count(row.conversations),
                'messages': format_count(row.messages),
                'takeovers': format_count(row.takeovers),
                'releases': format_count(row.releases),
                'expired': format_count(row.expired),
            }
            for row in figures.attendance
        ]
        self.table.update()
