"""`/panel` (B3, T5): the manager dashboard. Managers see their branch, admins every branch (the header's branch
selector narrows); agents are refused (here and in the services).

Three parts: now (the queue, unassigned and waiting-for-a-person first, and the agents online / busy / at capacity),
today's figures, and the figures of a chosen range with charts and attendance per agent. The page is live: bus
events about its branches (`components/dashboard/live.py`) mark it stale and one debounced refresh reads the queue
and today's figures again. What no event announces (time passing, agents coming online) a single page timer
handles: the waiting times count every few seconds, a full refresh every minute. The range is read when it is
chosen and, when it includes today, every five minutes: its charts move slowly, and a month of every branch is the
heaviest read here (bench/dashboard.py); the days that have ended come from a process-wide cache for five minutes.
"""

from __future__ import annotations

from datetime import date, timedelta

from nicegui import Client, ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.dashboard.figures_view import AttendanceTable, FiguresView, RangeCharts
from components.dashboard.live import DAY_CACHE, LIVE_KINDS, Debounced
from components.dashboard.now_view import NowView
from components.date_range import DateRangePicker
from components.i18n import local_time, t
from components.page_frame import selected_branch_id
from services.access import Viewer
from services.dashboard import dashboard_now, period_figures
from services.errors import ServiceError
from services.models import Role
from services.models.types import utcnow

TICK_SECONDS = 5.0
FULL_REFRESH_TICKS = 12  # a minute: presence and the queue's order as time passes
RANGE_REFRESH_TICKS = 60  # five minutes, when the range includes today
DEFAULT_RANGE_DAYS = 7


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class DashboardPage:
    def __init__(self, viewer: Viewer, client: Client) -> None:
        current = runtime()
        self.viewer = viewer
        self.client = client
        self.db = current.db
        self.bus = current.bus
        self.presence = current.presence
        self.desk = current.sales
        self.branch_id = selected_branch_id()
        self.live = Debounced(self.refresh_live)
        self.ticks = 0
        self.start = self.end = self.desk.today()

    async def build(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        everything = self.viewer.sees_all_branches and self.branch_id is None
        with ui.row().classes('w-full items-center gap-3'):
            ui.label(t('dashboard.all_branches' if everything else 'dashboard.title')).classes('text-xl font-semibold')
            ui.badge(t('dashboard.live'), color='green-7').props('rounded')
            ui.space()
            self.updated = ui.label('').classes('text-xs text-slate-500').mark('dashboard-updated')
        self.error = ui.label('').classes('text-red-7').mark('dashboard-error')
        self.error.set_visibility(False)
        ui.label(t('dashboard.now')).classes('text-lg font-semibold mt-2')
        self.now_view = NowView()
        ui.label(t('dashboard.today')).classes('text-lg font-semibold mt-2')
        self.today_view = FiguresView('today', recent_answers=True)
        with ui.row().classes('w-full items-center gap-3 mt-2'):
            self.range_title = ui.label('').classes('text-lg font-semibold')
            ui.space()
            self.picker = DateRangePicker(start=start, end=end, today=self.desk.today(), on_change=self.choose_range)
        self.range_view = FiguresView('range')
        self.charts = RangeCharts()
        self.attendance = AttendanceTable()
        subscription = self.bus.subscribe(
            self.live.on_event, branch_ids=self.viewer.branch_ids, kinds=LIVE_KINDS, on_gap=self.live.poke
        )
        self.client.on_delete(lambda: self.bus.unsubscribe(subscription))
        # Back from a lost connection (a laptop's sleep, a flaky network): events meanwhile may be lost, read again.
        self.client.on_connect(self.live.poke)
        ui.timer(TICK_SECONDS, self.tick)  # ONE timer per page (NiceGUI's memory grows with each)
        await self.live.run_now()
        await self.refresh_range()

    async def refresh_live(self) -> None:
        """The queue, the agents and today's figures: what a bus event can change."""
        today = self.desk.today()
        try:
            now = await dashboard_now(
                self.db, viewer=self.viewer, online_user_ids=self.presence.online_user_ids(), branch_id=self.branch_id
            )
            figures = await period_figures(
                self.db, viewer=self.viewer, start=today, end=today, zone=self.desk.zone, branch_id=self.branch_id
            )
        except ServiceError as exc:
            self._failed(exc)
            return
        with self.client:
            self.now_view.show(now)
            self.today_view.show(figures)
            self.updated.set_text(t('dashboard.updated', time=local_time(now.at, '%H:%M:%S')))

    async def refresh_range(self) -> None:
        try:
            figures = await period_figures(
                self.db,
                viewer=self.viewer,
                start=self.start,
                end=self.end,
                zone=self.desk.zone,
                branch_id=self.branch_id,
                recent=0,
                cache=DAY_CACHE,
            )
        except ServiceError as exc:
            self._failed(exc)
            return
        with self.client:
            self.range_title.set_text(
                t('dashboard.period', range=f'{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}')
                if self.start != self.end
                else t('dashboard.period', range=f'{self.start:%d/%m/%Y}')
            )
            self.range_view.show(figures)
            self.charts.show(figures)
            self.attendance.show(figures)

    def _failed(self, exc: ServiceError) -> None:
        with self.client:
            self.error.set_text(t('dashboard.error', reason=str(exc)))
            self.error.set_visibility(True)

    async def choose_range(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        await self.refresh_range()

    async def tick(self) -> None:
        self.ticks += 1
        self.now_view.tick(utcnow())
        if self.ticks % FULL_REFRESH_TICKS == 0:
            self.live.poke()
        if self.ticks % RANGE_REFRESH_TICKS == 0 and self.start <= self.desk.today() <= self.end:
            await self.refresh_range()


@signed_in_page('/panel', minimum_role=Role.MANAGER, title_key='nav.dashboard')
async def dashboard_page(viewer: Viewer, desde: str | None = None, hasta: str | None = None) -> None:
    today = runtime().sales.today()
    start = _day(desde) or today - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    end = _day(hasta) or today
    if end < start:
        start, end = end, start
    await DashboardPage(viewer, ui.context.client).build(start, end)
