"""VIN from real photos (issue 17; SPEC V1): the pipeline on `../shared/vin-photos/` — real camera photographs of
door-jamb stickers, stamped metal, windshield plates, a registration document and photos with no VIN.

Targets (issue 17): ≥ 75 % of the photos that carry a VIN read exactly, 0 wrong VINs accepted, the photos without a
VIN answered "no VIN", p95 < 2 s per image on one core. Each photo goes through the same runner the app uses (one
pool process = one core, images one at a time, the app's time limit). Per photo: exact (the chosen VIN is the
label's), wrong (a VIN chosen that is not the label's: verified = presented as certain, unverified = "sin
verificar"), missed (no VIN chosen for a photo that has one), and for the negatives "no VIN" or a false VIN. Figures
overall, per kind and per source repository, seconds (wall, inside the worker) and CPU seconds.

The set is for measuring, never for tuning (its README): the figures are only worth something while it stays
unseen, and the issue also measures on photos we do not have.

Run: .venv/bin/python bench/vin_real.py [--photos ../shared/vin-photos] [--engine tesseract] [--timeout 20]
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from services.vin.pipeline import VinResult  # noqa: E402
from services.vin.runner import VinReader  # noqa: E402
from services.vin.validation import VinStatus  # noqa: E402

DEFAULT_PHOTOS = REPO_ROOT.parent / 'shared' / 'vin-photos'


@dataclass(frozen=True)
class Photo:
    file: str
    vin: str | None  # None: the photo shows no readable VIN
    kind: str
    source: str  # owner/repo:path

    @property
    def repository(self) -> str:
        return self.source.split(':', 1)[0]


@dataclass(frozen=True)
class Outcome:
    photo: Photo
    result: VinResult

    @property
    def verdict(self) -> str:
        """exact · wrong_verified · wrong_unverified · missed (photos with a VIN); no_vin · false_vin (without)."""
        read = self.result.vin
        if self.photo.vin is None:
            return 'no_vin' if read is None else 'false_vin'
        if read == self.photo.vin:
            return 'exact'
        if read is None:
            return 'missed'
        return 'wrong_verified' if self.result.status == VinStatus.VERIFIED else 'wrong_unverified'


def load_labels(photos: Path) -> list[Photo]:
    with (photos / 'labels.tsv').open(newline='') as handle:
        rows = list(csv.DictReader(handle, delimiter='\t'))
    return [
        Photo(file=row['file'], vin=None if row['vin'] == '-' else row['vin'], kind=row['kind'], source=row['source'])
        for row in rows
    ]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0


def figures(outcomes: list[Outcome]) -> dict[str, Any]:
    verdicts = [outcome.verdict for outcome in outcomes]
    with_vin = sum(1 for outcome in outcomes if outcome.photo.vin is not None)
    seconds = [outcome.result.seconds for outcome in outcomes]
    cpu = [outcome.result.timings.get('cpu', outcome.result.seconds) for outcome in outcomes]
    return {
        'photos': len(outcomes),
        'with_vin': with_vin,
        'exact': verdicts.count('exact'),
        'exact_rate': round(verdicts.count('exact') / with_vin, 4) if with_vin else None,
        'wrong_verified': verdicts.count('wrong_verified'),
        'wrong_unverified': verdicts.count('wrong_unverified'),
        'missed': verdicts.count('missed'),
        'negatives': len(outcomes) - with_vin,
        'negatives_no_vin': verdicts.count('no_vin'),
        'false_vins': verdicts.count('false_vin'),
        'timeouts': sum(outcome.result.error == 'timeout' for outcome in outcomes),
        'p50_s': round(percentile(seconds, 0.5), 3),
        'p95_s': round(percentile(seconds, 0.95), 3),
        'max_s': round(max(seconds), 3) if seconds else 0.0,
        'mean_s': round(statistics.fmean(seconds), 3) if seconds else 0.0,
        'cpu_p95_s': round(percentile(cpu, 0.95), 3),
    }


def grouped(outcomes: list[Outcome], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[outcome.photo.kind if key == 'kind' else outcome.photo.repository].append(outcome)
    return {name: figures(members) for name, members in sorted(groups.items())}


async def read_all(photos: Path, labels: list[Photo], *, engine: str, seconds_per_image: float) -> list[Outcome]:
    reader = VinReader(engine=engine, workers=1, timeout_seconds=seconds_per_image)
    try:
        await reader.warm_up()
        outcomes = []
        for photo in labels:  # one at a time: one core
            outcomes.append(Outcome(photo, await reader.read((photos / photo.file).read_bytes())))
        return outcomes
    finally:
        await reader.aclose()


def line(name: str, numbers: dict[str, Any]) -> str:
    exact = (
        f'exact {numbers["exact"]}/{numbers["with_vin"]} ({numbers["exact_rate"]:.0%})'
        if numbers['with_vin']
        else 'no VIN photos'
    )
    negatives = (
        f', negatives "no VIN" {numbers["negatives_no_vin"]}/{numbers["negatives"]}' if numbers['negatives'] else ''
    )
    return (
        f'{name:>28}: {exact}, wrong {numbers["wrong_verified"]} verified + {numbers["wrong_unverified"]} unverified, '
        f'missed {numbers["missed"]}{negatives}; p50 {numbers["p50_s"]:.2f} s, p95 {numbers["p95_s"]:.2f} s, '
        f'max {numbers["max_s"]:.2f} s, timeouts {numbers["timeouts"]}'
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--photos', type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument('--engine', default='tesseract')
    parser.add_argument('--timeout', type=float, default=20.0, help="the app's per-image limit (LEADMASTER_VIN_…)")
    parser.add_argument('--show', action='store_true', help='one line per photo')
    args = parser.parse_args()
    labels = load_labels(args.photos)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    outcomes = asyncio.run(read_all(args.photos, labels, engine=args.engine, seconds_per_image=args.timeout))
    elapsed = time.perf_counter() - began
    overall = figures(outcomes)
    by_kind = grouped(outcomes, 'kind')
    by_source = grouped(outcomes, 'source')
    if args.show:
        for outcome in outcomes:
            print(
                f'  {outcome.photo.file:<22} {outcome.photo.kind:<10} truth {outcome.photo.vin or "-":<17}  read '
                f'{outcome.result.vin or "-":<17} {outcome.verdict:<16} {outcome.result.seconds:5.2f} s '
                f'{outcome.result.reason or outcome.result.error}'
            )
    print(f'real photos: {len(labels)} from {args.photos} ({overall["with_vin"]} with a VIN), engine {args.engine}')
    print(line('all', overall))
    for name, numbers in by_kind.items():
        print(line(f'kind {name}', numbers))
    for name, numbers in by_source.items():
        print(line(name, numbers))
    print(f'{elapsed:.0f} s; load average {load_before:.1f} → {os.getloadavg()[0]:.1f}')
    print(
        json.dumps(
            {
                'bench': 'vin_real',
                'engine': args.engine,
                'timeout_s': args.timeout,
                **overall,
                'by_kind': by_kind,
                'by_source': by_source,
                'targets': {'exact_rate': 0.75, 'wrong': 0, 'negatives_no_vin': overall['negatives'], 'p95_s': 2.0},
                'meets_targets': (overall['exact_rate'] or 0) >= 0.75
                and overall['wrong_verified'] + overall['wrong_unverified'] == 0
                and overall['false_vins'] == 0
                and overall['p95_s'] < 2.0,
            }
        )
    )


if __name__ == '__main__':
    main()
