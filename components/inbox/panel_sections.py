"""What the client panel (right column) shows, top to bottom. A feature adds its section by writing a
`PanelSection` subclass in its own module (see `components/inbox/panel_section.py`) and adding ONE line here."""

from __future__ import annotations

from components.assistant.summary_section import SummarySection
from components.sales.quote_section import QuoteSection

from .contact_section import ContactSection
from .panel_section import PanelSection
from .takeover_section import HistorySection, TakeoverSection

PANEL_SECTIONS: list[type[PanelSection]] = [
    TakeoverSection,
    SummarySection,  # AI summary (issue 6), live on summary.updated
    QuoteSection,  # quote editor + catalog search (issue 8), live on quote.updated
    ContactSection,
    HistorySection,
]
