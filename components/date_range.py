"""The date-range picker of the reports and the dashboard: quick ranges (today, last 7 and 31 days, this month) and a
calendar in a menu where a person clicks the first day and then the last one.

Quasar's range calendar, as it comes, clears the chosen range when the first click lands inside it (its "unset" on
a selected day) and shows nothing of what is being picked: `no-unset` makes every first click start a new range
while the current one stays drawn, and a line above the calendar says what the next click does. The range itself
is always on the button, in dd/mm/yyyy.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from nicegui import events, ui

from .i18n import t

RangeHandler = Callable[[date, date], Awaitable[None] | None]


def range_label(start: date, end: date) -> str:
    return t('dashboard.range.label', start=f'{start:%d/%m/%Y}', end=f'{end:%d/%m/%Y}')


def picked_range(value: Any) -> tuple[date, date] | None:
    """What the calendar's value says: {'from', 'to'} for a range, a bare 'YYYY-MM-DD' when both clicks were on the
    same day (Quasar's way), None for anything else."""
    try:
        if isinstance(value, dict) and value.get('from') and value.get('to'):
            first, last = date.fromisoformat(value['from']), date.fromisoformat(value['to'])
            return (first, last) if first <= last else (last, first)
        if isinstance(value, str) and value:
            day = date.fromisoformat(value)
            return day, day
    except ValueError:
        return None
    return None


class DateRangePicker:
    def __init__(self, *, start: date, end: date, today: date, on_change: RangeHandler) -> None:
        self.start, self.end = start, end
        self.today = today
        self._on_change = on_change
        self._quiet = False  # while the page sets the value itself
        with ui.row().classes('items-center gap-1 no-wrap').mark('range') as self.row:
            for label_key, marker, first, last in (
                ('dashboard.range.today', 'range-today', today, today),
                ('dashboard.range.last_7', 'range-7', today - timedelta(days=6), today),
                ('dashboard.range.last_31', 'range-31', today - timedelta(days=30), today),
                ('dashboard.range.this_month', 'range-month', today.replace(day=1), today),
            ):
                ui.button(t(label_key), on_click=lambda _, a=first, b=last: self.choose(a, b)).props(
                    'flat dense no-caps'
                ).mark(marker)
            with (
                ui.button(range_label(start, end), icon='date_range')
                .props('outline dense no-caps')
                .mark('range-picker') as self.button,
                ui.menu() as self.menu,
                ui.column().classes('p-2 gap-1'),
            ):
                self.hint = ui.label(t('dashboard.range.pick_start')).classes('text-sm').mark('range-hint')
                self.calendar = (
                    ui.date(value=self._value(start, end), on_change=self._changed)
                    .props('range no-unset minimal')
                    .mark('range-date')
                )
                self.calendar.on('range-start', self._started)

    @staticmethod
    def _value(start: date, end: date) -> dict[str, str] | str:
        return start.isoformat() if start == end else {'from': start.isoformat(), 'to': end.isoformat()}

    def _started(self, event: events.GenericEventArguments) -> None:
        """The first click: say where the range starts and that the next click ends it."""
        args = event.args if isinstance(event.args, dict) else {}
        try:
            first = date(int(args['year']), int(args['month']), int(args['day']))
        except (KeyError, TypeError, ValueError):
            return
        self.hint.set_text(t('dashboard.range.pick_end', start=f'{first:%d/%m/%Y}'))

    async def _changed(self, event: events.ValueChangeEventArguments) -> None:
        if self._quiet:
            return
        picked = picked_range(event.value)
        if picked is None:  # never leave the page without a range: show the one in force again
            self._show(self.start, self.end)
            return
        self.menu.close()
        await self.choose(*picked)

    def _show(self, start: date, end: date) -> None:
        self._quiet = True
        try:
            self.calendar.set_value(self._value(start, end))
        finally:
            self._quiet = False
        self.button.set_text(range_label(start, end))
        self.hint.set_text(t('dashboard.range.pick_start'))

    async def choose(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        self._show(start, end)
        outcome = self._on_change(start, end)
        if inspect.isawaitable(outcome):
            await outcome
