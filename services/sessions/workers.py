"""The sessions' health probes (SPEC M6), scheduled with APScheduler like the other sweepers."""

from __future__ import annotations

from datetime import timedelta

from ..workers import ScheduledJob
from .control import ProbeRound, SessionControl


class SessionProbeSweeper(ScheduledJob):
    """Every `interval_seconds`: every session's real state from the gateway, failed ones restarted with backoff,
    silent ones flagged and checked. The first round runs right after start: after a restart of LeadMaster the
    states shown are read from the gateway within seconds, never assumed."""

    name = 'session-probes'

    def __init__(self, control: SessionControl, *, interval_seconds: float) -> None:
        super().__init__(interval=timedelta(seconds=interval_seconds), first_run_after=timedelta(seconds=1))
        self.control = control

    async def run_once(self) -> ProbeRound:
        return await self.control.probe_all()
