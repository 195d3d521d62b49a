"""The agents' console "HitlChat" (SPEC C1–C3, C5): conversation list, thread and client panel, live.

One `InboxPage` per open browser tab. It subscribes to the event bus with the viewer's branches (the bus
filters, B2), and on each event changes only what the event is about: one list row, one appended message,
one tick, one photo's VIN reading. Rows and messages an event refers to are read once per process for all pages
(SnapshotCache). The client panel's sections (takeover, AI summary, quote, contact, history) get the events of the
open conversation (`summary.updated`, `quote.updated` included) and refresh themselves.
"""

from __future__ import annotations

import json
import time
import unicodedata

from fastapi.responses import FileResponse, Response
from nicegui import Client, app, ui

from app.pages.guard import current_viewer, signed_in_page
from app.runtime import runtime
from components.i18n import local_time, t
from components.inbox.chat_view import ChatView, photo_ids
from components.inbox.client_panel import ClientPanel
from components.inbox.conversation_list import ConversationList
from components.inbox.formatting import offer_running
from components.inbox.panel_section import PanelContext
from components.inbox.takeover_section import error_text
from components.page_frame import selected_branch_id
from services import takeover
from services.access import Viewer
from services.assistant import SUMMARY_UPDATED
from services.errors import NotFound, ServiceError
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS, Event
from services.inbox import console, conversations
from services.inbox.console import TemplateOption, ThreadMessage
from services.inbox.conversations import ConversationRow
from services.models import ConversationMode, ConversationStatus, Role
from services.models.types import utcnow
from services.presence import PRESENCE_CHANGED
from services.sales.desk import QUOTE_UPDATED
from services.vin.readings import VIN_READ, VinReadingPublic, correct_vin, reading_for_message, readings_for_messages
from services.whatsapp import outbox

PAGE_SIZE = 50

# One AudioContext per page, suspended between beeps: a context left running keeps an audio thread busy in the
# browser, and a new one per alert (as before) piled up dozens of them over an agent's day — measured 6 % of a
# core per page and Chromium's audio service at 17 % with 20 pages open (bench/live_latency.py).
ALERT_SCRIPT = """
<script>
window.lmAlert = (title, body, sound) => {
  if (sound) {
    try {
      const audio = window.lmAudio = window.lmAudio || new (window.AudioContext || window.webkitAudioContext)();
      audio.resume();
      const tone = audio.createOscillator(); const gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.08; tone.connect(gain); gain.connect(audio.destination);
      window.lmTones = (window.lmTones || 0) + 1;
      tone.onended = () => {
        tone.disconnect(); gain.disconnect();
        window.lmTones -= 1;
        if (window.lmTones === 0) audio.suspend();
      };
      tone.start(); tone.stop(audio.currentTime + 0.15);
    } catch (e) {}
  }
  if (sound && 'Notification' in window && Notification.permission === 'granted' && document.hidden) {
    new Notification(title, {body: body});  // the Notification API shows text, never HTML
  }
};
</script>
"""


def _server_clock_script() -> str:
    """How far the browser's clock is from the server's, for the countdowns it counts itself (lm_clock.js)."""
    return f'window.lmServerOffset = {time.time():.3f} - Date.now() / 1000;'


def _folded(text: str) -> str:
    """Lower case without accents, to match a search term against a row like the database does."""
    return ''.join(c for c in unicodedata.normalize('NFD', text.lower()) if unicodedata.category(c) != 'Mn')


class InboxPage:
    def __init__(self, viewer: Viewer, client: Client) -> None:
        current = runtime()
        self.viewer = viewer
        self.client = client
        self._title: str | None = None  # what the browser tab shows now (C2: unread count)
        self.db = current.db
        self.bus = current.bus
        self.presence = current.presence
        self.cache = current.snapshots
        self.branch_id = selected_branch_id()
        self.status: str = 'open'
        self.assignment: conversations.Assignment = 'all'
        self.mode: str = 'any'
        self.unread_only = False
        self.label = ''
        self.search = ''
        self.open_id: int | None = None
        self.open_branch: int | None = None
        self.has_older = False
        self.connected_once = False
        self.sound = bool(app.storage.user.get('inbox_sound', True))
        self.loads = 0

    # --- building ---

    async def build(self, open_conversation: int | None) -> None:
        ui.add_head_html(ALERT_SCRIPT)
        # The browser counts the countdowns down itself: from the server's clock, not a wrong PC clock. A first
        # estimate here; the exact one on every (re)connect (`reconnected`): this page takes a while to build.
        ui.add_head_html(f'<script>{_server_clock_script()}</script>')
        with ui.row().classes('w-full h-full no-wrap gap-0'):
            with ui.column().classes('w-[300px] min-w-[260px] h-full no-wrap gap-1 border-r bg-white p-2'):
                self._filters()
                self.list = ConversationList(
                    on_select=self.open, on_more=self.load_more, show_branch=self.viewer.has_role(Role.MANAGER)
                )
            with ui.column().classes('flex-1 h-full min-w-0 gap-0'):
                self.chat = ChatView(
                    on_send_text=self.send_text,
                    on_send_template=self.send_template,
                    on_typing=self.typing,
                    on_load_older=self.load_older,
                    on_correct_vin=self.correct_vin,
                )
            # `max-lg:hidden`, not `hidden lg:flex`: Quasar's `.hidden` is `!important` and would hide it everywhere.
            with ui.column().classes('w-[350px] min-w-[350px] h-full border-l bg-white max-lg:hidden') as self.right:
                self.panel = ClientPanel(
                    PanelContext(
                        viewer=self.viewer,
                        db=self.db,
                        publisher=self.bus,
                        notify=self._notify,
                        reload=self.reload_open,
                        services={
                            'presence': self.presence,
                            'settings': runtime().settings,
                            'cache': self.cache,
                            'sales': runtime().sales,
                            'hold_to_reply': self._hold_to_reply,
                        },
                    )
                )
        ui.keyboard(on_key=self._key)
        # ONE timer per page for every countdown and waiting time (NiceGUI's memory grows with each timer).
        ui.timer(1.0, self._tick)
        self._subscription = self.bus.subscribe(
            self.on_event,
            branch_ids=self.viewer.branch_ids,
            kinds=[
                MESSAGE_CREATED,
                MESSAGE_STATUS,
                CONVERSATION_UPDATED,
                PRESENCE_CHANGED,
                SUMMARY_UPDATED,
                QUOTE_UPDATED,
                VIN_READ,
            ],
            on_gap=self.resync,
        )
        if self.viewer.user_id is not None:
            await self.presence.page_opened(self.viewer.user_id)
        self.client.on_delete(self.closed)
        self.client.on_connect(self.reconnected)
        await self.load()
        if open_conversation is not None:
            await self.open(open_conversation)

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
        setattr(self, name, value)
        await self.load()

    async def _sound_changed(self, event: object) -> None:
        self.sound = bool(getattr(event, 'value', True))
        app.storage.user['inbox_sound'] = self.sound
        if self.sound:  # a click is the user gesture browsers require before asking
            ui.run_javascript("if ('Notification' in window) Notification.requestPermission()")

    # --- the list ---

    def _query(self) -> dict[str, object]:
        return {
            'branch_id': self.branch_id,
            'status': None if self.status == 'all' else ConversationStatus(self.status),
            'assignment': self.assignment,
            'mode': None if self.mode == 'any' else ConversationMode(self.mode),
            'unread_only': self.unread_only,
            'label': self.label or None,
            'search': self.search,
        }

    async def load(self) -> None:
        # Filters change faster than queries answer (typing in the search box): only the latest load is shown.
        self.loads += 1
        serial = self.loads
        rows = await conversations.list_conversations(self.db, viewer=self.viewer, limit=PAGE_SIZE + 1, **self._query())  # type: ignore[arg-type]
        if serial != self.loads:
            return
        self.list.show(rows[:PAGE_SIZE], has_more=len(rows) > PAGE_SIZE)
        self.list.select(self.open_id)
        self._update_title()

    async def load_more(self) -> None:
        last = self.list.order[-1] if self.list.order else None
        rows = await conversations.list_conversations(
            self.db, viewer=self.viewer, limit=PAGE_SIZE + 1, before_id=last, **self._query()
        )  # type: ignore[arg-type]
        self.list.show(rows[:PAGE_SIZE], has_more=len(rows) > PAGE_SIZE, append=True)

    def belongs(self, row: ConversationRow) -> bool:
        """Whether a row changed by an event belongs in this list as filtered (evaluated without a query)."""
        if self.branch_id is not None and row.branch_id != self.branch_id:
            return False
        if self.status not in {'all', row.status}:
            return False
        if self.assignment == 'mine' and row.assigned_user_id != self.viewer.user_id:
            return False
        if self.assignment == 'unassigned' and row.assigned_user_id is not None:
            return False
        if self.mode not in {'any', row.mode}:
            return False
        if self.unread_only and row.unread_count == 0:
            return False
        if self.label:
            return row.id in self.list.items  # labels are not on the row: keep what the query returned
        if self.search:
            haystack = _folded(' '.join(filter(None, [row.contact_name, row.contact_phone, row.last_message_preview])))
            return _folded(self.search) in haystack or row.id in self.list.items
        return True

    def _update_title(self) -> None:
        unread = self.list.total_unread()
        title = f'{t("inbox.title")} · LeadMaster'
        title = f'({unread}) {title}' if unread else title
        if title == self._title:  # every row update asks; only a change goes to the browser
            return
        self._title = title
        with self.client:
            ui.page_title(title)

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
        self.list.select(conversation_id)
        if self.viewer.user_id is not None:
            await self.presence.viewing(
                conversation_id=conversation_id,
                branch_id=detail.row.branch_id,
                user_id=self.viewer.user_id,
                name=self.viewer.full_name,
            )
        self._show_presence()
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
            await outbox.queue_template(
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

    # --- live events (already limited to the viewer's branches by the bus) ---

    async def on_event(self, event: Event) -> None:
        if self.client.id not in Client.instances:
            return
        if event.kind == CONVERSATION_UPDATED and event.conversation_id is not None:
            await self._conversation_changed(event)
        elif event.kind == MESSAGE_CREATED and event.conversation_id == self.open_id:
            message = await console.live_message(
                self.db, self.cache, viewer=self.viewer, message_id=event.data['message_id'], version=event.version
            )
            if message is not None:
                self.chat.append(message)
        elif event.kind == MESSAGE_STATUS and event.conversation_id == self.open_id:
            if 'media_status' in event.data:
                message = await console.live_message(
                    self.db, self.cache, viewer=self.viewer, message_id=event.data['message_id'], version=event.version
                )
                if message is not None:
                    self.chat.update_media(message)
            else:
                self.chat.set_status(event.data['message_id'], event.data['status'], event.data.get('error_title', ''))
        elif event.kind == PRESENCE_CHANGED and event.conversation_id == self.open_id:
            self._show_presence()
        elif event.kind == VIN_READ and event.conversation_id == self.open_id:
            await self._vin_read(event.data.get('message_id'))
        if event.conversation_id == self.open_id and self.open_id is not None:
            await self.panel.on_event(event)
        if event.kind == MESSAGE_CREATED and event.data.get('direction') == 'in':
            await self._alert_if_mine(event)

    async def _vin_read(self, message_id: object) -> None:
        """A photo of the open thread was read (or its VIN corrected, maybe on another page): show it."""
        if isinstance(message_id, int):
            self.chat.show_vin_reading(
                message_id, await reading_for_message(self.db, viewer=self.viewer, message_id=message_id)
            )

    async def _conversation_changed(self, event: Event) -> None:
        conversation_id = event.conversation_id or 0
        row = await console.live_row(
            self.db, self.cache, viewer=self.viewer, conversation_id=conversation_id, version=event.version
        )
        if row is None:
            return
        is_new = self.list.upsert(row, belongs=self.belongs(row))
        self._update_title()
        if is_new and row.assigned_user_id is None and event.data.get('reason') == 'inbound':
            self._alert(t('inbox.new_conversation', name=row.contact_name), row.last_message_preview)
        self._notify_takeover(event, row)
        if conversation_id == self.open_id:
            if event.data.get('reason') == 'inbound':
                await console.mark_read(
                    self.db, viewer=self.viewer, conversation_id=conversation_id, publisher=self.bus
                )
            detail = await console.conversation_detail(self.db, viewer=self.viewer, conversation_id=conversation_id)
            templates = None
            if not detail.window_open and self.chat.detail is not None and self.chat.detail.window_open:
                templates = await console.approved_templates(
                    self.db, viewer=self.viewer, conversation_id=conversation_id
                )
            self.chat.show_detail(detail, templates=templates)
            await self.panel.show(detail)

    def _notify_takeover(self, event: Event, row: ConversationRow) -> None:
        """T4: tell this agent when a conversation is assigned or offered to her, taken from her, or becomes
        available in her branch (not for her own actions)."""
        me = self.viewer.user_id
        data = event.data
        if me is None or data.get('actor_user_id') == me or 'phase' not in data:
            return
        reason = data.get('reason')
        if reason in {'rule', 'reassign'} and data.get('user_id') == me:
            self._notify(t('takeover.notify.assigned', name=row.contact_name), 'info', alert=True)
        elif reason == 'reassign' and data.get('previous_user_id') == me:
            self._notify(t('takeover.notify.lost', name=row.contact_name), 'warning')
        elif reason == 'timeout' and data.get('user_id') == me:
            self._notify(t('takeover.notify.lost', name=row.contact_name), 'warning', alert=True)
        elif reason == 'offer' and data.get('user_id') == me and offer_running(row):
            self._notify(
                t('takeover.notify.offered', name=row.contact_name, time=local_time(row.offer_expires_at, '%H:%M')),
                'info',
                alert=True,
            )
        elif data.get('available') and row.assigned_user_id is None and row.branch_id == self.viewer.branch_id:
            key = 'takeover.notify.available' if row.phase == 'waiting' else 'takeover.notify.released'
            self._notify(t(key, name=row.contact_name), 'info', alert=True)

    def _notify(self, message: str, kind: str = 'info', *, alert: bool = False) -> None:
        with self.client:
            ui.notify(message, type=kind, position='top-right')  # type: ignore[arg-type]
        if alert:
            self._alert(message, '')

    def _tick(self) -> None:
        # Countdowns and waiting times tick in the browser (conversation_row.js, countdown.js); here only what the
        # server must decide: the "extend" button at amber, and spare rows for the list.
        self.panel.tick(utcnow())
        self.list.refill()  # new conversations took spare rows: make more, away from any message's path

    async def _alert_if_mine(self, event: Event) -> None:
        # The listed row knows who holds the conversation (its changes arrive as events too): no read per message,
        # which would also hold up this page's next event, the list row's own update.
        item = self.list.items.get(event.conversation_id or 0)
        row = (
            item.row
            if item is not None
            else await console.live_row(
                self.db,
                self.cache,
                viewer=self.viewer,
                conversation_id=event.conversation_id or 0,
                version=event.version,
            )
        )
        if row is not None and row.assigned_user_id == self.viewer.user_id and row.id != self.open_id:
            self._alert(t('inbox.new_message', name=row.contact_name), event.data.get('text', ''))

    def _alert(self, title: str, body: str) -> None:
        with self.client:
            ui.run_javascript(
                f'window.lmAlert && window.lmAlert({json.dumps(title)}, {json.dumps(body[:200])}, '
                f'{json.dumps(self.sound)})'
            )

    def _show_presence(self) -> None:
        if self.open_id is not None:
            now = self.presence.of(self.open_id, excluding=self.viewer.user_id)
            self.chat.show_presence(now.viewing, now.typing)

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
        elif key.escape:
            self.right.set_visibility(not self.right.visible)

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
