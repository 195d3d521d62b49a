"""The console's live path (SPEC C1–C3, T4): what each event of the bus changes on one open inbox page.

`InboxLive` is the page's one bus subscriber (`LIVE_KINDS`). Events arrive already limited to the viewer's
branches (the bus filters, B2), and each changes only what it is about: one list row (inserted, updated or dropped
as the filters say, `belongs`), one appended bubble, one tick, one photo's VIN reading, and, for the open
conversation, its header and the client panel's sections. Rows and messages an event refers to are read once per
process for all pages (`SnapshotCache`). It also tells the agent what concerns her: a toast for takeover news, a
beep (and a desktop notification when the tab is hidden) for a new customer or a message in a conversation she
holds, and the unread count in the tab's title.

What the agent chose (filters, the open conversation, sound on or off) and the widgets stay the page's: the live
path reads them at every event through `InboxView`, and opens no database session (it calls services with the
page's `Database` and `Viewer`).
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from typing import Literal, Protocol

from fastapi import Request
from nicegui import Client, ui
from nicegui import storage as nicegui_storage

from services import metrics
from services.access import Viewer
from services.assistant import SUMMARY_UPDATED
from services.database import Database
from services.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_STATUS, Event, EventPublisher
from services.inbox import console
from services.inbox.console import SnapshotCache
from services.inbox.conversations import Assignment, ConversationRow
from services.inbox.labels import labels_of
from services.inbox.notes import NOTE_CREATED
from services.presence import PRESENCE_CHANGED, PresenceBoard
from services.sales.desk import QUOTE_UPDATED
from services.vin.readings import VIN_READ, reading_for_message

from ..i18n import local_time, t
from ..panel_section import NotifyKind
from .chat_view import ChatView
from .client_panel import ClientPanel
from .conversation_list import ConversationList
from .formatting import offer_running

# The kinds `InboxLive.on_event` handles: what an inbox page subscribes to.
LIVE_KINDS: tuple[str, ...] = (
    MESSAGE_CREATED,
    MESSAGE_STATUS,
    CONVERSATION_UPDATED,
    PRESENCE_CHANGED,
    SUMMARY_UPDATED,
    QUOTE_UPDATED,
    VIN_READ,
    NOTE_CREATED,
)

# `window.lmAlert(title, body, sound)`, which `InboxLive.alert` calls; the page adds it to its head.
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

StatusFilter = Literal['open', 'closed', 'all']
ModeFilter = Literal['any', 'ai', 'human']


@dataclass
class InboxFilters:
    """The list's filters as the agent set them (the page changes them; the list's query and `belongs` read them)."""

    branch_id: int | None = None  # a manager's branch selector; None: every branch she sees
    status: StatusFilter = 'open'
    assignment: Assignment = 'all'
    mode: ModeFilter = 'any'
    unread_only: bool = False
    label: str = ''
    search: str = ''


def folded(text: str) -> str:
    """Lower case without accents, to match a search term against a row like the database does."""
    return ''.join(c for c in unicodedata.normalize('NFD', text.lower()) if unicodedata.category(c) != 'Mn')


def belongs(row: ConversationRow, filters: InboxFilters, *, user_id: int | None, listed: Container[int]) -> bool:
    """Whether a row changed by an event belongs in a list so filtered, evaluated without a query. `user_id` is the
    viewer's ("mine"); `listed` holds the conversations the list shows now (a label is not on the row, and a search
    may have matched a message the row does not show: those keep what the query returned)."""
    if filters.branch_id is not None and row.branch_id != filters.branch_id:
        return False
    if filters.status not in {'all', row.status}:
        return False
    if filters.assignment == 'mine' and row.assigned_user_id != user_id:
        return False
    if filters.assignment == 'unassigned' and row.assigned_user_id is not None:
        return False
    if filters.mode not in {'any', row.mode}:
        return False
    if filters.unread_only and row.unread_count == 0:
        return False
    if filters.label:
        return row.id in listed
    if filters.search:
        haystack = folded(' '.join(filter(None, [row.contact_name, row.contact_phone, row.last_message_preview])))
        return folded(filters.search) in haystack or row.id in listed
    return True


class InboxView(Protocol):
    """The page as the live path sees it: its widgets, and what the agent has chosen (read at every event)."""

    list: ConversationList
    chat: ChatView
    panel: ClientPanel
    filters: InboxFilters
    open_id: int | None  # the conversation shown in the thread and the panel
    sound: bool  # the agent's sound switch


class InboxLive:
    """Routes the events of one inbox page (a tab) to its widgets; the page subscribes `on_event` to the bus."""

    def __init__(
        self,
        view: InboxView,
        *,
        viewer: Viewer,
        client: Client,
        db: Database,
        cache: SnapshotCache,
        publisher: EventPublisher,
        presence: PresenceBoard,
    ) -> None:
        self.view = view
        self.viewer = viewer
        self.client = client
        self.db = db
        self.cache = cache
        self.publisher = publisher
        self.presence = presence
        self._title: str | None = None  # what the browser tab shows now (C2: unread count)
        try:
            self._request: Request | None = client.request  # the page's own request: its user's storage
        except RuntimeError:  # a client without one (never a page's)
            self._request = None

    # --- routing (events already limited to the viewer's branches by the bus) ---

    async def on_event(self, event: Event) -> None:
        if self.client.id not in Client.instances:
            return
        # The bus runs this in a task copied from the publisher's: another user's request (her language, her
        # storage), or none at all (the default language). What this page shows is in ITS user's language.
        token = nicegui_storage.request_contextvar.set(self._request)
        try:
            await self._route(event)
        finally:
            nicegui_storage.request_contextvar.reset(token)

    async def _route(self, event: Event) -> None:
        view = self.view
        open_id = view.open_id
        if event.kind == CONVERSATION_UPDATED and event.conversation_id is not None:
            await self._conversation_changed(event)
        elif event.kind == MESSAGE_CREATED and event.conversation_id == open_id:
            message = await console.live_message(
                self.db, self.cache, viewer=self.viewer, message_id=event.data['message_id'], version=event.version
            )
            if message is not None:
                view.chat.append(message)
        elif event.kind == MESSAGE_STATUS and event.conversation_id == open_id:
            if 'media_status' in event.data:
                message = await console.live_message(
                    self.db, self.cache, viewer=self.viewer, message_id=event.data['message_id'], version=event.version
                )
                if message is not None:
                    view.chat.update_media(message)
            else:
                view.chat.set_status(event.data['message_id'], event.data['status'], event.data.get('error_title', ''))
        elif event.kind == PRESENCE_CHANGED and event.conversation_id == open_id:
            self.show_presence()
        elif event.kind == VIN_READ and event.conversation_id == open_id:
            await self._vin_read(event.data.get('message_id'))
        if event.conversation_id == view.open_id and view.open_id is not None:
            await view.chat.on_event(event)  # private notes (C1)
            await view.panel.on_event(event)
        if event.kind == MESSAGE_CREATED and event.data.get('direction') == 'in':
            await self._alert_if_mine(event)
        metrics.record_live_event(time.time() - event.at)  # from its publication to this page (O4)

    def belongs(self, row: ConversationRow) -> bool:
        """Whether a row changed by an event belongs in this page's list as filtered now."""
        return belongs(row, self.view.filters, user_id=self.viewer.user_id, listed=self.view.list.items)

    async def _conversation_changed(self, event: Event) -> None:
        view = self.view
        conversation_id = event.conversation_id or 0
        row = await console.live_row(
            self.db, self.cache, viewer=self.viewer, conversation_id=conversation_id, version=event.version
        )
        if row is None:
            return
        is_new = view.list.upsert(row, belongs=self.belongs(row))
        if event.data.get('reason') == 'labels' and conversation_id != view.open_id:
            # (the open conversation's labels come with its detail, below)
            found = await labels_of(self.db, viewer=self.viewer, conversation_ids=[conversation_id])
            view.list.set_labels(conversation_id, found.get(conversation_id, []))
        self.update_title()
        if is_new and row.assigned_user_id is None and event.data.get('reason') == 'inbound':
            self.alert(t('inbox.new_conversation', name=row.contact_name), row.last_message_preview)
        self._notify_takeover(event, row)
        if conversation_id == view.open_id:
            if event.data.get('reason') == 'inbound':
                await console.mark_read(
                    self.db, viewer=self.viewer, conversation_id=conversation_id, publisher=self.publisher
                )
            detail = await console.conversation_detail(self.db, viewer=self.viewer, conversation_id=conversation_id)
            templates = None
            if not detail.window_open and view.chat.detail is not None and view.chat.detail.window_open:
                templates = await console.approved_templates(
                    self.db, viewer=self.viewer, conversation_id=conversation_id
                )
            view.chat.show_detail(detail, templates=templates)
            view.list.set_labels(conversation_id, list(detail.labels))
            await view.panel.show(detail)

    def _notify_takeover(self, event: Event, row: ConversationRow) -> None:
        """T4: tell this agent when a conversation is assigned or offered to her, taken from her, or becomes
        available in her branch (not for her own actions)."""
        me = self.viewer.user_id
        data = event.data
        if me is None or data.get('actor_user_id') == me or 'phase' not in data:
            return
        reason = data.get('reason')
        if reason in {'rule', 'reassign'} and data.get('user_id') == me:
            self.notify(t('takeover.notify.assigned', name=row.contact_name), 'info', alert=True)
        elif reason == 'reassign' and data.get('previous_user_id') == me:
            self.notify(t('takeover.notify.lost', name=row.contact_name), 'warning')
        elif reason == 'timeout' and data.get('user_id') == me:
            self.notify(t('takeover.notify.lost', name=row.contact_name), 'warning', alert=True)
        elif reason == 'offer' and data.get('user_id') == me and offer_running(row):
            self.notify(
                t('takeover.notify.offered', name=row.contact_name, time=local_time(row.offer_expires_at, '%H:%M')),
                'info',
                alert=True,
            )
        elif data.get('available') and row.assigned_user_id is None and row.branch_id == self.viewer.branch_id:
            key = 'takeover.notify.available' if row.phase == 'waiting' else 'takeover.notify.released'
            self.notify(t(key, name=row.contact_name), 'info', alert=True)

    async def _alert_if_mine(self, event: Event) -> None:
        # The listed row knows who holds the conversation (its changes arrive as events too): no read per message,
        # which would also hold up this page's next event, the list row's own update.
        item = self.view.list.items.get(event.conversation_id or 0)
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
        if row is not None and row.assigned_user_id == self.viewer.user_id and row.id != self.view.open_id:
            self.alert(t('inbox.new_message', name=row.contact_name), event.data.get('text', ''))

    async def _vin_read(self, message_id: object) -> None:
        """A photo of the open thread was read (or its VIN corrected, maybe on another page): show it."""
        if isinstance(message_id, int):
            self.view.chat.show_vin_reading(
                message_id, await reading_for_message(self.db, viewer=self.viewer, message_id=message_id)
            )

    # --- telling the agent ---

    def notify(self, message: str, kind: NotifyKind = 'info', *, alert: bool = False) -> None:
        """A toast on this page (also the client panel's `PanelContext.notify`); `alert` adds the beep."""
        with self.client:
            ui.notify(message, type=kind, position='top-right')
        if alert:
            self.alert(message, '')

    def alert(self, title: str, body: str) -> None:
        """A beep if the agent's sound is on, and a desktop notification when the tab is hidden (ALERT_SCRIPT)."""
        with self.client:
            ui.run_javascript(
                f'window.lmAlert && window.lmAlert({json.dumps(title)}, {json.dumps(body[:200])}, '
                f'{json.dumps(self.view.sound)})'
            )

    def show_presence(self) -> None:
        """Who else views or types in the open conversation, under its header (C2)."""
        open_id = self.view.open_id
        if open_id is not None:
            now = self.presence.of(open_id, excluding=self.viewer.user_id)
            self.view.chat.show_presence(now.viewing, now.typing)

    def update_title(self) -> None:
        """The tab's title with the list's unread count; sent to the browser only when it changes."""
        unread = self.view.list.total_unread()
        title = f'{t("inbox.title")} · LeadMaster'
        title = f'({unread}) {title}' if unread else title
        if title == self._title:  # every row update asks; only a change goes to the browser
            return
        self._title = title
        with self.client:
            ui.page_title(title)
