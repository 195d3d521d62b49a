"""The conversation list's row as ONE element drawn by a small Vue component (`conversation_row.js`) from props,
plus the two parts that change on their own: the state chip and the takeover countdown.

A row built from labels, rows and badges was 14 NiceGUI elements; at 50 rows per list that was most of an open
page's server memory and of the CPU to build it. Customer text is passed as props and rendered by the component
with text interpolation only (never as HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui.element import Element


class TextPart(Element):
    """A bare element showing one text (as text), without ui.label's binding and defaults machinery."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self._text = ''

    @property
    def text(self) -> str:
        return self._text or ''

    @text.setter
    def text(self, value: str) -> None:
        if value != self._text:  # the countdown is set every second: send only real changes
            self._text = value
            self.update()

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        return [self._text]


class ConversationRowElement(Element, component='conversation_row.js'):
    """Props: contact, time, preview, unread, branch, waiting, timer (whether the countdown shows)."""

    def __init__(self, *, on_click: Callable[[], Any]) -> None:
        super().__init__()
        self._props.update(contact='', time='', preview='', unread=0, branch='', waiting='', timer=False)
        with self.add_slot('state'):
            self.state = TextPart('q-badge')
        self.state.props('outline').classes('text-[10px]')
        with self.add_slot('countdown'):
            self.countdown = TextPart('span')
        self.on('click', on_click, [])

    def show(self, **values: Any) -> None:
        """Set props; the row goes over the websocket only when one of them changed."""
        changed = {key: value for key, value in values.items() if self._props.get(key) != value}
        if changed:
            self._props.update(changed)  # NiceGUI's props notice the change and queue one update of the row

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What the row shows as text, for ElementFilter / the simulated user (props are not text otherwise).
        props = self._props
        return [props['contact'], props['time'], props['preview'], str(props['unread']) if props['unread'] else '',
                props['branch'], props['waiting']]
