"""The admins' bell in the header (SPEC O4): the open alerts (services/alerts.py) on every page, updated live, and a
notification when one opens or clears."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui
from nicegui.client import Client

from services.alerts import ALERT_RAISED
from services.events import Event
from services.models import AlertPublic

from .i18n import format_count, local_time, t
from .notify import Notifier


def alert_text(alert: AlertPublic, branch_names: dict[int, str]) -> str:
    details: dict[str, Any] = {**alert.details}
    if 'limit_rate' in details:
        details['failed_percent'] = round(100 * details['failed'] / max(details['sent'], 1))
    for name in ('pending', 'oldest_seconds', 'failed', 'sent'):
        if isinstance(details.get(name), int):
            details[name] = format_count(details[name])
    details['branch'] = branch_names.get(alert.branch_id, '') if alert.branch_id is not None else ''
    details['reason'] = details.get('error_title') or t('alert.no_reason')
    if alert.kind == 'session_down':
        details['state'] = t(f'sessions.state.{details.get("state", "")}')
        details['action_text'] = t(
            f'sessions.action.{details.get("recommended_action", "wait")}', failures=details.get('failures')
        )
    return t(f'alert.{alert.kind}', **details)


class AlertsBell:
    def __init__(
        self,
        alerts: list[AlertPublic],
        *,
        branch_names: dict[int, str],
        reload: Callable[[], Awaitable[list[AlertPublic]]],
    ) -> None:
        self.branch_names = branch_names
        self.reload = reload
        self.notify = Notifier()
        self.client: Client = self.notify.client
        # No tooltip: it covered the first line of the open list. The list has its title; screen readers the label.
        with (
            ui.button(icon='notifications')
            .props(f'flat round color=white aria-label="{t("alert.title")}"')
            .mark('alerts-bell') as self.button
        ):
            self.badge = ui.badge(color='red').props('floating').mark('alerts-count')
            with ui.menu().classes('max-w-[28rem]'), ui.column().classes('p-3 gap-2'):
                ui.label(t('alert.title')).classes('text-sm font-semibold')
                self.list = ui.column().classes('gap-2')
        self.show(alerts)

    def show(self, alerts: list[AlertPublic]) -> None:
        self.badge.set_text(str(len(alerts)))
        self.badge.set_visibility(bool(alerts))
        self.list.clear()
        with self.list:
            if not alerts:
                ui.label(t('alert.none')).classes('text-sm text-slate-500').mark('alerts-none')
            for alert in alerts:
                with ui.column().classes('gap-0').mark('alert'):
                    ui.label(alert_text(alert, self.branch_names)).classes('text-sm')
                    ui.label(t('alert.since', when=local_time(alert.opened_at))).classes('text-xs text-slate-500')

    async def resync(self) -> None:
        """Re-read the open alerts (after events may have been lost), without a notification."""
        if self.client.id not in Client.instances:
            return
        alerts = await self.reload()
        with self.client.layout:
            self.show(alerts)

    async def on_event(self, event: Event) -> None:
        """An alert opened or cleared, in any process: re-read the list (it is short) and tell the admin."""
        if self.client.id not in Client.instances:
            return
        alerts = await self.reload()
        with self.client.layout:
            self.show(alerts)
        changed = next((alert for alert in alerts if alert.id == event.data.get('alert_id')), None)
        if event.kind == ALERT_RAISED and changed is not None:
            self.notify(alert_text(changed, self.branch_names), type='warning', timeout=0, close_button=True)
        elif event.kind != ALERT_RAISED:
            kind = event.data.get('kind')
            self.notify(t('alert.resolved', name=t(f'alert.name.{kind}')), type='positive')
