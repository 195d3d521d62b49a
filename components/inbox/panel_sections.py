"""What the client panel (right column) shows, top to bottom. A feature adds its section by writing a
`PanelSection` subclass in its own module (see `components/inbox/panel_section.py`) and adding ONE line here."""

from __future__ import annotations

from .contact_section import ContactSection
from .panel_section import PanelSection, slot
from .takeover_section import HistorySection, TakeoverSection

PANEL_SECTIONS: list[type[PanelSection]] = [
    TakeoverSection,
    slot('summary'),  # AI summary (issue 6): fills `ClientPanel.summary_slot`, or replace with its section class
    ContactSection,
    HistorySection,
]
