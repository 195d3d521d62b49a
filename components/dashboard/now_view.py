"""What stands now (B3): headline counts, the queue in the order it should be attended (a click opens the
conversation in the console), and the agents online, busy or at capacity."""

from __future__ import annotations

from datetime import datetime

from nicegui import ui

from services.dashboard import AgentLoad, Now, QueueRow
from services.takeover.states import Phase

from ..i18n import format_count, t
from .format import duration

PHASE_COLOURS = {Phase.WAITING: 'orange-8', Phase.AI: 'purple-6', Phase.ASSIGNED: 'green-7'}
AGENT_COLOURS = {'offline': 'grey-6', 'free': 'green-7', 'busy': 'blue-7', 'full': 'red-7'}


def kpi(label: str, marker: str) -> ui.label:
    """A headline card; returns its value label (the caller sets it)."""
    with ui.card().classes('p-3 gap-0 min-w-36'):
        ui.label(label).classes('text-xs text-slate-500')
        return ui.label(t('dashboard.none')).classes('text-lg font-semibold').mark(marker)


class NowView:
    def __init__(self) -> None:
        self._shown: tuple[QueueRow, ...] | None = None
        self._agents: tuple[AgentLoad, ...] | None = None
        self._waits: list[tuple[ui.label, datetime]] = []
        with ui.row().classes('w-full gap-3'):
            self.queue_size = kpi(t('dashboard.queue_size'), 'kpi-queue')
            self.waiting_for_person = kpi(t('dashboard.waiting_for_person'), 'kpi-waiting-person')
            self.unassigned = kpi(t('dashboard.unassigned'), 'kpi-unassigned')
            self.online = kpi(t('dashboard.agents_online'), 'kpi-online')
            self.busy = kpi(t('dashboard.agents_busy'), 'kpi-busy')
            self.full = kpi(t('dashboard.agents_full'), 'kpi-full')
        with ui.row().classes('w-full gap-3 items-start no-wrap max-lg:flex-wrap'):
            with ui.card().classes('flex-1 min-w-0 p-3 gap-1'):
                ui.label(t('dashboard.queue')).classes('text-base font-semibold')
                ui.label(t('dashboard.queue_hint')).classes('text-xs text-slate-500')
                self.queue = ui.list().props('dense separator').classes('w-full').mark('queue')
                self.more = ui.label('').classes('text-xs text-slate-500')
            with ui.card().classes('w-[340px] max-lg:w-full p-3 gap-1'):
                ui.label(t('dashboard.agents')).classes('text-base font-semibold')
                self.agents = ui.column().classes('w-full gap-1').mark('agents')

    def show(self, now: Now) -> None:
        self.queue_size.set_text(format_count(now.queue_size))
        self.waiting_for_person.set_text(format_count(now.waiting_for_person))
        self.unassigned.set_text(format_count(now.unassigned))
        self.online.set_text(format_count(now.online))
        self.busy.set_text(format_count(now.busy))
        self.full.set_text(format_count(now.full))
        hidden = now.queue_size - len(now.queue)
        self.more.set_text(t('dashboard.queue_more', count=format_count(hidden)) if hidden > 0 else '')
        if now.queue != self._shown:  # rebuilt only when it changed: a refresh a minute passes nothing new
            self._shown = now.queue
            self._queue_rows(now)
        self.tick(now.at)
        if now.agents != self._agents:
            self._agents = now.agents
            self._agent_rows(now.agents)

    def tick(self, at: datetime) -> None:
        """The waiting times grow between refreshes; a timer calls this with the time."""
        for label, since in self._waits:
            label.set_text(duration(max(0.0, (at - since).total_seconds())))

    def _queue_rows(self, now: Now) -> None:
        self.queue.clear()
        self._waits = []
        with self.queue:
            if not now.queue:
                ui.item(t('dashboard.queue_empty')).classes('text-slate-500').mark('queue-empty')
            for row in now.queue:
                with (
                    ui.item(on_click=lambda _, id_=row.conversation_id: ui.navigate.to(f'/?c={id_}'))
                    .props('clickable')
                    .mark(f'queue-row queue-row-{row.conversation_id}')
                ):
                    with ui.item_section():
                        ui.item_label(row.contact_name).classes('font-medium')  # text, never HTML
                        ui.item_label(row.preview).props('caption lines=1')
                    with ui.item_section().props('side'):
                        with ui.row().classes('items-center gap-1 no-wrap'):
                            ui.badge(row.branch_code, color='grey-7').props('outline')
                            ui.badge(t(f'dashboard.phase.{row.phase}'), color=PHASE_COLOURS.get(row.phase, 'grey'))
                        if row.assigned_name:
                            ui.label(row.assigned_name).classes('text-xs text-slate-600')
                        wait = ui.label('').classes('text-sm font-semibold tabular-nums').mark('queue-wait')
                        self._waits.append((wait, row.waiting_since))

    def _agent_rows(self, agents: tuple[AgentLoad, ...]) -> None:
        self.agents.clear()
        with self.agents:
            for agent in sorted(agents, key=lambda a: (a.state == 'offline', a.name)):
                with ui.row().classes('w-full items-center gap-2 no-wrap').mark('agent-row'):
                    ui.badge(t(f'dashboard.agent.{agent.state}'), color=AGENT_COLOURS[agent.state])
                    ui.label(agent.name).classes('flex-1 truncate')
                    ui.label(agent.branch_code).classes('text-xs text-slate-500')
                    ui.label(f'{agent.holding}/{agent.capacity}').classes('tabular-nums text-sm')
