"""The holder's countdown (T2) for the chat header and the client panel, counted down in the browser.

The server sets the deadline when it changes and nothing else: a text update every second would re-render every
element of the page every second in each page that has a held conversation open (see `countdown.js`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nicegui.element import Element

from services.models.types import utcnow

from ..i18n import t
from .formatting import AMBER_SECONDS, countdown_text, remaining_seconds


class Countdown(Element, component='countdown.js', dependencies=['lm_clock.js']):
    def __init__(self, *, badge: bool = False) -> None:
        super().__init__()
        self._props.update(
            deadline=None,
            template=t('takeover.countdown', time='{time}'),
            due=t('takeover.countdown_due'),
            amber=AMBER_SECONDS,
            badge=badge,
        )
        self._deadline: datetime | None = None

    def show(self, deadline: datetime | None) -> None:
        if deadline != self._deadline:
            self._deadline = deadline
            self._props['deadline'] = deadline.timestamp() if deadline is not None else None

    def seconds_left(self, now: datetime | None = None) -> int | None:
        return remaining_seconds(self._deadline, now or utcnow())

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What it shows now, for ElementFilter / the simulated user (the browser computes it by itself).
        seconds = self.seconds_left()
        return [] if seconds is None else [countdown_text(seconds)]
