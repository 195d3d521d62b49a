"""The conversation list's row as ONE element drawn by a small Vue component (`conversation_row.js`) from props.

A row built from labels, rows and badges was 14 NiceGUI elements; at 50 rows per list that was most of an open
page's server memory and of the CPU to build it. Customer text is passed as props and rendered by the component
with text interpolation only (never as HTML).

Live changes of a row already on screen go to the browser through `set()` (see the component): an ordinary
NiceGUI update re-renders the whole page in every browser that shows it, which made each incoming message cost
every open page ~25 ms of script. The props are changed too, silently, so a full render (page load, reconnect)
shows the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nicegui.element import Element

from services.models.types import utcnow

from .formatting import AMBER_SECONDS, clock, remaining_seconds


class ConversationRowElement(Element, component='conversation_row.js', dependencies=['lm_clock.js']):
    """Props: contact, time, preview, unread, branch, state, colour, deadline / waiting_since / window_closes (epoch
    seconds or None), waiting_text ("espera {minutes} min"), expired_text (shown once the 24 h window has closed;
    empty: never), labels, selected, rank (CSS order in the list), hidden (a spare row), version."""

    def __init__(self, *, on_click: Callable[[], Any]) -> None:
        super().__init__()
        self._props.update(
            contact='',
            time='',
            preview='',
            unread=0,
            branch='',
            state='',
            colour='purple',
            deadline=None,
            waiting_since=None,
            waiting_text='',
            window_closes=None,
            expired_text='',
            labels=[],
            selected=False,
            rank=0,
            hidden=False,
            version=0,
            amber=AMBER_SECONDS,
        )
        self.on('click', on_click, [])

    def show(self, **values: Any) -> None:
        """Set props; what changed reaches the browser as one small method call (or with the first render)."""
        changed = {key: value for key, value in values.items() if self._props.get(key) != value}
        if not changed:
            return
        changed['version'] = self._props['version'] + 1
        if self.id in self.client.outbox.updates or not self.client.has_socket_connection:
            self._props.update(changed)  # not rendered yet (or no browser): the coming full render carries it
            return
        with self._props.suspend_updates():
            self._props.update(changed)
        self.client.run_javascript(f'lmRowSet({self.id}, {json.dumps(changed)})')

    def countdown_text(self, now: datetime | None = None) -> str:
        """T2: the holder's remaining time as the row shows it (the browser counts down by itself)."""
        deadline = self._props['deadline']
        if deadline is None:
            return ''
        seconds = remaining_seconds(datetime.fromtimestamp(deadline, tz=(now or utcnow()).tzinfo), now or utcnow())
        return clock(seconds or 0)

    def waiting_text(self, now: datetime | None = None) -> str:
        since = self._props['waiting_since']
        if since is None:
            return ''
        minutes = max(0, int(((now or utcnow()).timestamp() - since) // 60))
        return self._props['waiting_text'].replace('{minutes}', str(minutes))

    def expired(self, now: datetime | None = None) -> bool:
        """C3: whether the row shows the 24 h window as expired (the browser decides it by itself, on its clock)."""
        if not self._props['expired_text']:
            return False
        closes = self._props['window_closes']
        return closes is None or (now or utcnow()).timestamp() >= closes

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What the row shows as text, for ElementFilter / the simulated user (props are not text otherwise).
        props = self._props
        if props['hidden']:
            return []
        return [
            props['contact'],
            props['time'],
            props['preview'],
            str(props['unread']) if props['unread'] else '',
            props['state'],
            self.countdown_text(),
            props['branch'],
            self.waiting_text(),
            props['expired_text'] if self.expired() else '',
            *props['labels'],
        ]
