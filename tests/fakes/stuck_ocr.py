"""Stand-ins for the VIN pipeline inside the OCR process pool (importable by a spawned process)."""

from __future__ import annotations

import time

from services.vin.pipeline import VinResult


def stuck(content: bytes, engine: str, time_budget: float) -> VinResult:
    """A native call that never returns within any budget (what the hard limit is for)."""
    time.sleep(3600)
    raise AssertionError('unreachable')


def quick(content: bytes, engine: str, time_budget: float) -> VinResult:
    """A pipeline that takes 0.3 s per image and finds nothing."""
    time.sleep(0.3)
    return VinResult.failed(engine=engine, error='', seconds=0.3)
