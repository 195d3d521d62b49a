"""Centre column: header, message thread and composer. New messages are appended one by one and ticks
update in place; the thread is only rebuilt when another conversation is opened. Under a customer's photo, the
VIN read from it (V1) with a manual correction; the page loads the thread's readings in one query and passes
each new one in (`show_vin_reading`) when `vin.read` arrives.

Private notes (C1) sit among the messages by time, styled apart; the chat loads them itself for the messages it
shows (`NotesAccess`), and `note_created` adds one another agent of the branch just wrote. The thread follows its
newest message in the browser (`ThreadFollower`) while the agent is at the bottom."""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from nicegui import background_tasks, ui

from services.access import Viewer
from services.database import Database
from services.errors import NotFound, ServiceError
from services.events import Event, EventPublisher
from services.inbox import notes as notes_service
from services.inbox.console import Canned, ConversationDetail, TemplateOption, ThreadMessage
from services.inbox.notes import NoteView
from services.vin.readings import VinReadingPublic

from ..i18n import local_time, t
from ..thread_follow import ThreadFollower
from ..vin.reading_view import VinReadingView
from ..whatsapp_text import render as render_text
from .countdown import Countdown
from .formatting import (
    TICKS,
    state_colour,
    state_label,
    waiting_minutes,
)

SendText = Callable[[str], Awaitable[bool]]
SendTemplate = Callable[[TemplateOption, list[str]], Awaitable[bool]]
# (photo message id, the VIN the agent typed) → the stored reading; raises the service's errors.
CorrectVin = Callable[[int, str], Awaitable[VinReadingPublic]]
# F5: send again a reply whose send was interrupted (status unconfirmed); True when it was queued again.
Resend = Callable[[int], Awaitable[bool]]


def is_customer_photo(message: ThreadMessage) -> bool:
    """The messages the VIN reader reads: inbound images, and documents that are images."""
    if message.direction != 'in':
        return False
    return message.type == 'image' or (
        message.type == 'document' and message.media is not None and message.media.mime_type.startswith('image/')
    )


def photo_ids(messages: list[ThreadMessage]) -> list[int]:
    return [message.id for message in messages if is_customer_photo(message)]


def sender_label(message: ThreadMessage) -> str:
    """Who said it: only what came in is the customer's; what went out is the AI's, an agent's (by name) or the
    system's (a ticket the customer's own "sí" produced) — never labelled as the customer."""
    if message.direction == 'in':
        return t('chat.customer')
    if message.sender_kind == 'ai':
        return t('chat.ai')
    if message.fields.get('from_phone'):  # WA-Web: typed on the business's phone itself, not in LeadMaster
        return f'{t("chat.agent")} · {t("message.from_phone")}'
    if message.sender_kind == 'agent':
        return message.sender_name or t('chat.agent')
    return t('chat.system')


@dataclass(frozen=True)
class NotesAccess:
    """What the chat needs to read and write private notes as the page's signed-in person."""

    db: Database
    viewer: Viewer
    publisher: EventPublisher


# Where an item sits in the thread: by time, then messages before notes of the same instant, then id.
ThreadKey = tuple[datetime, int, int]


class MessageBubble:
    def __init__(
        self,
        message: ThreadMessage,
        *,
        reading: VinReadingPublic | None = None,
        on_correct_vin: CorrectVin | None = None,
        on_resend: Resend | None = None,
    ) -> None:
        self.message = message
        self.on_correct_vin = on_correct_vin
        self.on_resend = on_resend
        self.resend: ui.button | None = None  # made the first time the reply is unconfirmed
        self.vin_view: VinReadingView | None = None
        outbound = message.direction == 'out'
        colour = {'ai': 'bg-purple-50', 'agent': 'bg-green-100', 'system': 'bg-slate-100'}.get(
            message.sender_kind, 'bg-white'
        )
        with (
            ui.row().classes('w-full no-wrap ' + ('justify-end' if outbound else 'justify-start')) as self.element,
            ui.column()
            .classes(f'gap-0 px-3 py-2 rounded-lg max-w-[75%] min-w-0 shadow-sm {colour}')
            .mark(f'message-{message.id}'),
        ):
            ui.label(sender_label(message)).classes('text-[11px] font-medium text-slate-500').mark('sender')
            if message.type != 'text' and not (kind := t(f'chat.kind.{message.type}')).startswith('chat.kind.'):
                ui.label(kind).classes('text-xs text-slate-500')
            if message.redacted:  # O3: what remains of a message past its branch's retention
                ui.label(t('chat.redacted')).classes('text-xs italic text-slate-500').mark('message-redacted')
            with ui.column().classes('gap-1') as self.media_box:
                self._render_media()
            self.vin_box = ui.column().classes('gap-1')
            self._mount_vin(reading)
            if message.text:
                # Text elements only, never HTML: '<img src=x onerror=…>' is shown as those characters; WhatsApp's
                # *negrita*, _cursiva_, ~tachado~ and ```mono``` show as the customer sees them.
                render_text(message.text, marker='message-text')
            with ui.row().classes('gap-1 self-end items-center'):
                ui.label(local_time(message.sent_at, '%H:%M')).classes('text-[10px] text-slate-500')
                self.ticks = ui.label().classes('text-[11px]').mark('ticks')
            with ui.row().classes('gap-2 items-center') as self.problem:
                self.error = ui.label().classes('text-[11px] text-negative').mark('message-error')
        self.set_status(message.status, message.error_title)

    def set_status(self, status: str, error_title: str = '') -> None:
        if self.message.direction != 'out':
            self.ticks.set_visibility(False)
            self.error.set_visibility(False)
            return
        self.ticks.text = TICKS.get(status, '')
        self.ticks.classes(
            replace='text-[11px] ' + ('text-sky-500' if status in {'read', 'played'} else 'text-slate-500')
        )
        # A title, not ui.tooltip: a tooltip is a new element per status change, and a status arrives from the
        # event bus, outside any page context where elements could be created.
        self.ticks.props['title'] = status
        problem = ''
        if status == 'failed':
            problem = t('chat.failed', reason=error_title or status)
        elif status == 'unconfirmed':
            problem = t('chat.unconfirmed')
        elif status == 'blocked':
            problem = t('campaigns.chat_blocked', reason=error_title)
        elif status == 'queued' and error_title:
            problem = t('chat.retrying', reason=error_title)
        self.error.text = problem
        self.problem.set_visibility(bool(problem))
        self._offer_resend(status == 'unconfirmed')

    def _offer_resend(self, wanted: bool) -> None:
        """F5: an unconfirmed reply (its sender died mid-send: Meta may or may not have it) gets "Reenviar"; the
        agent decides, since the customer may then get it twice. Made within the bubble (`with self.problem`):
        a status arrives from the event bus, outside any page's context."""
        if self.on_resend is None:
            return
        if wanted and self.resend is None:
            with self.problem:
                self.resend = (
                    ui.button(t('chat.resend'), icon='refresh', on_click=self._resend)
                    .props('flat dense size=sm color=negative')
                    .mark('resend')
                )
        if self.resend is not None:
            self.resend.set_visibility(wanted)

    async def _resend(self) -> None:
        if self.on_resend is not None and self.resend is not None:
            self.resend.disable()
            if not await self.on_resend(self.message.id):
                self.resend.enable()

    def set_media(self, message: ThreadMessage) -> None:
        self.message = message
        self.media_box.clear()
        with self.media_box:
            self._render_media()
        self._mount_vin(None)

    def _mount_vin(self, reading: VinReadingPublic | None) -> None:
        """Under a customer's photo: its reading, or "reading…" once the file is stored (the reader starts
        then). A photo whose file never arrived has nothing to read, so shows nothing."""
        if not is_customer_photo(self.message):
            return
        if self.vin_view is not None:
            if reading is not None:
                self.vin_view.show(reading)
            return
        media = self.message.media
        if reading is None and (media is None or media.status != 'stored'):
            return
        message_id = self.message.id
        correct = self.on_correct_vin
        with self.vin_box:
            self.vin_view = VinReadingView(
                reading, on_correct=(lambda text: correct(message_id, text)) if correct is not None else None
            )

    def show_vin_reading(self, reading: VinReadingPublic | None) -> None:
        if self.vin_view is None:
            self._mount_vin(reading)
        else:
            self.vin_view.show(reading)

    def _render_media(self) -> None:
        media = self.message.media
        fields = self.message.fields
        if media is not None and media.status != 'redacted':  # a removed file: the bubble already says so
            if media.status != 'stored':
                ui.label(t('chat.media_failed') if media.status == 'failed' else t('chat.media_pending')).classes(
                    'text-xs text-slate-500 italic'
                ).mark('media-state')
            elif media.mime_type.startswith('image/') and media.has_thumbnail:
                with ui.link(target=f'/media/{media.id}', new_tab=True):
                    ui.image(f'/media/{media.id}/thumbnail').classes('w-56 rounded').mark('media-thumbnail')
            elif media.mime_type.startswith('audio/'):
                ui.audio(f'/media/{media.id}').classes('w-64').mark('media-audio')
            elif media.mime_type.startswith('video/'):
                ui.video(f'/media/{media.id}').classes('w-64').mark('media-video')
            else:
                ui.link(media.filename or t('chat.open_file'), f'/media/{media.id}', new_tab=True).mark('media-link')
        if self.message.type == 'location' and fields.get('latitude') is not None:
            lat, lon = fields['latitude'], fields['longitude']
            ui.link(
                t('chat.location') + f' ({lat:.5f}, {lon:.5f})',
                f'https://www.openstreetmap.org/?mlat={quote(str(lat))}&mlon={quote(str(lon))}',
                new_tab=True,
            ).mark('location-link')


class NoteBubble:
    """A private note in the thread: amber, dashed, across the thread's width, never with ticks (never sent)."""

    def __init__(self, note: NoteView) -> None:
        self.note = note
        with (
            ui.row().classes('w-full no-wrap justify-center') as self.element,
            ui.column()
            .classes('gap-0 px-3 py-2 rounded-lg w-[85%] min-w-0 bg-amber-50 border border-dashed border-amber-400')
            .mark(f'note-{note.id}'),
        ):
            with ui.row().classes('gap-1 items-center no-wrap'):
                ui.icon('lock', size='14px').classes('text-amber-700')
                ui.label(t('chat.note_by', name=note.author_name or t('chat.agent'))).classes(
                    'text-[11px] font-medium text-amber-800'
                ).mark('note-author')
            render_text(note.text, marker='note-text')
            ui.label(local_time(note.created_at, '%H:%M')).classes('text-[10px] text-slate-500 self-end')


class ChatView:
    def __init__(
        self,
        *,
        on_send_text: SendText,
        on_send_template: SendTemplate,
        on_typing: Callable[[], Awaitable[None]],
        on_load_older: Callable[[], Awaitable[None]],
        on_correct_vin: CorrectVin | None = None,
        on_resend: Resend | None = None,
        notes: NotesAccess | None = None,
    ) -> None:
        self.on_send_text = on_send_text
        self.notes_access = notes
        self.notes: dict[int, NoteBubble] = {}
        self.keys: list[ThreadKey] = []  # the thread's items in display order (messages and notes)
        self.note_mode = False
        self.on_correct_vin = on_correct_vin
        self.on_resend = on_resend
        self.on_send_template = on_send_template
        self.on_typing = on_typing
        self.bubbles: dict[int, MessageBubble] = {}
        self.order: list[int] = []  # message ids as displayed, oldest first
        self.detail: ConversationDetail | None = None
        self.canned: list[Canned] = []
        with ui.column().classes('w-full h-full no-wrap gap-0') as self.root:
            self.placeholder = ui.label(t('inbox.pick')).classes('m-auto text-slate-500').mark('chat-placeholder')
            with ui.column().classes('w-full h-full no-wrap gap-0') as self.body:
                with ui.row().classes('w-full items-center gap-2 px-3 py-2 border-b bg-white no-wrap'):
                    with ui.column().classes('gap-0 flex-1 min-w-0'):
                        self.title = ui.label().classes('font-semibold truncate').mark('chat-title')
                        self.subtitle = ui.label().classes('text-xs text-slate-500 truncate').mark('chat-subtitle')
                    # M6: a WhatsApp-Web number's conversation says so (listen-only by default, no 24 h window).
                    self.channel = ui.badge(t('channel.waha'), color='teal').props('outline').mark('chat-channel')
                    self.channel.set_visibility(False)
                    self.state = ui.badge().props('outline').mark('chat-state')
                    self.countdown = Countdown(badge=True).mark('chat-countdown')
                    self.waiting = ui.badge(color='orange').props('outline').mark('chat-waiting')
                self.presence = ui.label().classes('text-xs text-blue-700 px-3 min-h-[1rem]').mark('presence')
                with ui.scroll_area().classes('w-full flex-1 bg-[#efe7dd]') as self.area:
                    self.older = (
                        ui.button(t('chat.older'), on_click=on_load_older)
                        .props('flat dense')
                        .classes('self-center')
                        .mark('load-older')
                    )
                    self.thread = ui.column().classes('w-full gap-1 p-2').mark('thread')
                    self.follower = ThreadFollower()
                self.window = ui.label().classes('text-xs px-3 pt-1').mark('window-state')
                self.composer = ui.column().classes('w-full px-2 pb-2 gap-1')
        self.body.set_visibility(False)

    # --- opening and live changes ---

    def open(
        self,
        detail: ConversationDetail,
        messages: list[ThreadMessage],
        *,
        has_older: bool,
        canned: list[Canned],
        templates: list[TemplateOption],
        readings: dict[int, VinReadingPublic] | None = None,
    ) -> None:
        self.placeholder.set_visibility(False)
        self.body.set_visibility(True)
        self.canned = canned
        self.bubbles.clear()
        self.order.clear()
        self.notes.clear()
        self.keys.clear()
        self.thread.clear()
        self.note_mode = False
        self.show_detail(detail, templates=templates)
        self.append_many(messages, readings=readings)
        self.older.set_visibility(has_older)
        self.presence.text = ''
        # Notes written since the oldest message shown (all of them when the whole thread is shown).
        self._load_notes(since=messages[0].sent_at if messages and has_older else None, until=None)

    def show_detail(self, detail: ConversationDetail, *, templates: list[TemplateOption] | None = None) -> None:
        window_changed = (
            self.detail is None or self.detail.window_open != detail.window_open or self.detail.row.id != detail.row.id
        )
        self.detail = detail
        row = detail.row
        self.title.text = row.contact_name
        self.subtitle.text = ' · '.join(filter(None, [row.contact_phone, detail.number_display, row.branch_code]))
        self.channel.set_visibility(detail.number_channel == 'waha')
        self.state.text = (
            t('takeover.state.assigned', name=row.assigned_to)
            if row.phase == 'assigned' and row.assigned_to
            else state_label(row)
        )
        self.state.props(f'color={state_colour(row)}')
        self.countdown.show(row.takeover_deadline)  # counted down in the browser
        minutes = waiting_minutes(row)
        self.waiting.text = t('inbox.waiting', minutes=minutes) if minutes is not None else ''
        self.waiting.set_visibility(minutes is not None)
        self.window.text = (
            t('chat.window_open', time=local_time(detail.window_closes_at, '%d/%m %H:%M'))
            if detail.window_open
            else t('chat.window_closed')
        )
        self.window.classes(
            replace='text-xs px-3 pt-1 ' + ('text-slate-500' if detail.window_open else 'text-orange-700')
        )
        if window_changed or templates is not None:
            self._build_composer(templates or [])

    def append_many(
        self, messages: list[ThreadMessage], *, readings: dict[int, VinReadingPublic] | None = None
    ) -> None:
        for message in messages:
            self.append(message, scroll=False, reading=(readings or {}).get(message.id))
        self.follower.to_bottom()

    def append(self, message: ThreadMessage, *, scroll: bool = True, reading: VinReadingPublic | None = None) -> None:
        """A new message. The thread follows it if the agent is at the bottom (the browser decides, once the
        bubble is laid out); an agent reading older messages is left where she is. `scroll` is kept for callers
        of the page; the browser's rule applies to every append."""
        if message.id in self.bubbles:
            return
        with self.thread:
            bubble = self.bubbles[message.id] = MessageBubble(
                message, reading=reading, on_correct_vin=self.on_correct_vin, on_resend=self.on_resend
            )
        self._place((message.sent_at, 0, message.id), bubble.element)
        self.order.append(message.id)

    def _place(self, key: ThreadKey, element: ui.element) -> None:
        """Put a just-made item (made last in the thread) where its time says."""
        index = bisect.bisect(self.keys, key)
        self.keys.insert(index, key)
        if index < len(self.keys) - 1:
            element.move(self.thread, target_index=index)

    def prepend(
        self, messages: list[ThreadMessage], *, has_older: bool, readings: dict[int, VinReadingPublic] | None = None
    ) -> None:
        new = [message for message in messages if message.id not in self.bubbles]
        shown_from = self.keys[0][0] if self.keys else None
        for message in new:
            with self.thread:
                bubble = self.bubbles[message.id] = MessageBubble(
                    message,
                    reading=(readings or {}).get(message.id),
                    on_correct_vin=self.on_correct_vin,
                    on_resend=self.on_resend,
                )
            self._place((message.sent_at, 0, message.id), bubble.element)
        self.order[:0] = [message.id for message in new]
        self.older.set_visibility(has_older)
        if new:
            self._load_notes(since=new[0].sent_at if has_older else None, until=shown_from)

    # --- private notes ---

    def show_note(self, note: NoteView) -> None:
        """A note of the open conversation, at its place in time (once, however often it is announced)."""
        if note.id in self.notes or self.detail is None or note.conversation_id != self.detail.row.id:
            return
        with self.thread:
            bubble = self.notes[note.id] = NoteBubble(note)
        self._place((note.created_at, 1, note.id), bubble.element)

    async def on_event(self, event: Event) -> None:
        """An event of the open conversation (the page routes them here): a note another agent wrote."""
        if event.kind == notes_service.NOTE_CREATED and isinstance(note_id := event.data.get('note_id'), int):
            await self.note_created(note_id)

    async def note_created(self, note_id: int) -> None:
        """`note.created` for the open conversation (another agent of the branch, or this page, wrote it)."""
        if self.notes_access is None or note_id in self.notes:
            return
        access = self.notes_access
        with contextlib.suppress(NotFound):  # another branch's, or gone: nothing to show
            self.show_note(await notes_service.get_note(access.db, viewer=access.viewer, note_id=note_id))

    def _load_notes(self, *, since: datetime | None, until: datetime | None) -> None:
        if self.notes_access is None or self.detail is None:
            return
        access, conversation_id = self.notes_access, self.detail.row.id

        async def load() -> None:
            found = await notes_service.list_notes(
                access.db, viewer=access.viewer, conversation_id=conversation_id, since=since, until=until
            )
            if self.detail is not None and self.detail.row.id == conversation_id:  # still the open one
                for note in found:
                    self.show_note(note)

        self._notes_task = background_tasks.create(load(), name='chat-notes')

    async def wait_for_notes(self) -> None:
        """For tests: the notes of what is shown have been loaded."""
        task = getattr(self, '_notes_task', None)
        if task is not None:
            await task

    async def add_note(self, text: str) -> bool:
        if self.notes_access is None or self.detail is None:
            return False
        access = self.notes_access
        try:
            note = await notes_service.add_note(
                access.db,
                viewer=access.viewer,
                conversation_id=self.detail.row.id,
                text=text,
                publisher=access.publisher,
            )
        except ServiceError as exc:
            ui.notify(t('chat.note_failed', reason=str(exc)), type='negative')
            return False
        self.show_note(note)
        self.follower.to_bottom()
        return True

    def set_status(self, message_id: int, status: str, error_title: str = '') -> None:
        if (bubble := self.bubbles.get(message_id)) is not None:
            bubble.set_status(status, error_title)

    def oldest_id(self) -> int | None:
        return self.order[0] if self.order else None

    def newest_id(self) -> int | None:
        return max(self.order) if self.order else None

    def update_media(self, message: ThreadMessage) -> None:
        if (bubble := self.bubbles.get(message.id)) is not None:
            bubble.set_media(message)

    def show_vin_reading(self, message_id: int, reading: VinReadingPublic | None) -> None:
        """A `vin.read` for a photo of this thread (a new reading or an agent's correction)."""
        if (bubble := self.bubbles.get(message_id)) is not None:
            bubble.show_vin_reading(reading)

    def show_presence(self, viewing: tuple[str, ...], typing: tuple[str, ...]) -> None:
        if typing:
            self.presence.text = t('chat.typing', names=', '.join(typing))
        elif viewing:
            self.presence.text = t('chat.viewing', names=', '.join(viewing))
        else:
            self.presence.text = ''

    # --- composer (M4: free text inside the 24 h window, templates outside) ---

    def _build_composer(self, templates: list[TemplateOption]) -> None:
        self.composer.clear()
        assert self.detail is not None
        with self.composer:
            if self.detail.window_open:
                self._text_composer()
            else:
                self._template_composer(templates)

    def _text_composer(self) -> None:
        with ui.row().classes('w-full gap-1'):
            for canned in self.canned[:4]:
                ui.chip(canned.title, on_click=lambda c=canned: self._use_canned(c)).props(
                    'dense outline clickable'
                ).classes('text-xs').mark('quick-action')
        self.suggestions = ui.column().classes('w-full gap-0').mark('canned-suggestions')
        with ui.row().classes('w-full items-end no-wrap gap-1'):
            self.input = (
                ui.textarea(placeholder=t('chat.write'))
                .props('autogrow outlined dense rows=1')
                .classes('flex-1')
                .mark('composer')
            )
            self.input.on('keydown.enter.exact.prevent', self._send_text)
            self.input.on('keydown', self._typing, throttle=2.0)
            self.input.on_value_change(self._suggest)
            self.send_button = ui.button(icon='send', on_click=self._send_text).props('round color=green').mark('send')
            self.send_button.tooltip(t('chat.send'))
        if self.notes_access is not None:
            self.note_switch = (
                ui.switch(t('chat.note'), value=False, on_change=lambda event: self._note_mode(bool(event.value)))
                .props('dense color=amber-8')
                .classes('text-xs text-amber-900')
                .mark('note-toggle')
            )
            self.note_switch.tooltip(t('chat.note_hint'))

    def _note_mode(self, on: bool) -> None:
        """The composer writes a private note (amber, "Guardar nota") instead of a message to the customer."""
        self.note_mode = on
        self.input.props['placeholder'] = t('chat.write_note') if on else t('chat.write')
        if on:
            self.input.props['bg-color'] = 'amber-1'
        else:
            self.input.props.pop('bg-color', None)
        self.input.update()
        self.send_button.props['icon'] = 'sticky_note_2' if on else 'send'
        self.send_button.props['color'] = 'amber-8' if on else 'green'
        self.send_button.update()

    async def _typing(self) -> None:
        if not self.note_mode:  # a note is not a reply: the customer's conversation shows nobody typing
            await self.on_typing()

    def _suggest(self) -> None:
        """Typing '/' offers the canned responses whose shortcut starts with what follows."""
        self.suggestions.clear()
        value = self.input.value or ''
        if not value.startswith('/') or ' ' in value:
            return
        with self.suggestions:
            for canned in [c for c in self.canned if c.shortcut.startswith(value[1:].lower())][:6]:
                ui.item(f'/{canned.shortcut} · {canned.title}', on_click=lambda c=canned: self._use_canned(c)).props(
                    'dense clickable'
                ).classes('text-sm').mark('canned-option')

    def _use_canned(self, canned: Canned) -> None:
        self.input.value = canned.body
        self.suggestions.clear()
        self.input.run_method('focus')

    async def _send_text(self) -> None:
        text = (self.input.value or '').strip()
        if not text:
            return
        sent = await self.add_note(text) if self.note_mode else await self.on_send_text(text)
        if sent:
            self.input.value = ''
            self.suggestions.clear()
            self.follower.to_bottom()  # her own message: show it, wherever she was reading

    def _template_composer(self, templates: list[TemplateOption]) -> None:
        self._note_composer()
        if not templates:
            ui.label(t('chat.no_templates')).classes('text-sm text-slate-500').mark('no-templates')
            return
        options = {index: f'{template.name} ({template.language})' for index, template in enumerate(templates)}
        variables = ui.column().classes('w-full gap-1')
        preview = ui.label().classes('text-sm text-slate-600 whitespace-pre-wrap').mark('template-preview')
        inputs: list[ui.input] = []

        def chosen() -> None:
            variables.clear()
            inputs.clear()
            template = templates[select.value]
            with variables:
                for number in range(1, template.variable_count + 1):
                    inputs.append(
                        ui.input(t('chat.variable', n=number))
                        .props('dense outlined')
                        .classes('w-full')
                        .mark(f'template-variable-{number}')
                    )
            preview.text = template.body

        async def send() -> None:
            template = templates[select.value]
            if await self.on_send_template(template, [field.value or '' for field in inputs]):
                for field in inputs:
                    field.value = ''

        select = (
            ui.select(options, value=0, label=t('chat.template'), on_change=chosen)
            .classes('w-full')
            .mark('template-select')
        )
        chosen()
        ui.button(t('chat.send_template'), icon='send', on_click=send).props('color=green').mark('send-template')

    def _note_composer(self) -> None:
        """Outside the 24 h window the customer gets only templates, but agents still write notes to each other."""
        if self.notes_access is None:
            return
        with ui.row().classes('w-full items-end no-wrap gap-1'):
            note = (
                ui.input(placeholder=t('chat.write_note'))
                .props('outlined dense bg-color=amber-1')
                .classes('flex-1')
                .mark('note-composer')
            )

            async def save() -> None:
                text = (note.value or '').strip()
                if text and await self.add_note(text):
                    note.value = ''

            note.on('keydown.enter', save)
            ui.button(icon='sticky_note_2', on_click=save).props('round color=amber-8').mark('add-note').tooltip(
                t('chat.add_note')
            )
