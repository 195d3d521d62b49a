"""The agents' console "HitlChat" (SPEC C1–C3, C5): conversation list, thread and client panel, live.

One `InboxPage` per open browser tab: it lays the console out (filters, list, thread, client panel composed from
`PANEL_SECTIONS`), runs the agent's actions (open, load, send, take when replying) and re-reads after a reconnect.
What an event changes is the live path's (`components/inbox/live.py`, `InboxLive`), which the page subscribes to
the event bus with the viewer's branches (the bus filters, B2).
"""

from __future__ import annotations

import time

from fastapi.responses import FileResponse, Response
from nicegui import Client, app, ui

from app.pages.guard import current_viewer, signed_in_page
from app.runtime import runtime
from components.assistant.summary_section import SummarySection
from components.i18n import t
from components.inbox.chat_view import ChatView, NotesAccess, photo_ids
from components.inbox.client_panel import ClientPanel
from components.inbox.contact_section import ContactSection
from components.inbox.conversation_list import ConversationList
from components.inbox.live import ALERT_SCRIPT, LIVE_KINDS, InboxFilters, InboxLive
from components.inbox.takeover_section import HistorySection, TakeoverSection, error_text
from components.page_frame import selected_branch_id
from components.panel_section import PanelContext, PanelSection
from components.sales.quote_section import QuoteSection
from services import metrics, takeover
from services.access import Viewer
from services.errors import Conflict, NotFound, ServiceError
from services.inbox import console, conversations
from services.inbox.console import TemplateOption, ThreadMessage
from services.inbox.conversations import ConversationRow
from services.inbox.labels import labels_of
from services.models import ConversationMode, ConversationStatus, MessageStatus, Role
from services.models.types import utcnow
from services.vin.readings import VinReadingPublic, correct_vin, readings_for_messages
from services.whatsapp import outbox

PAGE_SIZE = 50

# What the client panel (right column) shows, top to bottom. A feature adds its section by writing a
# `PanelSection` subclass in its own module (see `components/panel_section.py`) and adding ONE line here.
PANEL_SECTIONS: list[type[PanelSection]] = [
    TakeoverSection,
    SummarySection,  # AI summary (issue 6), live on summary.updated
    QuoteSection,  # quote editor + catalog search (issue 8), live on quote.updated
    ContactSection,
    HistorySection,
]


# The console's layout (SPEC C1, C5). From 1280 px: three columns. Below: the client panel is a drawer over the thread,
# opened from the bar above it (and closed with its ✕ or Esc), so a tablet keeps take over, pause AI, quote and the
# summary. `lm-panel-open` / `lm-panel-closed` on the console override 'auto' (the page's `panel_state`).
PANEL_BREAKPOINT_PX = 1280
CONSOLE_CSS = f"""
.lm-console .lm-panel-bar {{ display: none; }}
@media (max-width: {PANEL_BREAKPOINT_PX - 0.02}px) {{
  .lm-console:not(.lm-panel-open) > .lm-panel {{ display: none !important; }}
  .lm-console.lm-panel-open > .lm-panel {{
    position: absolute; top: 0; right: 0; bottom: 0; z-index: 40; box-shadow: -8px 0 24px rgba(15, 23, 42, .25);
  }}
  .lm-console:not(.lm-panel-open) .lm-panel-bar {{ display: flex; }}
}}
@media (min-width: {PANEL_BREAKPOINT_PX}px) {{
  .lm-console.lm-panel-closed > .lm-panel {{ display: none !important; }}
  .lm-console.lm-panel-closed .lm-panel-bar {{ display: flex; }}
}}
"""

# Quasar closes an open menu or dialog on the same Esc (it is still in the page while this listener runs).
ESCAPE_SCRIPT = """
<script>
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || document.querySelector('.q-dialog, .q-menu')) return;
  emitEvent('lm_escape');
});
</script>
"""

# The console's keys (also in docs/console.md and the "?" dialog). Not while typing in a field.
KEYMAP: list[tuple[str, str]] = [
    ('↑ / ↓', 'console.keys.neighbour'),
    ('T', 'console.keys.take'),
    ('L', 'console.keys.release'),
    ('P', 'console.keys.panel'),
    ('Esc', 'console.keys.close'),
    ('?', 'console.keys.help'),
]


def _server_clock_script() -> str:
    """How far the browser's clock is from the server's, for the countdowns it counts itself (lm_clock.js)."""
    return f'window.lmServerOffset = {time.time():.3f} - Date.now() / 1000;'


class InboxPage:
    def __init__(self, viewer: Viewer, client: Client) -> None:
        current = runtime()
        self.viewer = viewer
        self.client = client
        self.db = current.db
        self.bus = current.bus
        self.presence = current.presence
        self.cache = current.snapshots
        self.filters = InboxFilters(branch_id=selected_branch_id())
        self.open_id: int | None = None
        self.open_branch: int | None = None
        self.has_older = False
        self.connected_once = False
        self.sound = bool(app.storage.user.get('inbox_sound', True))
        self.loads = 0
        # What each event changes on this page (reads the widgets built below, and the state above, at each event).
        self.live = InboxLive(
            self,
            viewer=viewer,
            client=client,
            db=self.db,
            cache=self.cache,
            publisher=self.bus,
            presence=self.presence,
        )

    # --- building ---

    async def build(self, open_conversation: int | None) -> None:
        ui.add_head_html(ALERT_SCRIPT)
        # The browser counts the countdowns down itself: from the server's clock, not a wrong PC clock. A first
        # estimate here; the exact one on every (re)connect (`reconnected`): this page takes a while to build.
        ui.add_head_html(f'<script>{_server_clock_script()}</script>')
        ui.add_css(CONSOLE_CSS)
        # The panel's state: 'auto' (a column from 1280 px, a closed drawer below), 'open' or 'closed' (CONSOLE_CSS).
        self.panel_state = 'auto'
        with ui.row().classes('lm-console w-full h-full no-wrap gap-0 relative').mark('console') as self.console:
            with ui.column().classes('w-[300px] min-w-[260px] h-full no-wrap gap-1 border-r bg-white p-2'):
                self._filters()
                self.list = ConversationList(
                    on_select=self.open, on_more=self.load_more, show_branch=self.viewer.has_role(Role.MANAGER)
                )
            with ui.column().classes('flex-1 h-full min-w-0 min-h-0 no-wrap gap-0'):
                # Shown whenever the panel is not (a tablet, or closed): its way back, and take/release at hand.
                with ui.row().classes(
                    'lm-panel-bar w-full items-center justify-end gap-1 px-2 py-1 border-b bg-white no-wrap'
                ) as self.panel_bar:
                    self.bar_take = (
                        ui.button(t('takeover.take'), icon='front_hand', on_click=self.take)
                        .props('dense no-caps size=sm color=primary')
                        .mark('bar-take')
                        .tooltip(t('console.key_hint', shortcut='T'))
                    )
                    self.bar_release = (
                        ui.button(t('takeover.release'), icon='logout', on_click=self.release)
                        .props('dense no-caps size=sm outline')
                        .mark('bar-release')
                        .tooltip(t('console.key_hint', shortcut='L'))
                    )
                    self._keymap_button()
                    ui.button(t('console.panel.show'), icon='view_sidebar', on_click=self.show_panel).props(
                        'dense no-caps size=sm flat color=grey-9'
                    ).mark('panel-toggle').tooltip(t('console.key_hint', shortcut='P'))
                self.panel_bar.set_visibility(False)  # until a conversation is open
                # `min-h-0` down the chain: the thread scrolls inside, the composer stays at the bottom on screen.
                with ui.column().classes('w-full flex-1 min-h-0 no-wrap gap-0'):
                    self.chat = ChatView(
                        on_send_text=self.send_text,
                        on_send_template=self.send_template,
                        on_typing=self.typing,
                        on_load_older=self.load_older,
                        on_correct_vin=self.correct_vin,
                        on_resend=self.resend,
                        notes=NotesAccess(db=self.db, viewer=self.viewer, publisher=self.bus),  # C1 private notes
                    )
            with ui.column().classes(
                'lm-panel w-[350px] min-w-[350px] h-full no-wrap gap-0 border-l bg-white'
            ) as self.right:
                with ui.row().classes(
                    'lm-panel-head w-full items-center no-wrap gap-1 px-3 py-1 border-b text-slate-600'
                ):
                    ui.label(t('console.panel.title')).classes('text-xs font-semibold uppercase flex-1')
                    self._keymap_button()
                    close = ui.button(icon='close', on_click=self.hide_panel).props('flat round dense size=sm')
                    close.props['aria-label'] = t('console.panel.close')
                    close.mark('panel-close').tooltip(t('console.panel.close'))
                with ui.column().classes('w-full flex-1 min-h-0 no-wrap gap-0'):
                    self.panel = ClientPanel(
                        PanelContext(
                            viewer=self.viewer,
                            db=self.db,
                            publisher=self.bus,
                            notify=self.live.notify,
                            reload=self.reload_open,
                            services={
                                'presence': self.presence,
                                'settings': runtime().settings,
                                'cache': self.cache,
                                'sales': runtime().sales,
                                'hold_to_reply': self._hold_to_reply,
                            },
                        ),
                        sections=PANEL_SECTIONS,
                    )
        takeover_section = self.takeover
        # The bar's take/release mirror the panel's buttons (shown for the same conversations, to the same people).
        self.bar_take.bind_visibility_from(takeover_section.take_button, 'visible')
        self.bar_release.bind_visibility_from(takeover_section.release_button, 'visible')
        # Not ignored on buttons: after a click on one (the panel's toggle), the keys must still work.
        ui.keyboard(on_key=self._key, ignore=['input', 'select', 'textarea'])
        # Esc closes the panel from anywhere, a field in it included, unless it closes a menu or a dialog first.
        ui.add_head_html(ESCAPE_SCRIPT)
        ui.on('lm_escape', self.hide_panel)
        # ONE timer per page for every countdown and waiting time (NiceGUI's memory grows with each timer).
        ui.timer(1.0, self._tick)
        self._subscription = self.bus.subscribe(
            self.live.on_event, branch_ids=self.viewer.branch_ids, kinds=LIVE_KINDS, on_gap=self.resync
        )
        if self.viewer.user_id is not None:
            await self.presence.page_opened(self.viewer.user_id)
        metrics.page_opened()
        self.client.on_delete(self.closed)
        self.client.on_connect(self.reconnected)
        await self.load()
        if open_conversation is not None:
            await self.open(open_conversation)

    @property
    def takeover(self) -> TakeoverSection:
        section = self.panel.section('takeover')
        assert isinstance(section, TakeoverSection)
        return section

    # --- the client panel: a column, or a drawer on a tablet ---

    def _set_panel(self, state: str) -> None:
        self.panel_state = state
        self.console.classes(
            remove='lm-panel-open lm-panel-closed',
            add={'open': 'lm-panel-open', 'closed': 'lm-panel-closed'}.get(state),
        )

    def show_panel(self) -> None:
        self._set_panel('open')

    def hide_panel(self) -> None:
        self._set_panel('closed')

    async def toggle_panel(self) -> None:
        """The P key: whether the panel shows now depends on the window's width, which the browser knows."""
        shown = await ui.run_javascript(
            f'(() => {{ const panel = document.getElementById("c{self.right.id}");'
            ' return !!panel && panel.offsetParent !== null; })()'
        )
        self._set_panel('closed' if shown else 'open')

    def _keymap_button(self) -> None:
        keys = ui.button(icon='keyboard', on_click=self._show_keymap).props('flat round dense size=sm color=grey-8')
        keys.props['aria-label'] = t('console.keys.button')
        keys.tooltip(t('console.keys.button'))

    def _show_keymap(self) -> None:
        with ui.dialog() as dialog, ui.card().classes('min-w-[300px]').mark('keymap'):
            ui.label(t('console.keys.title')).classes('text-base font-semibold')
            for keys, text_key in KEYMAP:
                with ui.row().classes('w-full no-wrap items-center gap-3'):
                    ui.label(keys).classes(
                        'font-mono text-sm min-w-[56px] px-2 py-0.5 rounded bg-slate-100 text-center'
                    )
                    ui.label(t(text_key)).classes('text-sm')
            ui.button(t('console.keys.ok'), on_click=dialog.close).props('flat').classes('self-end')
        dialog.on('hide', dialog.delete)
        dialog.open()

    # --- take / release from the bar and the keyboard (the panel's buttons do the same) ---

    async def take(self) -> None:
        if self.open_id is not None and self.takeover.take_button.visible:
            await self.takeover.take()

    async def release(self) -> None:
        if self.open_id is not None and self.takeover.release_button.visible:
            await self.takeover.release('ai')

    def _filters(self) -> None:
        search = (
            ui.input(placeholder=t('inbox.search'))
            .props('dense outlined clearable debounce=300')
            .classes('w-full')
            .mark('inbox-search')
        )
        search.on_value_change(lambda e: self._set('search', e.value or ''))
        with ui.row().classes('w-full gap-1 no-wrap'):
            ui.select(
                {'open': t('inbox.status.open'), 'closed': t('inbox.status.closed'), 'all': t('inbox.status.all')},
                value='open',
                on_change=lambda e: self._set('status', e.value),
            ).props('dense options-dense').classes('flex-1').mark('filter-status')
            ui.select(
                {
                    'all': t('inbox.assignment.all'),
                    'mine': t('inbox.assignment.mine'),
                    'unassigned': t('inbox.assignment.unassigned'),
                },
                value='all',
                on_change=lambda e: self._set('assignment', e.value),
            ).props('dense options-dense').classes('flex-1').mark('filter-assignment')
        with ui.row().classes('w-full gap-1 no-wrap items-center'):
            ui.select(
                {'any': t('inbox.mode.any'), 'ai': t('mode.ai'), 'human': t('mode.human')},
                value='any',
                on_change=lambda e: self._set('mode', e.value),
            ).props('dense options-dense').classes('flex-1').mark('filter-mode')
            ui.checkbox(t('inbox.unread_only'), on_change=lambda e: self._set('unread_only', e.value)).props(
                'dense'
            ).mark('filter-unread')
        with ui.row().classes('w-full gap-1 no-wrap items-center'):
            ui.input(t('inbox.label')).props('dense debounce=400').classes('flex-1').on_value_change(
                lambda e: self._set('label', (e.value or '').strip())
            ).mark('filter-label')
            ui.switch(t('inbox.sound'), value=self.sound, on_change=self._sound_changed).props('dense').classes(
                'text-xs'
            ).mark('sound-switch')

    async def _set(self, name: str, value: object) -> None:
        """A filter changed (`name` is a field of `InboxFilters`): the list is read again."""
        setattr(self.filters, name, value)
        await self.load()

    async def _sound_changed(self, event: object) -> None:
        self.sound = bool(getattr(event, 'value', True))
        app.storage.user['inbox_sound'] = self.sound
        if self.sound:  # a click is the user gesture browsers require before asking
            ui.run_javascript("if ('Notification' in window) Notification.requestPermission()")

    # --- the list ---

    async def _rows(self, *, before_id: int | None = None) -> list[ConversationRow]:
        """One page (and one more row, to know whether there are more) of the list as filtered now."""
        filters = self.filters
        return await conversations.list_conversations(
            self.db,
            viewer=self.viewer,
            branch_id=filters.branch_id,
            status=None if filters.status == 'all' else ConversationStatus(filters.status),
            assignment=filters.assignment,
            mode=None if filters.mode == 'any' else ConversationMode(filters.mode),
            unread_only=filters.unread_only,
            label=filters.label or None,
            search=filters.search,
            limit=PAGE_SIZE + 1,
            before_id=before_id,
        )

    async def load(self) -> None:
        # Filters change faster than queries answer (typing in the search box): only the latest load is shown.
        self.loads += 1
        serial = self.loads
        rows = await self._rows()
        labels = await labels_of(self.db, viewer=self.viewer, conversation_ids=[row.id for row in rows[:PAGE_SIZE]])
        if serial != self.loads:
            return
        self.list.show(rows[:PAGE_SIZE], has_more=len(rows) > PAGE_SIZE, labels=labels)
        self.list.select(self.open_id)
        self.live.update_title()

    async def load_more(self) -> None:
        last = self.list.order[-1] if self.list.order else None
        rows = await self._rows(before_id=last)
        labels = await labels_of(self.db, viewer=self.viewer, conversation_ids=[row.id for row in rows[:PAGE_SIZE]])
        self.list.show(rows[:PAGE_SIZE], has_more=len(rows) > PAGE_SIZE, append=True, labels=labels)

    # --- one conversation ---

    async def open(self, conversation_id: int) -> None:
        try:
            detail = await console.conversation_detail(self.db, viewer=self.viewer, conversation_id=conversation_id)
        except NotFound:
            ui.notify(t('inbox.pick'))
            return
        await self._leave()
        messages = await console.thread(
            self.db, viewer=self.viewer, conversation_id=conversation_id, limit=PAGE_SIZE + 1
        )
        self.has_older = len(messages) > PAGE_SIZE
        self.open_id, self.open_branch = conversation_id, detail.row.branch_id
        canned = await console.canned_responses(self.db, viewer=self.viewer, branch_id=detail.row.branch_id)
        templates = (
            []
            if detail.window_open
            else await console.approved_templates(self.db, viewer=self.viewer, conversation_id=conversation_id)
        )
        shown = messages[-PAGE_SIZE:]
        self.chat.open(
            detail,
            shown,
            has_older=self.has_older,
            canned=canned,
            templates=templates,
            readings=await self._readings(shown),
        )
        await self.panel.show(detail)
        self.panel_bar.set_visibility(True)
        self.list.select(conversation_id)
        self.list.set_labels(conversation_id, list(detail.labels))
        # In the address: a reload (switching the language reloads the page) opens it again.
        ui.navigate.history.replace(f'/?c={conversation_id}')
        if self.viewer.user_id is not None:
            await self.presence.viewing(
                conversation_id=conversation_id,
                branch_id=detail.row.branch_id,
                user_id=self.viewer.user_id,
                name=self.viewer.full_name,
            )
        self.live.show_presence()
        await console.mark_read(self.db, viewer=self.viewer, conversation_id=conversation_id, publisher=self.bus)
        await self._activity()  # T2: opening her own conversation to reply renews the hold

    async def reload_open(self) -> None:
        """Re-read the open conversation and show it again (header, panel)."""
        if self.open_id is None:
            return
        try:
            detail = await console.conversation_detail(self.db, viewer=self.viewer, conversation_id=self.open_id)
        except NotFound:
            return
        self.chat.show_detail(detail)
        await self.panel.show(detail)

    async def load_older(self) -> None:
        if self.open_id is None:
            return
        older = await console.thread(
            self.db,
            viewer=self.viewer,
            conversation_id=self.open_id,
            limit=PAGE_SIZE + 1,
            before_id=self.chat.oldest_id(),
        )
        shown = older[-PAGE_SIZE:]
        self.chat.prepend(shown, has_older=len(older) > PAGE_SIZE, readings=await self._readings(shown))

    async def _readings(self, messages: list[ThreadMessage]) -> dict[int, VinReadingPublic]:
        """The VIN readings of the photos among these messages, in one query."""
        ids = photo_ids(messages)
        return await readings_for_messages(self.db, viewer=self.viewer, message_ids=ids) if ids else {}

    async def correct_vin(self, message_id: int, vin_text: str) -> VinReadingPublic:
        """V1: the agent types the VIN she reads on the photo (the service validates, audits and announces it)."""
        return await correct_vin(
            self.db, viewer=self.viewer, message_id=message_id, vin_text=vin_text, publisher=self.bus
        )

    async def resend(self, message_id: int) -> bool:
        """F5: queue an unconfirmed reply again (the service checks branch and state, and audits it)."""
        try:
            await outbox.resend_unconfirmed(self.db, viewer=self.viewer, message_id=message_id, publisher=self.bus)
        except Conflict:
            ui.notify(t('chat.resend_gone'), type='info')
            return False
        except ServiceError as exc:
            ui.notify(str(exc), type='negative')
            return False
        ui.notify(t('chat.resent'), type='positive')
        return True

    async def _leave(self) -> None:
        if self.open_id is not None and self.viewer.user_id is not None:
            await self.presence.left(conversation_id=self.open_id, user_id=self.viewer.user_id)

    # --- sending ---

    async def _hold_to_reply(self) -> bool:
        """T1: a person answering means the AI must stop — replying to an unattended conversation takes it
        (atomically, so two agents replying at once cannot both hold it). An agent may not answer a colleague's
        conversation; managers may (they supervise, and the AI stays silent either way)."""
        if self.open_id is None or self.viewer.user_id is None:
            return True
        row = await conversations.get_conversation(self.db, viewer=self.viewer, conversation_id=self.open_id)
        if row.assigned_user_id == self.viewer.user_id:
            return True
        if row.assigned_user_id is not None:
            if self.viewer.has_role(Role.MANAGER):
                return True
            ui.notify(t('takeover.error.send_held', name=row.assigned_to or ''), type='negative')
            return False
        try:
            await takeover.take(self.db, viewer=self.viewer, conversation_id=self.open_id, publisher=self.bus)
        except ServiceError as exc:
            ui.notify(error_text(exc), type='negative')
            return False
        return True

    async def send_text(self, text: str) -> bool:
        if self.open_id is None or not await self._confirm_if_someone_is_typing():
            return False
        if not await self._hold_to_reply():
            return False
        try:
            await outbox.queue_text(
                self.db, conversation_id=self.open_id, text=text, publisher=self.bus, viewer=self.viewer
            )
        except ServiceError as exc:
            ui.notify(str(exc), type='negative')
            return False
        await self._stopped_typing()
        return True

    async def send_template(self, template: TemplateOption, variables: list[str]) -> bool:
        if self.open_id is None or not await self._hold_to_reply():
            return False
        try:
            message = await outbox.queue_template(
                self.db,
                conversation_id=self.open_id,
                template_name=template.name,
                language=template.language,
                variables=variables,
                publisher=self.bus,
                viewer=self.viewer,
            )
        except ServiceError as exc:
            ui.notify(str(exc), type='negative')
            return False
        if message.status == MessageStatus.BLOCKED:  # L2: kept by the send gate; the thread shows it with the reason
            ui.notify(t('campaigns.chat_blocked', reason=message.error_title), type='warning')
        return True

    async def _confirm_if_someone_is_typing(self) -> bool:
        """Soft lock (C2): another agent typing here makes the send button ask first."""
        if self.open_id is None or self.viewer.user_id is None:
            return True
        others = self.presence.someone_else_typing(self.open_id, user_id=self.viewer.user_id)
        if not others:
            return True
        names = ', '.join(others)
        with ui.dialog() as dialog, ui.card():
            ui.label(t('chat.confirm_title', names=names)).classes('font-semibold')
            ui.label(t('chat.confirm_body'))
            with ui.row():
                ui.button(t('chat.cancel'), on_click=lambda: dialog.submit(False)).props('flat')
                ui.button(t('chat.send_anyway'), on_click=lambda: dialog.submit(True)).mark('send-anyway')
        return bool(await dialog)

    async def typing(self) -> None:
        if self.open_id is not None and self.viewer.user_id is not None:
            await self.presence.typing(conversation_id=self.open_id, user_id=self.viewer.user_id)
            await self._activity()

    async def _activity(self) -> None:
        """T2: the holder is working on it; renew her deadline (at most every few seconds, see `takeover.renew`)."""
        if self.open_id is not None and self.viewer.user_id is not None:
            await takeover.renew(self.db, user_id=self.viewer.user_id, conversation_id=self.open_id, publisher=self.bus)

    async def _stopped_typing(self) -> None:
        if self.open_id is not None and self.viewer.user_id is not None:
            await self.presence.stopped_typing(conversation_id=self.open_id, user_id=self.viewer.user_id)

    # --- the page's one timer ---

    def _tick(self) -> None:
        # Countdowns and waiting times tick in the browser (conversation_row.js, countdown.js); here only what the
        # server must decide: the "extend" button at amber, and spare rows for the list.
        self.panel.tick(utcnow())
        self.list.refill()  # new conversations took spare rows: make more, away from any message's path

    # --- keyboard, reconnects, closing ---

    async def _key(self, event: object) -> None:
        key = getattr(event, 'key', None)
        action = getattr(event, 'action', None)
        if key is None or action is None or not action.keydown:
            return
        if key.arrow_up or key.arrow_down:
            target = self.list.neighbour(-1 if key.arrow_up else 1)
            if target is not None:
                await self.open(target)
            return
        modifiers = getattr(event, 'modifiers', None)
        if modifiers is not None and (modifiers.ctrl or modifiers.alt or modifiers.meta):
            return  # the browser's and the system's own shortcuts
        name = str(getattr(key, 'name', '')).lower()
        if name == 't':
            await self.take()
        elif name == 'l':
            await self.release()
        elif name == 'p':
            await self.toggle_panel()
        elif name == '?':
            self._show_keymap()

    async def reconnected(self) -> None:
        """After a dropped websocket: add whatever arrived meanwhile (nothing is assumed replayed)."""
        self._send_server_clock()  # also after a laptop slept or its clock was corrected
        if not self.connected_once:
            self.connected_once = True
            return
        await self.resync()

    def _send_server_clock(self) -> None:
        with self.client:
            ui.run_javascript(_server_clock_script())

    async def resync(self) -> None:
        """Re-read what the page shows: after a reconnect, or when the event bus may have missed events."""
        if self.client.id not in Client.instances:
            return
        await self.load()
        if self.open_id is not None:
            await self.reload_open()  # its state may have changed meanwhile (taken, released, timed out)
            missed = await console.thread(
                self.db, viewer=self.viewer, conversation_id=self.open_id, after_id=self.chat.newest_id(), limit=500
            )
            self.chat.append_many(missed, readings=await self._readings(missed))

    async def closed(self) -> None:
        metrics.page_closed()
        self._subscription.cancel()
        await self._leave()
        if self.viewer.user_id is not None:
            await self.presence.page_closed(self.viewer.user_id)


@signed_in_page('/', title_key='inbox.title', full_height=True)
async def inbox_page(viewer: Viewer, c: int | None = None) -> None:
    page = InboxPage(viewer, ui.context.client)
    await page.build(open_conversation=c)


@app.get('/media/{media_id}', include_in_schema=False)
async def media_file(media_id: int) -> Response:
    return await _media(media_id, thumbnail=False)


@app.get('/media/{media_id}/thumbnail', include_in_schema=False)
async def media_thumbnail(media_id: int) -> Response:
    return await _media(media_id, thumbnail=True)


async def _media(media_id: int, *, thumbnail: bool) -> Response:
    """Files of conversations the signed-in user may see; anything else is 404 (B2)."""
    viewer = await current_viewer()
    if viewer is None:
        return Response(status_code=401)
    try:
        media = await console.media_for_viewer(runtime().db, viewer=viewer, media_id=media_id)
    except NotFound:
        return Response(status_code=404)
    relative = media.thumbnail_path if thumbnail else media.storage_path
    if not relative:
        return Response(status_code=404)
    return FileResponse(
        runtime().media.path_of(relative),
        media_type='image/jpeg' if thumbnail else media.mime_type,
        filename=None if thumbnail else (media.filename or None),
        headers={'Cache-Control': 'private, max-age=86400', 'Content-Security-Policy': "default-src 'none'; sandbox"},
    )
