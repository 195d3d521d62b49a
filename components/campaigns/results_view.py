"""A campaign's live results: the counts, blocked by reason, failed with WhatsApp's reason, the response rate per score
band as a chart, and the latest replies (as text, never HTML). `update` changes the elements in place, so the page's
one timer refreshes them without rebuilding the chart."""

from __future__ import annotations

from nicegui import ui

from components.i18n import format_count, local_time, t
from services.campaigns.service import CampaignReply, CampaignResults

COUNTS = ('recipients', 'queued', 'blocked', 'sent', 'delivered', 'read', 'failed', 'replied', 'opted_out')


def _percent(rate: float | None) -> str:
    return '—' if rate is None else f'{rate * 100:.1f} %'.replace('.', ',')


class ResultsView:
    def __init__(self) -> None:
        self.counts: dict[str, ui.label] = {}
        with ui.row().classes('w-full gap-3'):
            for key in COUNTS:
                with ui.card().classes('px-4 py-2 min-w-28').mark(f'result-{key}'):
                    ui.label(t(f'campaigns.result.{key}')).classes('text-xs text-slate-500')
                    self.counts[key] = ui.label('0').classes('text-2xl font-semibold').mark(f'count-{key}')
            with ui.card().classes('px-4 py-2 min-w-28'):
                ui.label(t('campaigns.result.rate')).classes('text-xs text-slate-500')
                self.rate = ui.label('—').classes('text-2xl font-semibold').mark('count-rate')
        with ui.row().classes('w-full gap-6 items-start'):
            with ui.column().classes('gap-1'):
                ui.label(t('campaigns.blocked_title')).classes('font-medium')
                self.blocked = ui.column().classes('gap-0').mark('blocked-reasons')
                ui.label(t('campaigns.failed_title')).classes('font-medium mt-2')
                self.failed = ui.column().classes('gap-0').mark('failed-reasons')
            with ui.column().classes('grow gap-1'):
                self.chart = (
                    ui.echart(
                        {
                            'title': {'text': t('campaigns.bands_title'), 'textStyle': {'fontSize': 13}},
                            'tooltip': {'trigger': 'axis'},
                            'grid': {'left': 50, 'right': 20, 'top': 40, 'bottom': 30},
                            'xAxis': {'type': 'category', 'data': []},
                            'yAxis': {'type': 'value', 'name': t('campaigns.bands_axis'), 'max': 100},
                            'series': [{'type': 'bar', 'name': t('campaigns.result.rate'), 'data': []}],
                        }
                    )
                    .classes('w-full h-64')
                    .mark('chart-bands')
                )
                ui.label(t('campaigns.bands_note')).classes('text-xs text-slate-500')
                self.bands = ui.column().classes('gap-0 text-sm').mark('bands')
        ui.label(t('campaigns.replies_title')).classes('font-medium mt-2')
        self.replies = ui.column().classes('w-full gap-1').mark('replies')

    def update(self, results: CampaignResults, replies: list[CampaignReply]) -> None:
        figures = {
            'recipients': results.recipients,
            'queued': results.queued,
            'blocked': results.blocked_total,
            'sent': results.sent,
            'delivered': results.delivered,
            'read': results.read,
            'failed': results.failed_total,
            'replied': results.replied,
            'opted_out': results.opted_out,
        }
        for key, value in figures.items():
            self.counts[key].text = format_count(value)
        self.rate.text = _percent(results.response_rate)
        self.blocked.clear()
        with self.blocked:
            for reason, count in sorted(results.blocked.items()):
                ui.label(f'{t(f"campaigns.blocked.{reason}")}: {format_count(count)}').mark(f'blocked-{reason}')
        self.failed.clear()
        with self.failed:
            for reason, count in sorted(results.failed.items()):
                ui.label(f'{reason}: {format_count(count)}')  # WhatsApp's reason, as the outbox stored it
        self.chart.options['xAxis']['data'] = [band.band for band in results.bands]
        self.chart.options['series'][0]['data'] = [
            round(band.response_rate * 100, 1) if band.response_rate is not None else None for band in results.bands
        ]
        self.chart.update()
        self.bands.clear()
        with self.bands:
            for band in results.bands:
                ui.label(
                    f'{band.band}: {format_count(band.replied)}/{format_count(band.sent)} '
                    f'{_percent(band.response_rate)} · {format_count(band.recipients)}'
                ).mark(f'band-{band.band}')
        self.replies.clear()
        with self.replies:
            if not replies:
                ui.label(t('campaigns.no_replies')).classes('text-slate-500')
            for reply in replies:
                with ui.row().classes('items-center gap-2').mark('reply'):
                    ui.label(local_time(reply.at)).classes('text-xs text-slate-500')
                    ui.label(reply.contact_name).classes('font-medium')
                    ui.label(reply.text).mark('reply-text')  # a label: the customer's text is never HTML
                    ui.link(t('campaigns.open_chat'), f'/?c={reply.conversation_id}').classes('text-xs')
