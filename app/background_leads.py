"""The leads feature's background jobs (issue 16), built and subscribed by `app.background` in whichever process
runs the workers. Each returned job has `start()` and `async stop()` (a `BackgroundWorker` or `ScheduledJob`)."""

from __future__ import annotations

from typing import Any

from app.event_bus import InProcessEventBus
from app.settings import Settings
from services.database import Database


def build(settings: Settings, *, db: Database, bus: InProcessEventBus) -> list[Any]:
    return []


def subscribe(bus: InProcessEventBus, jobs: list[Any]) -> None:
    """Subscribe the jobs built by `build` to the events that wake them."""
