"""The AI summary as a section of the inbox's client panel (right column): shows the open conversation's
newest summary and redraws when `summary.updated` arrives for it. Mounted by its line in the inbox page's
`PANEL_SECTIONS` (`app/pages/inbox.py`), whose live path passes it `summary.updated` (docs/assistant.md,
"Wiring")."""

from __future__ import annotations

from typing import ClassVar

from components.panel_section import PanelContext, PanelSection
from services.assistant.summary import SUMMARY_UPDATED, latest_summary
from services.errors import NotFound
from services.events import Event
from services.inbox.console import ConversationDetail

from .summary_panel import SummaryPanel


class SummarySection(PanelSection):
    key: ClassVar[str] = 'summary'

    def __init__(self, context: PanelContext) -> None:
        super().__init__(context)
        self.conversation_id: int | None = None
        self.panel = SummaryPanel()

    async def show(self, detail: ConversationDetail) -> None:
        self.conversation_id = detail.row.id
        await self._refresh()

    def clear(self) -> None:
        self.conversation_id = None
        self.panel.show(None)

    async def on_event(self, event: Event) -> None:
        if event.kind == SUMMARY_UPDATED and event.conversation_id == self.conversation_id:
            await self._refresh()

    async def _refresh(self) -> None:
        if self.conversation_id is None:
            return
        try:
            summary = await latest_summary(
                self.context.db, viewer=self.context.viewer, conversation_id=self.conversation_id
            )
        except NotFound:
            summary = None
        self.panel.show(summary)
