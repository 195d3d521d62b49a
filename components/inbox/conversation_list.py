"""Left column: the conversation list. Live events update one row (or insert one at the top); the list is
never rebuilt per event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

from services.conversations import ConversationRow
from services.models.types import utcnow

from ..i18n import t
from .conversation_row import ConversationRowElement
from .formatting import (
    AMBER_SECONDS,
    clock,
    preview,
    remaining_seconds,
    short_time,
    state_colour,
    state_label,
    waiting_minutes,
)


class ConversationItem:
    """One conversation of the list: a `ConversationRowElement` (one Vue component) with its chip and countdown."""

    def __init__(self, row: ConversationRow, *, on_click: Callable[[int], Awaitable[None]],
                 show_branch: bool) -> None:
        self.row = row
        self.show_branch = show_branch
        self._amber: bool | None = None
        # `conversation-name` too: the row shows the name (the simulated user finds rows by it).
        self.element = ConversationRowElement(on_click=lambda: on_click(self.row.id)) \
            .mark(f'conversation-{row.id} conversation-name')
        self.element.state.mark('state-chip')
        self.element.countdown.mark('countdown')
        self.update(row)
        self.tick(utcnow())

    def update(self, row: ConversationRow) -> None:
        self.row = row
        self.element.show(contact=row.contact_name, time=short_time(row.last_message_at),
                          preview=preview(row.last_message_preview), unread=row.unread_count,
                          branch=row.branch_code if self.show_branch else '', waiting=self._waiting_text(),
                          timer=row.takeover_deadline is not None)
        self.element.state.text = state_label(row)
        if self.element.state.props.get('color') != (colour := state_colour(row)):
            self.element.state.props['color'] = colour
        if row.takeover_deadline is None:
            self.element.countdown.text = ''  # the component hides the box (`timer`); no stale time stays behind

    def tick(self, now: datetime) -> None:
        """T2: the holder's remaining time, from the page's one timer."""
        seconds = remaining_seconds(self.row.takeover_deadline, now)
        if seconds is None:
            return
        countdown = self.element.countdown
        countdown.text = clock(seconds)
        amber = seconds <= AMBER_SECONDS
        if amber != self._amber:  # only a change of colour goes over the websocket, not one per second
            self._amber = amber
            countdown.classes(replace='text-[10px] ' + ('text-amber-600 font-semibold' if amber else 'text-slate-500'))

    def _waiting_text(self) -> str:
        minutes = waiting_minutes(self.row)
        return t('inbox.waiting', minutes=minutes) if minutes is not None else ''

    def refresh_waiting(self) -> None:
        self.element.show(waiting=self._waiting_text())

    def set_selected(self, selected: bool) -> None:
        self.element.classes(add='bg-slate-200' if selected else '', remove='' if selected else 'bg-slate-200')


class ConversationList:
    def __init__(self, *, on_select: Callable[[int], Awaitable[None]], on_more: Callable[[], Awaitable[None]],
                 show_branch: bool) -> None:
        self.on_select = on_select
        self.show_branch = show_branch
        self.items: dict[int, ConversationItem] = {}
        self.order: list[int] = []
        self.selected: int | None = None
        with ui.scroll_area().classes('w-full flex-1') as self.area:
            self.container = ui.list().props('separator').classes('w-full').mark('conversation-list')
            self.empty = ui.label(t('inbox.empty')).classes('text-sm text-slate-500 p-4').mark('conversations-empty')
            self.more = ui.button(t('inbox.more'), on_click=on_more).props('flat dense').classes('w-full') \
                .mark('load-more')

    def show(self, rows: list[ConversationRow], *, has_more: bool, append: bool = False) -> None:
        if not append:
            self.container.clear()
            self.items.clear()
            self.order.clear()
        for row in rows:
            if row.id not in self.items:
                with self.container:
                    self.items[row.id] = ConversationItem(row, on_click=self.on_select, show_branch=self.show_branch)
                self.order.append(row.id)
        self.more.set_visibility(has_more)
        self._after_change()

    def upsert(self, row: ConversationRow, *, belongs: bool) -> bool:
        """Update, insert or remove one row after an event; True when the row was new to this list."""
        item = self.items.get(row.id)
        if not belongs:
            if item is not None and row.id != self.selected:  # the open conversation stays until left
                item.element.delete()
                del self.items[row.id]
                self.order.remove(row.id)
                self._after_change()
            return False
        if item is None:
            with self.container:
                item = self.items[row.id] = ConversationItem(row, on_click=self.on_select,
                                                             show_branch=self.show_branch)
            self.order.insert(0, row.id)
            item.element.move(self.container, target_index=0)
            self._after_change()
            return True
        moved = row.last_message_at != item.row.last_message_at
        item.update(row)
        item.tick(utcnow())
        if moved and self.order and self.order[0] != row.id:
            self.order.remove(row.id)
            self.order.insert(0, row.id)
            item.element.move(self.container, target_index=0)
        return False

    def select(self, conversation_id: int | None) -> None:
        for item_id in (self.selected, conversation_id):
            if item_id in self.items:
                self.items[item_id].set_selected(item_id == conversation_id)
        self.selected = conversation_id

    def neighbour(self, step: int) -> int | None:
        """The conversation above (-1) or below (+1) the selected one, for the arrow keys."""
        if not self.order:
            return None
        if self.selected not in self.order:
            return self.order[0]
        index = self.order.index(self.selected) + step
        return self.order[index] if 0 <= index < len(self.order) else None

    def total_unread(self) -> int:
        return sum(item.row.unread_count for item in self.items.values())

    def refresh_waiting(self) -> None:
        for item in self.items.values():
            item.refresh_waiting()

    def tick(self, now: datetime) -> None:
        for item in self.items.values():
            if item.row.takeover_deadline is not None:
                item.tick(now)

    def _after_change(self) -> None:
        self.empty.set_visibility(not self.items)
