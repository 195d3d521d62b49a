"""Client panel sections of takeover (T1–T5): the state chip, the holder's countdown with "extend", the buttons
(Tomar, Liberar, Activar/Pausar IA, Reasignar, Marcar cliente fiel, Cerrar/Reabrir), and who attended it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nicegui import ui

from services import takeover
from services.errors import ServiceError
from services.inbox.console import Attendance, ConversationDetail
from services.models import Role
from services.models.types import utcnow
from services.whatsapp.outbox import window_state_at

from ..i18n import local_time, t
from ..panel_section import PanelContext, PanelSection
from ..texts import TEXTS
from .countdown import Countdown
from .formatting import AMBER_SECONDS, offer_running, state_colour, state_label

# Reason codes shown in the agent's words (never "Motivo: purchase_intent"): every code with a phrase in the texts.
# The services store these: the takeover's own ('timeout', 'released', 'ai_paused') and the assistant's handoffs
# (services.assistant HANDOFF_REASONS and the watchdog's 'unanswered'); a test checks each one has its phrase.
REASON_PREFIX = 'takeover.reason.'
REASON_CODES = frozenset(key.removeprefix(REASON_PREFIX) for key in TEXTS if key.startswith(REASON_PREFIX))


def error_text(error: ServiceError) -> str:
    """A takeover refusal in the agent's language ("Ya la tomó Ana Gómez.")."""
    holder = error.params.get('holder', '')
    if error.code in {'already_taken', 'not_holder'}:
        return t(f'takeover.error.{error.code}', name=holder)
    if error.code == 'offered_to_another':
        return t('takeover.error.offered_to_another', name=holder, time=local_time(error.params['until'], '%H:%M'))
    if error.code in {'invalid_transition', 'conflict'}:
        return t(f'takeover.error.{error.code}')
    return str(error)


def reason_text(reason: str) -> str:
    """A reason in the agent's words. A code this version does not know (a newer engine's) is never shown raw:
    free text (a person's words, with spaces) is shown as written, a bare code as "another reason"."""
    if reason in REASON_CODES:
        return t(f'{REASON_PREFIX}{reason}')
    return reason if ' ' in reason.strip() else t('console.reason_other')


class TakeoverSection(PanelSection):
    key = 'takeover'

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        self.detail: ConversationDetail | None = None
        with ui.row().classes('w-full items-center gap-2 no-wrap'):
            self.state = ui.badge().props('outline').classes('text-sm').mark('panel-state')
            # C3: the 24 h window closed (only templates may be sent) is a state agents must see.
            self.expired = (
                ui.badge(t('chat.state.expired'), color='red-8')
                .props('outline')
                .classes('text-xs')
                .mark('panel-expired')
            )
            self.countdown = Countdown().classes('text-sm font-medium').mark('panel-countdown')
            self.extend_button = (
                ui.button(t('takeover.extend'), icon='more_time', on_click=self._extend)
                .props('dense flat color=amber-9 size=sm')
                .mark('extend')
            )
        self.waiting = ui.label().classes('text-xs text-orange-700').mark('waiting-human')
        self.offer = ui.label().classes('text-xs text-orange-700').mark('offer')
        self.faithful = ui.label().classes('text-xs text-teal-700').mark('faithful')
        with ui.row().classes('w-full gap-1'):
            self.take_button = self._button('take', 'front_hand', self.take, 'color=primary')
            # A take race: the winner's event may hide this button before the loser's click arrives; the click must
            # still reach the service, which tells the loser who won ("Ya la tomó …") instead of dropping it.
            self.take_button.ignores_events_when_hidden = False
            self.take_button.tooltip(t('console.key_hint', shortcut='T'))
            self.release_button = self._button('release', 'logout', lambda: self.release('ai'), 'outline')
            self.release_button.tooltip(t('console.key_hint', shortcut='L'))
            self.queue_button = self._button('release_queue', 'group', lambda: self.release('queue'), 'flat')
            self.ai_on_button = self._button('ai_on', 'smart_toy', lambda: self._set_ai(True), 'outline color=purple')
            self.ai_off_button = self._button('ai_off', 'pause', lambda: self._set_ai(False), 'outline color=purple')
        with ui.row().classes('w-full gap-1'):
            self.faithful_button = (
                ui.button(on_click=self._toggle_faithful).props('dense flat size=sm no-caps').mark('faithful-toggle')
            )
            self.reassign_button = self._button('reassign', 'swap_horiz', self._reassign, 'flat')
            self.close_button = self._button('close', 'check', self._close, 'flat color=grey-8')
            self.reopen_button = self._button('reopen', 'undo', self._reopen, 'flat')

    @staticmethod
    def _button(name: str, icon: str, action: Callable[[], Awaitable[None]], props: str) -> ui.button:
        return (
            ui.button(t(f'takeover.{name}'), icon=icon, on_click=action)
            .props(f'dense no-caps size=sm {props}')
            .mark(name.replace('_', '-'))
        )

    # --- showing ---

    def show(self, detail: ConversationDetail) -> None:
        self.detail = detail
        row = detail.row
        me = self.context.viewer.user_id
        manager = self.context.viewer.has_role(Role.MANAGER)
        mine = row.assigned_user_id is not None and row.assigned_user_id == me
        self.state.text = state_label(row)
        self.state.props(f'color={state_colour(row)}')
        self.expired.set_visibility(row.phase != 'closed' and not window_state_at(row.last_inbound_at).open)
        self.waiting.text = (
            (
                t('takeover.waiting_since', time=local_time(row.human_requested_at, '%H:%M'))
                + (
                    ' · ' + t('takeover.waiting_reason', reason=reason_text(row.human_request_reason))
                    if row.human_request_reason
                    else ''
                )
            )
            if row.phase == 'waiting' and row.human_requested_at
            else ''
        )
        self.waiting.set_visibility(bool(self.waiting.text))
        running = offer_running(row)
        self.offer.text = (
            t('takeover.offer', name=row.offered_to, time=local_time(row.offer_expires_at, '%H:%M')) if running else ''
        )
        self.offer.set_visibility(running)
        self.faithful.text = t('takeover.faithful', name=row.faithful_to) if row.faithful_to else ''
        self.faithful.set_visibility(row.faithful_to is not None)

        self.take_button.set_visibility(row.phase in {'ai', 'waiting'})
        self.release_button.set_visibility(row.phase == 'assigned' and (mine or manager))
        self.queue_button.set_visibility(row.phase == 'assigned' and (mine or manager))
        self.ai_on_button.set_visibility(row.phase == 'waiting' or (row.phase == 'assigned' and (mine or manager)))
        self.ai_off_button.set_visibility(row.phase == 'ai')
        self.reassign_button.set_visibility(manager and row.phase != 'closed')
        self.close_button.set_visibility(row.phase != 'closed' and (row.phase != 'assigned' or mine or manager))
        self.reopen_button.set_visibility(row.phase == 'closed')
        self._show_faithful_button(mine=mine, manager=manager)
        self.countdown.show(row.takeover_deadline)  # counted down in the browser
        self.tick(utcnow())  # and "extend" shown or hidden for this conversation

    def _show_faithful_button(self, *, mine: bool, manager: bool) -> None:
        assert self.detail is not None
        row = self.detail.row
        me = self.context.viewer.user_id
        if row.faithful_user_id is not None:
            self.faithful_button.text = t('takeover.faithful_unmark')
            self.faithful_button.set_visibility(manager or row.faithful_user_id == me)
        else:
            self.faithful_button.text = t('takeover.faithful_mark')
            # An agent marks her own customers; a manager marks the customer as the holder's.
            self.faithful_button.set_visibility(
                me is not None and (not manager or row.assigned_user_id is not None or mine)
            )

    def clear(self) -> None:
        self.detail = None

    def tick(self, now: datetime) -> None:
        """T2: the holder may extend once the countdown turns amber. The countdown itself runs in the browser;
        this only shows the button, once (a visibility that did not change sends nothing)."""
        if self.detail is None:
            return
        seconds = self.countdown.seconds_left(now)
        self.extend_button.set_visibility(
            seconds is not None
            and seconds <= AMBER_SECONDS
            and self.detail.row.assigned_user_id == self.context.viewer.user_id
        )

    # --- actions: each one a service call; what happened comes back as an event and re-shows the panel ---

    async def _run(self, action: Callable[..., Awaitable[Any]], **arguments: Any) -> bool:
        if self.detail is None:
            return False
        try:
            await action(
                self.context.db,
                viewer=self.context.viewer,
                conversation_id=self.detail.row.id,
                publisher=self.context.publisher,
                **arguments,
            )
        except ServiceError as error:
            self.context.notify(error_text(error), 'negative')
            await self.context.reload()  # show what it is now (e.g. who took it)
            return False
        return True

    async def take(self) -> None:
        await self._run(takeover.take)

    async def release(self, to: str) -> None:
        await self._run(takeover.release, to=to)

    async def _set_ai(self, enabled: bool) -> None:
        await self._run(takeover.set_ai, enabled=enabled)

    async def _extend(self) -> None:
        await self._run(takeover.extend)

    async def _close(self) -> None:
        await self._run(takeover.close)

    async def _reopen(self) -> None:
        await self._run(takeover.reopen)

    async def _toggle_faithful(self) -> None:
        if self.detail is None:
            return
        row = self.detail.row
        if row.faithful_user_id is not None:
            target = None
        elif self.context.viewer.has_role(Role.MANAGER) and row.assigned_user_id is not None:
            target = row.assigned_user_id
        else:
            target = self.context.viewer.user_id
        await self._run(takeover.set_faithful, user_id=target)

    async def _reassign(self) -> None:
        if self.detail is None:
            return
        agents = await takeover.branch_agents(
            self.context.db, viewer=self.context.viewer, branch_id=self.detail.row.branch_id
        )
        options = {user_id: name for user_id, name in agents if user_id != self.detail.row.assigned_user_id}
        with ui.dialog() as dialog, ui.card().classes('min-w-[280px]'):
            choice = ui.select(options, label=t('takeover.reassign_to')).classes('w-full').mark('reassign-to')
            with ui.row():
                ui.button(t('takeover.cancel'), on_click=lambda: dialog.submit(None)).props('flat')
                ui.button(t('takeover.reassign'), on_click=lambda: dialog.submit(choice.value)).mark('reassign-confirm')
        target = await dialog
        dialog.delete()
        if target is not None:
            await self._run(takeover.reassign, user_id=int(target))


def history_line(entry: Attendance) -> str:
    """T5: one line of "who attended it", in the agent's language."""
    system = t('takeover.history.system')
    key = 'faithful_cleared' if entry.action == 'faithful' and entry.reason == 'cleared' else entry.action
    text = t(
        f'takeover.history.{key}',
        user=entry.user_name or system,
        actor=entry.actor_name or system,
        reason=reason_text(entry.reason),
    )
    return text if not text.startswith('takeover.history.') else f'{entry.action} · {entry.user_name or system}'


class HistorySection(PanelSection):
    key = 'history'

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        ui.label(t('panel.history')).classes('text-sm font-semibold')
        self.history = ui.column().classes('w-full gap-1').mark('attendance')
        self._shown: list[Attendance] | None = None

    def show(self, detail: ConversationDetail) -> None:
        if detail.attended_by == self._shown:
            return  # the history did not change: do not rebuild it on every live update
        self._shown = list(detail.attended_by)
        self.history.clear()
        with self.history:
            if not detail.attended_by:
                ui.label(t('panel.no_history')).classes('text-xs text-slate-500')
            for entry in detail.attended_by:
                ui.label(f'{local_time(entry.at)} · {history_line(entry)}').classes('text-xs').mark('history-line')

    def clear(self) -> None:
        self._shown = None
