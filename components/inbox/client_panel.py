"""Right column: the client panel, a stack of sections (takeover, AI summary, quote, contact and labels, history…)
given by the page that composes it (`PANEL_SECTIONS` in `app/pages/inbox.py`). The panel only routes the page's
calls to every section; one section failing is logged and does not blank the others."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from datetime import datetime

from nicegui import ui

from services.events import Event
from services.inbox.console import ConversationDetail

from ..panel_section import PanelContext, PanelSection, SlotSection

log = logging.getLogger(__name__)


class ClientPanel:
    def __init__(self, context: PanelContext, *, sections: Sequence[type[PanelSection]]) -> None:
        """`sections`: the section classes, top to bottom; each gets its own column marked `panel-<key>`."""
        self.sections: list[PanelSection] = []
        self._columns: dict[str, ui.column] = {}
        with ui.column().classes('w-full h-full gap-3 p-3 overflow-y-auto').mark('client-panel') as self.root:
            for factory in sections:
                with ui.column().classes('w-full gap-2').mark(f'panel-{factory.key}') as column:
                    section = factory(context)
                self.sections.append(section)
                self._columns[factory.key] = section.column if isinstance(section, SlotSection) else column
        self.root.set_visibility(False)

    def slot(self, key: str) -> ui.column:
        """The column of the section named `key` (a `slot(...)` entry is an empty one to fill)."""
        return self._columns[key]

    @property
    def summary_slot(self) -> ui.column:
        return self.slot('summary')

    @property
    def takeover_slot(self) -> ui.column:
        return self.slot('takeover')

    def section(self, key: str) -> PanelSection:
        return next(section for section in self.sections if section.key == key)

    async def show(self, detail: ConversationDetail) -> None:
        for section in self.sections:
            await self._call(section, 'show', detail)
        # Shown once every section has the conversation: an agent typing in a field the moment it appeared lost
        # her text when that section's `show` (after slower ones) filled in the stored values.
        self.root.set_visibility(True)

    async def clear(self) -> None:
        self.root.set_visibility(False)
        for section in self.sections:
            await self._call(section, 'clear')

    async def on_event(self, event: Event) -> None:
        for section in self.sections:
            await self._call(section, 'on_event', event)

    def tick(self, now: datetime) -> None:
        for section in self.sections:
            try:
                section.tick(now)
            except Exception:
                log.exception('client panel section %s failed to tick', section.key)

    @staticmethod
    async def _call(section: PanelSection, name: str, *arguments: object) -> None:
        try:
            result = getattr(section, name)(*arguments)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception('client panel section %s failed in %s', section.key, name)
