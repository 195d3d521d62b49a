"""Fixtures of the VIN tests: the simulator's sample photo, a few images of the synthetic set, a real reader."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.make_vin_dataset import Sample, generate
from services.vin.runner import VinReader

REPO_ROOT = Path(__file__).resolve().parents[4]
SAMPLE_PHOTO = REPO_ROOT / 'app' / 'static' / 'simulator' / 'vin-sample.jpg'
SAMPLE_VIN = '9BWAB45U5FP012345'


@pytest.fixture(scope='session')
def sample_photo() -> bytes:
    return SAMPLE_PHOTO.read_bytes()


@pytest.fixture(scope='session')
def synthetic_set() -> list[Sample]:
    """The bench's generator with its seed: the same images every run (generated, not committed)."""
    return generate(24, seed=7)


@pytest.fixture(scope='module')
def reader() -> Iterator[VinReader]:
    """The real process pool (spawned once per module: starting it takes a second or two)."""
    vin_reader = VinReader(engine='tesseract', workers=1, timeout_seconds=60)
    yield vin_reader
    asyncio.run(vin_reader.aclose())
