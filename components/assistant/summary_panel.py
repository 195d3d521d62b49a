"""The AI summary panel (C4): badges for the vehicle and the intent, a progress bar for the stage, a confidence
meter and the products asked about with price and stock. It renders a `SummaryView` it is given
(`services.assistant.latest_summary`); it opens no database session and subscribes to nothing itself, so the inbox
decides when to refresh it (on `summary.updated` for its conversation). Every text is a label: customer words are
never rendered as HTML."""

from __future__ import annotations

from nicegui import ui

from components.i18n import t
from services.assistant.summary import STAGES, SummaryView
from services.catalog.search import format_ars

_INTENT_COLOR = {'low': 'grey', 'medium': 'orange', 'high': 'green'}


class SummaryPanel:
    def __init__(self) -> None:
        with ui.card().classes('w-full gap-2').props('flat bordered').mark('summary-panel') as self.card:
            with ui.row().classes('w-full items-center justify-between'):
                ui.label(t('summary.title')).classes('text-sm font-semibold')
                self.version = ui.label('').classes('text-xs text-slate-400').mark('summary-version')
            self.body = ui.column().classes('w-full gap-2')
        self.show(None)

    def show(self, summary: SummaryView | None) -> None:
        """Replace what the panel shows (cheap: a few elements)."""
        self.body.clear()
        self.version.text = t('summary.version', version=summary.version) if summary else ''
        with self.body:
            if summary is None:
                ui.label(t('summary.empty')).classes('text-sm text-slate-500').mark('summary-empty')
                return
            ui.label(summary.gist).classes('text-sm').mark('summary-gist')
            with ui.row().classes('gap-1 flex-wrap'):
                vehicle = (
                    summary.vehicle.label()
                    if summary.vehicle and (summary.vehicle.known or summary.vehicle.year)
                    else ''
                )
                ui.badge(vehicle or t('summary.no_vehicle'), color='blue' if vehicle else 'grey').props('outline').mark(
                    'summary-vehicle'
                )
                if summary.vin:
                    ui.badge(t('summary.vin', vin=summary.vin), color='blue').props('outline').mark('summary-vin')
                ui.badge(
                    f'{t("summary.intent")}: {t(f"summary.intent.{summary.intent}")}',
                    color=_INTENT_COLOR.get(summary.intent, 'grey'),
                ).mark('summary-intent')
            for need in summary.needs:
                ui.label(f'{t("summary.needs")}: {need}').classes('text-xs text-slate-600').mark('summary-need')
            stage_label = t(f'summary.stage.{summary.stage}')
            ui.label(t('summary.stage', stage=stage_label)).classes('text-xs').mark('summary-stage')
            ui.linear_progress(value=summary.stage_progress, show_value=False, size='8px').props(
                f'color={"green" if summary.stage == STAGES[-1] else "primary"}'
            ).mark('summary-stage-bar')
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                ui.circular_progress(
                    value=summary.confidence,
                    min=0,
                    max=100,
                    show_value=False,
                    size='28px',
                    color=_confidence_color(summary.confidence),
                ).mark('summary-confidence-meter')
                ui.label(t('summary.confidence', value=summary.confidence)).classes('text-xs').mark(
                    'summary-confidence'
                )
            if summary.products:
                ui.label(t('summary.products')).classes('text-xs font-semibold mt-1')
                for product in summary.products:
                    price = format_ars(product.price) if product.price is not None else t('summary.no_price')
                    stock = (
                        t('catalog.stock_units', units=product.stock)
                        if product.stock is not None
                        else t('catalog.no_stock_figure')
                    )
                    ui.label(f'{product.title} · {price} · {t("catalog.stock")}: {stock}').classes('text-xs').mark(
                        'summary-product'
                    )


def _confidence_color(value: int) -> str:
    return 'green' if value >= 70 else 'orange' if value >= 40 else 'red'
