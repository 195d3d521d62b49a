"""The client panel's extension point: a section is one block of the console's right column, written as a class in
its own file (in its feature's folder: `components/inbox/`, `components/assistant/`, `components/sales/`…) and
listed once in `PANEL_SECTIONS`, where the inbox page composes the panel (`app/pages/inbox.py`). This module sits
at the top of `components/` so that features write sections without importing the console's own package.

A section builds its elements in `__init__` (the panel has already entered the section's own column, so
whatever it creates lands there) and then receives, from the page:

- `show(detail)`: a conversation was opened, or the open one changed (new state, new message, new data);
- `clear()`: no conversation is open any more;
- `on_event(event)`: an event about the open conversation (message.created, message.status,
  conversation.updated, presence.changed, summary.updated, quote.updated, vin.read) for sections that refresh
  on their own schedule;
- `tick(now)`: once a second from the page's single timer (countdowns); keep it cheap.

Sections call services themselves with `context.db` and `context.viewer` (never opening sessions), publish
through `context.publisher`, and tell the agent things with `context.notify(message, kind)`. Every method is
optional; `show` and `on_event` may be coroutines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from nicegui import ui

from services.access import Viewer
from services.database import Database
from services.events import Event, EventPublisher
from services.inbox.console import ConversationDetail

NotifyKind = Literal['positive', 'negative', 'info', 'warning']
"""How a toast to the agent looks (`ui.notify`'s `type`)."""


@dataclass
class PanelContext:
    viewer: Viewer
    db: Database
    publisher: EventPublisher
    notify: Callable[[str, NotifyKind], None]  # a toast to the agent: (message, kind)
    reload: Callable[[], Awaitable[None]]  # re-read the open conversation and show it again everywhere
    # Runtime objects a section may need (settings, presence board, media store…), by name.
    services: dict[str, Any] = field(default_factory=dict)


class PanelSection:
    """Base class with no-op hooks; `key` names the section (and its column's marker `panel-<key>`)."""

    key: ClassVar[str] = ''

    def __init__(self, context: PanelContext) -> None:
        self.context = context

    def show(self, detail: ConversationDetail) -> Awaitable[None] | None:
        return None

    def clear(self) -> None:
        return None

    def on_event(self, event: Event) -> Awaitable[None] | None:
        return None

    def tick(self, now: datetime) -> None:
        return None


class SlotSection(PanelSection):
    """An empty column another feature fills from outside (`ClientPanel.slot(key)`), e.g. the AI summary."""

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        self.column = ui.column().classes('w-full gap-2').mark(f'{self.key}-slot')


def slot(key: str) -> type[PanelSection]:
    """A registry entry for a named empty slot."""
    return type(f'{key.title()}Slot', (SlotSection,), {'key': key})
