"""A score with the reasons that make it up, as the contact and validation screens show it."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components.i18n import t
from services.leads.scoring import band_of

_BAND_COLOURS = {'high': 'text-green-700', 'mid': 'text-amber-700', 'low': 'text-red-700'}


def reason_text(reason: dict[str, Any]) -> str:
    """'Es un celular (+20)'; reasons that decide alone (opted out, no phone) carry no points."""
    text = t(f'leads.reason.{reason.get("code", "")}')
    points = int(reason.get('points', 0))
    return f'{text} ({points:+d})' if points else text


def score_breakdown(title: str, value: int, reasons: list[dict[str, Any]], *, marker: str) -> None:
    with ui.column().classes('gap-0').mark(marker):
        with ui.row().classes('items-baseline gap-2'):
            ui.label(title).classes('text-sm text-slate-600')
            ui.label(str(value)).classes(f'text-2xl font-semibold {_BAND_COLOURS[band_of(value)]}').mark(
                f'{marker}-value'
            )
        if not reasons:
            ui.label(t('leads.reason.none')).classes('text-xs text-slate-500')
        for reason in reasons:
            points = int(reason.get('points', 0))
            colour = 'text-green-800' if points > 0 else 'text-red-800' if points < 0 else 'text-slate-600'
            ui.label(reason_text(reason)).classes(f'text-sm {colour}').mark(f'{marker}-reason')
