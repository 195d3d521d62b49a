"""Left column: the conversation list. Live events update one row (or insert one at the top); the list is
never rebuilt per event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

from services.inbox.conversations import ConversationRow
from services.whatsapp.outbox import window_state_at

from ..i18n import t
from .conversation_row import ConversationRowElement
from .formatting import (
    preview,
    short_time,
    state_colour,
    state_label,
)

# Hidden rows each list keeps ready: a new conversation takes one (a method call in the browser) instead of adding
# an element, which would make every open page re-render all of itself (~30 ms each) on the message's path. The
# page's timer refills the pool in one render for several rows, away from any message.
SPARE_ROWS = 12
REFILL_BELOW = 4

# Quasar sizes a scroll area's content to what it holds (for sideways scrolling): a long preview made the whole
# list wider than its 300 px column, pushing the time and the unread badge out of sight. Rows cut their text instead.
LIST_CSS = """
.lm-list .q-scrollarea__content { width: 100%; max-width: 100%; }
.lm-list .q-scrollarea__container { overflow-x: hidden !important; }
"""


class ConversationItem:
    """One row of the list: a `ConversationRowElement` (one Vue component), showing a conversation or, hidden,
    waiting in the pool of spares for the next one."""

    def __init__(self, *, on_click: Callable[[int], Awaitable[None]], show_branch: bool) -> None:
        self.row: ConversationRow | None = None
        self.labels: list[str] = []
        self.show_branch = show_branch
        self.element = ConversationRowElement(on_click=lambda: on_click(self.row.id) if self.row else None)

    def assign(self, row: ConversationRow, *, rank: int, labels: list[str] | None = None) -> None:
        # `conversation-name` too: the row shows the name (the simulated user finds rows by it).
        self.element.mark(f'conversation-{row.id} conversation-name')
        self.labels = list(labels or [])
        self.update(row, rank=rank, hidden=False)

    def release(self) -> None:
        """Back to the pool: hidden, and found by nobody."""
        self.row = None
        self.labels = []
        self.element.mark('')
        self.element.show(hidden=True, selected=False)

    def update(self, row: ConversationRow, *, rank: int | None = None, hidden: bool | None = None) -> None:
        self.row = row
        values: dict[str, object] = {'rank': rank} if rank is not None else {}
        if hidden is not None:
            values['hidden'] = hidden
        self.element.show(
            contact=row.contact_name,
            time=short_time(row.last_message_at),
            preview=preview(row.last_message_preview),
            unread=row.unread_count,
            branch=row.branch_code if self.show_branch else '',
            state=state_label(row),
            colour=state_colour(row),
            deadline=_epoch(row.takeover_deadline),
            waiting_since=_epoch(row.waiting_since),
            waiting_text=t('inbox.waiting', minutes='{minutes}'),
            window_closes=_epoch(window_state_at(row.last_inbound_at).closes_at),
            # C3: a closed conversation says "Cerrada"; that its window has expired too is no news.
            expired_text=t('chat.state.expired') if row.phase != 'closed' else '',
            labels=self.labels,
            **values,
        )

    def set_labels(self, labels: list[str]) -> None:
        self.labels = list(labels)
        self.element.show(labels=self.labels)

    def set_selected(self, selected: bool) -> None:
        self.element.show(selected=selected)


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


class ConversationList:
    def __init__(
        self, *, on_select: Callable[[int], Awaitable[None]], on_more: Callable[[], Awaitable[None]], show_branch: bool
    ) -> None:
        self.on_select = on_select
        self.show_branch = show_branch
        self.items: dict[int, ConversationItem] = {}
        self.spares: list[ConversationItem] = []
        self.order: list[int] = []
        self.selected: int | None = None
        # CSS order of the first and the last row: a row moving to the top takes a smaller one (see the row).
        self._top_rank = 0
        self._bottom_rank = 0
        # `lm-list`: the scroll area's content is as wide as the column (LIST_CSS), never as wide as a long preview.
        ui.add_css(LIST_CSS)
        with ui.scroll_area().classes('lm-list w-full flex-1 min-h-0') as self.area:
            # A flex column, so each row's CSS `order` places it; separators are the rows' own borders (Quasar's
            # follow the DOM order, which no longer is the visible one).
            self.container = ui.list().classes('w-full flex flex-col flex-nowrap').mark('conversation-list')
            self.empty = ui.label(t('inbox.empty')).classes('text-sm text-slate-500 p-4').mark('conversations-empty')
            self.more = (
                ui.button(t('inbox.more'), on_click=on_more).props('flat dense').classes('w-full').mark('load-more')
            )

    def show(
        self,
        rows: list[ConversationRow],
        *,
        has_more: bool,
        append: bool = False,
        labels: dict[int, list[str]] | None = None,
    ) -> None:
        """`labels`: the rows' labels (`services.inbox.labels.labels_of`)."""
        if not append:
            self.container.clear()
            self.items.clear()
            self.spares.clear()
            self.order.clear()
            self._top_rank = self._bottom_rank = 0
        for row in rows:
            if row.id not in self.items:
                with self.container:
                    item = self.items[row.id] = ConversationItem(on_click=self.on_select, show_branch=self.show_branch)
                item.assign(row, rank=self._bottom_rank, labels=(labels or {}).get(row.id))
                self._bottom_rank += 1
                self.order.append(row.id)
        self.refill()
        self.more.set_visibility(has_more)
        self._after_change()

    def refill(self) -> None:
        """Top the pool of hidden rows up again (one render for all of them), when it runs low."""
        if len(self.spares) >= REFILL_BELOW:
            return
        while len(self.spares) < SPARE_ROWS:
            with self.container:
                spare = ConversationItem(on_click=self.on_select, show_branch=self.show_branch)
            spare.element.show(hidden=True)
            self.spares.append(spare)

    def upsert(self, row: ConversationRow, *, belongs: bool) -> bool:
        """Update, insert or remove one row after an event; True when the row was new to this list."""
        item = self.items.get(row.id)
        if not belongs:
            if item is not None and row.id != self.selected:  # the open conversation stays until left
                item.release()
                self.spares.append(item)
                del self.items[row.id]
                self.order.remove(row.id)
                self._after_change()
            return False
        if item is None:
            self._top_rank -= 1
            if self.spares:
                item = self.spares.pop()
            else:  # the pool ran dry within a second: a new element, the slow way
                with self.container:
                    item = ConversationItem(on_click=self.on_select, show_branch=self.show_branch)
            item.assign(row, rank=self._top_rank)
            self.items[row.id] = item
            self.order.insert(0, row.id)
            self._after_change()
            return True
        to_top = (
            row.last_message_at != (item.row.last_message_at if item.row else None)
            and self.order
            and self.order[0] != row.id
        )
        if to_top:
            self._top_rank -= 1
            self.order.remove(row.id)
            self.order.insert(0, row.id)
        item.update(row, rank=self._top_rank if to_top else None)
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

    def set_labels(self, conversation_id: int, labels: list[str]) -> None:
        """A conversation's labels changed (this agent's panel or a colleague's): its row shows them."""
        if (item := self.items.get(conversation_id)) is not None and item.labels != labels:
            item.set_labels(labels)

    def total_unread(self) -> int:
        return sum(item.row.unread_count for item in self.items.values() if item.row is not None)

    def _after_change(self) -> None:
        self.empty.set_visibility(not self.items)
