"""`ThreadFollower`: put last inside a `ui.scroll_area`, it keeps the area at the newest message (thread_follow.js).

Scrolling from the server (`scroll_area.scroll_to`) runs when its command reaches the browser, which may be
before the new bubble is laid out (a message left 72 px below the fold) and always before a photo has loaded (a
long thread with a photo opened at its oldest message). The browser itself follows the content's size instead."""

from __future__ import annotations

from nicegui.element import Element


class ThreadFollower(Element, component='thread_follow.js'):
    def __init__(self, *, threshold: int = 80) -> None:
        super().__init__()
        self._props['threshold'] = threshold

    def to_bottom(self) -> None:
        """Show the newest message now and keep following (the reader opened the chat or sent a message)."""
        self.run_method('toBottom')
