"""The campaigns feature's background jobs (issue 16), built and subscribed by `app.background` in whichever process
runs the workers. Each returned job has `start()` and `async stop()` (a `BackgroundWorker` or `ScheduledJob`).

`build` runs in every process (the web process builds its workers too, only not starting them): it is also where
the send gate's policy is set from the settings, so pages, the API and the workers gate alike."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from app.event_bus import InProcessEventBus
from app.settings import Settings
from services.campaigns.opt_out import OptOutPolicy
from services.campaigns.workers import CampaignSweeper, OptOutWorker
from services.database import Database
from services.events import MESSAGE_CREATED
from services.whatsapp.outbox import SendGate, configure_send_gate


def build(settings: Settings, *, db: Database, bus: InProcessEventBus) -> list[Any]:
    configure_send_gate(
        SendGate(min_score=settings.campaign_min_score, require_validated=settings.campaign_require_validated)
    )
    return [
        CampaignSweeper(
            db,
            publisher=bus,
            zone=ZoneInfo(settings.display_timezone),
            interval_seconds=settings.campaign_sweep_seconds,
        ),
        OptOutWorker(
            db,
            publisher=bus,
            policy=OptOutPolicy(
                keywords=settings.campaign_opt_out_keywords, confirmation=settings.campaign_opt_out_confirmation
            ),
        ),
    ]


def subscribe(bus: InProcessEventBus, jobs: list[Any]) -> None:
    """Subscribe the jobs built by `build` to the events that wake them."""
    for job in jobs:
        if isinstance(job, OptOutWorker):
            bus.subscribe(job.on_event, branch_ids=None, kinds=[MESSAGE_CREATED])


def opt_outs(jobs: list[Any]) -> OptOutWorker | None:
    """The opt-out worker among `jobs` (its `answered` is the assistant's claim hook; tests drain it)."""
    return next((job for job in jobs if isinstance(job, OptOutWorker)), None)


def sweeper(jobs: list[Any]) -> CampaignSweeper | None:
    return next((job for job in jobs if isinstance(job, CampaignSweeper)), None)
