"""Figures as an Argentine reader writes them, on the server (durations, percentages) and in the browser (ECharts'
axis labels and tooltips, which format their own numbers: `80.000`, `$ 1.234,56`)."""

from __future__ import annotations

from ..i18n import current_locale, t


# ECharts options whose key starts with ':' are JavaScript (NiceGUI evaluates them in the browser): the browser's
# Intl formats the numbers, in the reader's locale.
def _intl() -> str:
    return 'es-AR' if current_locale() == 'es' else 'en-US'


def number_js() -> str:
    return f'value => new Intl.NumberFormat("{_intl()}").format(value)'


def money_js() -> str:
    return (
        f'value => "$ " + new Intl.NumberFormat("{_intl()}", '
        '{minimumFractionDigits: 2, maximumFractionDigits: 2}).format(value)'
    )


def number_axis() -> dict[str, object]:
    """A value axis labelled 80.000 (es-AR) rather than 80000."""
    return {'type': 'value', 'axisLabel': {':formatter': number_js()}}


def money_tooltip() -> dict[str, object]:
    return {'trigger': 'axis', ':valueFormatter': money_js()}


def number_tooltip() -> dict[str, object]:
    return {'trigger': 'axis', ':valueFormatter': number_js()}


def duration(seconds: float | None) -> str:
    """`45 s`, `3 min 05 s`, `2 h 10 min`; `—` when there is nothing to measure."""
    if seconds is None:
        return t('dashboard.none')
    whole = round(seconds)
    if whole < 60:
        return f'{whole} s'
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f'{minutes} min {secs:02d} s'
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f'{hours} h {minutes:02d} min'
    days, hours = divmod(hours, 24)
    return f'{days} d {hours} h'


def percent(value: float | None) -> str:
    if value is None:
        return t('dashboard.none')
    text = f'{value:.1f} %'
    return text.replace('.', ',') if current_locale() == 'es' else text
