"""Notifications that still reach the agent when the element that asked for one is gone.

A component that awaits a service and then calls `ui.notify` takes its page from the element it runs in. The
live updates of the same action (a `quote.updated` rebuilding the quote section, say) may delete that element
during the await, and `ui.notify` then raises instead of telling the agent "Presupuesto enviado". `Notifier`
remembers the page when the component is built and notifies on the page's layout."""

from __future__ import annotations

from typing import Any

from nicegui import context, ui
from nicegui.client import Client


class Notifier:
    def __init__(self, client: Client | None = None) -> None:
        self.client = client or context.client

    def __call__(self, message: str, **options: Any) -> None:
        if self.client.id not in Client.instances:  # the page was closed meanwhile: nobody to tell
            return
        with self.client.layout:
            ui.notify(message, **options)
